//! The hostile corpus, in process: each document is refused with a clear
//! error or neutralised (a rendition free of every active keyword, one
//! revision, image-only pages). Decompression bombs and crashes are the
//! sandbox's business and are tested in the vault, through the worker.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::*;
use intake::{Format, Limits, Refusal, process};

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A rendition: has `pages` pages, nothing but pixels, and passes tools we
/// did not write: `qpdf --check`, and poppler's `pdftoppm` renders each page.
fn assert_clean(rendition: &[u8], pages: usize) {
    let doc = lopdf::Document::load_mem(rendition).unwrap();
    assert_eq!(doc.get_pages().len(), pages);
    for word in ACTIVE {
        assert_eq!(count(rendition, word.as_bytes()), 0, "{word} survived");
    }
    assert_eq!(count(rendition, b"%%EOF"), 1, "one revision");
    assert_eq!(count(rendition, b"DNU MARKER"), 0, "text is pixels, not text");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rendition.pdf");
    std::fs::write(&path, rendition).unwrap();
    let check = Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf is installed (.ci/run)");
    assert!(check.status.success(), "qpdf --check: {}", String::from_utf8_lossy(&check.stdout));
    let out = dir.path().join("page");
    let render = Command::new("pdftoppm").args(["-r", "20", "-png"]).arg(&path).arg(&out).output().expect("pdftoppm");
    assert!(render.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&render.stderr));
    let rendered = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("page")))
        .count();
    assert_eq!(rendered, pages, "pdftoppm rendered every page");
}

fn accepted(doc: &[u8]) -> intake::Intake {
    match process(doc, &Limits::default()) {
        Ok(i) => i,
        Err(e) => panic!("refused: {e}"),
    }
}

fn refused(doc: &[u8]) -> (String, String) {
    match process(doc, &Limits::default()) {
        Ok(_) => panic!("accepted a document that should be refused"),
        Err(Refusal::Unusable { code, message }) => (code.as_str().to_owned(), message),
        Err(Refusal::Unsupported(message)) => ("unsupported".to_owned(), message),
    }
}

#[test]
fn a_plain_pdf_becomes_an_image_only_rendition() {
    let i = accepted(&text_pdf("", "", &[]));
    assert_eq!((i.format, i.pages), (Format::Pdf, 1));
    assert_clean(&i.rendition, 1);
    // The text was painted: the first page is not blank.
    let thumb = image::load_from_memory(&i.thumbnail).unwrap().to_luma8();
    assert_eq!(thumb.width(), intake::THUMBNAIL_WIDTH);
    assert!(thumb.pixels().any(|p| p.0[0] < 100), "the thumbnail shows the text");
}

#[test]
fn active_content_never_survives() {
    let js = "<< /S /JavaScript /JS (app.alert('pwned')) >>".to_owned();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("OpenAction JavaScript", text_pdf("/OpenAction 6 0 R", "", std::slice::from_ref(&js))),
        ("page /AA", text_pdf("", "/AA << /O 6 0 R >>", std::slice::from_ref(&js))),
        (
            "Launch and URI annotations",
            text_pdf(
                "",
                "/Annots [6 0 R 7 0 R]",
                &[
                    "<< /Type /Annot /Subtype /Link /Rect [0 0 595 842] /A << /S /Launch /F (cmd.exe) >> >>".into(),
                    "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /URI /URI (http://evil.example) >> >>"
                        .into(),
                ],
            ),
        ),
        (
            "embedded file",
            text_pdf(
                "/Names << /EmbeddedFiles << /Names [(x.exe) 6 0 R] >> >>",
                "",
                &["<< /Type /Filespec /F (x.exe) /EF << /F 7 0 R >> >>".into(), stream("/Type /EmbeddedFile", b"MZ")],
            ),
        ),
        (
            "XFA form",
            text_pdf("/AcroForm << /Fields [] /XFA 6 0 R >>", "", &[stream("", b"<xdp:xdp>script</xdp:xdp>")]),
        ),
        (
            "RichMedia",
            text_pdf(
                "",
                "/Annots [6 0 R]",
                &["<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] /RichMediaContent << >> >>".into()],
            ),
        ),
        ("hex-obfuscated name", text_pdf("/OpenAction << /S /J#61vaScript /JS (app.alert(2)) >>", "", &[])),
        (
            "action in an object stream",
            text_pdf(
                "/OpenAction 6 0 R",
                "",
                &[stream("/Type /ObjStm /N 1 /First 4", b"7 0 << /S /JavaScript /JS (x) >>")],
            ),
        ),
        ("XMP metadata", text_pdf("/Metadata 6 0 R", "", &[stream("/Type /Metadata /Subtype /XML", b"<x:xmpmeta/>")])),
    ];
    for (name, doc) in cases {
        let i = process(&doc, &Limits::default()).unwrap_or_else(|e| panic!("{name}: refused: {e}"));
        assert_eq!(i.pages, 1, "{name}");
        assert_clean(&i.rendition, 1);
    }
}

