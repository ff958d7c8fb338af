//! A document photographed page by page, through the real router and the
//! real worker: three phone photos (a HEIC, a JPEG the uploader turns, a
//! JPEG its phone marked as turned, with GPS) sent in one upload become one
//! piece of three pages in the order sent; the rendition passes qpdf,
//! renders upright in poppler and carries no EXIF (exiftool reads its
//! images); the files are kept as deposited, together in one ZIP that
//! Python's zipfile reads back. A HEIC that is not one is refused, and
//! nothing of that upload stays stored.

use std::process::Command;

use axum::http::StatusCode;
use intake::sample::{jpeg_rgb, jpeg_with_exif_rotation_and_gps, photo};

use crate::common::{BOUNDARY, TestApp};

const HEIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../intake/tests/fixtures/page.heic");

/// A multipart body: text fields, then each file under the name `file`.
fn body(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for (name, bytes) in files {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (installed by .ci/run)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A portrait page's photo taken sideways: the upright page turned a
/// quarter to the left, so that a quarter turn to the right (asked by the
/// uploader, or by EXIF orientation 6) sets it upright again.
fn sideways(w: u32, h: u32) -> image::RgbImage {
    image::imageops::rotate270(&photo(w, h))
}

#[tokio::test]
async fn three_phone_photos_become_one_piece_of_three_upright_pages_in_order() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let heic = std::fs::read(HEIC).unwrap();
    // Sizes differ so that the rendition's page widths tell the order.
    let turned_by_hand = jpeg_rgb(&sideways(300, 400));
    let turned_by_exif = jpeg_with_exif_rotation_and_gps(&sideways(450, 600));
    let files: [(&str, &[u8]); 3] =
        [("IMG_0001.HEIC", &heic), ("IMG_0002.jpg", &turned_by_hand), ("IMG_0003.jpg", &turned_by_exif)];
    let r = app
        .post_multipart(
            &format!("/api/v1/dossiers/{nu}/pieces"),
            &app.guichet_token,
            body(&[("kind", "identite"), ("rotate", "0,90,0")], &files),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()));
    let j = r.json();
    assert_eq!(j["version"]["pages"], 3);
    assert_eq!(j["version"]["media_type"], "application/zip");
    let piece = j["piece"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/dossiers/{nu}/pieces/{piece}");
    let dir = tempfile::tempdir().unwrap();

    // The original: the three files as deposited, in order, in a ZIP that
    // a reader we did not write opens and checks (CRCs included).
    let original = app.get(&format!("{base}/original"), &app.guichet_token).await.body.unwrap();
    let zip = dir.path().join("original.zip");
    std::fs::write(&zip, &original).unwrap();
    let listed = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n\
         for i in z.infolist(): print(i.filename, i.file_size, i.compress_type)",
        )
        .arg(&zip));
    let expected: Vec<String> = ["page-01.heic", "page-02.jpg", "page-03.jpg"]
        .iter()
        .zip(&files)
        .map(|(n, f)| format!("{n} {} 0", f.1.len()))
        .collect();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    for (_, bytes) in &files {
        assert!(original.windows(bytes.len()).any(|w| w == *bytes), "a file was not kept as deposited");
    }

    // The rendition: valid, three pages in the order sent, each upright
    // (portrait, its dark corner at the top left).
    let rendition = app.get(&format!("{base}/rendition"), &app.guichet_token).await.body.unwrap();
    let pdf = dir.path().join("rendition.pdf");
    std::fs::write(&pdf, &rendition).unwrap();
    run(Command::new("qpdf").arg("--check").arg(&pdf));
    run(Command::new("pdftoppm").args(["-r", "30", "-gray", "-png"]).arg(&pdf).arg(dir.path().join("page")));
    let mut widths = Vec::new();
    for n in 1..=3 {
        let page = image::open(dir.path().join(format!("page-{n}.png"))).unwrap().to_luma8();
        let (w, h) = page.dimensions();
        assert!(h > w, "page {n} is portrait: {w}×{h}");
        let dark = |x: u32, y: u32| page.get_pixel(x, y).0[0] < 70;
        assert!(dark(2, 2), "page {n}: the dark corner is at the top left");
        assert!(!dark(w - 3, 2) && !dark(2, h - 3) && !dark(w - 3, h - 3), "page {n}: and in no other corner");
        widths.push(w);
    }
    // 600, 300 and 450 pixels at 150 dpi, rendered at 30 dpi.
    assert!(widths[0] > widths[2] && widths[2] > widths[1], "pages in the order sent: {widths:?}");

    // exiftool reads the rendition's images: no EXIF, no GPS.
    run(Command::new("pdfimages").arg("-j").arg(&pdf).arg(dir.path().join("img")));
    let images: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("img")))
        .collect();
    assert_eq!(images.len(), 3, "one image a page");
    for img in &images {
        let tags = run(Command::new("exiftool").args(["-s", "-EXIF:all", "-GPS:all", "-XMP:all"]).arg(img));
        assert!(tags.trim().is_empty(), "{}: {tags}", img.display());
    }
    // The photos as sent did carry them: the check above could fail.
    let sent = dir.path().join("sent.jpg");
    std::fs::write(&sent, &turned_by_exif).unwrap();
    assert!(run(Command::new("exiftool").args(["-s", "-GPS:all"]).arg(&sent)).contains("GPSLatitude"));

    // One original, one rendition, one thumbnail: the files staged one by
    // one on their way in are gone.
    let id = app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
    assert_eq!(app.vault.db().objects_of(id).await.unwrap().len(), 3);
    assert_eq!(app.vault.store().list().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_heic_that_is_not_one_is_refused_and_nothing_stays() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let mut fake = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    fake.extend_from_slice(&jpeg_rgb(&photo(64, 64)));
    let good = jpeg_rgb(&photo(300, 400));
    let r = app
        .post_multipart(
            &format!("/api/v1/dossiers/{nu}/pieces"),
            &app.guichet_token,
            body(&[("kind", "identite")], &[("IMG_1.jpg", &good), ("IMG_2.HEIC", &fake)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_code(), "broken_image");
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("file 2 of 2:") && message.contains("HEIC"), "{message}");
    assert!(app.vault.store().list().await.unwrap().is_empty(), "a refused upload left an object");

    // Turns that do not match the files, or are not quarter turns, are
    // refused before any file is kept.
    for rotate in ["90", "45,0"] {
        let r = app
            .post_multipart(
                &format!("/api/v1/dossiers/{nu}/pieces"),
                &app.guichet_token,
                body(&[("kind", "identite"), ("rotate", rotate)], &[("a.jpg", &good), ("b.jpg", &good)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{rotate}: {:?}", r.json());
        assert!(r.json()["error"]["message"].as_str().unwrap().starts_with("rotate:"), "{rotate}");
    }
    assert!(app.vault.store().list().await.unwrap().is_empty());
}
