//! Turning an untrusted upload into what partners may open: the type found
//! by content, a page count, a sanitised PDF rebuilt from pixels, and a
//! first-page thumbnail.
//!
//! Everything here parses hostile bytes, so it runs only inside the vault's
//! sandboxed worker process (resource limits, no network), never in the
//! server. Limits are checked from headers before decoding wherever the
//! format allows it; what slips past them is caught by the worker's memory
//! and CPU limits.
//!
//! The rendition keeps nothing of the original but its pixels: no
//! JavaScript, actions, annotations, forms, attachments, metadata, EXIF or
//! earlier revisions can survive a rebuild from rasterised pages.

pub mod bitonal;
pub mod compose;
mod heif_in;
mod image_in;
pub mod own;
mod par;
mod pdf_in;
mod pdf_out;
pub mod sample;
mod scale;
pub mod scan_pdf;
pub mod sheet;

pub use heif_in::load as load_heif;
pub use pdf_out::{EncodedPage, Encoding, PageImage, build_pdf, build_pdf_from};

/// What the intake accepts, found by magic bytes and then a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Tiff,
    /// HEIC/HEIF phone photos (decoded by libheif where installed).
    Heif,
}

impl Format {
    pub const ALL: [Format; 5] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Tiff, Self::Heif];

    /// The format whose media type this is, if it is one of ours: how the
    /// server reads a worker's answer without taking its word for a type.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.media_type() == media_type)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Tiff => "image/tiff",
            Self::Heif => "image/heic",
        }
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Tiff => "tif",
            Self::Heif => "heic",
        }
    }
}

/// Limits on what one upload may make the worker do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pages: usize,
    /// Pixels per page, checked from headers before decoding.
    pub max_pixels: u64,
    /// Longest side of a decoded image, in pixels.
    pub max_side: u32,
    /// Bytes the image decoder may allocate for one image.
    pub max_alloc: u64,
    /// Threads one document's pages may be rendered and encoded on.
    pub threads: usize,
}

impl Limits {
    /// Refuses an image whose size, read from its header, is past the limits.
    pub(crate) fn check_size(&self, w: u32, h: u32) -> Result<(), Refusal> {
        if w == 0 || h == 0 {
            return Err(Refusal::unusable(RefusalCode::BrokenImage, "the image has no pixels"));
        }
        if w > self.max_side || h > self.max_side || u64::from(w) * u64::from(h) > self.max_pixels {
            return Err(Refusal::unusable(
                RefusalCode::TooLarge,
                format!(
                    "the image is {w}×{h} pixels; at most {} pixels per side and {} megapixels are accepted",
                    self.max_side,
                    self.max_pixels / 1_000_000
                ),
            ));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_pages: 200, max_pixels: 50_000_000, max_side: 20_000, max_alloc: 512 << 20, threads: 1 }
    }
}

/// Resolution of rendition pages: legible on screen and in print, small
/// enough for a 40-page dossier.
pub const RENDER_DPI: f32 = 150.0;
/// Width of the first-page thumbnail.
pub const THUMBNAIL_WIDTH: u32 = 240;

/// The result of a successful intake.
#[derive(Debug)]
pub struct Intake {
    pub format: Format,
    pub pages: usize,
    /// The sanitised rendition (a PDF of image-only pages).
    pub rendition: Vec<u8>,
    /// A JPEG of the first page, [`THUMBNAIL_WIDTH`] pixels wide.
    pub thumbnail: Vec<u8>,
}

/// Why an upload is refused, in words the uploader can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a type the vault accepts (HTTP 415).
    #[error("{0}")]
    Unsupported(String),
    /// A type the vault accepts, but this file cannot be used (HTTP 422).
    #[error("{message}")]
    Unusable { code: RefusalCode, message: String },
}

/// A failure of our own rendering code (not of the document): the same
/// refusal shape, code `render_failed`, naming what failed.
pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::unusable(RefusalCode::RenderFailed, format!("{what}: {e}"))
}

impl Refusal {
    pub(crate) fn unusable(code: RefusalCode, message: impl Into<String>) -> Self {
        Self::Unusable { code, message: message.into() }
    }
}

/// Why a document of an accepted type cannot be used: the one list the
/// worker answers with, the API returns as `error.code` and the pages word
/// in French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    PasswordProtected,
    Encrypted,
    BrokenPdf,
    NoPages,
    TooManyPages,
    TooLarge,
    BrokenImage,
    UnsupportedTiff,
    RenderFailed,
    /// The worker died, timed out or answered garbage.
    UnreadableDocument,
    /// Refused by the server before any parsing: the dossier holds the
    /// most pieces, bytes or pages it may. Listed here so that the API's
    /// codes and the pages' French words stay one list.
    DossierFull,
}

impl RefusalCode {
    pub const ALL: [Self; 11] = [
        Self::PasswordProtected,
        Self::Encrypted,
        Self::BrokenPdf,
        Self::NoPages,
        Self::TooManyPages,
        Self::TooLarge,
        Self::BrokenImage,
        Self::UnsupportedTiff,
        Self::RenderFailed,
        Self::UnreadableDocument,
        Self::DossierFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordProtected => "password_protected",
            Self::Encrypted => "encrypted",
            Self::BrokenPdf => "broken_pdf",
            Self::NoPages => "no_pages",
            Self::TooManyPages => "too_many_pages",
            Self::TooLarge => "too_large",
            Self::BrokenImage => "broken_image",
            Self::UnsupportedTiff => "unsupported_tiff",
            Self::RenderFailed => "render_failed",
            Self::UnreadableDocument => "unreadable_document",
            Self::DossierFull => "dossier_full",
        }
    }

    /// Reads a code back (from the worker's answer).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The format by magic bytes. HEIC/HEIF phone photos are named so the
