//! Text pages kept bitonal (CCITT Group 4) in renditions: which pages are,
//! what they weigh against their JPEG, that they read back to the same
//! pixels, and that the proof of a rendition's shape ([`intake::own`])
//! takes them and nothing that lies about them.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use image::GrayImage;
use intake::{
    EncodedPage, Encoding, PageImage,
    bitonal::{THRESHOLD, group4, is_text},
    build_pdf_from,
    compose::{Rendition, TextLine, text_page},
    own::check,
};
use lopdf::{Dictionary, Document, Object, ObjectId, dictionary};

/// `n` lines of 11-pt text on an A4 page at 150 dpi.
fn lines(n: usize) -> GrayImage {
    let lines: Vec<TextLine> = (0..n)
        .map(|i| TextLine {
            x: 50.0,
            y: 790.0 - 18.0 * i as f32,
            size: 11.0,
            bold: false,
            text: format!("Ligne {i} : revenus, charges et situation du foyer en 2026"),
        })
        .collect();
    match text_page(&lines, 150.0).unwrap() {
        PageImage::Gray { pixels, .. } => pixels,
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_is_bitonal_and_grey_areas_or_pale_ink_are_not() {
    let page = lines(40);
    assert!(is_text(&page));
    // The same text in light grey: a threshold would erase it.
    let mut pale = page.clone();
    pale.iter_mut().for_each(|p| *p = 255 - ((255 - u16::from(*p)) * 35 / 100) as u8);
    assert!(!is_text(&pale));
    // A shaded box over a tenth of the page.
    let mut shaded = page.clone();
    for y in 100..400 {
        for x in 100..900 {
            shaded.put_pixel(x, y, image::Luma([180]));
        }
    }
    assert!(!is_text(&shaded));
    // A smooth gradient, as in a photograph.
    let photo = GrayImage::from_fn(600, 800, |x, y| image::Luma([(40 + (x + y) / 8) as u8]));
    assert!(!is_text(&photo));
}

#[test]
fn a_text_page_reads_back_as_its_threshold_at_a_fraction_of_its_jpeg() {
    // From one line to a full page, Group 4 is a fraction of the JPEG: the
    // grounds on which `EncodedPage::fitting` encodes both only for large
    // bitonal pages.
    for n in [1, 10, 40] {
        let page = lines(n);
        let (w, h) = page.dimensions();
        let data = group4(&page);
        let g4 = data.len();
        let pdf = build_pdf_from(&[EncodedPage::group4(data, w, h, 150.0)], &[]).unwrap();
        let back = Rendition::open(&pdf).unwrap().page(0).unwrap();
        assert!(back.bitonal);
        let PageImage::Gray { pixels, .. } = back.image else { panic!("a bitonal page reads back grey") };
        assert_eq!(pixels.dimensions(), (w, h));
        assert!(pixels.as_raw().iter().zip(page.as_raw()).all(|(d, p)| (*d == 0) == (*p < THRESHOLD)));
        let jpeg = PageImage::Gray { pixels: page, dpi: 150.0 }.jpeg(82).unwrap().len();
        eprintln!("{n} lines: G4 {g4} bytes, JPEG {jpeg}");
        assert!(g4 * 4 < jpeg, "{n} lines: G4 {g4} bytes, JPEG {jpeg}");
    }
}

/// The image object of a rendition's first page.
fn first_image(doc: &Document) -> ObjectId {
    let page = check(doc).unwrap()[0];
    doc.get_dictionary(page)
        .and_then(|p| p.get(b"Resources"))
        .and_then(Object::as_dict)
        .and_then(|r| r.get(b"XObject"))
        .and_then(Object::as_dict)
        .and_then(|x| x.get(b"P"))
        .and_then(Object::as_reference)
        .unwrap()
}

fn with_parms(pdf: &[u8], parms: Dictionary) -> Document {
    let mut doc = Document::load_mem(pdf).unwrap();
    let image = first_image(&doc);
    doc.get_object_mut(image).and_then(Object::as_stream_mut).unwrap().dict.set("DecodeParms", parms);
    doc
}

#[test]
fn a_bitonal_rendition_passes_its_shape_check_and_parameters_that_lie_do_not() {
    let page = PageImage::Gray { pixels: lines(20), dpi: 150.0 };
    let encoded = EncodedPage::fitting(&page).unwrap();
    assert_eq!(encoded.encoding(), Encoding::Group4);
    let pdf = build_pdf_from(&[encoded], &[]).unwrap();
    let (w, h) = page.dimensions();
    let (w, h) = (i64::from(w), i64::from(h));
    assert!(check(&Document::load_mem(&pdf).unwrap()).is_ok());
    // One row more than the image has; a parameter the writer never sets.
    assert!(check(&with_parms(&pdf, dictionary! { "K" => -1, "Columns" => w, "Rows" => h + 1 })).is_err());
    let black_is_1 = dictionary! { "K" => -1, "Columns" => w, "Rows" => h, "BlackIs1" => true };
    assert!(check(&with_parms(&pdf, black_is_1)).is_err());
    // Group 3 instead of 4.
    assert!(check(&with_parms(&pdf, dictionary! { "K" => 0, "Columns" => w, "Rows" => h })).is_err());
    // Put right, it passes again: the refusals were for the lies.
    assert!(check(&with_parms(&pdf, dictionary! { "K" => -1, "Columns" => w, "Rows" => h })).is_ok());
}

#[test]
fn a_born_digital_text_pdf_becomes_a_rendition_of_bitonal_pages_under_40_kb_each() {
    // Three dense pages of text, as an applicant's payslip or notice.
    let original = intake::sample::text_document(3, 45, 11.0, "");
    let out = intake::process(&original, &intake::Limits::default()).unwrap();
    let per_page = out.rendition.len() / out.pages;
    eprintln!("original {} bytes, rendition {} bytes, {per_page} a page", original.len(), out.rendition.len());
    assert_eq!(out.pages, 3);
    assert!(per_page <= 40 * 1024, "{per_page} bytes a page");
    // Tools we did not write take it: qpdf checks it, poppler draws it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &out.rendition).unwrap();
    let qpdf = Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf is installed");
    assert!(qpdf.status.success(), "{}", String::from_utf8_lossy(&qpdf.stdout));
    let drawn = Command::new("pdftoppm").args(["-r", "50", "-gray"]).arg(&path).arg(dir.path().join("p")).output();
    assert!(drawn.expect("poppler-utils is installed").status.success());
}

#[test]
fn the_watermark_hatched_run_by_run_is_the_one_hatched_pixel_by_pixel() {
    let page = lines(30);
    let (w, h) = page.dimensions();
    let pdf = build_pdf_from(&[EncodedPage::group4(group4(&page), w, h, 150.0)], &[]).unwrap();
    let rendition = Rendition::open(&pdf).unwrap();
    let g4 = rendition.page_group4(0).unwrap().expect("a bitonal page");
    let mark = intake::compose::Watermark::new("Bailleur du Nord (SIREN 590000014) — 04/12/2026", w, h, 150.0).unwrap();
    // By pixels: decoded, hatched, coded again.
    let PageImage::Gray { mut pixels, .. } = rendition.page(0).unwrap().image else { panic!("grey") };
    mark.apply_bitonal(&mut pixels);
    let by_pixels = group4(&pixels);
    // By runs, never as pixels.
    let by_runs = mark.apply_group4(&g4).unwrap();
    assert_eq!(by_runs, by_pixels);
    assert_ne!(by_runs, g4.data, "the mark is drawn");
    // A page of another size is not this watermark's.
    let other = intake::compose::Watermark::new("x", w / 2, h / 2, 75.0).unwrap();
    assert!(other.apply_group4(&g4).is_none());
}
