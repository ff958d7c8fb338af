//! `GET /api/v1/dossiers/{nu}/pieces/{piece}`: a piece and all its versions.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use uuid::Uuid;

use super::{SealedMeta, VersionView, piece_fields};
use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    db::{dossiers::Dossier, pieces::Piece},
    error::Error,
};

#[derive(Debug, Serialize)]
pub struct PieceView {
    pub id: Uuid,
    pub numero_unique: String,
    pub kind: String,
    pub member: Option<String>,
    pub valid_until: Option<String>,
    pub versions: Vec<VersionView>,
}

/// Resolves `{nu}` and `{piece}`: 404 for an unknown or foreign piece.
pub(crate) async fn find_piece(vault: &Vault, nu: &str, piece: &str) -> Result<(Dossier, Piece), Error> {
    let dossier = crate::dossiers::find(vault, nu).await?;
    let id = Uuid::parse_str(piece).map_err(|_| Error::NotFound(format!("no piece {piece:?} in this dossier")))?;
    let piece = vault
        .db()
        .piece(dossier.id, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no piece {id} in this dossier")))?;
    Ok((dossier, piece))
}

pub async fn show(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Json<PieceView>, Error> {
    let (dossier, piece) = find_piece(&vault, &nu, &piece).await?;
    authorize(&vault, &principal, Action::PieceRead, Resource::Dossier(&dossier)).await?;
    let dk = vault.dossier_key(dossier.id).await?;
    let versions = vault
        .db()
        .versions_of(piece.id)
        .await?
        .iter()
        .map(|v| Ok(VersionView::new(v, SealedMeta::open(&dk, v)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let (kind, member, valid_until) = piece_fields(&piece);
    Ok(Json(PieceView {
        id: piece.id,
        numero_unique: dossier.numero_unique.to_string(),
        kind,
        member,
        valid_until,
        versions,
    }))
}
