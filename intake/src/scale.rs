//! Downscaling pages: a rendition from a 12-megapixel photo and every
//! thumbnail. The filter is the antialiased triangle (bilinear) the `image`
//! crate's `Triangle` applies, run by `fast_image_resize`'s SIMD kernels:
//! on a 12 MP photo `image`'s f32 loop took half of the whole intake
//! (`bench/README.md`).

use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images::Image};
use image::{GrayImage, RgbImage};

use crate::{Refusal, internal, pdf_out::PageImage};

fn resized(width: u32, height: u32, raw: &[u8], kind: PixelType, nw: u32, nh: u32) -> Result<Vec<u8>, Refusal> {
    let src = fast_image_resize::images::ImageRef::new(width, height, raw, kind)
        .map_err(|e| internal("page buffer for scaling", e))?;
    let mut dst = Image::new(nw, nh, kind);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&src, &mut dst, &options).map_err(|e| internal("scaling a page", e))?;
    Ok(dst.into_vec())
}

/// `page` scaled to `nw`×`nh` pixels, its resolution unchanged.
pub(crate) fn to(page: &PageImage, nw: u32, nh: u32) -> Result<PageImage, Refusal> {
    let (w, h) = page.dimensions();
    let (nw, nh) = (nw.max(1), nh.max(1));
    let wrong = |e: &str| internal("scaled page buffer", e);
    Ok(match page {
        PageImage::Gray { pixels, dpi } => PageImage::Gray {
            pixels: GrayImage::from_raw(nw, nh, resized(w, h, pixels.as_raw(), PixelType::U8, nw, nh)?)
                .ok_or_else(|| wrong("grey"))?,
            dpi: *dpi,
        },
        PageImage::Rgb { pixels, dpi } => PageImage::Rgb {
            pixels: RgbImage::from_raw(nw, nh, resized(w, h, pixels.as_raw(), PixelType::U8x3, nw, nh)?)
                .ok_or_else(|| wrong("colour"))?,
            dpi: *dpi,
        },
    })
}

impl PageImage {
    /// A small JPEG of the page, `width` pixels wide.
    pub fn thumbnail(&self, width: u32) -> Result<Vec<u8>, Refusal> {
        let (w, h) = self.dimensions();
        let height = (u64::from(h) * u64::from(width) / u64::from(w.max(1))).clamp(1, 4 * u64::from(width));
        let height = u32::try_from(height).unwrap_or(width);
        let small = crate::scale::to(self, width, height)?;
        small.jpeg(75)
    }
}

/// Downscales a page so its longest side is at most `max_side` pixels,
/// keeping its printed size (the resolution drops with it).
pub(crate) fn fit(page: PageImage, max_side: u32) -> Result<PageImage, Refusal> {
    let (w, h) = page.dimensions();
    let longest = w.max(h);
    if longest <= max_side {
        return Ok(page);
    }
    let ratio = max_side as f32 / longest as f32;
    let (nw, nh) = (((w as f32 * ratio) as u32).max(1), ((h as f32 * ratio) as u32).max(1));
    Ok(match to(&page, nw, nh)? {
        PageImage::Gray { pixels, dpi } => PageImage::Gray { pixels, dpi: dpi * ratio },
        PageImage::Rgb { pixels, dpi } => PageImage::Rgb { pixels, dpi: dpi * ratio },
    })
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma, imageops::FilterType as ImageFilter};

    use super::*;

    /// The same filter as `image`'s Triangle: on a page of text-like
    /// strokes the two agree to within a few grey levels nearly everywhere.
    #[test]
    fn matches_the_triangle_filter_it_replaces() {
        let src = GrayImage::from_fn(997, 1403, |x, y| {
            Luma([if (x / 7 + y / 11) % 3 == 0 || (x * 31 + y * 17) % 97 < 5 { 20 } else { 235 }])
        });
        let (nw, nh) = (583, 820);
        let ours = match to(&PageImage::Gray { pixels: src.clone(), dpi: 300.0 }, nw, nh).unwrap() {
            PageImage::Gray { pixels, dpi } => {
                assert_eq!(dpi, 300.0);
                pixels
            }
            PageImage::Rgb { .. } => panic!("a grey page came back in colour"),
        };
        let theirs = image::imageops::resize(&src, nw, nh, ImageFilter::Triangle);
        assert_eq!(ours.dimensions(), theirs.dimensions());
        let far = ours.pixels().zip(theirs.pixels()).filter(|(a, b)| a.0[0].abs_diff(b.0[0]) > 6).count();
        assert!(far * 1000 < (nw * nh) as usize, "{far} of {} pixels differ by more than 6 levels", nw * nh);
    }
}
