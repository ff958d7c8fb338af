//! `GET /api/v1/dossiers/{nu}/pieces/{piece}`: a piece and all its versions.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use uuid::Uuid;

use super::{SealedMeta, VersionView, piece_fields};
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    error::Error,
};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PieceView {
    pub id: Uuid,
    pub numero_unique: String,
    pub kind: String,
    pub member: Option<String>,
    pub valid_until: Option<String>,
    pub versions: Vec<VersionView>,
}

/// A piece of a dossier with every version's metadata.
pub async fn show_piece(vault: &Vault, principal: &Principal, nu: &str, piece: &str) -> Result<PieceView, Error> {
    let opened = access::open(vault, principal, nu, Action::PieceRead).await?;
    let piece = opened.piece(piece).await?;
    let dk = opened.key().await?;
    let mut marks = super::marks::marks_by_version(vault, &dk, opened.dossier().id).await?;
    let versions = vault
        .db()
        .versions_of(piece.id)
        .await?
        .iter()
        .map(|v| Ok(VersionView { mark: marks.remove(&v.id), ..VersionView::new(v, SealedMeta::open(&dk, v)?) }))
        .collect::<Result<Vec<_>, Error>>()?;
    let (kind, member, valid_until) = piece_fields(&dk, &piece)?;
    opened.record_daily().await?;
    Ok(PieceView {
        id: piece.id,
        numero_unique: opened.dossier().numero_unique.to_string(),
        kind,
        member,
        valid_until,
        versions,
    })
}

pub async fn show(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Json<PieceView>, Error> {
    show_piece(&vault, &principal, &nu, &piece).await.map(Json)
}
