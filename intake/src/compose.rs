//! Composing the complete dossier for a partner: the pages of the vault's
//! own renditions, a cover page, and a watermark naming the recipient drawn
//! *into the pixels* of every page (it cannot be removed by editing the
//! PDF), with one bookmark per piece.
//!
//! The renditions come from the intake worker (one image per page, JPEG or
//! bitonal Group 4, [`crate::build_pdf`]); [`Rendition::open`] takes one only in exactly
//! that shape ([`crate::own`]), and the text is laid out by the vault. Text is rasterised by hayro from a PDF page built
//! here, with its built-in Helvetica.

use hayro::{
    PixmapSettings, RenderCache, RenderSettings, hayro_interpret::InterpreterSettings, hayro_syntax::Pdf, render,
    vello_cpu::color::palette::css::WHITE,
};
use image::{GrayImage, ImageFormat, Luma};
use lopdf::{
    Document, Object, Stream,
    content::{Content, Operation},
    dictionary,
};

pub use crate::pdf_out::Bookmark;
use crate::{PageImage, Refusal, internal};

/// Opacity of the watermark ink over the page.
const WATERMARK_OPACITY: f32 = 0.28;
/// Watermark text size, in points.
const WATERMARK_SIZE: f32 = 15.0;
/// On bitonal pages, one row in this many of the watermark's letters is
/// inked.
const HATCH: usize = 3;

/// A rendition made by [`crate::build_pdf`], read back a page at a time
/// (a 200-page piece is never decoded whole).
pub struct Rendition {
    doc: Document,
    pages: Vec<lopdf::ObjectId>,
}

impl Rendition {
    /// Opens a rendition, refused unless it is exactly the vault's own
    /// shape ([`crate::own`]): the intake worker wrote it.
    pub fn open(pdf: &[u8]) -> Result<Self, Refusal> {
        let doc = Document::load_mem(pdf).map_err(|e| internal("reading a rendition", e))?;
        let pages = crate::own::check(&doc).map_err(|e| internal("reading a rendition", e))?;
        Ok(Self { doc, pages })
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Page `i`'s image and the page's width in points.
    fn image(&self, i: usize) -> Result<(&lopdf::Stream, f32), Refusal> {
        let bad = |why: &str| internal("reading a rendition", why);
        let id = *self.pages.get(i).ok_or_else(|| bad("no such page"))?;
        let page = self.doc.get_dictionary(id).map_err(|e| internal("rendition page", e))?;
        let media = page.get(b"MediaBox").and_then(Object::as_array).map_err(|e| internal("MediaBox", e))?;
        let wpt = media.get(2).and_then(|o| o.as_float().ok()).ok_or_else(|| bad("MediaBox width"))?;
        let image = page
            .get(b"Resources")
            .and_then(Object::as_dict)
            .and_then(|r| r.get(b"XObject"))
            .and_then(Object::as_dict)
            .and_then(|x| x.get(b"P"))
            .and_then(Object::as_reference)
            .and_then(|r| self.doc.get_object(r))
            .and_then(Object::as_stream)
            .map_err(|e| internal("rendition page image", e))?;
        Ok((image, wpt.max(1.0)))
    }

    /// Page `i` as the rendition keeps it when bitonal: its Group 4 data
    /// and size (`own::check` proved the parameters are the dictionary's
    /// Width and Height); `None` for a JPEG page.
    pub fn page_group4(&self, i: usize) -> Result<Option<Group4Page<'_>>, Refusal> {
        let (image, wpt) = self.image(i)?;
        group4_of(image, wpt)
    }

    /// Page `i` (0-based) as an image at its own resolution, and whether
    /// the rendition keeps it bitonal (its pixels are then 0 or 255).
    pub fn page(&self, i: usize) -> Result<RenditionPage, Refusal> {
        let (image, wpt) = self.image(i)?;
        if let Some(g4) = group4_of(image, wpt)? {
            let pixels = crate::scan_pdf::group4_pixels(g4.data, g4.width, g4.height, u64::MAX)
                .ok_or_else(|| internal("reading a rendition", "a G4 page does not decode whole"))?;
            return Ok(RenditionPage { image: PageImage::Gray { pixels, dpi: g4.dpi }, bitonal: true });
        }
        let decoded = image::load_from_memory_with_format(&image.content, ImageFormat::Jpeg)
            .map_err(|e| internal("rendition page JPEG", e))?;
        let dpi = decoded.width() as f32 * 72.0 / wpt;
        let image = match decoded {
            image::DynamicImage::ImageLuma8(pixels) => PageImage::Gray { pixels, dpi },
            other => PageImage::Rgb { pixels: other.to_rgb8(), dpi },
        };
        Ok(RenditionPage { image, bitonal: false })
    }
}

