//! Text pages as bitonal images compressed with CCITT Group 4: a threshold,
//! isolated specks removed, then one G4 line per row.

use image::GrayImage;

/// Black (true) where the page is darker than `threshold`, with isolated
/// black pixels (no black neighbour) removed: scanner noise that would
/// only cost bytes.
pub fn threshold(g: &GrayImage, threshold: u8) -> Vec<bool> {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let black: Vec<bool> = g.as_raw().iter().map(|&p| p < threshold).collect();
    let mut out = black.clone();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !black[i] {
                continue;
            }
            let mut neighbour = false;
            'n: for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    if (nx, ny) != (x, y) && black[ny * w + nx] {
                        neighbour = true;
                        break 'n;
                    }
                }
            }
            out[i] = neighbour;
        }
    }
    out
}

/// The bitmap (`width` pixels a row) as a Group 4 stream (K -1, black runs
/// as 0 in PDF's default decode): the encoder renditions use too.
pub fn group4(bits: &[bool], width: u32) -> Vec<u8> {
    intake::bitonal::group4_bits(bits, width)
}
