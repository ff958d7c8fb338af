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
pub fn rotate(g: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = g.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let src = g.as_raw();
    let (wi, hi) = (w as i32, h as i32);
    let mut out = vec![255u8; w as usize * h as usize];
    for (y, row) in out.chunks_exact_mut(w as usize).enumerate() {
        let dy = y as f32 - cy;
        // Source of output pixel p is R(-θ)·(p - c) + c, stepped along x.
        let mut sx = -cx * cos + dy * sin + cx;
        let mut sy = cx * sin + dy * cos + cy;
        for o in row.iter_mut() {
            let (fx, fy) = (sx.floor(), sy.floor());
            let (ix, iy) = (fx as i32, fy as i32);
            if ix >= 0 && iy >= 0 && ix + 1 < wi && iy + 1 < hi {
                let (ax, ay) = (sx - fx, sy - fy);
                let i = iy as usize * w as usize + ix as usize;
                let (p00, p10) = (f32::from(src[i]), f32::from(src[i + 1]));
                let (p01, p11) = (f32::from(src[i + w as usize]), f32::from(src[i + w as usize + 1]));
                let top = p00 + (p10 - p00) * ax;
                let bottom = p01 + (p11 - p01) * ax;
                *o = (top + (bottom - top) * ay + 0.5) as u8;
            }
            sx += cos;
            sy -= sin;
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
