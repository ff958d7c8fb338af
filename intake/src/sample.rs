//! Well-formed documents made from scratch, for tests and benchmarks across
//! the workspace: uploads of any size must be real documents now that the
//! vault types and parses every upload.
//!
//! Nothing here parses anything; it only writes PDF syntax, and photo-like
//! JPEGs (with the EXIF a phone adds) for the intake of images.

/// A PDF from object bodies (object n is `objects[n - 1]`) with a correct
/// cross-reference table; object 1 must be the catalog.
pub fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    pdf_padded(objects, 0)
}

/// The same, with `pad` spaces before the cross-reference table (to reach
/// an exact length).
fn pdf_padded(objects: &[Vec<u8>], pad: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    out.resize(out.len() + pad, b' ');
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A stream object's body: dictionary entries `dict`, then `data`.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

fn blank_page_objects(payload: &[u8]) -> Vec<Vec<u8>> {
    vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec(),
        // Referenced by nothing: carried in the file, never drawn.
        stream("", payload),
    ]
}

/// A one-page (blank) PDF carrying `payload` in an unreferenced stream.
pub fn pdf_with_payload(payload: &[u8]) -> Vec<u8> {
    pdf(&blank_page_objects(payload))
}

/// Smallest length [`padded_pdf`] can make.
pub const MIN_PADDED_LEN: usize = 512;

/// A one-page PDF of exactly `len` bytes (at least [`MIN_PADDED_LEN`]),
/// most of them pseudo-random (incompressible, different for each `seed`).
pub fn padded_pdf(len: usize, seed: u64) -> Vec<u8> {
    assert!(len >= MIN_PADDED_LEN, "a padded PDF has at least {MIN_PADDED_LEN} bytes");
    let overhead = pdf_with_payload(&[]).len();
    // Digits of the lengths and offsets grow with the payload; a few spaces
    // before the xref table absorb what a jump in digits leaves over.
    let mut n = len.saturating_sub(overhead);
    loop {
        let objects = blank_page_objects(&pseudo_random(n, seed));
        let made = pdf(&objects).len();
        if made <= len && len - made < 8 {
            let out = pdf_padded(&objects, len - made);
            if out.len() == len {
                return out;
            }
        }
        n = n.checked_sub(1).unwrap_or_else(|| unreachable!("a short payload always fits"));
    }
}

/// Deterministic bytes that do not compress (xorshift).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect()
}

/// A scanned A4 text page at 300 dpi: lines of word-like strokes, paper
/// grain and a slight grey background, as a flatbed scanner gives.
pub fn scanned_page(seed: u32) -> image::GrayImage {
    use image::Luma;
    let (w, h) = (2480, 3508);
    let mut x = 0x9E37_79B9u32 ^ seed;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut img = image::GrayImage::from_fn(w, h, |_, _| Luma([236]));
    for line in 0..70u32 {
        let top = 250 + line * 44;
        let mut col = 200u32;
        while col < w - 260 {
            let word = 40 + rnd() % 160;
            for yy in top..top + 26 {
                for xx in col..col + word {
                    if rnd() % 8 != 0 {
                        img.put_pixel(xx, yy, Luma([30]));
                    }
                }
            }
            col += word + 24;
        }
    }
    for p in img.pixels_mut() {
        p.0[0] = p.0[0].saturating_add((rnd() % 4) as u8);
    }
    img
}

/// A born-digital A4 text document: `pages` pages of `lines` lines of
/// Helvetica at `size` points, each line saying its page and number, and
/// `under` (PDF drawing operators, such as a shaded box) beneath the text
/// of every page.
pub fn text_document(pages: usize, lines: usize, size: f32, under: &str) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let lead = size * 1.45;
    for page in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> >> >>",
                5 + 2 * page
            )
            .into_bytes(),
        );
        let mut text = under.to_owned();
        for line in 0..lines {
            text.push_str(&format!(
                "BT /F1 {size} Tf 60 {:.1} Td (Page {} ligne {line} : revenus, charges, situation familiale) Tj ET\n",
                790.0 - lead * line as f32,
                page + 1
            ));
        }
        objects.push(stream("", text.as_bytes()));
    }
    pdf(&objects)
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

pub fn jpeg_rgb(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(img.as_raw(), img.width() as u16, img.height() as u16, jpeg_encoder::ColorType::Rgb)
        .expect("a sample image is small enough for JPEG");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_pdfs_have_the_exact_length_asked() {
        for len in [MIN_PADDED_LEN, 513, 999, 1000, 1001, 9_999, 10_000, 65_536, 100_000, 1_000_003] {
            let d = padded_pdf(len, 3);
            assert_eq!(d.len(), len);
            assert!(d.starts_with(b"%PDF-1.7") && d.ends_with(b"%%EOF\n"));
        }
        assert_ne!(padded_pdf(5000, 1), padded_pdf(5000, 2));
        let read = crate::process(&padded_pdf(5000, 1), &crate::Limits::default()).unwrap();
        assert_eq!((read.format, read.pages), (crate::Format::Pdf, 1));
    }
}
