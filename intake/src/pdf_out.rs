//! Rebuilding a PDF from page images: one JPEG image XObject per page and a
//! content stream that paints it, nothing else (no outlines, annotations,
//! actions, metadata or incremental sections).

use image::{GrayImage, RgbImage};
use lopdf::{
    Document, Object, Stream,
    content::{Content, Operation},
    dictionary,
};

use crate::{Refusal, internal};

/// JPEG quality of rendition pages: text stays crisp at 150 dpi.
const QUALITY: u8 = 82;

/// A bitonal page this small is smaller than its JPEG without asking (a
/// 150-dpi text page's JPEG is 200 KB and more): the JPEG is encoded to
/// compare only beyond.
const BITONAL_SURE: usize = 48 * 1024;

/// One rasterised page and the resolution it prints at.
#[derive(Debug, Clone)]
pub enum PageImage {
    Gray { pixels: GrayImage, dpi: f32 },
    Rgb { pixels: RgbImage, dpi: f32 },
}

impl PageImage {
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Self::Gray { pixels, .. } => pixels.dimensions(),
            Self::Rgb { pixels, .. } => pixels.dimensions(),
        }
    }

    pub fn dpi(&self) -> f32 {
        match self {
            Self::Gray { dpi, .. } | Self::Rgb { dpi, .. } => *dpi,
        }
    }

    /// The page turned clockwise by `turns` quarter turns.
    pub fn turned(self, turns: crate::Turns) -> Self {
        use image::imageops::{rotate90, rotate180, rotate270};
        fn turn<P: image::Pixel + 'static>(
            img: image::ImageBuffer<P, Vec<P::Subpixel>>,
            n: u8,
        ) -> image::ImageBuffer<P, Vec<P::Subpixel>> {
            match n {
                1 => rotate90(&img),
                2 => rotate180(&img),
                3 => rotate270(&img),
                _ => img,
            }
        }
        let n = turns.count();
        match self {
            Self::Gray { pixels, dpi } => Self::Gray { pixels: turn(pixels, n), dpi },
            Self::Rgb { pixels, dpi } => Self::Rgb { pixels: turn(pixels, n), dpi },
        }
    }

    /// A grey page when every pixel is grey (scans of text), which makes
    /// smaller JPEGs.
    pub fn from_rgb(pixels: RgbImage, dpi: f32) -> Self {
        if all_grey(pixels.as_raw().chunks_exact(3)) {
            let (w, h) = pixels.dimensions();
            let green = pixels.as_raw().chunks_exact(3).map(|p| p[1]).collect();
            Self::Gray { pixels: GrayImage::from_raw(w, h, green).unwrap_or_default(), dpi }
        } else {
            Self::Rgb { pixels, dpi }
        }
    }

    /// The same from a renderer's RGBA pixels (opaque: alpha is dropped),
    /// in one copy; `None` if `rgba` is not `w`×`h` pixels.
    pub fn from_rgba(rgba: &[u8], w: u32, h: u32, dpi: f32) -> Option<Self> {
        if rgba.len() != w as usize * h as usize * 4 {
            return None;
        }
        Some(if all_grey(rgba.chunks_exact(4)) {
            Self::Gray { pixels: GrayImage::from_raw(w, h, rgba.chunks_exact(4).map(|p| p[1]).collect())?, dpi }
        } else {
            let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            Self::Rgb { pixels: RgbImage::from_raw(w, h, rgb)?, dpi }
        })
    }

    /// The page as a baseline JPEG.
    pub fn jpeg(&self, quality: u8) -> Result<Vec<u8>, Refusal> {
        let (w, h) = self.dimensions();
        let (w16, h16) = (
            u16::try_from(w).map_err(|e| internal("page too wide", e))?,
            u16::try_from(h).map_err(|e| internal("page too tall", e))?,
        );
        let mut out = Vec::new();
        let enc = jpeg_encoder::Encoder::new(&mut out, quality);
        match self {
            Self::Gray { pixels, .. } => enc.encode(pixels.as_raw(), w16, h16, jpeg_encoder::ColorType::Luma),
            Self::Rgb { pixels, .. } => enc.encode(pixels.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb),
        }
        .map_err(|e| internal("JPEG encoding", e))?;
        Ok(out)
    }
}

/// How a page's image is compressed in the PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Baseline JPEG (`DCTDecode`), grey or colour.
    Jpeg { gray: bool },
    /// Bitonal CCITT Group 4 (`CCITTFaxDecode`, K -1), black runs as 0:
    /// text pages at a tenth of their JPEG size.
    Group4,
}

/// A page ready to be written: its compressed image and how it prints.
#[derive(Debug, Clone)]
pub struct EncodedPage {
    data: Vec<u8>,
    width: u32,
    height: u32,
    encoding: Encoding,
    dpi: f32,
}

impl EncodedPage {
    /// The page as a JPEG of the rendition quality.
    pub fn new(page: &PageImage) -> Result<Self, Refusal> {
        Self::jpeg(page, QUALITY)
    }

    /// The page as a rendition keeps it: a text page bitonal in Group 4
    /// ([`crate::bitonal`]), any other as a JPEG. A bitonal page larger
    /// than [`BITONAL_SURE`] is weighed against its JPEG and the smaller
    /// kept, so that a rendition page is never larger than its JPEG.
    pub fn fitting(page: &PageImage) -> Result<Self, Refusal> {
        let PageImage::Gray { pixels, dpi } = page else { return Self::new(page) };
        if !crate::bitonal::is_text(pixels) {
            return Self::new(page);
        }
        let (w, h) = pixels.dimensions();
        let bitonal = Self::group4(crate::bitonal::group4(pixels), w, h, *dpi);
        if bitonal.len() <= BITONAL_SURE {
            return Ok(bitonal);
        }
        let jpeg = Self::new(page)?;
        Ok(if jpeg.len() < bitonal.len() { jpeg } else { bitonal })
    }

