//! Scans made here, for tests and benchmarks: typeset text pages with
//! scanner noise, skew and dark borders; a photo-like colour page; blank
//! and near-blank pages; separator sheets. Deterministic from a seed, so a
//! failing case can be made again.

use image::{GrayImage, Luma, Rgb, RgbImage};
use intake::{
    PageImage,
    compose::{TextLine, text_page},
};

use crate::scan::{geometry, turn};

/// A4 at 300 dpi.
pub const DPI: f32 = 300.0;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Roughly normal, mean 0, deviation 1 (sum of four uniforms).
    pub fn normal(&mut self) -> f32 {
        let s: f32 = (0..4).map(|_| (self.next() >> 40) as f32 / (1u64 << 24) as f32).sum();
        (s - 2.0) * 1.732
    }
}

const WORDS: &[&str] = &[
    "avis",
    "d'imposition",
    "revenus",
    "fiscal",
    "référence",
    "foyer",
    "montant",
    "déclaration",
    "bulletin",
    "salaire",
    "net",
    "brut",
    "cotisations",
    "employeur",
    "période",
    "logement",
    "loyer",
    "charges",
    "bail",
    "attestation",
    "caisse",
    "allocations",
    "familiales",
    "quittance",
    "commune",
    "département",
    "adresse",
    "demandeur",
    "ménage",
    "enfant",
    "situation",
    "contrat",
    "travail",
    "durée",
    "indéterminée",
    "total",
];

/// A typeset page of text at 300 dpi (grey, black on white), from `seed`.
pub fn text_page_pixels(seed: u64) -> GrayImage {
    let mut rng = Rng::new(seed);
    let mut lines =
        vec![TextLine { x: 60.0, y: 780.0, size: 16.0, bold: true, text: format!("DOCUMENT {seed} — ATTESTATION") }];
    let mut y = 740.0;
    while y > 70.0 {
        let words: Vec<&str> = (0..8 + rng.below(5)).map(|_| WORDS[rng.below(WORDS.len() as u64) as usize]).collect();
        lines.push(TextLine { x: 60.0, y, size: 11.0, bold: rng.below(9) == 0, text: words.join(" ") });
        y -= 17.0 + if rng.below(6) == 0 { 12.0 } else { 0.0 };
    }
    match text_page(&lines, DPI) {
        Ok(PageImage::Gray { pixels, .. }) => pixels,
        Ok(PageImage::Rgb { pixels, .. }) => geometry::luma(&pixels),
        Err(_) => GrayImage::from_pixel(2480, 3508, Luma([255])),
    }
}

/// What a scanner adds: a slightly grey paper, softened ink, grain and a
/// few specks of dust.
pub fn scanner_noise(page: &GrayImage, seed: u64, grain: f32, specks: usize) -> GrayImage {
    let mut rng = Rng::new(seed ^ 0xA5A5);
    let mut out = GrayImage::from_fn(page.width(), page.height(), |x, y| {
        let v = f32::from(page.get_pixel(x, y).0[0]);
        // Paper at about 236, ink at about 28.
        let v = 28.0 + v * (208.0 / 255.0);
        Luma([(v + rng.normal() * grain).clamp(0.0, 255.0) as u8])
    });
    for _ in 0..specks {
        let (x, y) = (rng.below(u64::from(page.width() - 4)) as u32, rng.below(u64::from(page.height() - 4)) as u32);
        let r = 1 + rng.below(2) as u32;
        for dy in 0..r {
            for dx in 0..r {
                out.put_pixel(x + dx, y + dy, Luma([20]));
            }
        }
    }
    out
}