/// A page's image as Group 4 data when it is bitonal, `None` for a JPEG
/// (`wpt`: the page's width in points).
fn group4_of(image: &lopdf::Stream, wpt: f32) -> Result<Option<Group4Page<'_>>, Refusal> {
    if image.dict.get(b"Filter").and_then(Object::as_name).ok() != Some(b"CCITTFaxDecode".as_slice()) {
        return Ok(None);
    }
    let side = |k: &[u8]| image.dict.get(k).and_then(Object::as_i64).ok().and_then(|v| u32::try_from(v).ok());
    let (width, height) =
        side(b"Width").zip(side(b"Height")).ok_or_else(|| internal("reading a rendition", "G4 image size"))?;
    Ok(Some(Group4Page { data: &image.content, width, height, dpi: width as f32 * 72.0 / wpt }))
}

/// A bitonal page of a rendition, still coded.
#[derive(Debug, Clone, Copy)]
pub struct Group4Page<'a> {
    pub data: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub dpi: f32,
}

/// One page of a rendition, decoded.
#[derive(Debug, Clone)]
pub struct RenditionPage {
    pub image: PageImage,
    /// Kept bitonal (Group 4) by the rendition: a text page.
    pub bitonal: bool,
}

/// Text shown with a simple font: WinAnsi bytes (Latin-1 for French).
fn win_ansi(s: &str) -> Object {
    let bytes = s
        .chars()
        .map(|c| match c {
            '’' => b'\'',
            '—' | '–' => b'-',
            c if (c as u32) < 0x100 => c as u8,
            _ => b'?',
        })
        .collect();
    Object::String(bytes, lopdf::StringFormat::Hexadecimal)
}

/// A line of text on a page being laid out, in points from the bottom left.
#[derive(Debug, Clone)]
pub struct TextLine {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub bold: bool,
    pub text: String,
}

/// The content stream of one page of text; `rotate` (degrees) turns
/// every line about its origin.
fn text_content(lines: &[TextLine], rotate: f32) -> Result<Vec<u8>, Refusal> {
    let (sin, cos) = rotate.to_radians().sin_cos();
    let mut ops = vec![Operation::new("BT", vec![])];
    for l in lines {
        let font = if l.bold { "F2" } else { "F1" };
        ops.push(Operation::new("Tf", vec![Object::Name(font.into()), l.size.into()]));
        ops.push(Operation::new("Tm", vec![cos.into(), sin.into(), (-sin).into(), cos.into(), l.x.into(), l.y.into()]));
        ops.push(Operation::new("Tj", vec![win_ansi(&l.text)]));
    }
    ops.push(Operation::new("ET", vec![]));
    Content { operations: ops }.encode().map_err(|e| internal("text content", e))
}

/// A PDF of pages of `wpt`×`hpt` points holding text in the standard
/// Helvetica (no font embedded: every reader has it, and the text stays
/// text, searchable and read aloud).
fn text_document(wpt: f32, hpt: f32, pages: &[Vec<TextLine>], rotate: f32) -> Result<Vec<u8>, Refusal> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = |name: &str| {
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => name, "Encoding" => "WinAnsiEncoding" }
    };
    let fonts_id = doc.add_object(dictionary! { "F1" => font("Helvetica"), "F2" => font("Helvetica-Bold") });
    let mut kids = Vec::with_capacity(pages.len());
    for lines in pages {
        let content_id = doc.add_object(Stream::new(dictionary! {}, text_content(lines, rotate)?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), wpt.into(), hpt.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => fonts_id },
        });
        kids.push(Object::from(page_id));
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).map_err(|e| internal("text page", e))?;
    Ok(bytes)
}

/// A4 pages of text as a PDF whose text stays text (letters to applicants).
pub fn text_pdf(pages: &[Vec<TextLine>]) -> Result<Vec<u8>, Refusal> {
    text_document(595.0, 842.0, pages, 0.0)
}

/// Renders black text on white at `dpi` over a page of `wpt`×`hpt` points;
/// `rotate` (degrees) turns every line about its origin.
fn render_text(wpt: f32, hpt: f32, dpi: f32, lines: &[TextLine], rotate: f32) -> Result<GrayImage, Refusal> {
    let bytes = text_document(wpt, hpt, std::slice::from_ref(&lines.to_vec()), rotate)?;
    let pdf = Pdf::new(bytes).map_err(|e| internal("text page", format!("{e:?}")))?;
    let pages = pdf.pages();
    let page = pages.first().ok_or_else(|| internal("text page", "no page"))?;
    let scale = dpi / 72.0;
    let pixmap = render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE },
    );
    let (w, h) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    let grey: Vec<u8> = pixmap.data_as_u8_slice().chunks_exact(4).map(|p| p[1]).collect();
    GrayImage::from_raw(w, h, grey).ok_or_else(|| internal("text page", "pixmap size"))
}

