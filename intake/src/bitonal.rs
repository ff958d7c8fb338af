//! Text pages as bitonal images compressed with CCITT Group 4 (issue 19):
//! a 150-dpi page of text is 11–32 KB this way, 30–280 KB as a JPEG
//! (`bench/renditions.sh`). Group 4 rather than JBIG2: it meets the 40 KB a
//! page on its own, every PDF reader decodes it, and its encoder is a page
//! of code over the fax crate's tables, where JBIG2's would be an
//! arithmetic coder of our own.
//!
//! A page is made bitonal only when nothing is lost by it: every grey pixel
//! must be the anti-aliased edge of ink, not part of a grey area (a shaded
//! box, a photo, a tinted background) nor ink too light to survive the
//! threshold (grey footnotes, a pale stamp). [`is_text`] counts both kinds;
//! a page with more than a few of them stays a JPEG. Measured on 150-dpi
//! renderings: a dense page of 11-pt text has none, the same text in light
//! grey 7 % of its pixels, a photograph nearly all.

use fax::{
    BitWriter, VecWriter,
    maps::{EDFB_HALF, Mode, black, mode, white},
};
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
    let mut enc = Group4::new(width);
    let mut changes = Vec::new();
    for row in g.as_raw().chunks_exact(width.max(1) as usize) {
        grey_changes(row, &mut changes);
        enc.row(&changes);
    }
    enc.finish()
}

/// How the vault's own Group 4 pages are decoded (as `build_pdf_from`
/// writes them: K -1, no end-of-line codes, no byte alignment), strictly
/// and to exactly `rows` rows.
pub(crate) fn own_settings(columns: u32, rows: u32) -> hayro_ccitt::DecodeSettings {
    hayro_ccitt::DecodeSettings {
        columns,
        rows,
        end_of_block: true,
        end_of_line: false,
        rows_are_byte_aligned: false,
        encoding: hayro_ccitt::EncodingMode::Group4,
        strict: true,
    }
}

/// The black runs of two rows' changes together (each list alternates
/// run starts and ends; an odd one ends black at `width`), as changes.
pub(crate) fn union(a: &[u32], b: &[u32], width: u32, out: &mut Vec<u32>) {
    out.clear();
    let run = |v: &[u32], i: usize| (v[i], v.get(i + 1).copied().unwrap_or(width));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The run that starts first, then every run it overlaps or touches.
        let (start, mut end) = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            i += 2;
            run(a, i - 2)
        } else {
            j += 2;
            run(b, j - 2)
        };
        loop {
            if i < a.len() && a[i] <= end {
                end = end.max(run(a, i).1);
                i += 2;
            } else if j < b.len() && b[j] <= end {
                end = end.max(run(b, j).1);
                j += 2;
            } else {
                break;
            }
        }
        match out.last() {
            Some(&last) if last == start => {
                out.pop(); // touches the run before: one run
            }
            _ => out.push(start),
        }
        if end < width {
            out.push(end);
        }
    }
}

/// Where a row's colour changes (it starts white): the first pixel of
/// each run after the first.
pub fn changes_of<T>(row: &[T], black: impl Fn(&T) -> bool, out: &mut Vec<u32>) {
    out.clear();
    let mut ink = false;
    for (at, p) in row.iter().enumerate() {
        if black(p) != ink {
            ink = !ink;
            out.push(at as u32);
        }
    }
}

/// The same for grey pixels thresholded at [`THRESHOLD`], by blocks of 32:
/// a block all of the current colour (most of a page) is one count the
/// compiler makes SIMD, without a branch per pixel.
fn grey_changes(row: &[u8], out: &mut Vec<u32>) {
    const BLOCK: usize = 32;
    out.clear();
    let mut ink = false;
    let mut at = 0;
    while at < row.len() {
        if let Some(block) = row.get(at..at + BLOCK) {
            let inked = block.iter().fold(0u32, |n, &p| n + u32::from(p < THRESHOLD));
            if inked == if ink { BLOCK as u32 } else { 0 } {
                at += BLOCK;
                continue;
            }
        }
        let end = (at + BLOCK).min(row.len());
        for (i, &p) in row[at..end].iter().enumerate() {
            if (p < THRESHOLD) != ink {
                ink = !ink;
                out.push((at + i) as u32);
            }
        }
        at = end;
    }
}