#[test]
fn an_appended_update_leaves_one_revision() {
    let mut doc = text_pdf("", "", &[]);
    let base_xref = doc.windows(9).rposition(|w| w == b"startxref").unwrap();
    let prev: usize = String::from_utf8_lossy(&doc[base_xref + 10..]).lines().next().unwrap().trim().parse().unwrap();
    let at = doc.len();
    doc.extend_from_slice(
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (x) >> >>\nendobj\n",
    );
    let xref = doc.len();
    doc.extend_from_slice(
        format!(
            "xref\n1 1\n{at:010} 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    assert_eq!(count(&doc, b"%%EOF"), 2);
    let i = accepted(&doc);
    assert_clean(&i.rendition, 1);
}

#[test]
fn broken_or_pathological_pdfs_are_refused_or_neutralised() {
    // A broken xref (every offset wrong): repaired by scanning, or refused.
    let good = text_pdf("", "", &[]);
    let at = good.windows(5).rposition(|w| w == b"xref\n").unwrap();
    let mut broken = good[..at].to_vec();
    broken.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
    for _ in 0..5 {
        broken.extend_from_slice(b"0000000999 00000 n \n");
    }
    broken.extend_from_slice(format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{at}\n%%EOF\n").as_bytes());
    assert_ne!(broken, good);
    match process(&broken, &Limits::default()) {
        Ok(i) => assert_clean(&i.rendition, i.pages),
        Err(e) => assert!(e.to_string().contains("damaged") || e.to_string().contains("no page"), "{e}"),
    }
    // 10,000-deep nesting in the page dictionary.
    let deep = format!("/Deep {}{}", "[".repeat(10_000), "]".repeat(10_000));
    match process(&text_pdf("", &deep, &[]), &Limits::default()) {
        Ok(i) => assert_clean(&i.rendition, i.pages),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    // An xref stream whose /W asks for gigantic fields.
    let mut w_bomb = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    let x = w_bomb.len();
    w_bomb.extend_from_slice(
        format!(
            "2 0 obj\n<< /Type /XRef /Size 3 /W [1 2147483647 1] /Length 4 >>\nstream\n\0\0\0\0\nendstream\nendobj\nstartxref\n{x}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let (code, _) = refused(&w_bomb);
    assert!(["broken_pdf", "no_pages"].contains(&code.as_str()), "{code}");
    // Not a PDF at all past its header.
    let (code, msg) = refused(b"%PDF-1.4\nthis is not a pdf\n");
    assert_eq!(code, "broken_pdf", "{msg}");
}

#[test]
fn page_count_is_limited() {
    let mut objs = vec!["<< /Type /Catalog /Pages 2 0 R >>".to_owned()];
    let n = 5;
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + i)).collect();
    objs.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
    objs.push(stream("", b"0 0 0 rg 10 10 50 50 re f"));
    for _ in 0..n {
        objs.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 3 0 R >>".into());
    }
    let doc = pdf(&objs);
    assert_eq!(accepted(&doc).pages, n);
    let limits = Limits { max_pages: 4, ..Limits::default() };
    match process(&doc, &limits) {
        Err(Refusal::Unusable { code, message }) => {
            assert_eq!(code.as_str(), "too_many_pages");
            assert!(message.contains("split"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn image_limits_are_checked_from_headers() {
    let (code, msg) = refused(&png_header_only(65_535, 65_535));
    assert_eq!(code, "too_large", "{msg}");
    let (code, msg) = refused(&jpeg_header_only(65_500, 65_500));
    assert_eq!(code, "too_large", "{msg}");
    let mut truncated = png_of(&image::DynamicImage::ImageRgb8(photo(300, 200)));
    truncated.truncate(truncated.len() / 2);
    assert_eq!(refused(&truncated).0, "broken_image");
}

#[test]
fn unusual_images_are_accepted_and_re_encoded() {
    // CMYK JPEG.
    let (w, h) = (120u32, 80u32);
    let cmyk: Vec<u8> = (0..w * h).flat_map(|i| [(i % 255) as u8, 40, 200, 10]).collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90).encode(&cmyk, w as u16, h as u16, jpeg_encoder::ColorType::Cmyk).unwrap();
    let i = accepted(&out);
    assert_eq!((i.format, i.pages), (Format::Jpeg, 1));
    assert_clean(&i.rendition, 1);
    // 16-bit PNG.
    let deep = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 1000) as u16, (y * 1300) as u16, 40_000])
    });
    let i = accepted(&png_of(&image::DynamicImage::ImageRgb16(deep)));
    assert_eq!(i.format, Format::Png);
    assert_clean(&i.rendition, 1);
    // A HEIC header over nothing: named in the refusal, whether or not
    // this machine has libheif (without it, the refusal says so).
    let (code, msg) = refused(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic");
    assert!(code == "broken_image" || code == "unsupported", "{code}");
    assert!(msg.contains("HEIC") && msg.contains("JPEG"), "{msg}");
    let (code, _) = refused(b"GIF89a....");
    assert_eq!(code, "unsupported");
}

#[test]
fn a_rotated_phone_photo_is_turned_upright_and_loses_its_exif() {
    let img = photo(400, 300);
    let doc = jpeg_with_exif_rotation_and_gps(&img);
    assert!(count(&doc, b"Exif") == 1 && count(&doc, b"MM\0\x2a") == 1);
    let i = accepted(&doc);
    assert_clean(&i.rendition, 1);
    assert_eq!(count(&i.rendition, b"Exif"), 0);
    assert_eq!(count(&i.thumbnail, b"Exif"), 0);
    // Orientation 6: the 400×300 landscape becomes a 300×400 portrait
    // whose dark corner moved to the top right.
    let t = image::load_from_memory(&i.thumbnail).unwrap().to_luma8();
    assert!(t.height() > t.width(), "{}×{}", t.width(), t.height());
    let (tw, th) = (t.width(), t.height());
    let dark = |x: u32, y: u32| t.get_pixel(x, y).0[0] < 60;
    assert!(dark(tw - 5, 5), "dark corner at the top right");
    assert!(!dark(5, 5) && !dark(5, th - 5), "nowhere else");
}

#[test]
fn multi_page_tiff_keeps_every_page_and_its_resolution() {
    // Two pages: a bilevel-looking grey page and a colour page, 300 dpi.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).unwrap();
        let grey: Vec<u8> = (0..600 * 400).map(|i| if (i / 600) % 40 < 3 { 0 } else { 255 }).collect();
        let mut page = enc.new_image::<tiff::encoder::colortype::Gray8>(600, 400).unwrap();
        page.resolution(tiff::tags::ResolutionUnit::Inch, tiff::encoder::Rational { n: 300, d: 1 });
        page.write_data(&grey).unwrap();
        let rgb: Vec<u8> = (0..600 * 400).flat_map(|i| [(i % 256) as u8, 90, 200]).collect();
        let mut page = enc.new_image::<tiff::encoder::colortype::RGB8>(600, 400).unwrap();
        page.resolution(tiff::tags::ResolutionUnit::Inch, tiff::encoder::Rational { n: 300, d: 1 });
        page.write_data(&rgb).unwrap();
    }
    let i = accepted(buf.get_ref());
    assert_eq!((i.format, i.pages), (Format::Tiff, 2));
    assert_clean(&i.rendition, 2);
    // 600 px at 300 dpi print 2 inches wide: 144 points.
    let doc = lopdf::Document::load_mem(&i.rendition).unwrap();
    let first = doc.get_pages()[&1];
    let mb = doc.get_object(first).unwrap().as_dict().unwrap().get(b"MediaBox").unwrap().as_array().unwrap().clone();
    let width = mb[2].as_float().unwrap();
    assert!((width - 144.0).abs() < 0.5, "{width}");
}

/// A HEIC photo (made by `heif-enc` from a 600×800 JPEG with a black
/// square in its top left corner and GPS coordinates in its EXIF; see
/// `fixtures/README.md`) becomes a clean one-page rendition, upright, with
/// no trace of its EXIF. Needs libheif (Debian `libheif1`, installed by
/// `.ci/run`).
#[test]
fn a_heic_photo_becomes_a_clean_upright_page_without_its_gps() {
    assert!(intake::load_heif(), "libheif1 is installed (.ci/run)");
    let doc = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/page.heic")).unwrap();
    assert!(count(&doc, b"Exif") >= 1, "the fixture carries EXIF");
    let i = accepted(&doc);
    assert_eq!((i.format, i.pages), (Format::Heif, 1));
    assert_clean(&i.rendition, 1);
    for hay in [&i.rendition, &i.thumbnail] {
        assert_eq!(count(hay, b"Exif"), 0);
    }
    let t = image::load_from_memory(&i.thumbnail).unwrap().to_luma8();
    let (tw, th) = (t.width(), t.height());
    assert!(th > tw, "portrait, as photographed: {tw}×{th}");
    let dark = |x: u32, y: u32| t.get_pixel(x, y).0[0] < 60;
    assert!(dark(3, 3), "the black square stays at the top left");
    assert!(!dark(tw - 3, th - 3) && !dark(tw - 3, 3), "and nowhere else");

    // The same header over the bytes of a JPEG: not a HEIC, refused as one.
    let mut fake = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    fake.extend_from_slice(&jpeg_rgb(&photo(64, 64)));
    let (code, msg) = refused(&fake);
    assert_eq!(code, "broken_image", "{msg}");
    assert!(msg.contains("HEIC"), "{msg}");
}
