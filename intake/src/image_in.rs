//! Decoding JPEG, PNG and TIFF (every page) with dimension and allocation
//! limits checked from the headers before any pixel is decoded, EXIF
//! orientation applied, and nothing but pixels kept (EXIF, GPS, embedded
//! thumbnails and colour profiles are dropped by construction).

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage, metadata::Orientation};
use tiff::{
    ColorType as TiffColor,
    decoder::{Decoder as TiffDecoder, DecodingResult, Limits as TiffLimits},
    tags::Tag,
};

use crate::{Format, Limits, Refusal, RefusalCode, pdf_out::PageImage, scale::fit};

/// Resolution assumed for a photo, which carries none that means anything.
const PHOTO_DPI: f32 = 150.0;
/// Longest side of a rendition page from an image (A4 at 200 dpi).
const MAX_RENDITION_SIDE: u32 = 2339;

fn broken(what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::unusable(RefusalCode::BrokenImage, format!("the {what} image cannot be read ({e}); send the file again"))
}

/// Every page, downscaled to rendition size.
pub(crate) fn decode(format: Format, bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    pages(format, bytes, limits, MAX_RENDITION_SIDE)
}

/// Every page at full resolution, at the resolution the file declares
/// (TIFF tags, JFIF density, PNG `pHYs`) or [`PHOTO_DPI`].
pub(crate) fn decode_full(format: Format, bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    pages(format, bytes, limits, u32::MAX)
}

/// Every page, each downscaled (as it is decoded) to at most `max_side`.
fn pages(format: Format, bytes: &[u8], limits: &Limits, max_side: u32) -> Result<Vec<PageImage>, Refusal> {
    match format {
        Format::Tiff => tiff_pages(bytes, limits, max_side),
        Format::Jpeg => Ok(vec![single(ImageFormat::Jpeg, "JPEG", bytes, limits, max_side)?]),
        Format::Png => Ok(vec![single(ImageFormat::Png, "PNG", bytes, limits, max_side)?]),
        Format::Heif => Ok(vec![fit(crate::heif_in::decode(bytes, limits)?, max_side)?]),
        Format::Pdf => Err(Refusal::Unsupported("not an image".into())),
    }
}

/// A plausible scanning resolution, or none.
fn plausible_dpi(dpi: f32) -> Option<f32> {
    (dpi.is_finite() && (50.0..=1200.0).contains(&dpi)).then_some(dpi)
}

/// The horizontal density of a JFIF header (APP0), in dots per inch.
fn jfif_dpi(bytes: &[u8]) -> Option<f32> {
    let app0 = bytes.get(2..20)?;
    if app0[..2] != [0xFF, 0xE0] || &app0[4..9] != b"JFIF\0" {
        return None;
    }
    let x = f32::from(u16::from_be_bytes([app0[12], app0[13]]));
    match app0[11] {
        1 => plausible_dpi(x),
        2 => plausible_dpi(x * 2.54),
        _ => None,
    }
}

/// The horizontal density of a PNG's `pHYs` chunk, in dots per inch.
fn png_dpi(bytes: &[u8]) -> Option<f32> {
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let len = usize::try_from(u32::from_be_bytes(bytes[i..i + 4].try_into().ok()?)).ok()?;
        let kind = &bytes[i + 4..i + 8];
        if kind == b"pHYs" && len == 9 {
            let d = bytes.get(i + 8..i + 17)?;
            let ppu = u32::from_be_bytes(d[..4].try_into().ok()?) as f32;
            return if d[8] == 1 { plausible_dpi(ppu * 0.0254) } else { None };
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        i = i.checked_add(12)?.checked_add(len)?;
    }
    None
}

/// The size a JPEG's frame header (SOFn) declares, read without decoding.
fn jpeg_frame_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let f = bytes.get(i + 5..i + 9)?;
            return Some((u32::from(u16::from_be_bytes([f[2], f[3]])), u32::from(u16::from_be_bytes([f[0], f[1]]))));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// One image, downscaled to at most `max_side` and then oriented: turning
/// the reduced image moves a third of the pixels a 12 MP photo has.
fn single(format: ImageFormat, name: &str, bytes: &[u8], limits: &Limits, max_side: u32) -> Result<PageImage, Refusal> {
    if format == ImageFormat::Jpeg
        && let Some((w, h)) = jpeg_frame_size(bytes)
    {
        limits.check_size(w, h)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    // Reads the headers only: the size is checked before decoding.
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => {
            Refusal::unusable(RefusalCode::TooLarge, format!("the {name} image is too large ({e})"))
        }
        e => broken(name, e),
    })?;
    let (w, h) = decoder.dimensions();
    limits.check_size(w, h)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(|e| broken(name, e))?;
    let dpi = match format {
        ImageFormat::Jpeg => jfif_dpi(bytes),
        ImageFormat::Png => png_dpi(bytes),
        _ => None,
    }
    .unwrap_or(PHOTO_DPI);
    let page = match img {
        DynamicImage::ImageLuma8(pixels) => fit(PageImage::Gray { pixels, dpi }, max_side)?,
        img => match fit(PageImage::Rgb { pixels: img.into_rgb8(), dpi }, max_side)? {
            PageImage::Rgb { pixels, dpi } => PageImage::from_rgb(pixels, dpi),
            grey => grey,
        },
    };
    Ok(oriented(page, orientation))
}