    /// The page as a JPEG of `quality`.
    pub fn jpeg(page: &PageImage, quality: u8) -> Result<Self, Refusal> {
        let (width, height) = page.dimensions();
        Ok(Self {
            data: page.jpeg(quality)?,
            width,
            height,
            encoding: Encoding::Jpeg { gray: matches!(page, PageImage::Gray { .. }) },
            dpi: page.dpi(),
        })
    }

    /// An already Group 4-encoded bitonal page of `width`×`height` pixels.
    pub fn group4(data: Vec<u8>, width: u32, height: u32, dpi: f32) -> Self {
        Self { data, width, height, encoding: Encoding::Group4, dpi }
    }

    /// Bytes of the compressed image.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
}

/// A PDF whose pages are exactly these images, each at its true size.
pub fn build_pdf(pages: &[PageImage]) -> Result<Vec<u8>, Refusal> {
    let encoded = pages.iter().map(EncodedPage::new).collect::<Result<Vec<_>, _>>()?;
    build_pdf_from(&encoded, &[])
}

/// The same from encoded pages, with an outline (one bookmark each).
pub fn build_pdf_from<P: std::borrow::Borrow<EncodedPage>>(
    pages: &[P],
    bookmarks: &[Bookmark],
) -> Result<Vec<u8>, Refusal> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::with_capacity(pages.len());
    for page in pages {
        let page: &EncodedPage = page.borrow();
        let (w, h) = (page.width, page.height);
        // The page size comes from the pixels (the rasteriser rounds down),
        // so pixels and points always agree.
        let (wpt, hpt) = (w as f32 * 72.0 / page.dpi, h as f32 * 72.0 / page.dpi);
        let mut dict = dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => i64::from(w),
            "Height" => i64::from(h),
        };
        match page.encoding {
            Encoding::Jpeg { gray } => {
                dict.set("ColorSpace", if gray { "DeviceGray" } else { "DeviceRGB" });
                dict.set("BitsPerComponent", 8);
                dict.set("Filter", "DCTDecode");
            }
            Encoding::Group4 => {
                dict.set("ColorSpace", "DeviceGray");
                dict.set("BitsPerComponent", 1);
                dict.set("Filter", "CCITTFaxDecode");
                dict.set("DecodeParms", dictionary! { "K" => -1, "Columns" => i64::from(w), "Rows" => i64::from(h) });
            }
        }
        let image = Stream::new(dict, page.data.clone()).with_compression(false);
        let image_id = doc.add_object(image);
        let content = Content {
            operations: vec![
                Operation::new("q", vec![]),
                Operation::new("cm", vec![wpt.into(), 0.into(), 0.into(), hpt.into(), 0.into(), 0.into()]),
                Operation::new("Do", vec![Object::Name(b"P".to_vec())]),
                Operation::new("Q", vec![]),
            ],
        };
        let content_id =
            doc.add_object(Stream::new(dictionary! {}, content.encode().map_err(|e| internal("page content", e))?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), wpt.into(), hpt.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "P" => image_id } },
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).map_err(|e| internal("page count", e))?;
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    add_outline(&mut doc, &mut catalog, &kids, bookmarks);
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| internal("writing the PDF", e))?;
    Ok(out)
}

/// PDF text string: UTF-16BE with its byte-order mark, as hex (no escaping).
fn text_string(s: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(bytes, lopdf::StringFormat::Hexadecimal)
}

/// A bookmark: its title and the index of the page it opens (0-based).
#[derive(Debug, Clone)]
pub struct Bookmark {
    pub title: String,
    pub page: usize,
}

/// The outline of `bookmarks` over the document's page objects, added to
/// the catalog (flat: one entry per piece).
pub(crate) fn add_outline(
    doc: &mut Document,
    catalog: &mut lopdf::Dictionary,
    kids: &[Object],
    bookmarks: &[Bookmark],
) {
    if bookmarks.is_empty() {
        return;
    }
    let outlines_id = doc.new_object_id();
    let ids: Vec<lopdf::ObjectId> = bookmarks.iter().map(|_| doc.new_object_id()).collect();
    for (i, (b, id)) in bookmarks.iter().zip(&ids).enumerate() {
        let page = kids.get(b.page).or(kids.last()).cloned().unwrap_or(Object::Null);
        let mut item = dictionary! {
            "Title" => text_string(&b.title),
            "Parent" => outlines_id,
            "Dest" => vec![page, Object::Name(b"Fit".to_vec())],
        };
        if i > 0 {
            item.set("Prev", ids[i - 1]);
        }
        if let Some(next) = ids.get(i + 1) {
            item.set("Next", *next);
        }
        doc.objects.insert(*id, Object::Dictionary(item));
    }
    doc.objects.insert(
        outlines_id,
        Object::Dictionary(dictionary! {
            "Type" => "Outlines",
            "First" => ids[0],
            "Last" => ids[ids.len() - 1],
            "Count" => ids.len() as i64,
        }),
    );
    catalog.set("Outlines", outlines_id);
    catalog.set("PageMode", "UseOutlines");
}

/// Every pixel grey: its channels within 2 levels of each other.
fn all_grey<'a>(mut pixels: impl Iterator<Item = &'a [u8]>) -> bool {
    pixels.all(|p| p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2)
}