/// The page laid on a dark scanner lid `border` pixels wider on each side,
/// then turned by `degrees`, as a flatbed scan of a crooked sheet looks.
pub fn on_scanner(page: &GrayImage, degrees: f32, border: u32) -> GrayImage {
    let mut canvas = GrayImage::from_pixel(page.width() + 2 * border, page.height() + 2 * border, Luma([18]));
    image::imageops::replace(&mut canvas, page, i64::from(border), i64::from(border));
    if degrees == 0.0 {
        return canvas;
    }
    // Turning fills the corners with white; a lid is dark there too.
    let turned = turn::rotate(&canvas, degrees);
    let marker = turn::rotate(&GrayImage::from_pixel(canvas.width(), canvas.height(), Luma([0])), degrees);
    GrayImage::from_fn(turned.width(), turned.height(), |x, y| {
        if marker.get_pixel(x, y).0[0] > 128 { Luma([18]) } else { *turned.get_pixel(x, y) }
    })
}

/// A photo-like colour page: smooth colour fields and shapes over most of
/// an A4 page, as an identity document or a photograph scanned in colour.
pub fn photo_page(seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let (w, h) = (2480u32, 3508u32);
    let (a, b) = (rng.below(200) as f32, rng.below(200) as f32);
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let inside = (300..2180).contains(&x) && (400..3100).contains(&y);
        if !inside {
            return Rgb([236, 236, 234]);
        }
        let r = 60.0 + 150.0 * fx + 20.0 * (fy * 9.0 + a).sin();
        let g = 80.0 + 100.0 * (1.0 - fy) + 30.0 * (fx * 7.0 + b).cos();
        let bl = 120.0 + 80.0 * ((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt();
        Rgb([r.clamp(0.0, 255.0) as u8, g.clamp(0.0, 255.0) as u8, bl.clamp(0.0, 255.0) as u8])
    })
}

/// A blank sheet as scanned (grain only).
pub fn blank_page(seed: u64) -> GrayImage {
    scanner_noise(&GrayImage::from_pixel(2480, 3508, Luma([255])), seed, 4.0, 0)
}

/// A near-blank sheet: dust specks, a faint grey smudge and the other
/// side's text showing through, nothing written on it.
pub fn near_blank_page(seed: u64) -> GrayImage {
    let through = text_page_pixels(seed ^ 77);
    let faint = GrayImage::from_fn(through.width(), through.height(), |x, y| {
        let v = through.get_pixel(through.width() - 1 - x, y).0[0];
        // Show-through: the ink at a fifth of its strength, mirrored.
        Luma([255 - (255 - v) / 5])
    });
    let mut page = scanner_noise(&faint, seed, 4.0, 40);
    for y in 1500..1700 {
        for x in 900..1400 {
            let p = page.get_pixel_mut(x, y);
            p.0[0] = p.0[0].saturating_sub(30);
        }
    }
    page
}

/// A separator sheet as scanned at 300 dpi: the vault's page, doubled.
pub fn sheet_scan(payload: &str, nu: &str, label: &str) -> GrayImage {
    // The line about its issue, from the payload's own fields.
    let fields: Vec<&str> = payload.split(':').collect();
    let issued = match fields.as_slice() {
        [_, _, _, guichet, day, _] => format!("Imprimée le {day} par le guichet {guichet}."),
        _ => String::new(),
    };
    let printed = intake::sheet::Printed { nu, kind_label: label, issued: &issued };
    let page = match intake::sheet::page(payload, printed) {
        Ok(PageImage::Gray { pixels, .. }) => pixels,
        _ => GrayImage::from_pixel(1240, 1754, Luma([255])),
    };
    image::imageops::resize(&page, page.width() * 2, page.height() * 2, image::imageops::FilterType::Nearest)
}

/// A JPEG file as a scanner writes it: JFIF density set to `dpi`.
pub fn jpeg(page: &GrayImage, dpi: u16) -> Vec<u8> {
    encode(page.as_raw(), page.width(), page.height(), jpeg_encoder::ColorType::Luma, dpi)
}

pub fn jpeg_rgb(page: &RgbImage, dpi: u16) -> Vec<u8> {
    encode(page.as_raw(), page.width(), page.height(), jpeg_encoder::ColorType::Rgb, dpi)
}

