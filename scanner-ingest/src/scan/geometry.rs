//! Page geometry: the paper's bounds inside a scan (dark scanner borders
//! cropped) and whitening of border slivers left at the edges. Turning a
//! page for deskewing is `turn`'s.

use image::{GrayImage, RgbImage};

/// A pixel darker than this, along an edge, is scanner background (lid,
/// platen) rather than paper.
pub const BORDER_DARK: u8 = 90;
/// An edge row or column is border when most of it is dark.
const BORDER_FRACTION: f32 = 0.5;
/// Never crop more than this share of a side: a dark photograph must not
/// be taken for a border.
const MAX_CROP: f32 = 0.2;

/// Grey levels of a colour page (ITU-R BT.601 weights, in integers).
pub fn luma(rgb: &RgbImage) -> GrayImage {
    let px: Vec<u8> = rgb
        .as_raw()
        .chunks_exact(3)
        .map(|p| ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8)
        .collect();
    GrayImage::from_raw(rgb.width(), rgb.height(), px).unwrap_or_else(|| GrayImage::new(rgb.width(), rgb.height()))
}

/// A rectangle of pixels: `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Bounds {
    pub fn width(&self) -> u32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> u32 {
        self.y1 - self.y0
    }
    pub fn is_whole(&self, w: u32, h: u32) -> bool {
        *self == Self { x0: 0, y0: 0, x1: w, y1: h }
    }
}

/// The paper inside a scan: rows and columns that are mostly dark are
/// stripped from each edge (at most [`MAX_CROP`] of each side).
pub fn paper_bounds(g: &GrayImage) -> Bounds {
    let (w, px) = (g.width() as usize, g.as_raw());
    paper_bounds_by(
        g.width(),
        g.height(),
        |y| px[y as usize * w..][..w].iter().map(|&p| u32::from(p < BORDER_DARK)).sum(),
        |x| px[x as usize..].iter().step_by(w).map(|&p| u32::from(p < BORDER_DARK)).sum(),
    )
}

/// The same from counts of dark pixels in row `y` and in column `x`, asked
/// for only from the edges inwards while they are border: a scan's borders
/// are a few dozen rows, so the page's middle is never read.
pub fn paper_bounds_by(w: u32, h: u32, row_dark: impl FnMut(u32) -> u32, col_dark: impl FnMut(u32) -> u32) -> Bounds {
    let (y0, y1) = strip(h, w, row_dark);
    let (x0, x1) = strip(w, h, col_dark);
    Bounds { x0, y0, x1, y1 }
}

/// The border lines at either end of `n` lines, each `across` pixels long.
fn strip(n: u32, across: u32, mut dark: impl FnMut(u32) -> u32) -> (u32, u32) {
    let max = (n as f32 * MAX_CROP) as u32;
    let mut is_border = |i: u32| dark(i) as f32 > across as f32 * BORDER_FRACTION;
    let start = (0..max.min(n)).take_while(|&i| is_border(i)).count() as u32;
    let end = n - (0..max.min(n)).take_while(|&i| is_border(n - 1 - i)).count() as u32;
    (start, end.max(start + 1))
}

/// The paper cut out of the scan, in place: each row moved to its new
/// place in the same buffer (a scan is 8.7 MB; a copy of it cost a new
/// allocation and its page faults on every page).
pub fn crop_gray(g: GrayImage, b: Bounds) -> GrayImage {
    let (w, bw, bh) = (g.width() as usize, b.width() as usize, b.height() as usize);
    let mut px = g.into_raw();
    for row in 0..bh {
        let from = (b.y0 as usize + row) * w + b.x0 as usize;
        px.copy_within(from..from + bw, row * bw);
    }
    px.truncate(bw * bh);
    GrayImage::from_raw(b.width(), b.height(), px).unwrap_or_else(|| GrayImage::new(b.width(), b.height()))
}

