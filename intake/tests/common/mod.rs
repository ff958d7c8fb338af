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

/// A `w`×`h` photo-like RGB image: a gradient with a dark square in the
/// top-left corner (to check orientation).
pub fn photo(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            image::Rgb([10, 10, 10])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 180])
        }
    })
}

pub fn png_of(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg_rgb(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(img.as_raw(), img.width() as u16, img.height() as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// The same JPEG with an EXIF block: orientation 6 (rotate 90° clockwise
/// to display) and a GPS position.
pub fn jpeg_with_exif_rotation_and_gps(img: &image::RgbImage) -> Vec<u8> {
    let jpeg = jpeg_rgb(img);
    // TIFF, big-endian: IFD0 with Orientation and a GPS IFD pointer; the
    // GPS IFD with latitude reference and latitude.
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, ty: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&ty.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0112, 3, 1, [0, 6, 0, 0]);
    let gps_at = 8 + 2 + 2 * 12 + 4;
    entry(&mut t, 0x8825, 4, 1, (gps_at as u32).to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD: LatitudeRef "N", Latitude 3 rationals (50°57'0").
    let rationals_at = gps_at + 2 + 2 * 12 + 4;
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, [b'N', 0, 0, 0]);
    entry(&mut t, 0x0002, 5, 3, (rationals_at as u32).to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    for (n, d) in [(50u32, 1u32), (57, 1), (0, 1)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