/// `page` turned or flipped as its EXIF orientation says.
fn oriented(page: PageImage, orientation: Orientation) -> PageImage {
    if orientation == Orientation::NoTransforms {
        return page;
    }
    match page {
        PageImage::Gray { pixels, dpi } => {
            let mut img = DynamicImage::ImageLuma8(pixels);
            img.apply_orientation(orientation);
            PageImage::Gray { pixels: img.into_luma8(), dpi }
        }
        PageImage::Rgb { pixels, dpi } => {
            let mut img = DynamicImage::ImageRgb8(pixels);
            img.apply_orientation(orientation);
            PageImage::Rgb { pixels: img.into_rgb8(), dpi }
        }
    }
}

fn tiff_pages(bytes: &[u8], limits: &Limits, max_side: u32) -> Result<Vec<PageImage>, Refusal> {
    let mut tl = TiffLimits::default();
    tl.decoding_buffer_size = usize::try_from(limits.max_alloc).unwrap_or(usize::MAX);
    tl.intermediate_buffer_size = usize::try_from(limits.max_alloc).unwrap_or(usize::MAX);
    let mut dec = TiffDecoder::new(Cursor::new(bytes)).map_err(|e| broken("TIFF", e))?.with_limits(tl);
    let mut pages = Vec::new();
    loop {
        if pages.len() == limits.max_pages {
            return Err(too_many_pages(limits));
        }
        pages.push(fit(tiff_page(&mut dec, limits)?, max_side)?);
        if !dec.more_images() {
            return Ok(pages);
        }
        dec.next_image().map_err(|e| broken("TIFF", e))?;
    }
}

pub(crate) fn too_many_pages(limits: &Limits) -> Refusal {
    Refusal::unusable(
        RefusalCode::TooManyPages,
        format!("the document has more than {} pages; split it into several pieces", limits.max_pages),
    )
}

fn tiff_page(dec: &mut TiffDecoder<Cursor<&[u8]>>, limits: &Limits) -> Result<PageImage, Refusal> {
    let (w, h) = dec.dimensions().map_err(|e| broken("TIFF", e))?;
    limits.check_size(w, h)?;
    let color = dec.colortype().map_err(|e| broken("TIFF", e))?;
    // A scanner's resolution, so the page prints at its true size.
    let per_cm = dec.get_tag_u32(Tag::ResolutionUnit).ok() == Some(3);
    let dpi = match dec.get_tag(Tag::XResolution) {
        Ok(tiff::decoder::ifd::Value::Rational(n, d)) if d != 0 => n as f32 / d as f32,
        Ok(v) => v.into_f32().unwrap_or(0.0),
        Err(_) => 0.0,
    } * if per_cm { 2.54 } else { 1.0 };
    let dpi = plausible_dpi(dpi).unwrap_or(PHOTO_DPI);
    let white_is_zero = dec.get_tag_u32(Tag::PhotometricInterpretation).ok() == Some(0);
    let data = dec.read_image().map_err(|e| broken("TIFF", e))?;
    let (wu, hu) = (w as usize, h as usize);
    let unsupported =
        || Refusal::unusable(RefusalCode::UnsupportedTiff, format!("TIFF pages of type {color:?} are not accepted"));
    let page = match (color, data) {
        (TiffColor::Gray(8), DecodingResult::U8(v)) if v.len() >= wu * hu => {
            let mut g = GrayImage::from_raw(w, h, v[..wu * hu].to_vec()).ok_or_else(unsupported)?;
            if white_is_zero {
                image::imageops::invert(&mut g);
            }
            PageImage::Gray { pixels: g, dpi }
        }
        (TiffColor::Gray(16), DecodingResult::U16(v)) if v.len() >= wu * hu => {
            let px: Vec<u8> = v[..wu * hu].iter().map(|p| (p >> 8) as u8).collect();
            let mut g = GrayImage::from_raw(w, h, px).ok_or_else(unsupported)?;
            if white_is_zero {
                image::imageops::invert(&mut g);
            }
            PageImage::Gray { pixels: g, dpi }
        }
        (TiffColor::Gray(1), DecodingResult::U8(v)) => {
            // Bilevel scans: rows packed 8 pixels a byte, padded to a byte.
            let row = wu.div_ceil(8);
            if v.len() < row * hu {
                return Err(broken("TIFF", "short bilevel page"));
            }
            let g = GrayImage::from_fn(w, h, |x, y| {
                let bit = (v[y as usize * row + x as usize / 8] >> (7 - (x % 8))) & 1;
                let white = (bit == 1) != white_is_zero;
                image::Luma([if white { 255 } else { 0 }])
            });
            PageImage::Gray { pixels: g, dpi }
        }
        (TiffColor::RGB(8), DecodingResult::U8(v)) if v.len() >= wu * hu * 3 => {
            PageImage::from_rgb(RgbImage::from_raw(w, h, v[..wu * hu * 3].to_vec()).ok_or_else(unsupported)?, dpi)
        }
        (TiffColor::RGBA(8), DecodingResult::U8(v)) if v.len() >= wu * hu * 4 => {
            let rgb: Vec<u8> = v[..wu * hu * 4].chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            PageImage::from_rgb(RgbImage::from_raw(w, h, rgb).ok_or_else(unsupported)?, dpi)
        }
        (TiffColor::RGB(16), DecodingResult::U16(v)) if v.len() >= wu * hu * 3 => {
            let rgb: Vec<u8> = v[..wu * hu * 3].iter().map(|p| (p >> 8) as u8).collect();
            PageImage::from_rgb(RgbImage::from_raw(w, h, rgb).ok_or_else(unsupported)?, dpi)
        }
        _ => return Err(unsupported()),
    };
    Ok(page)
}
