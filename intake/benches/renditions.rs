//! Rendition bytes per page (issue 19), for text, scanned, photo and mixed
//! documents, each against its original's bytes; and for each rendition,
//! what tools we did not write say of it: `qpdf --check`, poppler's
//! `pdftoppm` drawing every page, and `tesseract` reading the words of the
//! rendition against the words it reads in a 150-dpi rendering of the
//! original (same engine, same page mode).
//!
//! Targets: text documents at most 40 KB a page; scanned documents at most
//! twice their original; OCR of the rendition finds at least 95 % of the
//! original's words.
//!
//! `bench/renditions.sh` (installs the tools), or
//! `cargo bench -p intake --bench renditions`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{collections::HashMap, path::Path, process::Command};

use intake::{EncodedPage, Limits, PageImage, compose::Rendition, sample};

/// A scanner's PDF of `pages` pages: 300-dpi text thresholded and encoded
/// in Group 4, one image a page, as `scanner-ingest` writes text pages.
fn scanner_g4(pages: usize, dir: &Path) -> Vec<u8> {
    let encoded: Vec<EncodedPage> = scanned_text(pages, dir)
        .iter()
        .map(|g| {
            let (w, h) = g.dimensions();
            EncodedPage::group4(intake::bitonal::group4(g), w, h, 300.0)
        })
        .collect();
    intake::build_pdf_from(&encoded, &[]).unwrap()
}

/// A flatbed scanner's greyscale PDF of `pages` pages of text: 300 dpi,
/// paper a little grey with grain, one JPEG a page.
fn scanner_grey(pages: usize, dir: &Path) -> Vec<u8> {
    let mut grain = 0x2545_F491u32;
    let pages: Vec<PageImage> = scanned_text(pages, dir)
        .into_iter()
        .map(|mut g| {
            for p in g.iter_mut() {
                grain ^= grain << 13;
                grain ^= grain >> 17;
                grain ^= grain << 5;
                *p = (u16::from(*p) * 232 / 255 + (grain % 8) as u16) as u8;
            }
            PageImage::Gray { pixels: g, dpi: 300.0 }
        })
        .collect();
    intake::build_pdf(&pages).unwrap()
}

/// Pages of 11-pt text drawn at 300 dpi by poppler.
fn scanned_text(pages: usize, dir: &Path) -> Vec<image::GrayImage> {
    let born = dir.join("born.pdf");
    std::fs::write(&born, sample::text_document(pages, 40, 11.0, "")).unwrap();
    let prefix = dir.join("s");
    let drawn = Command::new("pdftoppm").args(["-r", "300", "-gray", "-png"]).arg(&born).arg(&prefix).status();
    assert!(drawn.unwrap().success());
    (1..=pages)
        .map(|p| {
            let path = dir.join(format!("s-{p}.png"));
            let g = image::open(&path).unwrap().to_luma8();
            std::fs::remove_file(path).unwrap();
            g
        })
        .collect()
}

/// The words tesseract reads on every page of `pdf` drawn at 150 dpi.
fn words(pdf: &Path, dir: &Path, tag: &str) -> HashMap<String, usize> {
    let prefix = dir.join(tag);
    let drawn = Command::new("pdftoppm").args(["-r", "150", "-gray", "-png"]).arg(pdf).arg(&prefix).status().unwrap();
    assert!(drawn.success(), "pdftoppm could not draw {}", pdf.display());
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{tag}-")))
        .collect();
    pages.sort();
    let mut bag = HashMap::new();
    for page in pages {
        let out = Command::new("tesseract").arg(&page).args(["-", "--psm", "6"]).output().unwrap();
        for w in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            *bag.entry(w.to_owned()).or_insert(0) += 1;
        }
        std::fs::remove_file(page).unwrap();
    }
    bag
}

