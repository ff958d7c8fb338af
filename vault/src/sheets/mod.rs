//! Separator sheets: the page a guichet prints and slips in front of an
//! applicant's papers before scanning them, so each batch is filed in the
//! right dossier as the right kind of piece.
//!
//! The QR code carries `DNU1:<numéro unique>:<kind>:<tag>`, where the tag
//! is the first 16 bytes (hex) of HMAC-SHA-256 over `DNU1:<nu>:<kind>`
//! under a key shared with `scanner-ingest` (`VAULT_SHEET_KEY_FILE`): a
//! sheet forged or altered by hand does not verify, so a batch can never be
//! routed to a dossier nobody printed a sheet for. The same text is printed
//! large for people.
//!
//! `GET /api/v1/dossiers/{nu}/sheet.pdf?kind=…`, for whoever may upload to
//! the dossier.

use std::path::Path as FsPath;

use aws_lc_rs::hmac;
use axum::{
    Router,
    body::Body,
    extract::{Path, Query, State},
    response::Response,
    routing::get,
};
use image::{GrayImage, Luma};
use intake::{PageImage, compose::TextLine};
use serde::Deserialize;

use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    domain::{NumeroUnique, PieceKind},
    error::Error,
};

const VERSION: &str = "DNU1";
/// Resolution of the sheet (a QR module is 12 pixels: easy for any scanner).
const DPI: f32 = 150.0;
const MODULE_PX: u32 = 12;

pub fn router() -> Router<Vault> {
    Router::new().route("/api/v1/dossiers/{nu}/sheet.pdf", get(sheet))
}

/// The HMAC key of separator sheets.
pub struct SheetKey(hmac::Key);

impl std::fmt::Debug for SheetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SheetKey(…)")
    }
}

impl SheetKey {
    /// Loads the key (64 hex digits), generating it on first use.
    pub fn load_or_create(path: &FsPath) -> Result<Self, Error> {
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let key = crate::crypto::random_bytes::<32>()?;
            crate::app::write_private_file(path, format!("{}\n", hex::encode(key)).as_bytes())?;
            tracing::info!(path = %path.display(), "separator sheet key generated");
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read the sheet key {}: {e}", path.display())))?;
        let raw = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| Error::Config(format!("sheet key {}: expected at least 64 hex digits", path.display())))?;
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &raw)))
    }

    fn tag(&self, nu: &NumeroUnique, kind: PieceKind) -> String {
        let tag = hmac::sign(&self.0, format!("{VERSION}:{nu}:{kind}").as_bytes());
        hex::encode(&tag.as_ref()[..16])
    }

    /// The text a sheet's QR code carries.
    pub fn payload(&self, nu: &NumeroUnique, kind: PieceKind) -> String {
        format!("{VERSION}:{nu}:{kind}:{}", self.tag(nu, kind))
    }

    /// Reads a sheet's QR text back: the dossier and kind if, and only if,
    /// the tag is this key's.
    pub fn verify(&self, payload: &str) -> Result<(NumeroUnique, PieceKind), Error> {
        let forged = || Error::Invalid("not a separator sheet of this vault (unknown or altered)".into());
        let mut parts = payload.trim().split(':');
        let (Some(VERSION), Some(nu), Some(kind), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(forged());
        };
        let nu = NumeroUnique::parse(nu).map_err(|_| forged())?;
        let kind = PieceKind::parse(kind).map_err(|_| forged())?;
        if crate::crypto::constant_time_eq(self.tag(&nu, kind).as_bytes(), tag.as_bytes()) {
            Ok((nu, kind))
        } else {
            Err(forged())
        }
    }
}

/// The sheet as a one-page PDF.
pub fn render(payload: &str, nu: &NumeroUnique, kind_label: &str) -> Result<Vec<u8>, Error> {
    let failed = |e: &dyn std::fmt::Display| Error::Store(format!("separator sheet: {e}"));
    let line = |y: f32, size: f32, bold: bool, text: String| TextLine { x: 56.0, y, size, bold, text };
    let lines = vec![
        line(780.0, 26.0, true, "FEUILLE DE SÉPARATION".into()),
        line(750.0, 12.0, false, "À placer devant les pièces de ce dossier, face imprimée vers le scanner.".into()),
        line(300.0, 30.0, true, nu.to_string()),
        line(262.0, 18.0, false, kind_label.to_owned()),
        line(230.0, 10.0, false, "Une feuille par type de pièce. Ne pas photocopier pour un autre dossier.".into()),
    ];
    let PageImage::Gray { mut pixels, dpi } = intake::compose::text_page(&lines, DPI).map_err(|e| failed(&e))? else {
        return Err(failed(&"unexpected colour page"));
    };
    let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|e| failed(&e))?;
    let modules = u32::try_from(code.width()).map_err(|e| failed(&e))?;
    let colors = code.to_colors();
    // Centred, a third of the way down, with a four-module quiet zone
    // (the page is white there).
    let side = modules * MODULE_PX;
    let (x0, y0) = ((pixels.width().saturating_sub(side)) / 2, 420);
    paint(&mut pixels, x0, y0, modules, &colors);
    intake::build_pdf(&[PageImage::Gray { pixels, dpi }]).map_err(|e| failed(&e))
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

#[derive(Debug, Deserialize)]
pub struct SheetQuery {
    pub kind: String,
}

pub async fn sheet(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    Query(q): Query<SheetQuery>,
) -> Result<Response, Error> {
    let dossier = crate::dossiers::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::PieceUpload, Resource::Dossier(&dossier)).await?;
    let kind = PieceKind::parse(&q.kind).map_err(|e| Error::Invalid(format!("kind: {e}")))?;
    let label = kind.entry().map_or_else(|| kind.to_string(), |e| e.label.clone());
    let payload = vault.sheet_key().payload(&dossier.numero_unique, kind);
    let nu = dossier.numero_unique.clone();
    let pdf = tokio::task::spawn_blocking(move || render(&payload, &nu, &label))
        .await
        .map_err(|e| Error::Store(format!("sheet task: {e}")))??;
    Ok(crate::pieces::download::content(
        Body::from(pdf),
        "application/pdf",
        &format!("inline; filename=\"feuille-{}-{kind}.pdf\"", dossier.numero_unique),
        false,
    ))
}
