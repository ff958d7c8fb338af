//! QR codes on a page, read from its 75-dpi copy (a separator sheet's
//! modules are 2 mm: six pixels there), so every page of a batch can be
//! checked for one cheaply.

use image::GrayImage;

/// One QR code found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrRead {
    Text(String),
    /// A code was found but could not be decoded (damaged, folded, badly
    /// printed): a page that may be a separator sheet nobody can read.
    Unreadable,
}

/// Where a code lies on the 75-dpi copy: `[x0, y0, x1, y1)`, its quiet
/// zone included.
pub type Area = [u32; 4];

/// The codes on the page and where each lies.
pub fn read(small: &GrayImage) -> Vec<(QrRead, Area)> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let px = small.as_raw();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    prepared
        .detect_grids()
        .iter()
        .map(|grid| {
            let read = match grid.decode() {
                Ok((_, text)) => QrRead::Text(text),
                Err(_) => QrRead::Unreadable,
            };
            (read, area(&grid.bounds, small.width(), small.height()))
        })
        .collect()
}

/// The box around a code's corners, widened by a tenth of its side (the
/// quiet zone and a little skew).
fn area(corners: &[rqrr::Point; 4], w: u32, h: u32) -> Area {
    let xs = corners.iter().map(|p| p.x);
    let ys = corners.iter().map(|p| p.y);
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let margin = (x1 - x0).max(y1 - y0) / 10 + 2;
    let clamp = |v: i32, max: u32| v.clamp(0, max as i32) as u32;
    [clamp(x0 - margin, w), clamp(y0 - margin, h), clamp(x1 + margin, w), clamp(y1 + margin, h)]
}
