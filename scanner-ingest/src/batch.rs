//! A claimed batch of scans, split at separator sheets into groups of
//! pages, each to be filed as one piece of one dossier. Any doubt about
//! where pages belong — a forged or unreadable sheet, pages before the
//! first sheet, a file that cannot be read — stops the whole batch: it goes
//! to quarantine with the reason, never to a dossier.

use dnu_api::sheet::{SheetError, SheetKey, SheetRef};
use time::Date;

use crate::{
    convert::{ScannedPage, SourceFile},
    scan::{PageClass, qr::QrRead},
};

/// Most of a separator sheet's page that may be marked beside its code, in
/// 75-dpi blocks of marks: its printed lines give 2 to 3.3 % (the vault's
/// sheet scanned at 300 and 150 dpi, skewed up to 6°), a page of text
/// with a sheet's code pasted on it 11 to 16 % (`scanner-ingest/tests/
/// scan.rs`). A page carrying a code beside other content is refused
/// rather than taken as a sheet.
pub const SHEET_MAX_BESIDE_QR: f32 = 0.06;

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

/// Splits cleaned pages at verified separator sheets still good on `today`.
pub fn plan(key: &SheetKey, sources: &[SourceFile], pages: &[ScannedPage], today: Date) -> Plan {
    let mut groups: Vec<Group> = Vec::new();
    let mut before_first = Vec::new();
    let mut notes = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        let name = || page_name(sources, p);
        let mut sheet = None;
        for read in &p.page.qr {
            match read {
                QrRead::Text(text) => match key.verify(text, today) {
                    Ok(_) if p.page.beside_qr > SHEET_MAX_BESIDE_QR => {
                        return Plan::Quarantine {
                            reason: format!(
                                "{}: cette page porte le code d'une feuille de séparation mais aussi d'autres \
                                 marques ({:.0} % de la page). Une feuille de séparation est vierge par ailleurs : \
                                 placez une feuille imprimée depuis le coffre, seule, devant les pièces, et numérisez \
                                 le lot à nouveau.",
                                name(),
                                p.page.beside_qr * 100.0
                            ),
                        };
                    }
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

#[cfg(test)]
mod tests {
    use intake::EncodedPage;

    use super::*;
    use crate::scan::CleanPage;

    const TODAY: Date = time::macros::date!(2026 - 12 - 02);

    fn key() -> SheetKey {
        SheetKey::from_hex(&"7e".repeat(32)).unwrap()
    }

    fn page(class: PageClass, qr: Vec<QrRead>) -> ScannedPage {
        let page =
            CleanPage { class, encoded: EncodedPage::group4(Vec::new(), 1, 1, 300.0), skew: 0.0, qr, beside_qr: 0.01 };
        ScannedPage { file: 0, page_in_file: 0, page }
    }
    fn payload(key: &SheetKey, nu: &str, kind: &str, issued: Date) -> String {
        key.payload(nu, kind, "GDPUB", issued).unwrap()
    }
    fn sheet(nu: &str, kind: &str) -> ScannedPage {
        page(PageClass::Text, vec![QrRead::Text(payload(&key(), nu, kind, TODAY))])
    }
    fn plan(key: &SheetKey, sources: &[SourceFile], pages: &[ScannedPage]) -> Plan {
        super::plan(key, sources, pages, TODAY)
    }
    fn text() -> ScannedPage {
        page(PageClass::Text, Vec::new())
    }
    fn blank() -> ScannedPage {
        page(PageClass::Blank, Vec::new())
    }
    fn sources() -> Vec<SourceFile> {
        vec![SourceFile { path: "scan_0001.jpg".into(), sha256: "00".repeat(32) }]
    }
    fn reason(p: Plan) -> String {
        match p {
            Plan::Quarantine { reason } => reason,
            Plan::File { groups, .. } => panic!("filed {} groups", groups.len()),
        }
    }

    #[test]
    fn pages_go_to_the_sheet_before_them_and_blanks_aside() {
        let (a, b) = ("1111023517879GDPUB", "5920125000001MAIRE");
        let pages = vec![
            blank(),
            sheet(a, "ressources"),
            text(),
            blank(),
            text(),
            sheet(b, "identite"),
            text(),
            sheet(a, "autre"),
        ];
        let Plan::File { groups, notes } = plan(&key(), &sources(), &pages) else { panic!("quarantined") };
        let got: Vec<_> = groups
            .iter()
            .map(|g| (g.sheet.numero_unique.as_str(), g.sheet.kind.as_str(), g.pages.clone(), g.blank.clone()))
            .collect();
        assert_eq!(
            got,
            [(a, "ressources", vec![2, 4], vec![3]), (b, "identite", vec![6], vec![]), (a, "autre", vec![], vec![])]
        );
        // The leading blank page and the empty last group are reported.
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn any_doubt_quarantines_the_whole_batch() {
        let a = "1111023517879GDPUB";
        let forged = payload(&SheetKey::from_hex(&"11".repeat(32)).unwrap(), a, "ressources", TODAY);
        let expired = payload(&key(), a, "ressources", TODAY.saturating_sub(time::Duration::days(90)));
        let mut on_a_document = sheet(a, "identite");
        on_a_document.page.beside_qr = 0.2;
        let other_guichet = key().for_guichet("MAIRE").unwrap();
        let cases = [
            (
                vec![sheet(a, "ressources"), text(), page(PageClass::Text, vec![QrRead::Text(forged)]), text()],
                "refusée",
            ),
            (vec![sheet(a, "ressources"), text(), page(PageClass::Text, vec![QrRead::Unreadable])], "illisible"),
            (vec![page(PageClass::Text, vec![QrRead::Text(expired)]), text()], "older than"),
            (vec![sheet(a, "ressources"), text(), on_a_document, text()], "vierge par ailleurs"),
            (vec![text(), sheet(a, "ressources"), text()], "avant la première feuille"),
            (vec![text(), blank()], "avant la première feuille"),
            (vec![blank()], "aucune feuille"),
        ];
        for (pages, says) in cases {
            let r = reason(plan(&key(), &sources(), &pages));
            assert!(r.contains(says), "{r}");
        }
        // A scanner holding one guichet's key refuses another guichet's sheet.
        let r = reason(plan(&other_guichet, &sources(), &[sheet(a, "ressources"), text()]));
        assert!(r.contains("guichet GDPUB"), "{r}");
        // Another QR code on a document (not a sheet) is just content.
        let with_qr =
            vec![sheet(a, "ressources"), page(PageClass::Text, vec![QrRead::Text("https://impots.gouv.fr".into())])];
        assert!(matches!(plan(&key(), &sources(), &with_qr), Plan::File { .. }));
    }
}
