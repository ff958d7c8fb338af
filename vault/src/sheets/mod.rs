//! Separator sheets: the page a guichet prints and slips in front of an
//! applicant's papers before scanning them, so each batch is filed in the
//! right dossier as the right kind of piece.
//!
//! The payload and its HMAC are `dnu_api::sheet` (shared with
//! `scanner-ingest`); the page is `intake::compose::separator_sheet`.
//!
//! `GET /api/v1/dossiers/{nu}/sheet.pdf?kind=…`, for a guichet's agent who
//! may upload to the dossier. Sheets are tagged with the printing
//! guichet's key and dated: they are printed at a counter, for papers in
//! hand, never by applicants (a sheet is a licence to file pages in a
//! dossier, which a workstation scanner honours without asking who slipped
//! it into the stack).

use axum::{
    body::Body,
    extract::{Path, State},
    response::Response,
};
use serde::Deserialize;

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    domain::{NumeroUnique, PieceKind},
    error::Error,
    query::Query,
    reply::content,
};

/// The sheet as a one-page PDF.
pub fn render(payload: &str, nu: &NumeroUnique, kind_label: &str, issued: &str) -> Result<Vec<u8>, Error> {
    intake::sheet::render(payload, intake::sheet::Printed { nu: nu.as_str(), kind_label, issued })
        .map_err(|e| Error::internal("drawing a separator sheet", e.to_string()))
}

#[derive(Debug, Deserialize)]
pub struct SheetQuery {
    pub kind: String,
}

/// A separator sheet for pieces of `kind`, printed today by the caller's
/// guichet.
pub async fn sheet_pdf(vault: &Vault, principal: &Principal, nu: &str, kind: PieceKind) -> Result<Response, Error> {
    let opened = access::open(vault, principal, nu, Action::PieceUpload).await?;
    let Principal::Agent(agent) = principal else {
        return Err(Error::Forbidden(
            "separator sheets are printed by a guichet, for papers handed in at its counter".into(),
        ));
    };
    let Some(guichet) = &agent.organisation.guichet_code else {
        return Err(Error::Forbidden(
            "separator sheets are printed by a guichet: this organisation has no guichet code".into(),
        ));
    };
    let dossier = opened.dossier();
    let label = kind.entry().map_or_else(|| kind.to_string(), |e| e.label.clone());
    let today = time::OffsetDateTime::now_utc().date();
    let payload = vault.sheet_key().payload(&dossier.numero_unique, kind, guichet, today)?;
    let nu = dossier.numero_unique.clone();
    let issued = dnu_api::sheet::issued_line(guichet.as_str(), today);
    let pdf = tokio::task::spawn_blocking(move || render(&payload, &nu, &label, &issued))
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
