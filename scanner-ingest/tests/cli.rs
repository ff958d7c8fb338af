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

/// `convert`'s census line and the blank pages it lists.
fn convert(d: &Path, inputs: &[&str], output: &str) -> (bool, String, String) {
    let out = Command::new(bin()).arg("convert").args(inputs).args(["-o", output]).current_dir(d).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_scanners_pdf_is_cleaned_like_the_same_pages_as_image_files() {
    use synth::PdfPage;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = synth::text_page_pixels(31);
    let skewed = synth::on_scanner(&synth::scanner_noise(&synth::text_page_pixels(32), 32, 8.0, 100), -2.5, 30);
    let photo = synth::photo_page(33);
    let back = synth::blank_page(34);
    let jbig2 = synth::text_page_pixels(35);
    // The stack as one PDF: text in bitonal G4, a skewed grey page and a
    // photo in JPEG, a duplex blank back in G4, text in JBIG2.
    let pdf = synth::scanner_pdf(
        &[
            PdfPage::Bitonal(text.clone()),
            PdfPage::Gray(skewed.clone()),
            PdfPage::Bitonal(back.clone()),
            PdfPage::Colour(photo.clone()),
            PdfPage::Jbig2(jbig2.clone()),
        ],
        300.0,
    );
    std::fs::write(d.join("pile.pdf"), &pdf).unwrap();
    let (ok, stdout, stderr) = convert(d, &["pile.pdf"], "out.pdf");
    assert!(ok, "{stdout}{stderr}");
    // The same pages as image files give the same census.
    std::fs::write(d.join("p1.png"), {
        let mut b = Vec::new();
        text.write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Png).unwrap();
        b
    })
    .unwrap();
    std::fs::write(d.join("p2.jpg"), synth::jpeg(&skewed, 300)).unwrap();
    std::fs::write(d.join("p3.jpg"), synth::jpeg(&back, 300)).unwrap();
    std::fs::write(d.join("p4.jpg"), synth::jpeg_rgb(&photo, 300)).unwrap();
    jbig2.save(d.join("p5.png")).unwrap();
    let (ok, images_stdout, stderr) = convert(d, &["p1.png", "p2.jpg", "p3.jpg", "p4.jpg", "p5.png"], "images.pdf");
    assert!(ok, "{images_stdout}{stderr}");
    let census = |s: &str| {
        s.lines().next().and_then(|l| l.split_once(": ")).and_then(|x| x.1.split_once("), ")).map(|x| x.0.to_owned())
    };
    assert_eq!(census(&stdout), census(&images_stdout), "{stdout}\n{images_stdout}");
    assert!(stdout.contains("4 pages (3 texte, 0 niveaux de gris, 1 couleur)"), "{stdout}");
    assert!(stdout.contains("1 page(s) blanche(s)") && stdout.contains("pile.pdf page 3"), "{stdout}");
    for f in ["out.pdf", "out.blanches.pdf"] {
        qpdf_ok(&d.join(f));
    }
    // At the resolution the PDF carries, text strokes kept both ways.
    let pages = render(&d.join("out.pdf"), 300);
    assert_eq!(pages.len(), 4);
    for (source, out) in [(&text, &pages[0]), (&jbig2, &pages[3])] {
        let (w, h) = out.dimensions();
        assert!((2479..=2480).contains(&w) && (3507..=3508).contains(&h), "{w}×{h}");
        let (kept, added) = (synth::ink_kept(source, out), synth::ink_kept(out, source));
        assert!(kept > 0.97 && added > 0.97, "source ink kept {kept:.3}, output ink matching source {added:.3}");
    }
}

/// The JBIG2 pages the tests write are JBIG2 by another decoder's account:
/// jbig2dec (Debian) reads the embedded stream back to the thresholded page.
#[test]
fn a_jbig2_page_made_here_decodes_in_jbig2dec_to_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = synth::text_page_pixels(36);
    let pdf = synth::scanner_pdf(&[synth::PdfPage::Jbig2(page.clone())], 300.0);
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let images = doc.get_page_images(*doc.get_pages().values().next().unwrap()).unwrap();
    assert_eq!(images[0].filters.as_deref(), Some(&["JBIG2Decode".to_owned()][..]));
    std::fs::write(dir.path().join("page.jb2"), images[0].content).unwrap();
    let out = Command::new("jbig2dec")
        .args(["-e", "-t", "png", "-o"])
        .arg(dir.path().join("page.png"))
        .arg(dir.path().join("page.jb2"))
        .output()
        .expect("jbig2dec is installed (tests/run.sh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let decoded = image::open(dir.path().join("page.png")).unwrap().to_luma8();
    assert_eq!(decoded.dimensions(), page.dimensions());
    let differ = decoded.pixels().zip(page.pixels()).filter(|(a, b)| (a.0[0] < 128) != (b.0[0] < 128)).count();
    assert_eq!(differ, 0, "every pixel as thresholded at mid-grey");
}