fn encode(px: &[u8], w: u32, h: u32, color: jpeg_encoder::ColorType, dpi: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    enc.set_density(jpeg_encoder::PixelDensity { density: (dpi, dpi), unit: jpeg_encoder::PixelDensityUnit::Inches });
    let (w, h) = (u16::try_from(w).unwrap_or(u16::MAX), u16::try_from(h).unwrap_or(u16::MAX));
    if enc.encode(px, w, h, color).is_err() {
        out.clear();
    }
    out
}

/// Share of `a`'s ink pixels (darker than 100) with ink (darker than 128)
/// in `b` within one pixel: run both ways on a source page and its
/// rendering, it says whether text strokes were kept and nothing invented.
pub fn ink_kept(a: &GrayImage, b: &GrayImage) -> f64 {
    let (mut ink, mut kept) = (0u64, 0u64);
    for (x, y, p) in a.enumerate_pixels() {
        if p.0[0] >= 100 {
            continue;
        }
        ink += 1;
        let near = (x.saturating_sub(1)..=x + 1).any(|nx| {
            (y.saturating_sub(1)..=y + 1).any(|ny| nx < b.width() && ny < b.height() && b.get_pixel(nx, ny).0[0] < 128)
        });
        kept += u64::from(near);
    }
    kept as f64 / ink.max(1) as f64
}

/// A page of a scanner's PDF, as office scanners encode them.
pub enum PdfPage {
    /// Greyscale JPEG (separator sheets, grey documents).
    Gray(GrayImage),
    /// Colour JPEG (photos, identity documents).
    Colour(RgbImage),
    /// Bitonal CCITT Group 4 (text in "black and white" mode): thresholded
    /// at mid-grey as the scanner's firmware does.
    Bitonal(GrayImage),
    /// Bitonal JBIG2, thresholded the same way: one immediate lossless
    /// generic region, MMR-coded. Scanners mostly write arithmetic-coded or
    /// symbol regions, for which no encoder is packaged here; this is the
    /// JBIG2 coding that can be written from the G4 encoder, and it takes
    /// the reader through the same `JBIG2Decode` filter.
    Jbig2(GrayImage),
}

/// One PDF holding `pages` at `dpi`, each a single image over the whole
/// page, as a scan-to-folder scanner writes a stack.
pub fn scanner_pdf(pages: &[PdfPage], dpi: f32) -> Vec<u8> {
    let encoded: Vec<intake::EncodedPage> = pages
        .iter()
        .filter_map(|p| match p {
            PdfPage::Gray(g) => intake::EncodedPage::jpeg(&PageImage::Gray { pixels: g.clone(), dpi }, 85).ok(),
            PdfPage::Colour(c) => intake::EncodedPage::jpeg(&PageImage::Rgb { pixels: c.clone(), dpi }, 85).ok(),
            PdfPage::Bitonal(g) | PdfPage::Jbig2(g) => {
                let data = crate::scan::bitonal::threshold(g, 128).group4();
                Some(intake::EncodedPage::group4(data, g.width(), g.height(), dpi))
            }
        })
        .collect();
    let pdf = intake::build_pdf_from(&encoded.iter().collect::<Vec<_>>(), &[]).unwrap_or_default();
    let jbig2: Vec<usize> =
        pages.iter().enumerate().filter(|(_, p)| matches!(p, PdfPage::Jbig2(_))).map(|(i, _)| i).collect();
    if jbig2.is_empty() { pdf } else { as_jbig2(&pdf, &jbig2) }
}

/// The PDF with the G4 images of pages `at` (0-based) recoded as JBIG2.
fn as_jbig2(pdf: &[u8], at: &[usize]) -> Vec<u8> {
    use lopdf::{Object, dictionary};
    let mut doc = lopdf::Document::load_mem(pdf).expect("a PDF written here");
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
    for &i in at {
        let images = doc.get_page_images(pages[i]).expect("page images");
        let id = images[0].id;
        let Ok(Object::Stream(stream)) = doc.get_object_mut(id) else { panic!("image stream") };
        let (width, height) = (
            stream.dict.get(b"Width").and_then(Object::as_i64).expect("width") as u32,
            stream.dict.get(b"Height").and_then(Object::as_i64).expect("height") as u32,
        );
        let data = jbig2_mmr(&stream.content, width, height);
        stream.dict = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width, "Height" => height,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "JBIG2Decode",
        };
        stream.set_content(data);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("writing to memory");
    out
}