pub fn crop_rgb(g: &RgbImage, b: Bounds) -> RgbImage {
    image::imageops::crop_imm(g, b.x0, b.y0, b.width(), b.height()).to_image()
}

/// Dark runs touching the edges of a `w`×`h` page (up to 3 % of the side
/// in): slivers of scanner background left after cropping a skewed sheet.
/// Rows first, then columns, which see the rows' runs as already white.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRuns {
    /// Each row's run from the left and from the right, in pixels.
    pub rows: Vec<(u32, u32)>,
    /// Each column's run from the top and from the bottom.
    pub cols: Vec<(u32, u32)>,
}

impl EdgeRuns {
    /// The runs, from whether pixel (x, y) is darker than the paper's
    /// border level.
    pub fn find(w: u32, h: u32, dark: impl Fn(u32, u32) -> bool) -> Self {
        if w == 0 || h == 0 {
            return Self { rows: Vec::new(), cols: Vec::new() };
        }
        /// Dark pixels along `along`, from its start.
        fn run(along: impl Iterator<Item = u32>, dark: impl Fn(u32) -> bool) -> u32 {
            along.take_while(|&i| dark(i)).count() as u32
        }
        let (mx, my) = ((w / 33).max(1), (h / 33).max(1));
        let rows: Vec<(u32, u32)> =
            (0..h).map(|y| (run(0..mx, |x| dark(x, y)), run((w - mx..w).rev(), |x| dark(x, y)))).collect();
        let whitened = |x: u32, y: u32| {
            let (l, r) = rows[y as usize];
            x < l || x >= w - r
        };
        let cols = (0..w)
            .map(|x| {
                let dark_now = |y: u32| !whitened(x, y) && dark(x, y);
                (run(0..my, dark_now), run((h - my..h).rev(), dark_now))
            })
            .collect();
        Self { rows, cols }
    }
}

/// Turns dark runs touching the edges white (see [`EdgeRuns`]).
pub fn whiten_edges(g: &mut GrayImage) {
    let (w, h) = g.dimensions();
    let runs = EdgeRuns::find(w, h, |x, y| g.get_pixel(x, y).0[0] < BORDER_DARK);
    let stride = w as usize;
    let px: &mut [u8] = g;
    for (y, &(l, r)) in runs.rows.iter().enumerate() {
        let row = &mut px[y * stride..][..stride];
        row[..l as usize].fill(255);
        row[(w - r) as usize..].fill(255);
    }
    for (x, &(t, b)) in runs.cols.iter().enumerate() {
        for y in (0..t).chain(h - b..h) {
            px[y as usize * stride + x] = 255;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cropping_in_place_keeps_the_pixels_of_the_region() {
        let g = GrayImage::from_fn(37, 23, |x, y| image::Luma([(x * 7 + y * 13) as u8]));
        for b in [
            Bounds { x0: 0, y0: 0, x1: 37, y1: 23 },
            Bounds { x0: 3, y0: 5, x1: 30, y1: 21 },
            Bounds { x0: 36, y0: 0, x1: 37, y1: 1 },
        ] {
            let want = image::imageops::crop_imm(&g, b.x0, b.y0, b.width(), b.height()).to_image();
            assert_eq!(crop_gray(g.clone(), b), want, "{b:?}");
        }
    }

    #[test]
    fn dark_borders_are_cropped_but_not_a_dark_page() {
        let mut g = GrayImage::from_pixel(200, 300, image::Luma([230]));
        for (x, y, p) in g.enumerate_pixels_mut() {
            if x < 12 || y < 20 || x >= 190 || y >= 295 {
                *p = image::Luma([15]);
            }
        }
        assert_eq!(paper_bounds(&g), Bounds { x0: 12, y0: 20, x1: 190, y1: 295 });
        let dark = GrayImage::from_pixel(200, 300, image::Luma([10]));
        let b = paper_bounds(&dark);
        assert!(b.width() >= 120 && b.height() >= 180, "{b:?}");
    }
}