#[test]
fn a_hostile_or_locked_pdf_is_refused_in_french_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = synth::scanner_pdf(&[synth::PdfPage::Bitonal(synth::text_page_pixels(41))], 300.0);
    std::fs::write(d.join("ok.pdf"), &good).unwrap();
    // Locked by qpdf with a user password, as a scanner set to protect does.
    let locked = Command::new("qpdf")
        .args(["--encrypt", "secret", "owner", "256", "--", "ok.pdf", "locked.pdf"])
        .current_dir(d)
        .output()
        .expect("qpdf is installed (tests/run.sh)");
    assert!(locked.status.success(), "{}", String::from_utf8_lossy(&locked.stderr));
    // A header and then nothing a reader can make sense of.
    let mut garbage = b"%PDF-1.7\n".to_vec();
    garbage.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(d.join("cut.pdf"), &garbage).unwrap();
    // A content stream that inflates to 2 GiB: the worker's memory limit
    // ends it, the caller survives.
    let bomb = synth::flate_bomb_pdf(2048);
    std::fs::write(d.join("bomb.pdf"), &bomb).unwrap();
    for (file, words) in [("locked.pdf", "protégé par un mot de passe"), ("cut.pdf", "endommagé"), ("bomb.pdf", "PDF")]
    {
        let started = std::time::Instant::now();
        let (ok, stdout, stderr) = convert(d, &[file], "x.pdf");
        assert!(!ok, "{file}: {stdout}");
        assert!(stderr.contains(file) && stderr.contains(words), "{file}: {stderr}");
        assert!(!d.join("x.pdf").exists(), "{file}");
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "{file}: {:?}", started.elapsed());
    }
}

#[test]
fn recto_verso_interleaves_the_fronts_with_the_backs_turned_over() {
    use synth::PdfPage;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Three sheets, six sides: fronts 1, 3, 5 in the first pass; the stack
    // turned over, backs 6, 4, 2 in the second.
    let sides: Vec<GrayImage> = (0..6).map(|i| synth::text_page_pixels(70 + i)).collect();
    let file = |order: [usize; 3]| synth::scanner_pdf(&order.map(|i| PdfPage::Bitonal(sides[i].clone())), 300.0);
    std::fs::write(d.join("rectos.pdf"), file([0, 2, 4])).unwrap();
    std::fs::write(d.join("versos.pdf"), file([5, 3, 1])).unwrap();
    let (ok, stdout, stderr) = convert(d, &["rectos.pdf", "versos.pdf", "--recto-verso"], "out.pdf");
    assert!(ok, "{stdout}{stderr}");
    let pages = render(&d.join("out.pdf"), 300);
    assert_eq!(pages.len(), 6);
    for (i, page) in pages.iter().enumerate() {
        let kept = synth::ink_kept(&sides[i], page);
        assert!(kept > 0.97, "page {} is not side {}: {kept:.3}", i + 1, i + 1);
    }
    // The measure tells sides apart.
    let other = synth::ink_kept(&sides[1], &pages[0]);
    assert!(other < 0.9, "side 2 matches page 1: {other:.3}");
    // One side missing: refused, nothing written.
    let short = synth::scanner_pdf(&[PdfPage::Bitonal(sides[5].clone()), PdfPage::Bitonal(sides[3].clone())], 300.0);
    std::fs::write(d.join("versos.pdf"), short).unwrap();
    let (ok, _, stderr) = convert(d, &["rectos.pdf", "versos.pdf", "--recto-verso"], "x.pdf");
    assert!(!ok && stderr.contains("3 recto(s)") && stderr.contains("2 verso(s)"), "{stderr}");
    assert!(!d.join("x.pdf").exists());
}

/// Retention: `cleanup --keep-days 15` deletes the quarantined lots, blank
/// pages and records older than 15 days and nothing younger, never the
/// upload queue, and leaves every folder readable by the service account
/// alone.
#[test]
fn cleanup_forgets_what_is_older_than_the_setting_and_nothing_younger() {
    use std::{
        os::unix::fs::PermissionsExt,
        time::{Duration, SystemTime},
    };
    let dir = tempfile::tempdir().unwrap();
    let hot = dir.path().join("scans");
    let (spool, q, blank) = (hot.join(".scanner-ingest"), hot.join("quarantaine"), hot.join("pages-blanches"));
    let day = Duration::from_secs(86_400);
    let aged = |path: &Path, days: u32| {
        let when = SystemTime::now() - day * days;
        std::fs::File::open(path).unwrap().set_modified(when).unwrap();
    };
    let mut entries = Vec::new();
    for (name, days) in [("old", 16), ("young", 14)] {
        let lot = q.join(format!("lot-{name}"));
        std::fs::create_dir_all(&lot).unwrap();
        std::fs::write(lot.join("RAISON.txt"), "test\n").unwrap();
        let files = [
            blank.join(format!("{name}.pdf")),
            spool.join("done").join(format!("{name}.json")),
            spool.join("reports").join(format!("{name}.json")),
        ];
        for f in &files {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "{}").unwrap();
        }
        // Not filed yet: however old, the queue keeps it.
        let job = spool.join("queue").join(format!("job-{name}"));
        std::fs::create_dir_all(&job).unwrap();
        std::fs::write(job.join("job.json"), "{}").unwrap();
        for p in files.iter().chain([&lot, &job]) {
            aged(p, days);
            entries.push((p.clone(), name));
        }
    }
    for d in [&spool, &q, &blank] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = Command::new(bin()).arg("cleanup").arg(&hot).args(["--keep-days", "15"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("4 élément(s) de plus de 15 jours supprimé(s)"), "{stderr}");
    for (path, name) in &entries {
        let queued = path.starts_with(spool.join("queue"));
        assert_eq!(path.exists(), *name == "young" || queued, "{}", path.display());
    }
    for d in [&spool, &q, &blank, &spool.join("queue"), &spool.join("done")] {
        let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
}