/// A Group 4 (ITU-T T.6) encoder fed each row's colour changes. The fax
/// crate's encoder finds them itself, pixel by pixel through iterator
/// adapters: it took half of an export's time. Its code tables are used.
pub struct Group4 {
    out: VecWriter,
    width: u32,
    /// The row above's changes (none above the first row: all white).
    reference: Vec<u32>,
}

impl Group4 {
    pub fn new(width: u32) -> Self {
        Self { out: VecWriter::new(), width, reference: Vec::new() }
    }

    fn put(&mut self, m: Mode) {
        if let Some(bits) = mode::encode(m) {
            let Ok(()) = self.out.write(bits);
        }
    }

    /// A run of `n` pixels of one colour: make-up codes, then the
    /// terminating one (`ENTRIES` holds 0–63, then 64, 128… 2560).
    fn run(&mut self, white_run: bool, mut n: u32) {
        let table = if white_run { &white::ENTRIES } else { &black::ENTRIES };
        while n >= 2560 {
            let Ok(()) = self.out.write(table[103].1);
            n -= 2560;
        }
        if n >= 64 {
            let Ok(()) = self.out.write(table[(63 + n / 64) as usize].1);
            n &= 63;
        }
        let Ok(()) = self.out.write(table[n as usize].1);
    }

    /// One row, as its colour changes (see [`changes_of`]).
    pub fn row(&mut self, current: &[u32]) {
        let w = i64::from(self.width);
        let at = |v: &[u32], i: usize| v.get(i).map_or(w, |&x| i64::from(x));
        // a0 starts on an imaginary white pixel before the row.
        let (mut a0, mut white_at_a0) = (-1i64, true);
        let (mut ia, mut ib) = (0usize, 0usize);
        while a0 < w {
            while ia < current.len() && i64::from(current[ia]) <= a0 {
                ia += 1;
            }
            while ib < self.reference.len() && i64::from(self.reference[ib]) <= a0 {
                ib += 1;
            }
            let a1 = at(current, ia);
            // b1: the next change above of the colour opposite a0's (even
            // changes turn black, odd ones white), b2 the one after it.
            let k = if (ib % 2 == 0) == white_at_a0 { ib } else { ib + 1 };
            let (b1, b2) = (at(&self.reference, k), at(&self.reference, k + 1));
            if b2 < a1 {
                self.put(Mode::Pass);
                a0 = b2;
            } else if (a1 - b1).abs() <= 3 {
                self.put(Mode::Vertical((a1 - b1) as i8));
                a0 = a1;
                white_at_a0 = !white_at_a0;
            } else {
                let a2 = if a1 < w { at(current, ia + 1) } else { w };
                self.put(Mode::Horizontal);
                self.run(white_at_a0, (a1 - a0.max(0)) as u32);
                self.run(!white_at_a0, (a2 - a1) as u32);
                a0 = a2;
            }
        }
        self.reference.clear();
        self.reference.extend_from_slice(current);
    }

    pub fn finish(mut self) -> Vec<u8> {
        // End of facsimile block: two EOL codes.
        let Ok(()) = self.out.write(EDFB_HALF);
        let Ok(()) = self.out.write(EDFB_HALF);
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use fax::{Color, encoder::Encoder};

    use super::*;

    /// The same rows through the fax crate's own encoder, pixel by pixel.
    fn reference(bits: &[bool], width: u32) -> Vec<u8> {
        let mut enc = Encoder::new(VecWriter::new());
        for row in bits.chunks_exact(width as usize) {
            let Ok(()) = enc.encode_line(row.iter().map(|&b| if b { Color::Black } else { Color::White }), width);
        }
        let Ok(w) = enc.finish();
        w.finish()
    }

    /// Decoded by hayro's decoder, strictly: `true` black.
    fn decode(data: &[u8], width: u32, height: u32) -> Vec<bool> {
        struct Rows(Vec<bool>, usize);
        impl hayro_ccitt::Decoder for Rows {
            fn push_row(&mut self, changes: &[u32]) {
                let mut row = vec![false; self.1];
                for run in changes.chunks(2) {
                    let end = run.get(1).map_or(self.1, |&e| e as usize);
                    row[run[0] as usize..end].fill(true);
                }
                self.0.extend(row);
            }
        }
        let settings = own_settings(width, height);
        let mut rows = Rows(Vec::new(), width as usize);
        hayro_ccitt::decode(data, &mut rows, &mut hayro_ccitt::DecoderContext::new(settings)).unwrap();
        rows.0
    }

    /// A small xorshift, for noise.
    fn xorshift(mut x: u32) -> impl FnMut() -> u32 {
        move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        }
    }

