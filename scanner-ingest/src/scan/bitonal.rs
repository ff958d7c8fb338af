//! Text pages as bitonal images compressed with CCITT Group 4: a threshold,
//! isolated specks removed, then one G4 line per row.
//!
//! The bits are packed 64 to a word (bit `i` of a word is the `i`-th pixel
//! it holds, leftmost first) rather than a `bool` a pixel: a 300-dpi page
//! is 8.7 million pixels, and the speck pass, the colour changes the
//! encoder wants and the deskew's "is this stretch all paper?" test then
//! look at 64 pixels an instruction. As `Vec<bool>` with a 3×3 loop a
//! pixel, thresholding and despeckling took 7 % of a scan's cleaning.

use image::GrayImage;

/// A bitmap, `true` (a set bit) black. Bits past `width` in a row's last
/// word are always 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    /// Words a row.
    stride: usize,
    words: Vec<u64>,
}

impl Bitmap {
    /// All white.
    pub fn new(width: u32, height: u32) -> Self {
        let stride = (width as usize).div_ceil(64);
        Self { width, height, stride, words: vec![0; stride * height as usize] }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn row(&self, y: u32) -> &[u64] {
        &self.words[y as usize * self.stride..][..self.stride]
    }

    fn row_mut(&mut self, y: u32) -> &mut [u64] {
        &mut self.words[y as usize * self.stride..][..self.stride]
    }

    pub fn is_black(&self, x: u32, y: u32) -> bool {
        self.row(y)[x as usize / 64] >> (x % 64) & 1 == 1
    }

    /// Black where the page is darker than `threshold` (nothing removed).
    pub fn threshold(g: &GrayImage, threshold: u8) -> Self {
        let mut out = Self::new(g.width(), g.height());
        if g.width() == 0 {
            return out;
        }
        for (y, row) in g.as_raw().chunks_exact(g.width() as usize).enumerate() {
            for (word, px) in out.row_mut(y as u32).iter_mut().zip(row.chunks(64)) {
                *word = pack(px, threshold);
            }
        }
        out
    }

    /// Pixels `x0..x1` of row `y` made black (`set`) or white.
    pub fn fill(&mut self, y: u32, x0: u32, x1: u32, set: bool) {
        let row = self.row_mut(y);
        let mut x = x0 as usize;
        while x < x1 as usize {
            let (i, bit) = (x / 64, x % 64);
            let n = (x1 as usize - x).min(64 - bit);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            if set {
                row[i] |= mask;
            } else {
                row[i] &= !mask;
            }
            x += n;
        }
    }

    /// The set bits of `bits` (bit `k` for pixel `x + k`) made black in
    /// row `y`; bits past the width are ignored.
    pub fn put(&mut self, y: u32, x: u32, bits: u64) {
        let width = self.width;
        let row = self.row_mut(y);
        let (i, shift) = (x as usize / 64, x % 64);
        row[i] |= bits << shift;
        if shift > 0
            && let Some(next) = row.get_mut(i + 1)
        {
            *next |= bits >> (64 - shift);
        }
        if let Some(last) = row.last_mut()
            && !width.is_multiple_of(64)
        {
            *last &= (1u64 << (width % 64)) - 1;
        }
    }

    /// Whether pixels `x0..=x1` of row `y` are (any black, all black).
    pub fn span(&self, y: u32, x0: u32, x1: u32) -> (bool, bool) {
        let row = self.row(y);
        let (mut any, mut all) = (false, true);
        let mut x = x0 as usize;
        while x <= x1 as usize {
            let (i, bit) = (x / 64, x % 64);
            let n = (x1 as usize + 1 - x).min(64 - bit);
            let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
            let w = row[i] & mask;
            any |= w != 0;
            all &= w == mask;
            x += n;
        }
        (any, all)
    }

    /// The same bitmap without isolated black pixels (no black among their
    /// eight neighbours): scanner noise that would only cost bytes.
    pub fn despeckled(&self) -> Self {
        let mut out = self.clone();
        let empty = vec![0u64; self.stride];
        for y in 0..self.height {
            let above = if y > 0 { self.row(y - 1) } else { &empty };
            let below = if y + 1 < self.height { self.row(y + 1) } else { &empty };
            let here = self.row(y);
            for (i, word) in out.row_mut(y).iter_mut().enumerate() {
                if *word == 0 {
                    continue;
                }
                // Each pixel's neighbours folded onto its own bit.
                let column = |r: &[u64]| r[i] | wide_left(r, i) | wide_right(r, i);
                let near = column(above) | column(below) | wide_left(here, i) | wide_right(here, i);
                *word &= near;
            }
        }
        out
    }

    /// Where row `y`'s colour changes (it starts white): the first pixel of
    /// each run after the first, as the Group 4 encoder takes them.
    pub fn changes(&self, y: u32, out: &mut Vec<u32>) {
        out.clear();
        let mut carry = 0u64; // the pixel left of the word's first
        for (i, &w) in self.row(y).iter().enumerate() {
            let mut diff = w ^ (w << 1 | carry);
            carry = w >> 63;
            while diff != 0 {
                let at = i as u32 * 64 + diff.trailing_zeros();
                if at < self.width {
                    out.push(at);
                }
                diff &= diff - 1;
            }
        }
    }

    /// The bitmap as a Group 4 stream (K -1, black runs as 0 in PDF's
    /// default decode): the encoder renditions use too.
    pub fn group4(&self) -> Vec<u8> {
        let mut enc = intake::bitonal::Group4::new(self.width);
        let mut changes = Vec::new();
        for y in 0..self.height {
            self.changes(y, &mut changes);
            enc.row(&changes);
        }
        enc.finish()
    }

    /// Black pixels.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Bits set where the pixel to the left (in word `i` of `row`, or the last
/// of the word before) is set.
fn wide_left(row: &[u64], i: usize) -> u64 {
    row[i] << 1 | if i > 0 { row[i - 1] >> 63 } else { 0 }
}

/// Bits set where the pixel to the right is set.
fn wide_right(row: &[u64], i: usize) -> u64 {
    row[i] >> 1 | row.get(i + 1).map_or(0, |w| w << 63)
}

/// Up to 64 pixels as a word: bit `i` set where `px[i] < threshold`. Eight
/// at a time into a byte, which the compiler turns into vector compares.
fn pack(px: &[u8], threshold: u8) -> u64 {
    let mut word = 0u64;
    for (k, eight) in px.chunks(8).enumerate() {
        let byte = eight.iter().enumerate().fold(0u8, |b, (j, &p)| b | u8::from(p < threshold) << j);
        word |= u64::from(byte) << (8 * k);
    }
    word
}

/// Black (true) where the page is darker than `threshold`, isolated black
/// pixels removed.
pub fn threshold(g: &GrayImage, threshold: u8) -> Bitmap {
    Bitmap::threshold(g, threshold).despeckled()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The same page by the plain per-pixel rules: threshold, then a black
    /// pixel kept only with a black neighbour.
    fn by_hand(g: &GrayImage, t: u8) -> Vec<bool> {
        let (w, h) = (g.width() as i64, g.height() as i64);
        let black = |x: i64, y: i64| x >= 0 && y >= 0 && x < w && y < h && g.get_pixel(x as u32, y as u32).0[0] < t;
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let near = (-1..=1).any(|dy| (-1..=1).any(|dx| (dx, dy) != (0, 0) && black(x + dx, y + dy)));
                out.push(black(x, y) && near);
            }
        }
        out
    }

