//! The cover pages of an export: the dossier, the recipient, and the list
//! of pieces with kind, validity, provenance and page numbers.

use intake::compose::TextLine;

/// One piece as the export shows it, worded for the cover.
#[derive(Debug, Clone)]
pub struct ExportPiece {
    pub label: String,
    pub version: String,
    pub validity: String,
    pub provenance: String,
    pub pages: usize,
    /// The latest version's rendition (a PDF of image pages), if it has one.
    pub rendition: Option<Vec<u8>>,
}

/// Lines of piece list that fit on one A4 cover page below its heading.
const ROWS_PER_PAGE: usize = 26;

/// What the cover says, already worded.
pub struct Cover<'a> {
    pub numero_unique: &'a str,
    pub recipient: &'a str,
    pub date: &'a str,
    /// "Complétude : dossier complet", or what is missing.
    pub completeness: &'a str,
    pub pieces: &'a [ExportPiece],
    /// First page of each piece (1-based), `None` for one with no rendition.
    pub first_pages: &'a [Option<usize>],
}

fn line(x: f32, y: f32, size: f32, bold: bool, text: impl Into<String>) -> TextLine {
    TextLine { x, y, size, bold, text: text.into() }
}

/// `text` cut to `max` characters, an ellipsis marking the cut (one line
/// of the cover).
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// How many cover pages a dossier of `pieces` pieces needs.
pub fn pages_needed(pieces: usize) -> usize {
    pieces.div_ceil(ROWS_PER_PAGE).max(1)
}

/// The text of each cover page.
pub fn layout(c: &Cover<'_>) -> Vec<Vec<TextLine>> {
    let pages = pages_needed(c.pieces.len());
    let mut out = Vec::with_capacity(pages);
    for (n, chunk) in c.pieces.chunks(ROWS_PER_PAGE).enumerate().chain(
        // A dossier with no piece still gets its cover.
        (c.pieces.is_empty()).then_some((0, &[][..])),
    ) {
        let mut l = vec![
            line(56.0, 780.0, 18.0, true, "Dossier de demande de logement social"),
            line(56.0, 752.0, 12.0, false, format!("Numéro unique : {}", c.numero_unique)),
            line(56.0, 734.0, 12.0, false, format!("Extrait le {} pour {}", c.date, c.recipient)),
            line(
                56.0,
                716.0,
                10.0,
                false,
                format!("Usage exclusif : instruction de la demande {} (CCH R.441-2-6)", c.numero_unique),
            ),
            line(56.0, 700.0, 10.0, true, fit(c.completeness, 100)),
            line(56.0, 684.0, 12.0, true, format!("Pièces ({}) — page {} de {pages}", c.pieces.len(), n + 1)),
        ];
        let mut y = 662.0;
        for (i, p) in chunk.iter().enumerate() {
            let index = n * ROWS_PER_PAGE + i;
            let pages = match c.first_pages.get(index).copied().flatten() {
                Some(first) if p.pages > 1 => format!("p. {first}–{}", first + p.pages - 1),
                Some(first) => format!("p. {first}"),
                None => "sans rendu (déposée avant l'analyse sécurisée)".to_owned(),
            };
            l.push(line(56.0, y, 10.5, true, format!("{}. {} — {pages}", index + 1, p.label)));
            l.push(line(
                72.0,
                y - 12.0,
                9.0,
                false,
                format!("{} · validité : {} · {}", p.version, p.validity, p.provenance),
            ));
            y -= 23.0;
        }
        out.push(l);
    }
    out
}
