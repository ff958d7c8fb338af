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

pub mod compose;
mod image_in;
pub mod own;
mod pdf_in;
mod pdf_out;
pub mod sample;
pub mod sheet;

pub use pdf_out::{EncodedPage, Encoding, PageImage, build_pdf, build_pdf_from};

/// What the intake accepts, found by magic bytes and then a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Tiff,
}

impl Format {
    pub const ALL: [Format; 4] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Tiff];

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
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_pages: 200, max_pixels: 50_000_000, max_side: 20_000, max_alloc: 512 << 20 }
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
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1" | b"heif")
    {
        Err(Refusal::Unsupported(
            "HEIC/HEIF photos are not accepted: set the phone to take photos as JPEG (\"most compatible\"), \
             or send a PDF, JPEG, PNG or TIFF"
                .into(),
        ))
    } else {
        Err(Refusal::Unsupported("this file is not a PDF, JPEG, PNG or TIFF document: send one of those".into()))
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
    let pages = match format {
        Format::Pdf => pdf_in::rasterise(bytes, limits)?,
        Format::Jpeg | Format::Png | Format::Tiff => image_in::decode(format, bytes, limits)?,
    };
    let Some(first) = pages.first() else {
        return Err(Refusal::unusable(RefusalCode::NoPages, "the document has no page that can be shown"));
    };
    let thumbnail = first.thumbnail(THUMBNAIL_WIDTH)?;
    let count = pages.len();
    let rendition = build_pdf(&pages)?;
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