    /// Grey noise from a small xorshift (not `synth`'s: `synth` builds on
    /// `scan`); `turn`'s tests use it too.
    pub(in crate::scan) fn noise(w: u32, h: u32, seed: u64) -> GrayImage {
        let mut s = seed | 1;
        GrayImage::from_fn(w, h, |_, _| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            image::Luma([(s >> 56) as u8])
        })
    }

    #[test]
    fn packed_threshold_and_despeckle_match_the_per_pixel_rules() {
        // Widths across word edges, a sparse page (mostly specks) and a dense one.
        for (w, h, t) in [(1, 5, 128), (63, 4, 40), (64, 7, 128), (65, 3, 200), (200, 9, 30), (131, 6, 128)] {
            let g = noise(w, h, u64::from(w * h + u32::from(t)));
            let bits = threshold(&g, t);
            let want = by_hand(&g, t);
            let got: Vec<bool> =
                (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| bits.is_black(x, y)).collect();
            assert_eq!(got, want, "{w}×{h} at {t}");
            assert_eq!(bits.count(), want.iter().filter(|&&b| b).count());
        }
    }

    #[test]
    fn changes_spans_and_fills_agree_with_the_pixels() {
        let g = noise(150, 4, 7);
        let mut bits = Bitmap::threshold(&g, 100);
        bits.fill(1, 3, 140, true);
        bits.fill(2, 60, 130, false);
        // A word put across a word edge, and one running past the width.
        bits.put(3, 60, 0b1011);
        bits.fill(3, 130, 150, false);
        bits.put(3, 140, u64::MAX);
        for y in 0..4 {
            let px: Vec<bool> = (0..150).map(|x| bits.is_black(x, y)).collect();
            let mut changes = Vec::new();
            bits.changes(y, &mut changes);
            let mut want = Vec::new();
            intake::bitonal::changes_of(&px, |b| *b, &mut want);
            assert_eq!(changes, want, "row {y}");
            for (x0, x1) in [(0, 0), (3, 70), (60, 129), (63, 64), (100, 149)] {
                let slice = &px[x0 as usize..=x1 as usize];
                let want = (slice.iter().any(|&b| b), slice.iter().all(|&b| b));
                assert_eq!(bits.span(y, x0, x1), want, "row {y}, {x0}..={x1}");
            }
        }
        assert!((3..140).all(|x| bits.is_black(x, 1)) && !(60..130).any(|x| bits.is_black(x, 2)));
        assert!(bits.is_black(60, 3) && bits.is_black(61, 3) && bits.is_black(63, 3) && bits.is_black(149, 3));
        let mut tail = Vec::new();
        bits.changes(3, &mut tail);
        assert_eq!(tail.last(), Some(&140), "no change past the width: {tail:?}");
    }
}
