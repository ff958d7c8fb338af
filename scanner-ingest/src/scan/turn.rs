//! Deskewing: a page turned about its centre, bilinear, in fixed point;
//! and the same page turned straight to bits, which is what a text page
//! needs and costs a fraction of turning its grey pixels.
//!
//! Turning 8.7 million grey pixels, then cropping and thresholding them,
//! was the largest share of a scan's cleaning (22–31 %, `bench/README.md`).
//! But a bilinear sample is a weighted mean of its four source pixels: when
//! all four lie on the same side of the threshold, so does the sample. On a
//! text page most stretches of a row are paper, so [`Turn::bitonal`] asks
//! the source's thresholded bits, 32 output pixels at a time, whether the
//! whole source region under them is paper (or ink), and interpolates
//! grey levels only where it is mixed: along the strokes' edges. The bits
//! are exactly those of turning the grey page, cropping, whitening its
//! edges and thresholding it (a test compares them).

use image::GrayImage;

use super::bitonal::Bitmap;
use super::geometry::{BORDER_DARK, EdgeRuns, paper_bounds_by};

/// 2³²: source coordinates are in 2⁻³² of a pixel.
const ONE: f64 = 4_294_967_296.0;
/// Output pixels whose source region is tested at once, then again in
/// stretches of [`FINE`] when mixed.
const CHUNK: u32 = 32;
const FINE: u32 = 8;

/// `src` turned by `degrees` about its centre (positive: clockwise on
/// screen, since y grows downwards), same size, uncovered corners white.
///
/// Each row starts from its exact position and steps along x in fixed
/// point, so the rounding of the step drifts by at most a row's width ×
/// 2⁻³³ of a pixel; a sample is within one grey level of the
/// floating-point one. Weights are in 1/256.
pub struct Turn<'a> {
    src: &'a GrayImage,
    sin: f64,
    cos: f64,
    centre: (f64, f64),
    step: (i64, i64),
}

impl<'a> Turn<'a> {
    pub fn new(src: &'a GrayImage, degrees: f32) -> Self {
        let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
        let centre = ((f64::from(src.width()) - 1.0) / 2.0, (f64::from(src.height()) - 1.0) / 2.0);
        Self { src, sin, cos, centre, step: ((cos * ONE).round() as i64, (-sin * ONE).round() as i64) }
    }

    /// The source position of output pixel (0, y). The source of output
    /// pixel p is R(-θ)·(p - c) + c.
    fn start(&self, y: u32) -> (i64, i64) {
        let (cx, cy) = self.centre;
        let dy = f64::from(y) - cy;
        (
            ((-cx * self.cos + dy * self.sin + cx) * ONE).round() as i64,
            ((cx * self.sin + dy * self.cos + cy) * ONE).round() as i64,
        )
    }

    /// The source position of output pixel (x, y): the row's start plus x
    /// steps, exactly what stepping along the row adds up to.
    fn position(&self, x: u32, y: u32) -> (i64, i64) {
        let (sx, sy) = self.start(y);
        (sx + i64::from(x) * self.step.0, sy + i64::from(x) * self.step.1)
    }

    /// The bilinear sample at a source position; white outside the page
    /// (and on its last row and column, which have no neighbour beyond).
    #[inline]
    fn sample(&self, sx: i64, sy: i64) -> u8 {
        let (ix, iy) = (sx >> 32, sy >> 32);
        let (w, h) = (i64::from(self.src.width()), i64::from(self.src.height()));
        if ix < 0 || iy < 0 || ix >= w - 1 || iy >= h - 1 {
            return 255;
        }
        // The fractions rounded to 0..=256 (256: all on the next pixel).
        let (ax, ay) = ((((sx >> 23) & 0x1FF) as u32).div_ceil(2), (((sy >> 23) & 0x1FF) as u32).div_ceil(2));
        let (src, stride) = (self.src.as_raw(), w as usize);
        let i = iy as usize * stride + ix as usize;
        let (p00, p10) = (u32::from(src[i]), u32::from(src[i + 1]));
        let (p01, p11) = (u32::from(src[i + stride]), u32::from(src[i + stride + 1]));
        let top = p00 * (256 - ax) + p10 * ax;
        let bottom = p01 * (256 - ax) + p11 * ax;
        ((top * (256 - ay) + bottom * ay + (1 << 15)) >> 16) as u8
    }

