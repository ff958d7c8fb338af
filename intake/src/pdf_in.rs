//! Rasterising a PDF with hayro (pure Rust), page by page.
//!
//! Facts measured here (shared/notes/pdf-scan-policy.md): a pathological
//! page tree can make hayro return zero pages without an error, so zero
//! pages is a refusal; a huge MediaBox would ask for a multi-gigabyte
//! pixmap, so pixels per side are capped; a decompression bomb can take
//! memory hayro does not bound, which the worker's address-space limit
//! turns into a crash the server reports as a refusal.

use hayro::{
    PixmapSettings, RenderCache, RenderSettings,
    hayro_interpret::InterpreterSettings,
    hayro_syntax::{LoadPdfError, Pdf},
    render,
    vello_cpu::color::palette::css::WHITE,
};
use image::RgbImage;

use crate::{Limits, RENDER_DPI, Refusal, RefusalCode, image_in::too_many_pages, pdf_out::PageImage};

/// Most pixels on a page's longer side; larger pages render at a lower
/// resolution so the pixmap stays bounded.
const MAX_RENDER_SIDE: f32 = 5000.0;

pub(crate) fn rasterise(bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    let pdf = Pdf::new(bytes.to_vec()).map_err(|e| match e {
        // hayro does not export its DecryptionError type; its variant name
        // is the only handle on "a password is needed".
        LoadPdfError::Decryption(d) if format!("{d:?}") == "PasswordProtected" => Refusal::unusable(
            RefusalCode::PasswordProtected,
            "the PDF is protected by a password: remove the password (print it again as a PDF) and send it again",
        ),
        LoadPdfError::Decryption(d) => Refusal::unusable(
            RefusalCode::Encrypted,
            format!("the PDF's encryption cannot be opened ({d:?}); send an unprotected copy"),
        ),
        LoadPdfError::Invalid => Refusal::unusable(
            RefusalCode::BrokenPdf,
            "the PDF is damaged and cannot be read; send the file again or print it again as a PDF",
        ),
    })?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(Refusal::unusable(RefusalCode::NoPages, "the PDF has no page that can be read"));
    }
    if pages.len() > limits.max_pages {
        return Err(too_many_pages(limits));
    }
    let cache = RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let settings = RenderSettings::default();
    let mut out = Vec::with_capacity(pages.len());
    for page in pages.iter() {
        let (wpt, hpt) = page.render_dimensions();
        if !(wpt.is_finite() && hpt.is_finite()) || wpt < 1.0 || hpt < 1.0 {
            return Err(Refusal::unusable(RefusalCode::BrokenPdf, "a page of the PDF has no usable size"));
        }
        let mut scale = RENDER_DPI / 72.0;
        let longest = wpt.max(hpt) * scale;
        if longest > MAX_RENDER_SIDE {
            scale *= MAX_RENDER_SIDE / longest;
        }
        let pixmap = render(
            page,
            &cache,
            &interpreter,
            &settings,
            &PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE },
        );
        let (w, h) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
        if w == 0 || h == 0 {
            return Err(Refusal::unusable(RefusalCode::BrokenPdf, "a page of the PDF renders to nothing"));
        }
        // Premultiplied RGBA over an opaque white background: the colour
        // channels are the final colours.
        let rgb: Vec<u8> = pixmap.data_as_u8_slice().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        let pixels =
            RgbImage::from_raw(w, h, rgb).ok_or_else(|| Refusal::unusable(RefusalCode::RenderFailed, "pixmap size"))?;
        out.push(PageImage::from_rgb(pixels, scale * 72.0));
    }
    Ok(out)
}
