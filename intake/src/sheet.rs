//! The separator sheet's page: a QR code carrying the signed payload
//! (`dnu_api::sheet`), and the same facts in large print for people.
//! Drawn at 150 dpi with 12-pixel QR modules (2 mm): any office scanner
//! resolves them, even at 75 dpi.

use image::{GrayImage, Luma};

use crate::{
    PageImage, Refusal,
    compose::{TextLine, text_page},
    internal,
};

const DPI: f32 = 150.0;
const MODULE_PX: u32 = 12;
/// Top of the QR code, in pixels from the top of the page.
const QR_TOP: u32 = 420;

/// What a sheet says to people, under its code.
#[derive(Debug, Clone, Copy)]
pub struct Printed<'a> {
    pub nu: &'a str,
    pub kind_label: &'a str,
    /// Who printed it and until when it files pages.
    pub issued: &'a str,
}

/// The sheet for `payload` as a one-page PDF.
pub fn render(payload: &str, printed: Printed<'_>) -> Result<Vec<u8>, Refusal> {
    crate::build_pdf(&[page(payload, printed)?])
}

/// The sheet's page as pixels (150 dpi).
pub fn page(payload: &str, printed: Printed<'_>) -> Result<PageImage, Refusal> {
    let Printed { nu, kind_label, issued } = printed;
    let line = |y: f32, size: f32, bold: bool, text: String| TextLine { x: 56.0, y, size, bold, text };
    let lines = vec![
        line(780.0, 26.0, true, "FEUILLE DE SÉPARATION".into()),
        line(750.0, 12.0, false, "À placer devant les pièces de ce dossier, face imprimée vers le scanner.".into()),
        line(300.0, 30.0, true, nu.to_owned()),
        line(262.0, 18.0, false, kind_label.to_owned()),
        line(230.0, 10.0, false, "Une feuille par type de pièce. Ne pas photocopier pour un autre dossier.".into()),
        line(212.0, 10.0, false, issued.to_owned()),
    ];
    let PageImage::Gray { mut pixels, dpi } = text_page(&lines, DPI)? else {
        return Err(internal("separator sheet", "unexpected colour page"));
    };
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|e| internal("separator sheet QR code", e))?;
    let modules = u32::try_from(code.width()).map_err(|e| internal("separator sheet QR code", e))?;
    // Centred; the page around it is white, which gives the quiet zone.
    let x0 = pixels.width().saturating_sub(modules * MODULE_PX) / 2;
    paint(&mut pixels, x0, QR_TOP, modules, &code.to_colors());
    Ok(PageImage::Gray { pixels, dpi })
}

fn paint(page: &mut GrayImage, x0: u32, y0: u32, modules: u32, colors: &[qrcode::Color]) {
    for (i, c) in colors.iter().enumerate() {
        if *c != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        for dy in 0..MODULE_PX {
            for dx in 0..MODULE_PX {
                let (x, y) = (x0 + mx * MODULE_PX + dx, y0 + my * MODULE_PX + dy);
                if x < page.width() && y < page.height() {
                    page.put_pixel(x, y, Luma([0]));
                }
            }
        }
    }
}
