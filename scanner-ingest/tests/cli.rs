//! The `scanner-ingest` binary on scans made here: `convert` writes a PDF
//! that qpdf accepts and poppler renders, with text strokes preserved and
//! blank pages kept aside; `sheet` prints a sheet that verifies.

use std::{path::Path, process::Command};

use image::GrayImage;
use scanner_ingest::synth;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scanner-ingest")
}

fn qpdf_ok(pdf: &Path) {
    let out = Command::new("qpdf").arg("--check").arg(pdf).output().expect("qpdf is installed (tests/run.sh)");
    assert!(out.status.success(), "qpdf --check {}: {}", pdf.display(), String::from_utf8_lossy(&out.stdout));
}

/// Renders every page with poppler at `dpi`; returns the grey pages.
fn render(pdf: &Path, dpi: u32) -> Vec<GrayImage> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png"])
        .arg(pdf)
        .arg(dir.path().join("p"))
        .output()
        .expect("pdftoppm is installed (tests/run.sh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    files.iter().map(|f| image::open(f).unwrap().to_luma8()).collect()
}

/// Share of `a`'s ink pixels with ink in `b` within one pixel.

#[test]
fn convert_writes_a_pdf_others_accept_with_legible_text_and_blank_pages_aside() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Page 1: straight, no border, so output pixels line up with the source.
    let source = synth::text_page_pixels(21);
    std::fs::write(d.join("p1.jpg"), synth::jpeg(&synth::scanner_noise(&source, 21, 8.0, 200), 300)).unwrap();
    let skewed = synth::on_scanner(&synth::scanner_noise(&synth::text_page_pixels(22), 22, 8.0, 200), -3.0, 40);
    std::fs::write(d.join("p2.jpg"), synth::jpeg(&skewed, 300)).unwrap();
    std::fs::write(d.join("p3.jpg"), synth::jpeg(&synth::near_blank_page(23), 300)).unwrap();
    std::fs::write(d.join("p4.jpg"), synth::jpeg_rgb(&synth::photo_page(24), 300)).unwrap();
    let out = Command::new(bin())
        .args(["convert", "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg", "-o", "out.pdf"])
        .current_dir(d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 pages (2 texte, 0 niveaux de gris, 1 couleur)"), "{stdout}");
    assert!(stdout.contains("1 page(s) blanche(s)") && stdout.contains("p3.jpg"), "{stdout}");
    for pdf in ["out.pdf", "out.blanches.pdf"] {
        qpdf_ok(&d.join(pdf));
    }
    let pages = render(&d.join("out.pdf"), 300);
    assert_eq!(pages.len(), 3);
    // True size kept: A4 at 300 dpi is 2480×3508 (poppler may round down a pixel).
    let (w, h) = pages[0].dimensions();
    assert!((2479..=2480).contains(&w) && (3507..=3508).contains(&h), "{w}×{h}");
    // The text strokes survive the bitonal conversion, both ways.
    let kept = synth::ink_kept(&source, &pages[0]);
    let added = synth::ink_kept(&pages[0], &source);
    assert!(kept > 0.97 && added > 0.97, "source ink kept {kept:.3}, output ink matching source {added:.3}");
    assert_eq!(render(&d.join("out.blanches.pdf"), 50).len(), 1);

    // Refusals name the file.
    std::fs::write(d.join("notes.txt"), "pas une image").unwrap();
    let bad = Command::new(bin()).args(["convert", "notes.txt", "-o", "x.pdf"]).current_dir(d).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("notes.txt"));
    assert!(!d.join("x.pdf").exists());
}

#[test]
fn sheet_prints_a_sheet_that_verifies_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("key"), format!("{}\n", "3c".repeat(32))).unwrap();
    let ok = Command::new(bin())
        .args([
            "sheet",
            "1111023517879GDPUB",
            "ressources",
            "-o",
            "s.pdf",
            "--sheet-key-file",
            "key",
            "--guichet",
            "GDPUB",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    // The territory's key must be told which guichet prints.
    let out = Command::new(bin())
        .args(["sheet", "1111023517879GDPUB", "ressources", "-o", "u.pdf", "--sheet-key-file", "key"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--guichet"));
    qpdf_ok(&d.join("s.pdf"));
    let page = &render(&d.join("s.pdf"), 300)[0];
    let cleaned =
        scanner_ingest::scan::clean(intake::PageImage::Gray { pixels: page.clone(), dpi: 300.0 }, true).unwrap();
    let key = dnu_api::sheet::SheetKey::from_file(&d.join("key")).unwrap();
    let [scanner_ingest::scan::qr::QrRead::Text(payload)] = cleaned.qr.as_slice() else {
        panic!("one QR code expected: {:?}", cleaned.qr)
    };
    let today = time::OffsetDateTime::now_utc().date();
    let sheet = key.verify(payload, today).unwrap();
    assert_eq!(
        (sheet.numero_unique.as_str(), sheet.kind.as_str(), sheet.guichet.as_str(), sheet.issued),
        ("1111023517879GDPUB", "ressources", "GDPUB", today)
    );

    for (args, says) in [
        (vec!["sheet", "12345", "ressources"], "invalid numéro unique"),
        (vec!["sheet", "1111023517879GDPUB", "releve_bancaire"], "unknown piece kind"),
    ] {
        let out = Command::new(bin())
            .args(args)
            .args(["-o", "t.pdf", "--sheet-key-file", "key", "--guichet", "GDPUB"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
}

#[test]
fn watch_refuses_bad_settings_before_taking_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("key"), format!("{}\n", "3c".repeat(32))).unwrap();
    std::fs::create_dir(d.join("scans")).unwrap();
    std::fs::write(d.join("scans/scan_0001.jpg"), b"not yet").unwrap();
    let run = |extra: &[&str], token: Option<&str>| {
        let mut c = Command::new(bin());
        c.args(["watch", "scans", "--vault-url", "http://127.0.0.1:9", "--sheet-key-file", "key"])
            .args(extra)
            .env_remove("SCANNER_TOKEN")
            .env_remove("SCANNER_TOKEN_FILE")
            .current_dir(d);
        if let Some(t) = token {
            c.env("SCANNER_TOKEN", t);
        }
        c.output().unwrap()
    };
    for (extra, token, says) in [
        (vec![], None, "no token"),
        (vec!["--host", "poste scan"], Some("dnuv_x"), "--host"),
        (vec!["--settle-seconds", "4000"], Some("dnuv_x"), "settle"),
    ] {
        let out = run(&extra, token);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{extra:?}: {err}");
        assert!(!err.contains("dnuv_x"), "the token is never printed");
    }
    // Nothing was claimed.
    assert!(d.join("scans/scan_0001.jpg").exists());
}