/// The watermark ink for pages of one size: how much of the watermark
/// covers each pixel (0 nothing, 255 full), the recipient's text in
/// diagonal rows across the whole page so no part of it can be cut away.
#[derive(Debug, Clone)]
pub struct Watermark {
    coverage: GrayImage,
    /// The hatch drawn into bitonal pages, as each row's colour changes
    /// (none on the rows between hatch lines).
    hatch: Vec<Vec<u32>>,
}

impl Watermark {
    /// `text` repeated along 45° rows over a `w`×`h` pixel page at `dpi`.
    pub fn new(text: &str, w: u32, h: u32, dpi: f32) -> Result<Self, Refusal> {
        let (wpt, hpt) = (w as f32 * 72.0 / dpi, h as f32 * 72.0 / dpi);
        let text = format!("{text}   ·   ");
        // Long enough to cross the page from where each row starts.
        let run = text.repeat((3.0 * (wpt + hpt) / (text.len() as f32 * WATERMARK_SIZE * 0.5)).ceil() as usize + 1);
        // Rows along the 45° direction d = (r, r), spaced along its
        // perpendicular n = (-r, r), enough of them to cover every corner,
        // each starting well before the page so it crosses it whole.
        let r = std::f32::consts::FRAC_1_SQRT_2;
        let step = 90.0;
        let (first, last) = ((-r * wpt / step).floor() as i32 - 1, (r * hpt / step).ceil() as i32 + 1);
        let back = wpt + hpt;
        let lines: Vec<TextLine> = (first..=last)
            .map(|i| {
                let o = i as f32 * step;
                TextLine {
                    x: -r * o - r * back,
                    y: r * o - r * back,
                    size: WATERMARK_SIZE,
                    bold: true,
                    text: run.clone(),
                }
            })
            .collect();
        let rendered = render_text(wpt, hpt, dpi, &lines, 45.0)?;
        let mut coverage = GrayImage::new(w, h);
        for (x, y, p) in coverage.enumerate_pixels_mut() {
            let ink = rendered.get_pixel_checked(x, y).map_or(0, |q| 255 - q.0[0]);
            *p = Luma([ink]);
        }
        let hatch = coverage
            .as_raw()
            .chunks_exact(w.max(1) as usize)
            .enumerate()
            .map(|(y, row)| {
                let mut changes = Vec::new();
                if y % HATCH == 0 {
                    crate::bitonal::changes_of(row, |c| *c > 127, &mut changes);
                }
                changes
            })
            .collect();
        Ok(Self { coverage, hatch })
    }

    /// Draws the watermark into a bitonal page (pixels 0 or 255, kept so):
    /// every [`HATCH`]th row of its letters is inked black, a hatching that
    /// reads as the recipient's text at any zoom, stays clear of the page's
    /// own text (a third of the letters' area), and costs Group 4 little
    /// (whole runs, not a dot screen).
    pub fn apply_bitonal(&self, pixels: &mut GrayImage) {
        let cw = self.coverage.width() as usize;
        let w = pixels.width() as usize;
        if cw == 0 || w == 0 {
            return;
        }
        let rows = pixels.chunks_exact_mut(w).zip(self.coverage.as_raw().chunks_exact(cw));
        for (row, cover) in rows.step_by(HATCH) {
            // A select, not a branch: the compiler makes it SIMD.
            row.iter_mut().zip(cover).for_each(|(v, &c)| *v = if c > 127 { 0 } else { *v });
        }
    }

