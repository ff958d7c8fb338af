//! Page geometry: the paper's bounds inside a scan (dark scanner borders
//! cropped), rotation for deskewing, and whitening of border slivers left
//! at the edges.

use image::{GrayImage, RgbImage};

/// A pixel darker than this, along an edge, is scanner background (lid,
/// platen) rather than paper.
const BORDER_DARK: u8 = 90;
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
    let (w, h) = g.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let px = g.as_raw();
    let mut row_dark = vec![0u32; hu];
    let mut col_dark = vec![0u32; wu];
    for (y, row) in px.chunks_exact(wu).enumerate() {
        for (x, &p) in row.iter().enumerate() {
            if p < BORDER_DARK {
                row_dark[y] += 1;
                col_dark[x] += 1;
            }
        }
    }
    let strip = |dark: &[u32], across: u32| -> (u32, u32) {
        let n = dark.len();
        let max = (n as f32 * MAX_CROP) as usize;
        let is_border = |c: u32| c as f32 > across as f32 * BORDER_FRACTION;
        let start = dark.iter().take(max).take_while(|&&c| is_border(c)).count();
        let end = n - dark.iter().rev().take(max).take_while(|&&c| is_border(c)).count();
        (start as u32, end.max(start + 1) as u32)
    };
    let (y0, y1) = strip(&row_dark, w);
    let (x0, x1) = strip(&col_dark, h);
    Bounds { x0, y0, x1, y1 }
}

pub fn crop_gray(g: &GrayImage, b: Bounds) -> GrayImage {
    image::imageops::crop_imm(g, b.x0, b.y0, b.width(), b.height()).to_image()
}

pub fn crop_rgb(g: &RgbImage, b: Bounds) -> RgbImage {
    image::imageops::crop_imm(g, b.x0, b.y0, b.width(), b.height()).to_image()
}

/// Turns dark runs touching the edges white (up to 3 % of the side in):
/// slivers of scanner background left after cropping a skewed sheet.
pub fn whiten_edges(g: &mut GrayImage) {
    let (w, h) = (g.width() as usize, g.height() as usize);
    let (mx, my) = ((w / 33).max(1), (h / 33).max(1));
    let px: &mut [u8] = g;
    let mut whiten = |indices: &mut dyn Iterator<Item = usize>| {
        for i in indices {
            if px[i] >= BORDER_DARK {
                break;
            }
            px[i] = 255;
        }
    };
    for y in 0..h {
        whiten(&mut (0..mx).map(|x| y * w + x));
        whiten(&mut (w - mx..w).rev().map(|x| y * w + x));
    }
    for x in 0..w {
        whiten(&mut (0..my).map(|y| y * w + x));
        whiten(&mut (h - my..h).rev().map(|y| y * w + x));
    }
}

