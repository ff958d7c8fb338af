//! Exporting a 10-piece, 40-page dossier (cover, watermark drawn into every
//! page, bookmarks) against `qpdf --empty --pages … --` merging the same
//! renditions, in the same run. qpdf only concatenates; the export decodes,
//! watermarks and re-encodes every page, so the ratio says what the
//! non-removable watermark costs.
//!
//! Two dossiers: pages of text, which renditions keep bitonal, and the same
//! pages over a shaded box, which they keep as JPEG.
//!
//! `cargo bench -p vault --bench export` (BENCH_RUNS, default 5); or
//! `bench/export.sh`, which installs qpdf when absent.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    process::Command,
    time::{Duration, Instant},
};

use vault::export::{ExportPiece, compose};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A 4-page text document, as an applicant's PDF: 45 lines of 11-pt text
/// a page, over `under` (drawing operators beneath the text).
fn document(under: &str) -> Vec<u8> {
    intake::sample::text_document(4, 45, 11.0, under)
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    // Text on paper: renditions keep such pages bitonal (Group 4).
    dossier("text pages (bitonal renditions)", "", runs);
    // The same pages over a shaded box, as forms have: JPEG renditions.
    dossier("shaded form pages (JPEG renditions)", "0.8 g 50 300 495 200 re f 0 g ", runs);
}

fn dossier(what: &str, under: &str, runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut pieces = Vec::new();
    let mut paths = Vec::new();
    for i in 0..10 {
        let r = intake::process(&document(under), &intake::Limits::default()).unwrap();
        let path = dir.path().join(format!("r{i}.pdf"));
        std::fs::write(&path, &r.rendition).unwrap();
        paths.push(path);
        pieces.push(ExportPiece {
            label: format!("Pièce {}", i + 1),
            version: "version 1".into(),
            validity: "jusqu'au 2027-06-30".into(),
            provenance: "déposée par Mairie de Dunkerque le 25/11/2026".into(),
            pages: r.pages,
            rendition: Some(r.rendition),
        });
    }
    let total: usize = pieces.iter().map(|p| p.rendition.as_ref().unwrap().len()).sum();
    println!("{what}: 10 renditions, 40 pages, {:.2} MB; {runs} runs each, median", total as f64 / 1e6);
    let out = dir.path().join("merged.pdf");
    let mark = "Bailleur du Nord (SIREN 590000014) — 25/11/2026 — usage exclusif : instruction de la demande 0591126000001DKMAI";
    let (mut ours, mut qpdf) = (Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let pdf = compose(
            "0591126000001DKMAI",
            "Bailleur du Nord (SIREN 590000014)",
            "25/11/2026",
            "Complétude : dossier complet",
            mark,
            &pieces,
        )
        .unwrap();
        ours.push(t.elapsed());
        size = pdf.len();
        let t = Instant::now();
        let st = Command::new("qpdf").arg("--empty").arg("--pages").args(&paths).arg("--").arg(&out).status();
        assert!(st.expect("qpdf is installed").success());
        qpdf.push(t.elapsed());
    }
    let (ours, qpdf) = (median(ours), median(qpdf));
    println!(
        "  export (cover, watermark in pixels, bookmarks) {:>7.3} s  {:.1} MB",
        ours.as_secs_f64(),
        size as f64 / 1e6
    );
    println!(
        "  qpdf --empty --pages (concatenation only)      {:>7.3} s  {:.1} MB",
        qpdf.as_secs_f64(),
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6
    );
    println!("  ratio: the export takes {:.1}x qpdf's time\n", ours.as_secs_f64() / qpdf.as_secs_f64());
}
