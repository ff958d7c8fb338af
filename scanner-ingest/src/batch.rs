//! A claimed batch of scans, split at separator sheets into groups of
//! pages, each to be filed as one piece of one dossier. Any doubt about
//! where pages belong — a forged or unreadable sheet, pages before the
//! first sheet, a file that cannot be read — stops the whole batch: it goes
//! to quarantine with the reason, never to a dossier.

use dnu_api::sheet::{SheetError, SheetKey, SheetRef};

use crate::{
    convert::{ScannedPage, SourceFile},
    scan::{PageClass, qr::QrRead},
};

/// Pages of one piece.
#[derive(Debug)]
pub struct Group {
    pub sheet: SheetRef,
    /// Indices (into the batch's pages) of the pages to file, in order.
    pub pages: Vec<usize>,
    /// Indices of blank pages found in the group, kept aside.
    pub blank: Vec<usize>,
}

/// What a batch becomes.
#[derive(Debug)]
pub enum Plan {
    File { groups: Vec<Group>, notes: Vec<String> },
    Quarantine { reason: String },
}

/// Where a page came from, for people: `scan_0003.jpg` or `lot.tif page 2`.
pub fn page_name(sources: &[SourceFile], p: &ScannedPage) -> String {
    let name = sources
        .get(p.file)
        .and_then(|s| s.path.file_name())
        .map_or_else(|| "?".to_owned(), |n| n.to_string_lossy().into_owned());
    if p.page_in_file == 0 { name } else { format!("{name} page {}", p.page_in_file + 1) }
}

/// Splits cleaned pages at verified separator sheets.
pub fn plan(key: &SheetKey, sources: &[SourceFile], pages: &[ScannedPage]) -> Plan {
    let mut groups: Vec<Group> = Vec::new();
    let mut before_first = Vec::new();
    let mut notes = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let name = || page_name(sources, p);
        let mut sheet = None;
        for read in &p.page.qr {
            match read {
                QrRead::Text(text) => match key.verify(text) {
                    Ok(s) => sheet = Some(s),
                    Err(SheetError::NotASheet) => {}
                    Err(e) => {
                        return Plan::Quarantine {
                            reason: format!(
                                "{}: feuille de séparation refusée — {e}. Imprimez une nouvelle feuille depuis le coffre \
                                 et numérisez le lot à nouveau.",
                                name()
                            ),
                        };
                    }
                },
                QrRead::Unreadable => {
                    return Plan::Quarantine {
                        reason: format!(
                            "{}: un code QR illisible (feuille de séparation abîmée ?). Réimprimez la feuille et \
                             numérisez le lot à nouveau.",
                            name()
                        ),
                    };
                }
            }
        }
        if let Some(sheet) = sheet {
            groups.push(Group { sheet, pages: Vec::new(), blank: Vec::new() });
            continue;
        }
        match groups.last_mut() {
            Some(g) if p.page.class == PageClass::Blank => g.blank.push(i),
            Some(g) => g.pages.push(i),
            None if p.page.class == PageClass::Blank => {
                notes.push(format!("{}: page blanche avant la première feuille", name()))
            }
            None => before_first.push(name()),
        }
    }
    if !before_first.is_empty() {
        return Plan::Quarantine {
            reason: format!(
                "{} page(s) avant la première feuille de séparation ({}) : impossible de savoir à quel dossier \
                 elles appartiennent. Placez une feuille de séparation devant et numérisez le lot à nouveau.",
                before_first.len(),
                before_first.join(", ")
            ),
        };
    }
    if groups.is_empty() {
        return Plan::Quarantine { reason: "aucune feuille de séparation dans le lot".into() };
    }
    for g in &groups {
        if g.pages.is_empty() {
            notes.push(format!(
                "feuille {} / {} suivie d'aucune page : rien n'est déposé pour elle",
                g.sheet.numero_unique, g.sheet.kind
            ));
        }
    }
    Plan::File { groups, notes }
}

/// The raw files a group's pages came from, in page order, each once.
pub fn group_sources<'a>(sources: &'a [SourceFile], pages: &[ScannedPage], group: &Group) -> Vec<&'a SourceFile> {
    let mut seen: Vec<usize> = Vec::new();
    for &i in &group.pages {
        let f = pages[i].file;
        if !seen.contains(&f) {
            seen.push(f);
        }
    }
    seen.iter().filter_map(|&f| sources.get(f)).collect()
}
