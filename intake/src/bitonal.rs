//! Text pages as bitonal images compressed with CCITT Group 4 (issue 19):
//! a 150-dpi page of text is about 35 KB this way, 300 KB as a JPEG.
//!
//! A page is made bitonal only when nothing is lost by it: every grey pixel
//! must be the anti-aliased edge of ink, not part of a grey area (a shaded
//! box, a photo, a tinted background) nor ink too light to survive the
//! threshold (grey footnotes, a pale stamp). [`is_text`] counts both kinds;
//! a page with more than a few of them stays a JPEG. Measured on 150-dpi
//! renderings: a dense page of 11-pt text has none, the same text in light
//! grey 7 % of its pixels, a photograph nearly all.

use fax::{Color, VecWriter, encoder::Encoder};
use image::GrayImage;

/// Darker than this is ink.
pub const THRESHOLD: u8 = 128;
/// Grey levels that are neither paper nor ink.
const MID: std::ops::Range<u8> = 48..208;
/// Neighbours within this many levels of a grey pixel make it an area.
const FLAT: u8 = 12;
/// Share of a page's pixels that may be grey areas or lost ink (1 in 500:
/// a few specks of a scan, not a shaded box).
const TOLERATED: f64 = 0.002;

/// Whether `g` is ink on paper that a threshold at [`THRESHOLD`] keeps.
pub fn is_text(g: &GrayImage) -> bool {
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w < 3 || h < 3 {
        return false;
    }
    let budget = (w * h) as f64 * TOLERATED;
    let px = g.as_raw();
    let mut lost = 0usize;
    for y in 1..h - 1 {
        let (up, row, down) = (&px[(y - 1) * w..y * w], &px[y * w..(y + 1) * w], &px[(y + 1) * w..(y + 2) * w]);
        for x in 1..w - 1 {
            let p = row[x];
            if !MID.contains(&p) {
                continue; // paper or full ink: most pixels end here
            }
            let near = |q: u8| q.abs_diff(p) <= FLAT;
            let area = near(row[x - 1]) && near(row[x + 1]) && near(up[x]) && near(down[x]);
            let ink = |q: u8| q < THRESHOLD;
            let lost_ink = !ink(p)
                && !(ink(up[x - 1])
                    || ink(up[x])
                    || ink(up[x + 1])
                    || ink(row[x - 1])
                    || ink(row[x + 1])
                    || ink(down[x - 1])
                    || ink(down[x])
                    || ink(down[x + 1]));
            if area || lost_ink {
                lost += 1;
                if lost as f64 > budget {
                    return false;
                }
            }
        }
    }
    true
}

/// The page thresholded at [`THRESHOLD`] as a Group 4 stream (K -1, black
/// runs as 0 in PDF's default decode).
pub fn group4(g: &GrayImage) -> Vec<u8> {
    let width = g.width();
    encode(g.as_raw().chunks_exact(width.max(1) as usize), width, |p| *p < THRESHOLD)
}

/// A bitmap (`true` black, `width` pixels a row) as a Group 4 stream.
pub fn group4_bits(bits: &[bool], width: u32) -> Vec<u8> {
    encode(bits.chunks_exact(width.max(1) as usize), width, |b| *b)
}

fn encode<'a, T: 'a>(rows: impl Iterator<Item = &'a [T]>, width: u32, black: impl Fn(&T) -> bool) -> Vec<u8> {
    // The fax encoder's writer is a Vec: it cannot fail.
    let mut enc = Encoder::new(VecWriter::new());
    for row in rows {
        // The encoder reads a row pixel by pixel until it has its colour
        // changes, and a row that stops early goes on in its last colour:
        // it is given the row only up to the white pixel after its last
        // black one (nothing at all for a blank row).
        let end = row.iter().rposition(&black).map_or(0, |last| (last + 2).min(row.len()));
        let pixels = row[..end].iter().map(|p| if black(p) { Color::Black } else { Color::White });
        let Ok(()) = enc.encode_line(pixels, width);
    }
    let Ok(w) = enc.finish();
    w.finish()
}