    /// Output pixel (x, y).
    pub fn at(&self, x: u32, y: u32) -> u8 {
        let (sx, sy) = self.position(x, y);
        self.sample(sx, sy)
    }

    /// The whole turned page in grey.
    pub fn image(&self) -> GrayImage {
        let (w, h) = self.src.dimensions();
        let mut out = Vec::with_capacity(w as usize * h as usize);
        for y in 0..h {
            let (mut sx, mut sy) = self.start(y);
            for _ in 0..w {
                out.push(self.sample(sx, sy));
                sx += self.step.0;
                sy += self.step.1;
            }
        }
        GrayImage::from_raw(w, h, out).unwrap_or_else(|| self.src.clone())
    }

    /// The turned page with the scanner background that turning brings in
    /// at the edges cropped and whitened, then black where darker than
    /// `threshold`: the bits of [`rotate`], `paper_bounds`, `crop_gray`,
    /// `whiten_edges` and `Bitmap::threshold` in turn, without turning the
    /// paper's grey pixels.
    pub fn bitonal(&self, threshold: u8) -> Bitmap {
        let (w, h) = self.src.dimensions();
        let dark = |x: u32, y: u32| self.at(x, y) < BORDER_DARK;
        let b = paper_bounds_by(
            w,
            h,
            |y| (0..w).map(|x| u32::from(dark(x, y))).sum(),
            |x| (0..h).map(|y| u32::from(dark(x, y))).sum(),
        );
        let runs = EdgeRuns::find(b.width(), b.height(), |x, y| dark(b.x0 + x, b.y0 + y));
        let black = Bitmap::threshold(self.src, threshold);
        let mut out = Bitmap::new(b.width(), b.height());
        for y in b.y0..b.y1 {
            let (sx0, sy0) = self.start(y);
            let pos = |x: u32| (sx0 + i64::from(x) * self.step.0, sy0 + i64::from(x) * self.step.1);
            let oy = y - b.y0;
            // A stretch whose source is all paper or all ink is decided at
            // once; a mixed one is looked at again in eighths of a word,
            // and only mixed eighths are sampled pixel by pixel.
            let mut decide = |x0: u32, x1: u32, fine: bool| match self.region(&black, pos(x0), pos(x1 - 1)) {
                Some(ink) => {
                    if ink {
                        out.fill(oy, x0 - b.x0, x1 - b.x0, true);
                    }
                    true
                }
                None if fine => {
                    let word = (x0..x1).enumerate().fold(0u64, |word, (k, x)| {
                        let (sx, sy) = pos(x);
                        word | u64::from(self.sample(sx, sy) < threshold) << k
                    });
                    out.put(oy, x0 - b.x0, word);
                    true
                }
                None => false,
            };
            let mut x = b.x0;
            while x < b.x1 {
                let end = (x + CHUNK).min(b.x1);
                if !decide(x, end, false) {
                    for x0 in (x..end).step_by(FINE as usize) {
                        decide(x0, (x0 + FINE).min(end), true);
                    }
                }
                x = end;
            }
        }
        let (bw, bh) = (b.width(), b.height());
        for (y, &(l, r)) in runs.rows.iter().enumerate() {
            out.fill(y as u32, 0, l, false);
            out.fill(y as u32, bw - r, bw, false);
        }
        for (x, &(t, bottom)) in runs.cols.iter().enumerate() {
            for y in (0..t).chain(bh - bottom..bh) {
                out.fill(y, x as u32, x as u32 + 1, false);
            }
        }
        out
    }