/// refusal can say what to send instead.
pub fn detect(bytes: &[u8]) -> Result<Format, Refusal> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    // A PDF header may follow a little junk (PDF 1.7 §7.5.2 readers allow
    // it within the first 1024 bytes).
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        Ok(Format::Pdf)
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Ok(Format::Tiff)
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(
            &bytes[8..12],
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"heif"
        )
    {
        Ok(Format::Heif)
    } else {
        Err(Refusal::Unsupported("this file is not a PDF, JPEG, PNG, TIFF or HEIC document: send one of those".into()))
    }
}

/// Decodes a scanner's image file (JPEG, PNG, or TIFF with every page) at
/// full resolution, EXIF orientation applied, each page with the
/// resolution the file declares (150 dpi when it declares none).
pub fn decode_scan(bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    match detect(bytes)? {
        Format::Pdf => Err(Refusal::Unsupported("a PDF is not a scanned image: send JPEG, PNG or TIFF".into())),
        f => image_in::decode_full(f, bytes, limits),
    }
}

/// Parses, rasterises and rebuilds one upload.
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Intake, Refusal> {
    let format = detect(bytes)?;
    let pages = pages_of(format, bytes, limits)?;
    rebuild(format, pages, limits)
}

fn pages_of(format: Format, bytes: &[u8], limits: &Limits) -> Result<Vec<PageImage>, Refusal> {
    match format {
        Format::Pdf => pdf_in::rasterise(bytes, limits),
        Format::Jpeg | Format::Png | Format::Tiff | Format::Heif => image_in::decode(format, bytes, limits),
    }
}

/// Most files one upload may bring as the pages of one document.
pub const MAX_FILES: usize = 20;

/// Quarter turns clockwise that the uploader asked for one file's pages
/// (a photo taken sideways that its phone did not mark as such).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Turns(u8);

impl Turns {
    /// From degrees clockwise: 0, 90, 180 or 270.
    pub fn from_degrees(degrees: u16) -> Option<Self> {
        matches!(degrees, 0 | 90 | 180 | 270).then(|| Self((degrees / 90) as u8))
    }

    /// From a count of quarter turns, any number (taken modulo 4).
    pub fn quarters(n: u8) -> Self {
        Self(n % 4)
    }

    pub fn count(self) -> u8 {
        self.0
    }
}

/// Several files that are the pages of one document (photos taken page by
/// page), in the order given, each file's pages turned as asked: one
/// rendition. The format answered is the first file's. A refusal names the
/// file it is about ("file 2 of 3") when there are several; one file is
/// read exactly as [`process`] reads it.
pub fn process_several(files: &[(&[u8], Turns)], limits: &Limits) -> Result<Intake, Refusal> {
    if files.len() > MAX_FILES {
        return Err(Refusal::unusable(
            RefusalCode::TooManyPages,
            format!("at most {MAX_FILES} files may be sent as the pages of one document"),
        ));
    }
    let which = |i: usize, e: Refusal| {
        let n = files.len();
        match e {
            e if n == 1 => e,
            Refusal::Unsupported(m) => Refusal::Unsupported(format!("file {} of {n}: {m}", i + 1)),
            Refusal::Unusable { code, message } => {
                Refusal::Unusable { code, message: format!("file {} of {n}: {message}", i + 1) }
            }
        }
    };
    let mut first = None;
    let mut pages: Vec<PageImage> = Vec::new();
    for (i, (bytes, turns)) in files.iter().enumerate() {
        let format = detect(bytes).map_err(|e| which(i, e))?;
        let left = Limits { max_pages: limits.max_pages.saturating_sub(pages.len()), ..*limits };
        if left.max_pages == 0 {
            return Err(image_in::too_many_pages(limits));
        }
        let these = pages_of(format, bytes, &left).map_err(|e| which(i, e))?;
        pages.extend(these.into_iter().map(|p| p.turned(*turns)));
        first.get_or_insert(format);
    }
    let Some(format) = first else {
        return Err(Refusal::unusable(RefusalCode::NoPages, "the upload has no file"));
    };
    rebuild(format, pages, limits)
}

fn rebuild(format: Format, pages: Vec<PageImage>, limits: &Limits) -> Result<Intake, Refusal> {
    let Some(first) = pages.first() else {
        return Err(Refusal::unusable(RefusalCode::NoPages, "the document has no page that can be shown"));
    };
    let thumbnail = first.thumbnail(THUMBNAIL_WIDTH)?;
    let count = pages.len();
    let encoded = par::map(&pages, limits.threads, EncodedPage::fitting)?;
    drop(pages);
    let rendition = build_pdf_from(&encoded, &[])?;
    Ok(Intake { format, pages: count, rendition, thumbnail })
}

#[cfg(test)]
mod refusal_code_tests {
    use super::RefusalCode;

    #[test]
    fn every_code_reads_back_and_no_two_share_a_name() {
        let mut names: Vec<&str> = RefusalCode::ALL.iter().map(|c| c.as_str()).collect();
        for c in RefusalCode::ALL {
            assert_eq!(RefusalCode::parse(c.as_str()), Some(c));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RefusalCode::ALL.len());
        assert_eq!(RefusalCode::parse("made_up"), None);
    }
}
