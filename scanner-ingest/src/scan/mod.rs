//! From a scanner's raw page to a clean, compact PDF page: dark borders
//! cropped, text deskewed and made bitonal (CCITT Group 4), photographs and
//! identity documents kept as greyscale or colour JPEG, blank pages told
//! apart, and the scan resolution kept so pages print at their true size.

pub mod analyse;
pub mod bitonal;
pub mod deskew;
pub mod geometry;
pub mod qr;
pub mod turn;

use intake::{EncodedPage, PageImage};

use crate::error::Error;
use bitonal::Bitmap;
use qr::QrRead;

/// JPEG quality of photographic pages at scan resolution.
const PHOTO_QUALITY: u8 = 80;
/// Skews smaller than this (degrees) are left alone: turning the page
/// would blur it for nothing.
const MIN_CORRECTION: f32 = 0.1;

/// What a page was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageClass {
    /// Text: bitonal, Group 4.
    Text,
    /// Photographs or identity documents without colour: greyscale JPEG.
    Gray,
    /// The same in colour: colour JPEG.
    Colour,
    /// Nothing on it but paper (and dust): kept aside, never in a piece.
    Blank,
}

/// A cleaned page.
#[derive(Debug, Clone)]
pub struct CleanPage {
    pub class: PageClass,
    pub encoded: EncodedPage,
    /// Skew corrected, in degrees (0 when none was).
    pub skew: f32,
    /// QR codes read on the page (when asked for).
    pub qr: Vec<QrRead>,
    /// Share of the page in marks beside its QR codes (0 without codes): a
    /// separator sheet carries only its few printed lines.
    pub beside_qr: f32,
}

/// Cleans one raw page; `find_qr` also reads the QR codes on it.
pub fn clean(page: PageImage, find_qr: bool) -> Result<CleanPage, Error> {
    let dpi = page.dpi();
    let (gray, rgb) = match page {
        PageImage::Gray { pixels, .. } => (pixels, None),
        PageImage::Rgb { pixels, .. } => (geometry::luma(&pixels), Some(pixels)),
    };
    let bounds = geometry::paper_bounds(&gray);
    let whole = bounds.is_whole(gray.width(), gray.height());
    let mut gray = if whole { gray } else { geometry::crop_gray(gray, bounds) };
    let rgb = rgb.map(|c| if whole { c } else { geometry::crop_rgb(&c, bounds) });
    geometry::whiten_edges(&mut gray);
    let a = analyse::analyse(&gray, rgb.as_ref());
    let found = if find_qr { qr::read(&a.small) } else { Vec::new() };
    let beside_qr =
        if found.is_empty() { 0.0 } else { a.marks_outside(&found.iter().map(|f| f.1).collect::<Vec<_>>()) };
    let qr: Vec<QrRead> = found.into_iter().map(|f| f.0).collect();

    if a.is_continuous_tone() && !a.is_blank() {
        let (class, image) = match rgb {
            Some(pixels) if a.is_colour() => (PageClass::Colour, PageImage::Rgb { pixels, dpi }),
            _ => (PageClass::Gray, PageImage::Gray { pixels: gray, dpi }),
        };
        let encoded = EncodedPage::jpeg(&image, PHOTO_QUALITY).map_err(|e| Error::Image(e.to_string()))?;
        return Ok(CleanPage { class, encoded, skew: 0.0, qr, beside_qr });
    }
    let (class, measured) =
        if a.is_blank() { (PageClass::Blank, 0.0) } else { (PageClass::Text, deskew::estimate(&a.small, a.ink)) };
    let skew = if measured.abs() >= MIN_CORRECTION { measured } else { 0.0 };
    // Turned straight to bits (see `turn`): the grey page is never turned.
    let black =
        if skew != 0.0 { turn::Turn::new(&gray, -skew).bitonal(a.otsu) } else { Bitmap::threshold(&gray, a.otsu) };
    let bits = black.despeckled();
    let encoded = EncodedPage::group4(bits.group4(), bits.width(), bits.height(), dpi);
    Ok(CleanPage { class, encoded, skew, qr, beside_qr })
}
