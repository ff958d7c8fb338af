//! What a page holds, measured once: the paper's grey level, where ink
//! starts, whether it is blank, whether it holds photographs (continuous
//! tone) or colour, and a 75-dpi copy for skew and QR detection.

use image::{GrayImage, RgbImage};

/// Reduction of the small copies: 300 dpi → 75 dpi.
pub const SMALL: u32 = 4;
/// Side of a tone tile, in full-resolution pixels (about 5 mm at 300 dpi).
const TILE: usize = 64;
/// A tile is photographic when this share of it is mid-tone.
const TONE_TILE_SHARE: f32 = 0.35;
/// A page holds a photograph or an identity document when this share of its
/// tiles is photographic (an ID card on an A4 page is about 7 %).
const TONE_PAGE_SHARE: f32 = 0.02;
/// Colour pixels (chroma above [`CHROMA`]) that make a page colour.
const COLOUR_SHARE: f32 = 0.003;
const CHROMA: u8 = 48;
/// Ink components smaller than this many 75-dpi blocks are dust, not marks.
const MIN_MARK_BLOCKS: usize = 8;
/// A page with fewer 75-dpi blocks of real marks than this is blank.
const BLANK_MAX_BLOCKS: usize = 30;

#[derive(Debug, Clone)]
pub struct Analysis {
    /// Grey level of the paper (90th percentile).
    pub paper: u8,
    /// Darker than this is ink (well below the paper: bleed-through and
    /// smudges are not).
    pub ink: u8,
    /// Otsu's threshold over the page: where text is cut from paper.
    pub otsu: u8,
    /// Blocks of 75 dpi (4×4 pixels) belonging to marks bigger than dust.
    pub mark_blocks: usize,
    pub tone_share: f32,
    pub colour_share: f32,
    /// The page at 75 dpi, block averages (for skew and QR detection).
    pub small: GrayImage,
    /// The page at 75 dpi, block minima (where marks are).
    small_min: GrayImage,
}

impl Analysis {
    pub fn is_blank(&self) -> bool {
        self.mark_blocks < BLANK_MAX_BLOCKS
    }
    pub fn is_continuous_tone(&self) -> bool {
        self.tone_share >= TONE_PAGE_SHARE
    }
    pub fn is_colour(&self) -> bool {
        self.colour_share >= COLOUR_SHARE
    }

    /// Share of the page's 75-dpi blocks in marks outside `areas` (the QR
    /// codes found on it): how much a page carries besides its codes.
    pub fn marks_outside(&self, areas: &[[u32; 4]]) -> f32 {
        let mut masked = self.small_min.clone();
        for &[x0, y0, x1, y1] in areas {
            for y in y0..y1.min(masked.height()) {
                for x in x0..x1.min(masked.width()) {
                    masked.put_pixel(x, y, image::Luma([255]));
                }
            }
        }
        let blocks = (masked.width() as usize * masked.height() as usize).max(1);
        mark_blocks(&masked, self.ink) as f32 / blocks as f32
    }
}

pub fn analyse(g: &GrayImage, rgb: Option<&RgbImage>) -> Analysis {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let px = g.as_raw();
    let hist = histogram(px);
    let total = (w * h).max(1) as u64;
    let paper = percentile(&hist, total, 0.90);
    let ink = paper.saturating_sub(90).min(150);
    let otsu = otsu(&hist, total).clamp(ink.saturating_sub(40), paper.saturating_sub(25).max(1));
    // Mid-tones lie clearly between ink and paper.
    let (mid_lo, mid_hi) = (ink.saturating_sub(30).max(40), paper.saturating_sub(45));
    let tone_share = tone_share(px, w, h, mid_lo, mid_hi);
    let colour_share = rgb.map_or(0.0, colour_share);
    let (small, small_min) = reduce(px, w, h);
    let mark_blocks = mark_blocks(&small_min, ink);
    Analysis { paper, ink, otsu, mark_blocks, tone_share, colour_share, small, small_min }
}

/// Pixels of each grey level. Counted in four tables, one per lane: a
/// page is mostly paper of a few levels, and one table would have each
/// increment wait for the one before it on the same counter.
fn histogram(px: &[u8]) -> [u64; 256] {
    let mut lanes = [[0u32; 256]; 4];
    let mut quads = px.chunks_exact(4);
    for q in &mut quads {
        lanes[0][usize::from(q[0])] += 1;
        lanes[1][usize::from(q[1])] += 1;
        lanes[2][usize::from(q[2])] += 1;
        lanes[3][usize::from(q[3])] += 1;
    }
    for &p in quads.remainder() {
        lanes[0][usize::from(p)] += 1;
    }
    std::array::from_fn(|v| lanes.iter().map(|l| u64::from(l[v])).sum())
}

