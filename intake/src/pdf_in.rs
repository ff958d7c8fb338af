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
    hayro_syntax::{LoadPdfError, Pdf, page::Page},
    render,
    vello_cpu::color::palette::css::WHITE,
};

use crate::{Limits, RENDER_DPI, Refusal, RefusalCode, image_in::too_many_pages, pdf_out::PageImage};

/// Most pixels on a page's longer side; larger pages render at a lower
/// resolution so the pixmap stays bounded.
const MAX_RENDER_SIDE: f32 = 5000.0;

pub(crate) fn rasterise(bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    let pdf = open(bytes, limits)?;
    // Pages are rendered on `limits.threads` threads, each with its own
    // cache (hayro's document is shared, read only).
    crate::par::map_with(pdf.pages(), limits.threads, Renderer::new, |renderer, page| {
        renderer.page(page, RENDER_DPI, MAX_RENDER_SIDE, |rgba, w, h, dpi| {
            PageImage::from_rgba(rgba, w, h, dpi)
                .ok_or_else(|| Refusal::unusable(RefusalCode::RenderFailed, "pixmap size"))
        })?
    })
}

/// Opens a PDF with hayro: a password, encryption it cannot open, damage,
/// no page or too many are refusals.
pub(crate) fn open(bytes: &[u8], limits: &Limits) -> Result<Pdf, Refusal> {
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
    Ok(pdf)
}

/// Renders pages over white, sharing hayro's cache across them.
pub(crate) struct Renderer<'a> {
    cache: RenderCache<'a>,
    interpreter: InterpreterSettings,
    settings: RenderSettings,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new() -> Self {
        Self {
            cache: RenderCache::new(),
            interpreter: InterpreterSettings::default(),
            settings: RenderSettings::default(),
        }
    }

    /// Renders `page` at `dpi`, lowered so that its longer side stays within
    /// `max_side` pixels, and hands `then` the premultiplied RGBA pixels
    /// (over opaque white, so the colour channels are final), the width,
    /// the height and the resolution rendered at.
    pub(crate) fn page<T>(
        &self,
        page: &'a Page<'a>,
        dpi: f32,
        max_side: f32,
        then: impl FnOnce(&[u8], u32, u32, f32) -> T,
    ) -> Result<T, Refusal> {
        let (wpt, hpt) = page.render_dimensions();
        if !(wpt.is_finite() && hpt.is_finite()) || wpt < 1.0 || hpt < 1.0 {
            return Err(Refusal::unusable(RefusalCode::BrokenPdf, "a page of the PDF has no usable size"));
        }
        let mut scale = dpi / 72.0;
        let longest = wpt.max(hpt) * scale;
        if longest > max_side {
            scale *= max_side / longest;
        }
        let pixmap = render(
            page,
            &self.cache,
            &self.interpreter,
            &self.settings,
            &PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE },
        );
        let (w, h) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
        if w == 0 || h == 0 {
            return Err(Refusal::unusable(RefusalCode::BrokenPdf, "a page of the PDF renders to nothing"));
        }
        Ok(then(pixmap.data_as_u8_slice(), w, h, scale * 72.0))
    }
}
