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

pub fn read(small: &GrayImage) -> Vec<QrRead> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let px = small.as_raw();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    prepared
        .detect_grids()
        .iter()
        .map(|grid| match grid.decode() {
            Ok((_, text)) => QrRead::Text(text),
            Err(_) => QrRead::Unreadable,
        })
        .collect()
}