fn percentile(hist: &[u64; 256], total: u64, q: f64) -> u8 {
    let target = (total as f64 * q) as u64;
    let mut seen = 0;
    for (v, &c) in hist.iter().enumerate() {
        seen += c;
        if seen > target {
            return v as u8;
        }
    }
    255
}

/// Otsu's method: the threshold that best separates two classes.
pub fn otsu(hist: &[u64; 256], total: u64) -> u8 {
    let sum: f64 = hist.iter().enumerate().map(|(v, &c)| v as f64 * c as f64).sum();
    let (mut sum_b, mut w_b, mut best, mut best_t) = (0.0, 0u64, 0.0, 128u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c;
        if w_b == 0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let (m_b, m_f) = (sum_b / w_b as f64, (sum - sum_b) / w_f as f64);
        let between = w_b as f64 * w_f as f64 * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Share of [`TILE`]-sized tiles that are mostly mid-tone.
fn tone_share(px: &[u8], w: usize, h: usize, lo: u8, hi: u8) -> f32 {
    if lo >= hi {
        return 0.0;
    }
    let tiles_x = w.div_ceil(TILE);
    let mut mid = vec![0u32; tiles_x * h.div_ceil(TILE)];
    for (y, row) in px.chunks_exact(w).enumerate() {
        let base = (y / TILE) * tiles_x;
        for (tx, chunk) in row.chunks(TILE).enumerate() {
            mid[base + tx] += chunk.iter().filter(|&&p| p > lo && p < hi).count() as u32;
        }
    }
    let full = (TILE * TILE) as f32;
    let tone = mid.iter().filter(|&&m| m as f32 >= full * TONE_TILE_SHARE).count();
    tone as f32 / mid.len().max(1) as f32
}

/// Share of clearly coloured pixels, on every fourth row and column.
fn colour_share(rgb: &RgbImage) -> f32 {
    let (mut n, mut coloured) = (0u64, 0u64);
    for y in (0..rgb.height()).step_by(4) {
        for x in (0..rgb.width()).step_by(4) {
            let [r, g, b] = rgb.get_pixel(x, y).0;
            n += 1;
            if r.max(g).max(b) - r.min(g).min(b) > CHROMA {
                coloured += 1;
            }
        }
    }
    coloured as f32 / n.max(1) as f32
}

/// Block averages and block minima over [`SMALL`]×[`SMALL`] blocks.
fn reduce(px: &[u8], w: usize, h: usize) -> (GrayImage, GrayImage) {
    let s = SMALL as usize;
    let (sw, sh) = ((w / s).max(1), (h / s).max(1));
    let mut sum = vec![0u32; sw * sh];
    let mut min = vec![255u8; sw * sh];
    for (y, row) in px.chunks_exact(w).enumerate().take(sh * s) {
        let base = (y / s) * sw;
        for (bx, chunk) in row.chunks_exact(s).enumerate().take(sw) {
            sum[base + bx] += chunk.iter().map(|&p| u32::from(p)).sum::<u32>();
            min[base + bx] = min[base + bx].min(*chunk.iter().min().unwrap_or(&255));
        }
    }
    let n = (s * s) as u32;
    let avg: Vec<u8> = sum.iter().map(|&v| (v / n) as u8).collect();
    let to_image = |v: Vec<u8>| {
        GrayImage::from_raw(sw as u32, sh as u32, v).unwrap_or_else(|| GrayImage::new(sw as u32, sh as u32))
    };
    (to_image(avg), to_image(min))
}

/// Blocks in connected ink marks of at least [`MIN_MARK_BLOCKS`] blocks.
fn mark_blocks(min: &GrayImage, ink: u8) -> usize {
    let (w, h) = (min.width() as usize, min.height() as usize);
    let mut is_ink: Vec<bool> = min.as_raw().iter().map(|&p| p < ink).collect();
    let mut total = 0;
    let mut stack = Vec::new();
    for start in 0..is_ink.len() {
        if !is_ink[start] {
            continue;
        }
        is_ink[start] = false;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            for (dx, dy) in [(-1i64, -1i64), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                    let j = ny as usize * w + nx as usize;
                    if is_ink[j] {
                        is_ink[j] = false;
                        stack.push(j);
                    }
                }
            }
        }
        if size >= MIN_MARK_BLOCKS {
            total += size;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_lane_histogram_counts_every_pixel_once() {
        for n in [0usize, 1, 3, 4, 5, 1023] {
            let px: Vec<u8> = (0..n).map(|i| (i * 37 % 251) as u8).collect();
            let mut want = [0u64; 256];
            for &p in &px {
                want[usize::from(p)] += 1;
            }
            assert_eq!(histogram(&px), want, "{n} pixels");
        }
    }
}
