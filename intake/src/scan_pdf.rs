//! The pages of a scanner's PDF, as the scanner made them.
//!
//! Office scanners deliver one PDF per stack, each page a single image
//! (JPEG for grey and colour, CCITT G4 or JBIG2 for bitonal) drawn over
//! the whole page. Such a page's image is taken at the resolution it
//! carries: a JPEG is handed over as its own bytes (decoded once, by the
//! caller's scan path), any other image is rendered by hayro at its own
//! resolution, which reproduces its pixels. A page that is not a single
//! image (a PDF made by software) is rendered at 300 dpi.
//!
//! Hostile input: run only inside a confined worker. Page content is read
//! with a bound on its decompressed size; renders are capped in pixels.

use image::{GrayImage, RgbImage};
use lopdf::{Document, Object, ObjectId};

use crate::{
    Limits, PageImage, Refusal, RefusalCode,
    pdf_in::{Renderer, open},
};

/// A page of a scanner's PDF.
#[derive(Debug)]
pub enum ScanPage {
    /// The page's own JPEG, unchanged, and the resolution it is drawn at.
    Jpeg { bytes: Vec<u8>, dpi: f32 },
    /// Rendered pixels.
    Pixels(PageImage),
}

/// Resolution of a page that is not a single image.
const SOFTWARE_PAGE_DPI: f32 = 300.0;
/// Resolutions outside this range are taken as a page's mistake: rendered
/// within it.
const MIN_DPI: f32 = 100.0;
const MAX_DPI: f32 = 600.0;
/// Most pixels on a rendered page's longer side (A4 at 600 dpi is 7016).
const MAX_SIDE: f32 = 7100.0;
/// Most bytes a page's content streams may inflate to.
const MAX_CONTENT: usize = 4 << 20;

/// The page's single image, when the page is nothing else.
struct Single {
    width: f32,
    height: f32,
    /// The JPEG to hand over as it is, when it can be.
    jpeg: Option<Vec<u8>>,
    /// Bitonal or grey: rendered to grey.
    gray: bool,
}

/// Calls `each` with every page, in order; returns the number of pages.
pub fn scanner_pages(
    bytes: &[u8],
    limits: &Limits,
    mut each: impl FnMut(ScanPage) -> Result<(), Refusal>,
) -> Result<usize, Refusal> {
    let pdf = open(bytes, limits)?;
    let pages = pdf.pages();
    // The structure is read a second time, by lopdf, only to find single
    // images; a document it cannot read is rendered page by page.
    let singles: Vec<Option<Single>> = match Document::load_mem(bytes) {
        Ok(doc) if !doc.is_encrypted() && doc.get_pages().len() == pages.len() => {
            doc.get_pages().values().map(|&id| single_image(&doc, id)).collect()
        }
        _ => pages.iter().map(|_| None).collect(),
    };
    let renderer = Renderer::new();
    for (page, single) in pages.iter().zip(singles) {
        let (wpt, hpt) = page.render_dimensions();
        let (dpi, gray) = match single {
            Some(s) if wpt >= 1.0 && hpt >= 1.0 => {
                let (dx, dy) = (s.width * 72.0 / wpt, s.height * 72.0 / hpt);
                // Drawn over the whole page, square pixels: the scanner's.
                if let Some(jpeg) = s.jpeg.filter(|_| (dx - dy).abs() <= dx * 0.02)
                    && (MIN_DPI..=MAX_DPI).contains(&dx)
                {
                    each(ScanPage::Jpeg { bytes: jpeg, dpi: dx })?;
                    continue;
                }
                (dx.clamp(MIN_DPI, MAX_DPI), s.gray)
            }
            _ => (SOFTWARE_PAGE_DPI, false),
        };
        let image = renderer.page(page, dpi, MAX_SIDE, |rgba, w, h, dpi| {
            if gray {
                let luma: Vec<u8> = rgba
                    .chunks_exact(4)
                    .map(|p| ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8)
                    .collect();
                GrayImage::from_raw(w, h, luma).map(|pixels| PageImage::Gray { pixels, dpi })
            } else {
                let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
                RgbImage::from_raw(w, h, rgb).map(|pixels| PageImage::Rgb { pixels, dpi })
            }
        })?;
        each(ScanPage::Pixels(image.ok_or_else(|| Refusal::unusable(RefusalCode::RenderFailed, "pixmap size"))?))?;
    }
    Ok(pages.len())
}

/// The page's one image, if the page draws exactly one image and nothing
/// else (state, clipping and transformation operators aside).
fn single_image(doc: &Document, page: ObjectId) -> Option<Single> {
    let content = doc.get_page_content_with_limit(page, MAX_CONTENT).ok()?;
    let ops = lopdf::content::Content::decode(&content).ok()?.operations;
    let mut drawn = 0;
    for op in &ops {
        match op.operator.as_str() {
            "Do" => drawn += 1,
            "q" | "Q" | "cm" | "gs" | "re" | "W" | "W*" | "n" | "w" | "J" | "j" | "M" | "d" | "ri" | "i" => {}
            _ => return None,
        }
    }
    let images = doc.get_page_images(page).ok()?;
    let [image] = images.as_slice() else { return None };
    if drawn != 1 {
        return None;
    }
    let dict = image.origin_dict;
    let filters: Vec<&str> = image.filters.iter().flatten().map(String::as_str).collect();
    let mask = dict.get(b"ImageMask").and_then(Object::as_bool).unwrap_or(false);
    let plain = !mask && dict.get(b"SMask").is_err() && dict.get(b"Mask").is_err() && dict.get(b"Decode").is_err();
    let space = image.color_space.as_deref();
    let jpeg = (filters == ["DCTDecode"]
        && plain
        && image.bits_per_component == Some(8)
        && matches!(space, Some("DeviceGray" | "DeviceRGB"))
        && rotation(doc, page) == 0)
        .then(|| image.content.to_vec());
    let gray = mask
        || image.bits_per_component == Some(1)
        || space == Some("DeviceGray")
        || filters.iter().any(|f| matches!(*f, "CCITTFaxDecode" | "JBIG2Decode"));
    Some(Single { width: image.width as f32, height: image.height as f32, jpeg, gray })
}

/// The page's `/Rotate`, inherited from its parents as PDF says.
fn rotation(doc: &Document, page: ObjectId) -> i64 {
    let mut id = page;
    for _ in 0..32 {
        let Ok(dict) = doc.get_dictionary(id) else { return 0 };
        if let Ok(r) = dict.get(b"Rotate").and_then(Object::as_i64) {
            return r.rem_euclid(360);
        }
        match dict.get(b"Parent").and_then(Object::as_reference) {
            Ok(parent) => id = parent,
            Err(_) => return 0,
        }
    }
    0
}