/// The image turned by `degrees` about its centre (positive: clockwise on
/// screen, since y grows downwards), same size, bilinear, uncovered
/// corners white.
///
/// In fixed point: source coordinates in 2⁻³² of a pixel, weights in
/// 1/256. Each row starts from its exact position and steps along x, so
/// the rounding of the step drifts by at most a row's width × 2⁻³³ of a
/// pixel; the result is within one grey level of the floating-point one. A quarter of a scan's cleaning time
/// went to this loop, its `floor` and conversions.
pub fn rotate(g: &GrayImage, degrees: f32) -> GrayImage {
    const ONE: f64 = 4_294_967_296.0;
    let (w, h) = g.dimensions();
    let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
    let (cx, cy) = ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0);
    let src = g.as_raw();
    let stride = w as usize;
    let (max_x, max_y) = (i64::from(w) - 1, i64::from(h) - 1);
    let (step_x, step_y) = ((cos * ONE).round() as i64, (-sin * ONE).round() as i64);
    let mut out = vec![255u8; stride * h as usize];
    for (y, row) in out.chunks_exact_mut(stride).enumerate() {
        let dy = y as f64 - cy;
        // Source of output pixel p is R(-θ)·(p - c) + c, stepped along x.
        let mut sx = ((-cx * cos + dy * sin + cx) * ONE).round() as i64;
        let mut sy = ((cx * sin + dy * cos + cy) * ONE).round() as i64;
        for o in row.iter_mut() {
            let (ix, iy) = (sx >> 32, sy >> 32);
            if ix >= 0 && iy >= 0 && ix < max_x && iy < max_y {
                // The fractions rounded to 0..=256 (256: all on the next pixel).
                let (ax, ay) = ((((sx >> 23) & 0x1FF) as u32).div_ceil(2), (((sy >> 23) & 0x1FF) as u32).div_ceil(2));
                let i = iy as usize * stride + ix as usize;
                let (p00, p10) = (u32::from(src[i]), u32::from(src[i + 1]));
                let (p01, p11) = (u32::from(src[i + stride]), u32::from(src[i + stride + 1]));
                let top = p00 * (256 - ax) + p10 * ax;
                let bottom = p01 * (256 - ax) + p11 * ax;
                *o = ((top * (256 - ay) + bottom * ay + (1 << 15)) >> 16) as u8;
            }
            sx += step_x;
            sy += step_y;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| g.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The fixed-point rotation against the same bilinear sampling in f64,
    /// on noise (the steepest edges there are) over a page wider than a
    /// scan's: within one grey level and a half, but for samples the
    /// rounding moves across the page's edge.
    #[test]
    fn the_fixed_point_rotation_matches_floating_point_within_one_level() {
        let (w, h) = (2600u32, 300u32);
        // Noise from a small xorshift (not `synth`'s: `synth` builds on `scan`).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let g = GrayImage::from_fn(w, h, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Luma([(state >> 56) as u8])
        });
        for degrees in [-9.5f32, -0.3, 0.05, 2.0, 7.25] {
            let fixed = rotate(&g, degrees);
            let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
            let (cx, cy) = ((f64::from(w) - 1.0) / 2.0, (f64::from(h) - 1.0) / 2.0);
            let mut off = 0;
            for (x, y, p) in fixed.enumerate_pixels() {
                let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
                let (sx, sy) = (dx * cos + dy * sin + cx, -dx * sin + dy * cos + cy);
                let (fx, fy) = (sx.floor(), sy.floor());
                let want = if fx >= 0.0 && fy >= 0.0 && fx + 1.0 < f64::from(w) && fy + 1.0 < f64::from(h) {
                    let at = |x: f64, y: f64| f64::from(g.get_pixel(x as u32, y as u32).0[0]);
                    let (ax, ay) = (sx - fx, sy - fy);
                    let top = at(fx, fy) + (at(fx + 1.0, fy) - at(fx, fy)) * ax;
                    let bottom = at(fx, fy + 1.0) + (at(fx + 1.0, fy + 1.0) - at(fx, fy + 1.0)) * ax;
                    top + (bottom - top) * ay
                } else {
                    255.0
                };
                if (f64::from(p.0[0]) - want).abs() > 1.5 {
                    off += 1;
                }
            }
            assert!(off < (w + h) as usize / 50, "{degrees}°: {off} pixels off by more than one level");
        }
    }

    #[test]
    fn rotating_there_and_back_keeps_the_picture() {
        let mut g = GrayImage::from_pixel(300, 300, image::Luma([255]));
        for y in 140..160 {
            for x in 50..250 {
                g.put_pixel(x, y, image::Luma([0]));
            }
        }
        let back = rotate(&rotate(&g, 4.0), -4.0);
        let differing = g.pixels().zip(back.pixels()).filter(|(a, b)| a.0[0].abs_diff(b.0[0]) > 100).count();
        assert!(differing < 400, "{differing} pixels changed");
        // Clockwise on screen: the bar's right end goes down.
        let r = rotate(&g, 10.0);
        assert!(r.get_pixel(240, 150 + 15).0[0] < 128 && r.get_pixel(60, 150 - 15).0[0] < 128);
    }
}