    #[test]
    fn the_union_of_runs_is_the_union_of_their_pixels() {
        let mut rnd = xorshift(0xDEAD_BEEF);
        let width = 64u32;
        for _ in 0..2000 {
            let row = |rnd: &mut dyn FnMut() -> u32| -> Vec<bool> {
                let density = rnd() % 100;
                (0..width).map(|_| rnd() % 100 < density).collect()
            };
            let (a, b) = (row(&mut rnd), row(&mut rnd));
            let (mut ca, mut cb, mut want, mut got) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            changes_of(&a, |p| *p, &mut ca);
            changes_of(&b, |p| *p, &mut cb);
            let both: Vec<bool> = a.iter().zip(&b).map(|(p, q)| *p || *q).collect();
            changes_of(&both, |p| *p, &mut want);
            union(&ca, &cb, width, &mut got);
            assert_eq!(got, want, "{ca:?} ∪ {cb:?}");
        }
    }

    #[test]
    fn grey_rows_change_where_the_threshold_says() {
        let mut rnd = xorshift(0x9E37_79B9);
        for width in [1usize, 31, 32, 33, 100, 1240] {
            for density in [0u32, 3, 50, 97, 100] {
                let row: Vec<u8> = (0..width).map(|_| if rnd() % 100 < density { 20 } else { 240 }).collect();
                let (mut fast, mut plain) = (Vec::new(), Vec::new());
                grey_changes(&row, &mut fast);
                changes_of(&row, |p| *p < THRESHOLD, &mut plain);
                assert_eq!(fast, plain, "width {width}, density {density}");
            }
        }
    }

    /// A bitmap (`true` black, `width` pixels a row) as a Group 4 stream.
    fn group4_bits(bits: &[bool], width: u32) -> Vec<u8> {
        let mut enc = Group4::new(width);
        let mut changes = Vec::new();
        for row in bits.chunks_exact(width.max(1) as usize) {
            changes_of(row, |b| *b, &mut changes);
            enc.row(&changes);
        }
        enc.finish()
    }

    #[test]
    fn the_encoder_from_changes_writes_what_the_fax_encoder_writes_and_decodes_back() {
        let mut rnd = xorshift(0x1234_5678);
        let (w, h) = (1000u32, 300u32);
        // Noise of every density, runs longer than 2560 (a wide row),
        // rows all black and all white, and blocks that move row to row.
        let mut pages: Vec<(u32, Vec<bool>)> = Vec::new();
        for density in [2u32, 8, 50] {
            pages.push((w, (0..w * h).map(|_| rnd() % 100 < density).collect()));
        }
        pages.push((w, (0..w * h).map(|i| (i / w) % 7 == 0 || ((i % w) / 3 + (i / w)) % 11 < 4).collect()));
        pages.push((6000, (0..6000 * 20).map(|i| (i / 6000) % 2 == 0 && i % 6000 > 2900).collect()));
        pages.push((w, (0..w * h).map(|i| (i / w) < 5).collect()));
        for (width, bits) in &pages {
            let ours = group4_bits(bits, *width);
            assert_eq!(decode(&ours, *width, bits.len() as u32 / width), *bits);
            assert_eq!(ours, reference(bits, *width));
        }
    }
}