fn main() {
    let limits =
        Limits { threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)), ..Limits::default() };
    let dir = tempfile::tempdir().unwrap();
    let scan_pages: Vec<PageImage> =
        (0..4).map(|i| PageImage::Gray { pixels: sample::scanned_page(i), dpi: 300.0 }).collect();
    let documents: Vec<(&str, &str, Vec<u8>)> = vec![
        ("text", "letter, 1 page, 12 pt", sample::text_document(1, 18, 12.0, "")),
        ("text", "notice, 3 pages, 11 pt", sample::text_document(3, 45, 11.0, "")),
        ("text", "statement, 6 pages, 9 pt", sample::text_document(6, 60, 9.0, "")),
        ("mixed", "form, 2 pages, shaded boxes", sample::text_document(2, 40, 10.0, "0.8 g 50 300 495 200 re f 0 g ")),
        ("scanned", "scanner G4, 4 pages, 300 dpi", scanner_g4(4, dir.path())),
        ("scanned", "grey JPEG scan of text, 4 pages, 300 dpi", scanner_grey(4, dir.path())),
        ("scanned", "grey JPEG scan, word-like strokes, 4 pages", intake::build_pdf(&scan_pages).unwrap()),
        ("photo", "12 MP phone photo", sample::jpeg_rgb(&sample::photo(4000, 3000))),
    ];
    drop(scan_pages);
    println!(
        "| document | kind | pages | original | rendition | a page | vs original | bitonal pages | qpdf | OCR words kept | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut missed = 0;
    for (i, (kind, what, original)) in documents.iter().enumerate() {
        let out = intake::process(original, &limits).unwrap();
        let rendition = Rendition::open(&out.rendition).unwrap();
        let bitonal = (0..rendition.len()).filter(|&p| rendition.page(p).unwrap().bitonal).count();
        let (orig_path, rend_path) = (dir.path().join(format!("o{i}")), dir.path().join(format!("r{i}.pdf")));
        std::fs::write(&orig_path, original).unwrap();
        std::fs::write(&rend_path, &out.rendition).unwrap();
        let qpdf = Command::new("qpdf").arg("--check").arg(&rend_path).output().unwrap().status.success();
        // OCR of what has words; a photo has none to keep.
        let ocr = (*kind != "photo")
            .then(|| {
                let (before, after) = (words(&orig_path, dir.path(), "o"), words(&rend_path, dir.path(), "r"));
                let total: usize = before.values().sum();
                let kept: usize = before.iter().map(|(w, n)| (*n).min(after.get(w).copied().unwrap_or(0))).sum();
                (kept as f64 / total.max(1) as f64, total)
            })
            .filter(|(_, total)| *total > 0); // strokes that are no words
        let per_page = out.rendition.len() / out.pages;
        let ratio = out.rendition.len() as f64 / original.len() as f64;
        let (target, met) = match *kind {
            "text" => ("≤ 40 KB a page", per_page <= 40 * 1024),
            "scanned" => ("≤ 2× original", ratio <= 2.0),
            _ => ("", true),
        };
        let ocr_ok = ocr.is_none_or(|(share, _)| share >= 0.95);
        if !(met && qpdf && ocr_ok) {
            missed += 1;
        }
        println!(
            "| {what} | {kind} | {} | {:.1} KB | {:.1} KB | {:.1} KB | {ratio:.2}× | {bitonal} of {} | {} | {} | {target}{} |",
            out.pages,
            original.len() as f64 / 1024.0,
            out.rendition.len() as f64 / 1024.0,
            per_page as f64 / 1024.0,
            out.pages,
            if qpdf { "ok" } else { "FAILED" },
            ocr.map_or("—".to_owned(), |(s, n)| format!("{:.1} % of {n}", s * 100.0)),
            if target.is_empty() {
                ""
            } else if met {
                " met"
            } else {
                " MISSED"
            },
        );
    }
    println!("\n{missed} document(s) missed a target, failed qpdf or lost words");
}