    /// The same hatch drawn into a bitonal page still coded, run by run: the
    /// page's rows are decoded as colour changes, the hatch's runs joined to
    /// them, and the rows coded again, with no pixel between (the export's
    /// text pages). `None` if the page is not this watermark's size or does
    /// not decode whole.
    pub fn apply_group4(&self, page: &Group4Page<'_>) -> Option<Vec<u8>> {
        struct Marked<'m> {
            hatch: &'m [Vec<u32>],
            enc: crate::bitonal::Group4,
            joined: Vec<u32>,
            width: u32,
            row: usize,
        }
        impl hayro_ccitt::Decoder for Marked<'_> {
            fn push_row(&mut self, changes: &[u32]) {
                match self.hatch.get(self.row) {
                    Some(h) if !h.is_empty() => {
                        crate::bitonal::union(changes, h, self.width, &mut self.joined);
                        self.enc.row(&self.joined);
                    }
                    _ => self.enc.row(changes),
                }
                self.row += 1;
            }
        }
        if self.coverage.dimensions() != (page.width, page.height) {
            return None;
        }
        let settings = crate::bitonal::own_settings(page.width, page.height);
        let mut marked = Marked {
            hatch: &self.hatch,
            enc: crate::bitonal::Group4::new(page.width),
            joined: Vec::new(),
            width: page.width,
            row: 0,
        };
        hayro_ccitt::decode(page.data, &mut marked, &mut hayro_ccitt::DecoderContext::new(settings)).ok()?;
        (marked.row == page.height as usize).then(|| marked.enc.finish())
    }

    /// Fraction of the page the watermark inks (for tests and checks).
    pub fn covered_fraction(&self) -> f64 {
        let inked = self.coverage.pixels().filter(|p| p.0[0] > 128).count();
        inked as f64 / (self.coverage.width() as f64 * self.coverage.height() as f64)
    }

    /// The coverage mask.
    pub fn coverage(&self) -> &GrayImage {
        &self.coverage
    }

    /// Draws the watermark into the page's pixels (dark grey ink, partly
    /// transparent: the page stays legible under it). Integer arithmetic
    /// over whole rows: the f32 blend pixel by pixel, with a bounds check
    /// each, took 12 ms a page, more than encoding it (now 1 ms).
    pub fn apply(&self, page: &mut PageImage) {
        /// Grey level of the ink.
        const INK: u32 = 70;
        /// Opacity of full coverage, per coverage level, in 1/65536.
        const ALPHA_STEP: u32 = (WATERMARK_OPACITY * 65536.0 / 255.0 + 0.5) as u32;
        let blend = |v: &mut u8, c: u8| {
            let a = u32::from(c) * ALPHA_STEP;
            *v = ((u32::from(*v) * (65536 - a) + INK * a + 32768) >> 16) as u8;
        };
        let cw = self.coverage.width() as usize;
        let rows = self.coverage.as_raw().chunks_exact(cw.max(1));
        match page {
            PageImage::Gray { pixels, .. } => {
                let w = (pixels.width() as usize).max(1);
                for (row, cover) in pixels.chunks_exact_mut(w).zip(rows) {
                    row.iter_mut().zip(cover).for_each(|(v, &c)| blend(v, c));
                }
            }
            PageImage::Rgb { pixels, .. } => {
                let w = (pixels.width() as usize).max(1) * 3;
                for (row, cover) in pixels.chunks_exact_mut(w).zip(rows) {
                    for (px, &c) in row.chunks_exact_mut(3).zip(cover) {
                        px.iter_mut().for_each(|v| blend(v, c));
                    }
                }
            }
        }
    }
}

/// An A4 page of text (the cover), at `dpi`.
pub fn text_page(lines: &[TextLine], dpi: f32) -> Result<PageImage, Refusal> {
    let pixels = render_text(595.0, 842.0, dpi, lines, 0.0)?;
    Ok(PageImage::Gray { pixels, dpi })
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;

    /// The blend of every grey level under every coverage level, against
    /// the formula it computes (ink 70 at 28 % opacity), on grey and colour
    /// pages, including a page larger than its mask.
    #[test]
    fn the_watermark_blend_is_the_formula_to_one_level() {
        let mark = Watermark { coverage: GrayImage::from_fn(256, 256, |_, y| Luma([y as u8])), hatch: Vec::new() };
        let expected = |v: u32, c: u32| {
            let a = c as f32 / 255.0 * WATERMARK_OPACITY;
            (v as f32 * (1.0 - a) + 70.0 * a).round() as u8
        };
        let mut grey = PageImage::Gray { pixels: GrayImage::from_fn(300, 260, |x, _| Luma([x as u8])), dpi: 150.0 };
        mark.apply(&mut grey);
        let PageImage::Gray { pixels, .. } = grey else { unreachable!() };
        let mut colour =
            PageImage::Rgb { pixels: RgbImage::from_fn(256, 256, |x, _| image::Rgb([x as u8, 255, 0])), dpi: 150.0 };
        mark.apply(&mut colour);
        let PageImage::Rgb { pixels: rgb, .. } = colour else { unreachable!() };
        for y in 0..256 {
            for x in 0..256 {
                let got = pixels.get_pixel(x, y).0[0];
                assert!(got.abs_diff(expected(x, y)) <= 1, "grey {x} under {y}: {got}");
                let [r, g, b] = rgb.get_pixel(x, y).0;
                assert!(r.abs_diff(expected(x, y)) <= 1 && g.abs_diff(expected(255, y)) <= 1);
                assert!(b.abs_diff(expected(0, y)) <= 1);
            }
        }
        // Beyond the mask, the page is left as it was.
        assert_eq!(pixels.get_pixel(290, 10).0[0], 290u32 as u8);
        assert_eq!(pixels.get_pixel(10, 258).0[0], 10);
    }
}
