//! The pages of a scanner's PDF, as the scanner made them.
//!
//! Office scanners deliver one PDF per stack, each page a single image
//! (JPEG for grey and colour, CCITT G4 or JBIG2 for bitonal) drawn over
//! the whole page. Such a page's image is taken at the resolution it
//! carries: a JPEG is handed over as its own bytes (decoded once, by the
//! caller's scan path), a CCITT fax image is decoded straight into its
//! pixels, any other image (JBIG2…) is rendered by hayro at its own
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
    /// A CCITT image with nothing to apply to its samples: decoded as it is.
    ccitt: Option<Ccitt>,
    /// Bitonal or grey: rendered to grey.
    gray: bool,
    /// Drawn upright (no rotation or mirror in its `cm`, no `/Rotate`):
    /// the image's own pixels are the page's.
    upright: bool,
}

/// A CCITT-encoded image and how to read it (its `DecodeParms`).
struct Ccitt {
    data: Vec<u8>,
    settings: hayro_ccitt::DecodeSettings,
    /// `BlackIs1`: the coded black runs are samples 1, white in DeviceGray.
    black_is_1: bool,
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
                let as_it_is = s.upright && (dx - dy).abs() <= dx * 0.02 && (MIN_DPI..=MAX_DPI).contains(&dx);
                if let Some(jpeg) = s.jpeg.filter(|_| as_it_is) {
                    each(ScanPage::Jpeg { bytes: jpeg, dpi: dx })?;
                    continue;
                }
                if let Some(pixels) = s.ccitt.as_ref().filter(|_| as_it_is).and_then(|c| ccitt_pixels(c, limits)) {
                    each(ScanPage::Pixels(PageImage::Gray { pixels, dpi: dx }))?;
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
    let mut upright = true;
    for op in &ops {
        match op.operator.as_str() {
            "Do" => drawn += 1,
            "cm" => {
                let m: Vec<f32> = op.operands.iter().filter_map(|o| o.as_float().ok()).collect();
                upright &= matches!(m.as_slice(), [a, b, c, d, _, _] if *a > 0.0 && *d > 0.0 && *b == 0.0 && *c == 0.0);
            }
            "q" | "Q" | "gs" | "re" | "W" | "W*" | "n" | "w" | "J" | "j" | "M" | "d" | "ri" | "i" => {}
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
    let upright = upright && rotation(doc, page) == 0;
    let jpeg = (filters == ["DCTDecode"]
        && plain
        && image.bits_per_component == Some(8)
        && matches!(space, Some("DeviceGray" | "DeviceRGB")))
    .then(|| image.content.to_vec());
    let ccitt = (filters == ["CCITTFaxDecode"]
        && plain
        && image.bits_per_component.is_none_or(|b| b == 1)
        && space.is_none_or(|s| s == "DeviceGray"))
    .then(|| ccitt(dict, image.content, image.width, image.height))
    .flatten();
    let gray = mask
        || image.bits_per_component == Some(1)
        || space == Some("DeviceGray")
        || filters.iter().any(|f| matches!(*f, "CCITTFaxDecode" | "JBIG2Decode"));
    Some(Single { width: image.width as f32, height: image.height as f32, jpeg, ccitt, gray, upright })
}

/// How to read a CCITT image, from its `DecodeParms` (PDF's defaults
/// where a key is absent); `None` for what this reader leaves to hayro's
/// renderer (a damaged or unusual dictionary).
fn ccitt(dict: &lopdf::Dictionary, data: &[u8], width: i64, height: i64) -> Option<Ccitt> {
    let empty = lopdf::Dictionary::new();
    let parms = match dict.get(b"DecodeParms").ok() {
        None => &empty,
        Some(Object::Dictionary(d)) => d,
        Some(Object::Array(a)) => match a.as_slice() {
            [Object::Dictionary(d)] => d,
            _ => return None,
        },
        Some(_) => return None,
    };
    let int = |key: &[u8], default: i64| parms.get(key).map_or(Some(default), |o| o.as_i64().ok());
    let flag = |key: &[u8], default: bool| parms.get(key).map_or(Some(default), |o| o.as_bool().ok());
    let (k, columns, rows) = (int(b"K", 0)?, int(b"Columns", 1728)?, int(b"Rows", 0)?);
    if columns != width || (rows != 0 && rows != height) {
        return None;
    }
    let encoding = match k {
        k if k < 0 => hayro_ccitt::EncodingMode::Group4,
        0 => hayro_ccitt::EncodingMode::Group3_1D,
        _ => hayro_ccitt::EncodingMode::Group3_2D,
    };
    let settings = hayro_ccitt::DecodeSettings {
        columns: u32::try_from(width).ok()?,
        rows: u32::try_from(height).ok()?,
        end_of_block: flag(b"EndOfBlock", true)?,
        end_of_line: flag(b"EndOfLine", false)?,
        rows_are_byte_aligned: flag(b"EncodedByteAlign", false)?,
        encoding,
        strict: false,
    };
    Some(Ccitt { data: data.to_vec(), settings, black_is_1: flag(b"BlackIs1", false)? })
}

/// A CCITT image's pixels, black 0 and white 255 as the page shows them;
/// `None` when it is too large or does not decode whole (hayro's renderer
/// then has its say).
fn ccitt_pixels(c: &Ccitt, limits: &Limits) -> Option<GrayImage> {
    ccitt_within(&c.data, c.settings, c.black_is_1, limits.max_pixels)
}

/// A Group 4 image of `w`×`h` pixels as PDF's default decode shows it
/// (the bitonal pages of the vault's own renditions), `None` when larger
/// than `max_pixels` or when it does not decode whole.
pub(crate) fn group4_pixels(data: &[u8], w: u32, h: u32, max_pixels: u64) -> Option<GrayImage> {
    ccitt_within(data, crate::bitonal::own_settings(w, h), false, max_pixels)
}

fn ccitt_within(
    data: &[u8],
    settings: hayro_ccitt::DecodeSettings,
    black_is_1: bool,
    max_pixels: u64,
) -> Option<GrayImage> {
    struct Rows {
        pixels: Vec<u8>,
        width: usize,
        row: usize,
        /// The colour of coded black runs, and of the others.
        ink: u8,
        paper: u8,
    }
    impl hayro_ccitt::Decoder for Rows {
        fn push_row(&mut self, changes: &[u32]) {
            let Some(line) = self.pixels.get_mut(self.row * self.width..(self.row + 1) * self.width) else { return };
            line.fill(self.paper);
            for run in changes.chunks(2) {
                let start = (run[0] as usize).min(self.width);
                let end = run.get(1).map_or(self.width, |&e| (e as usize).min(self.width));
                line[start..end.max(start)].fill(self.ink);
            }
            self.row += 1;
        }
    }
    let (w, h) = (settings.columns, settings.rows);
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > max_pixels || w.max(h) as f32 > MAX_SIDE {
        return None;
    }
    let (ink, paper) = if black_is_1 { (255, 0) } else { (0, 255) };
    let mut rows = Rows { pixels: vec![paper; w as usize * h as usize], width: w as usize, row: 0, ink, paper };
    let mut ctx = hayro_ccitt::DecoderContext::new(settings);
    hayro_ccitt::decode(data, &mut rows, &mut ctx).ok()?;
    // A short image is a damaged one: rendered instead, as any reader would.
    (rows.row == h as usize).then(|| GrayImage::from_raw(w, h, rows.pixels)).flatten()
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
