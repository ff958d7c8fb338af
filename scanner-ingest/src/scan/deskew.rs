//! Skew of a text page, by projection profiles: lines of text, seen along
//! the right angle, pile their ink into few rows, which maximises the sum
//! of squared row counts. Searched over ±[`MAX_SKEW`]° on the 75-dpi copy,
//! coarsely then finely; the fine step bounds the error well under 0.5°.

use image::GrayImage;

/// Widest skew searched, in degrees.
pub const MAX_SKEW: f32 = 12.0;
const COARSE_STEP: f32 = 0.5;
const FINE_STEP: f32 = 0.05;
/// Fewer ink points than this: nothing to measure (blank, a signature).
const MIN_POINTS: usize = 150;

/// The angle (degrees, clockwise on screen) by which the page's text is
/// turned; `rotate(page, -angle)` straightens it. 0 when there is too
/// little ink to tell.
pub fn estimate(small: &GrayImage, ink: u8) -> f32 {
    let (w, h) = small.dimensions();
    // Ink away from the edges, where leftover borders could mislead.
    let (mx, my) = (w / 20, h / 20);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let points: Vec<(f32, f32)> = small
        .enumerate_pixels()
        .filter(|(x, y, p)| p.0[0] < ink && *x >= mx && *x < w - mx && *y >= my && *y < h - my)
        .map(|(x, y, _)| (x as f32 - cx, y as f32 - cy))
        .collect();
    if points.len() < MIN_POINTS {
        return 0.0;
    }
    let rows = (w as f32).hypot(h as f32) as usize + 2;
    let mut bins = vec![0u32; rows];
    let mut score = |deg: f32| -> f64 {
        let (sin, cos) = deg.to_radians().sin_cos();
        bins.iter_mut().for_each(|b| *b = 0);
        let half = rows as f32 / 2.0;
        for &(x, y) in &points {
            // The row this point lands on once the page is turned by -deg.
            let r = -x * sin + y * cos + half;
            bins[(r as usize).min(rows - 1)] += 1;
        }
        bins.iter().map(|&b| f64::from(b) * f64::from(b)).sum()
    };
    let best = |from: f32, to: f32, step: f32, score: &mut dyn FnMut(f32) -> f64| {
        let steps = ((to - from) / step).round() as i32;
        (0..=steps)
            .map(|i| from + i as f32 * step)
            .map(|a| (a, score(a)))
            .fold((0.0f32, f64::MIN), |acc, (a, s)| if s > acc.1 { (a, s) } else { acc })
            .0
    };
    let coarse = best(-MAX_SKEW, MAX_SKEW, COARSE_STEP, &mut score);
    best(coarse - COARSE_STEP, coarse + COARSE_STEP, FINE_STEP, &mut score)
}
