//! Separator sheets: the page a guichet prints and slips in front of an
//! applicant's papers before scanning them, so each batch is filed in the
//! right dossier as the right kind of piece.
//!
//! The payload and its HMAC are `dnu_api::sheet` (shared with
//! `scanner-ingest`); the page is `intake::compose::separator_sheet`.
//!
//! `GET /api/v1/dossiers/{nu}/sheet.pdf?kind=…`, for whoever may upload to
//! the dossier.

use std::path::Path as FsPath;

use axum::{
    body::Body,
    extract::{Path, Query, State},
    response::Response,
};
use serde::Deserialize;

use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    domain::{NumeroUnique, PieceKind},
    error::Error,
    routes::{Auth, Doc, Produces, Routes},
};

pub fn router() -> Routes {
    Routes::new("sheets").get(
        "/api/v1/dossiers/{nu}/sheet.pdf",
        sheet,
        Doc::new(
            "separatorSheet",
            "A separator sheet (signed QR code) for scanning a piece of this kind",
            Auth::Bearer,
            Produces::Pdf,
        )
        .query(&[("kind", "the piece kind the sheet announces")]),
    )
}

/// The HMAC key of separator sheets, as the vault holds it.
#[derive(Debug)]
pub struct SheetKey(dnu_api::sheet::SheetKey);

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
        dnu_api::sheet::SheetKey::from_file(path).map(Self).map_err(|e| Error::Config(e.to_string()))
    }

    /// The text a sheet's QR code carries.
    pub fn payload(&self, nu: &NumeroUnique, kind: PieceKind) -> String {
        self.0.payload(nu.as_str(), kind.as_str())
    }

    /// Reads a sheet's QR text back: the dossier and kind if, and only if,
    /// the tag is this key's.
    pub fn verify(&self, payload: &str) -> Result<(NumeroUnique, PieceKind), Error> {
        let forged = || Error::Invalid("not a separator sheet of this vault (unknown or altered)".into());
        let sheet = self.0.verify(payload).map_err(|_| forged())?;
        let nu = NumeroUnique::parse(&sheet.numero_unique).map_err(|_| forged())?;
        let kind = PieceKind::parse(&sheet.kind).map_err(|_| forged())?;
        Ok((nu, kind))
    }
}

/// The sheet as a one-page PDF.
pub fn render(payload: &str, nu: &NumeroUnique, kind_label: &str) -> Result<Vec<u8>, Error> {
    intake::sheet::render(payload, nu.as_str(), kind_label).map_err(|e| Error::Store(format!("separator sheet: {e}")))
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