    /// Whether every sample between source positions `a` and `b` (the ends
    /// of a stretch of one output row) has all four of its source pixels
    /// black (`Some(true)`) or all white (`Some(false)`); `None` when mixed
    /// or when a sample falls off the page. Along a straight stretch the
    /// pixel coordinates are monotonic, so the ends bound them.
    fn region(&self, black: &Bitmap, a: (i64, i64), b: (i64, i64)) -> Option<bool> {
        let (x0, x1) = ((a.0 >> 32).min(b.0 >> 32), (a.0 >> 32).max(b.0 >> 32));
        let (y0, y1) = ((a.1 >> 32).min(b.1 >> 32), (a.1 >> 32).max(b.1 >> 32));
        let (w, h) = (i64::from(self.src.width()), i64::from(self.src.height()));
        if x0 < 0 || y0 < 0 || x1 >= w - 1 || y1 >= h - 1 {
            return None;
        }
        let (mut any, mut all) = (false, true);
        for y in y0..=y1 + 1 {
            let (a, l) = black.span(y as u32, x0 as u32, x1 as u32 + 1);
            any |= a;
            all &= l;
            if any && !all {
                return None;
            }
        }
        Some(all)
    }
}

/// `g` turned by `degrees` (see [`Turn`]).
pub fn rotate(g: &GrayImage, degrees: f32) -> GrayImage {
    Turn::new(g, degrees).image()
}

#[cfg(test)]
mod tests {
    use super::super::bitonal::tests::noise;
    use super::super::geometry::{crop_gray, paper_bounds, whiten_edges};
    use super::*;

    /// The fixed-point rotation against the same bilinear sampling in f64,
    /// on noise (the steepest edges there are) over a page wider than a
    /// scan's: within one grey level and a half, but for samples the
    /// rounding moves across the page's edge.
    #[test]
    fn the_fixed_point_rotation_matches_floating_point_within_one_level() {
        let (w, h) = (2600u32, 300u32);
        let g = noise(w, h, 0x9E37_79B9_7F4A_7C15);
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

    /// A page of text-like strokes with dark scanner borders, on grain.
    fn scan_like(w: u32, h: u32, seed: u64) -> GrayImage {
        let grain = noise(w, h, seed);
        GrayImage::from_fn(w, h, |x, y| {
            let g = i32::from(grain.get_pixel(x, y).0[0]) / 8 - 16;
            let border = x < 9 || y < 6 || x + 7 >= w || y + 12 >= h;
            // Lines of words, a diagonal and a solid block (whole stretches of ink).
            let block = (w / 3..w / 3 + 70).contains(&x) && (h / 2..h / 2 + 40).contains(&y);
            let stroke = (y / 7) % 4 == 1 && (x / 5) % 6 != 0 || (x + 2 * y) % 97 < 3 || block;
            let base = if border {
                20
            } else if stroke {
                45
            } else {
                225
            };
            image::Luma([(base + g).clamp(0, 255) as u8])
        })
    }

    /// The bits straight from the source are exactly those of the grey
    /// pipeline they replace, at every angle the deskew corrects.
    #[test]
    fn turning_to_bits_gives_the_bits_of_turning_the_grey_page() {
        for (w, h, degrees, t) in
            [(300u32, 200u32, 3.5f32, 140u8), (257, 190, -0.7, 128), (190, 257, 11.9, 100), (130, 70, -6.0, 200)]
        {
            let g = scan_like(w, h, u64::from(w + h));
            let turned = rotate(&g, degrees);
            let b = paper_bounds(&turned);
            let mut grey = crop_gray(turned, b);
            whiten_edges(&mut grey);
            let want = Bitmap::threshold(&grey, t);
            let got = Turn::new(&g, degrees).bitonal(t);
            assert_eq!((got.width(), got.height()), (b.width(), b.height()), "{degrees}°");
            assert!(want.count() > 0);
            assert!(got == want, "{degrees}°: {} black pixels, {} wanted", got.count(), want.count());
        }
    }
}
