//! Hostile and ordinary documents, made by the tests themselves.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Cursor;

/// A PDF from object bodies (object n is `objects[n - 1]`), with a correct
/// xref table; object 1 is the catalog.
pub fn pdf(objects: &[String]) -> Vec<u8> {
    intake::sample::pdf(&objects.iter().map(|o| o.as_bytes().to_vec()).collect::<Vec<_>>())
}

pub fn stream(dict: &str, data: &[u8]) -> String {
    String::from_utf8_lossy(&intake::sample::stream(dict, data)).into_owned()
}

/// A one-page text document; `catalog_extra` and `page_extra` are spliced
/// into the catalog and page dictionaries, `more` are objects 6 and up.
pub fn text_pdf(catalog_extra: &str, page_extra: &str, more: &[String]) -> Vec<u8> {
    let content = b"BT /F1 36 Tf 72 700 Td (DNU MARKER 12345) Tj ET\n0 0 0 RG 5 w 72 650 m 500 650 l S";
    let mut objs = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> {page_extra} >>"
        ),
        stream("", content),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    objs.extend(more.iter().cloned());
    pdf(&objs)
}

/// Words that must not survive in a rendition.
pub const ACTIVE: [&str; 16] = [
    "JavaScript",
    "/JS",
    "OpenAction",
    "/AA",
    "Launch",
    "EmbeddedFile",
    "XFA",
    "RichMedia",
    "/URI",
    "Annots",
    "AcroForm",
    "/Names",
    "J#61vaScript",
    "app.alert",
    "Metadata",
    "ObjStm",
];

pub fn png_crc(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG that claims `w`×`h` pixels and holds almost nothing.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&png_crc(&ihdr).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IEND");
    out.extend_from_slice(&png_crc(b"IEND").to_be_bytes());
    out
}

/// A JPEG whose frame header claims `w`×`h` pixels.
pub fn jpeg_header_only(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

pub use intake::sample::{jpeg_rgb, jpeg_with_exif_rotation_and_gps, photo};

pub fn png_of(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
