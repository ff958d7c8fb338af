//! Exporting a 10-piece, 40-page dossier (cover, watermark drawn into every
//! page, bookmarks) against `qpdf --empty --pages … --` merging the same
//! renditions, in the same run. qpdf only concatenates; the export decodes,
//! watermarks and re-encodes every page, so the ratio says what the
//! non-removable watermark costs.
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

/// A 4-page text document, as an applicant's PDF.
fn document(piece: usize) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R 6 0 R 8 0 R 10 0 R] /Count 4 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    for page in 0..4 {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>",
                5 + 2 * page
            )
            .into_bytes(),
        );
        let mut text = String::new();
        for line in 0..45 {
            text.push_str(&format!(
                "BT /F1 11 Tf 60 {} Td (Piece {piece} page {} ligne {line} : revenus, charges, situation) Tj ET\n",
                780 - 16 * line,
                page + 1
            ));
        }
        objects.push(intake::sample::stream("", text.as_bytes()));
    }
    intake::sample::pdf(&objects)
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let mut pieces = Vec::new();
    let mut paths = Vec::new();
    for i in 0..10 {
        let r = intake::process(&document(i + 1), &intake::Limits::default()).unwrap();
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
    println!("10 renditions, 40 pages, {:.1} MB; {runs} runs each, median", total as f64 / 1e6);
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
    println!("  ratio: the export takes {:.1}x qpdf's time", ours.as_secs_f64() / qpdf.as_secs_f64());
}