/// A JBIG2 stream as PDF embeds it (no file header, no end-of-page
/// segment, ISO 32000 7.4.7): a page information segment, then one
/// immediate lossless generic region over the whole page whose data is the
/// T.6 (G4) coding of the bitmap, which is what JBIG2's MMR mode reads.
/// Both codings start each line with a white run, so the G4 data serves as
/// it is; JBIG2 calls black 1, as PDF's `JBIG2Decode` draws it.
pub fn jbig2_mmr(g4: &[u8], width: u32, height: u32) -> Vec<u8> {
    fn segment(out: &mut Vec<u8>, number: u32, kind: u8, data: &[u8]) {
        out.extend(number.to_be_bytes());
        out.push(kind); // segment type; 1-byte page association
        out.push(0); // refers to no other segment
        out.push(1); // page 1
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(data);
    }
    let mut page = Vec::with_capacity(19);
    page.extend(width.to_be_bytes());
    page.extend(height.to_be_bytes());
    page.extend([0u8; 8]); // resolution unknown (the PDF page gives it)
    page.push(0x01); // eventually lossless, white background, OR
    page.extend([0u8; 2]); // not striped
    let mut region = Vec::with_capacity(18 + g4.len());
    region.extend(width.to_be_bytes());
    region.extend(height.to_be_bytes());
    region.extend([0u8; 8]); // at (0, 0)
    region.push(0); // combined by OR
    region.push(0x01); // MMR
    region.extend(g4);
    let mut out = Vec::new();
    segment(&mut out, 0, 48, &page);
    segment(&mut out, 1, 39, &region);
    out
}

/// A one-page PDF whose content stream inflates to `mib` MiB (the worst
/// case of the intake corpus): what a confined reader must survive.
pub fn flate_bomb_pdf(mib: usize) -> Vec<u8> {
    intake::sample::pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
        {
            let body = flate_bomb(mib);
            let mut s = format!("<< /Length {} /Filter /FlateDecode >>\nstream\n", body.len()).into_bytes();
            s.extend_from_slice(&body);
            s.extend_from_slice(b"\nendstream");
            s
        },
    ])
}

/// A zlib stream inflating to `mib` MiB of zeros from a few KiB per MiB.
fn flate_bomb(mib: usize) -> Vec<u8> {
    // Stored blocks would be as large as their output; a fixed-Huffman
    // block of zeros is not, and is simple to write by hand: byte 0 as
    // literal, then length-258 copies at distance 1, one block per MiB.
    let mut w = BitWriter::default();
    for i in 0..mib {
        w.bits(u32::from(i + 1 == mib), 1); // BFINAL on the last
        w.bits(1, 2); // fixed Huffman
        w.huffman(0x30, 8); // literal 0
        let mut left = (1usize << 20) - 1;
        while left >= 258 {
            w.huffman(0b1100_0101, 8); // length code 285 = 258
            w.bits(0, 5); // distance code 0 = 1 (5 bits, reversed order irrelevant for 0)
            left -= 258;
        }
        for _ in 0..left {
            w.huffman(0x30, 8);
        }
        w.huffman(0, 7); // end of block (256)
    }
    let mut out = vec![0x78, 0x01];
    out.extend(w.finish());
    let n = (mib as u64) << 20;
    let (a, b) = (1u64, n % 65_521);
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}

#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// `count` bits of `value`, least significant first (deflate's order for
    /// everything but Huffman codes).
    fn bits(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code of `len` bits, most significant first.
    fn huffman(&mut self, code: u32, len: u32) {
        let reversed = (0..len).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
        self.bits(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}
