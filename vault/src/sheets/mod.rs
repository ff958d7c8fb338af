//! Separator sheets: the page a guichet prints and slips in front of an
//! applicant's papers before scanning them, so each batch is filed in the
//! right dossier as the right kind of piece.
//!
//! The payload and its HMAC are `dnu_api::sheet` (shared with
//! `scanner-ingest`); the page is `intake::compose::separator_sheet`.
//!
//! `GET /api/v1/dossiers/{nu}/sheet.pdf?kind=…`, for whoever may upload to
//! the dossier.

use axum::{
    body::Body,
    extract::{Path, Query, State},
    response::Response,
};
use serde::Deserialize;

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    domain::{NumeroUnique, PieceKind},
    error::Error,
    reply::content,
};

/// The sheet as a one-page PDF.
pub fn render(payload: &str, nu: &NumeroUnique, kind_label: &str) -> Result<Vec<u8>, Error> {
    intake::sheet::render(payload, nu.as_str(), kind_label)
        .map_err(|e| Error::internal("drawing a separator sheet", e.to_string()))
}

#[derive(Debug, Deserialize)]
pub struct SheetQuery {
    pub kind: String,
}

/// A separator sheet for pieces of `kind`, for whoever may upload to the
/// dossier.
pub async fn sheet_pdf(vault: &Vault, principal: &Principal, nu: &str, kind: PieceKind) -> Result<Response, Error> {
    let opened = access::open(vault, principal, nu, Action::PieceUpload).await?;
    let dossier = opened.dossier();
    let label = kind.entry().map_or_else(|| kind.to_string(), |e| e.label.clone());
    let payload = vault.sheet_key().payload(&dossier.numero_unique, kind);
    let nu = dossier.numero_unique.clone();
    let pdf = tokio::task::spawn_blocking(move || render(&payload, &nu, &label))
        .await
        .map_err(|e| Error::internal("separator sheet task", e))??;
    Ok(content(
        Body::from(pdf),
        "application/pdf",
        &format!("inline; filename=\"feuille-{}-{kind}.pdf\"", dossier.numero_unique),
        false,
    ))
}

pub async fn sheet(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    Query(q): Query<SheetQuery>,
) -> Result<Response, Error> {
    let kind = PieceKind::parse(&q.kind).map_err(|e| Error::Invalid(format!("kind: {e}")))?;
    sheet_pdf(&vault, &principal, &nu, kind).await
}
