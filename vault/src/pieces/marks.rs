//! `POST /api/v1/dossiers/{nu}/pieces/{piece}/versions/{number}/mark`: an
//! agent marks a version inexploitable, hors périmètre or obsolète, with a
//! short reason. Nothing is deleted; the applicant sees the mark on their
//! page and is asked for a new piece; the mark is in the trace.
//!
//! Decided as `piece.read_rendition`, for agents only: whoever may look at
//! the piece as partners see it may say it cannot be used (the instructing
//! landlord as much as the guichet), and a mark changes no content.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    crypto::DossierKey,
    db::{contacts::SealedRecord, marks::NewMark},
    domain::VersionMark,
    error::Error,
};

/// Longest reason: a sentence, not a report.
const MAX_REASON: usize = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    pub mark: String,
    pub reason: String,
}

/// A mark as shown with its version.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MarkView {
    pub mark: VersionMark,
    /// In French, for the applicant.
    pub label: &'static str,
    pub reason: String,
    /// Unix ms.
    pub marked_at: i64,
}

/// The mark that stands on each marked version of a dossier (the latest).
pub(crate) async fn marks_by_version(
    vault: &Vault,
    dk: &DossierKey,
    dossier: Uuid,
) -> Result<HashMap<Uuid, MarkView>, Error> {
    let mut out = HashMap::new();
    for m in vault.db().marks_of(dossier).await? {
        let reason: String =
            crate::sealed::records::open(dk, &SealedRecord { id: m.id, sealed: m.sealed_reason.clone() })?;
        out.insert(m.version, MarkView { mark: m.mark, label: m.mark.label(), reason, marked_at: m.created_at });
    }
    Ok(out)
}

pub async fn mark_version(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    piece: &str,
    number: i64,
    input: &MarkInput,
) -> Result<MarkView, Error> {
    let mark = VersionMark::parse(input.mark.trim()).map_err(|e| Error::Invalid(format!("mark: {e}")))?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "reason: say in a sentence (1 to {MAX_REASON} characters, no control characters) what is wrong"
        )));
    }
    principal.as_agent()?;
    let opened = access::open(vault, principal, nu, Action::PieceReadRendition).await?;
    let piece = opened.piece(piece).await?;
    let version = opened.version(&piece, Some(number)).await?;
    let dk = opened.key().await?;
    let id = Uuid::new_v4();
    let sealed_reason = crate::sealed::records::seal_as(&dk, id, &reason)?.sealed;
    let new = NewMark { id, dossier: opened.dossier().id, piece: piece.id, version: version.id, mark, sealed_reason };
    vault.db().mark_version(&new, opened.principal().actor(Action::PieceReadRendition)).await?;
    tracing::info!(dossier.id = %new.dossier, version.id = %version.id, mark = mark.as_str(), "version marked");
    Ok(MarkView { mark, label: mark.label(), reason: reason.to_owned(), marked_at: crate::clock::now_ms() })
}

pub async fn mark(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, piece, number)): Path<(String, String, String)>,
    body: Result<Json<MarkInput>, JsonRejection>,
) -> Result<(StatusCode, Json<MarkView>), Error> {
    let Json(input) = body?;
    let number: i64 = number.parse().map_err(|_| Error::NotFound("no such version of this piece".into()))?;
    let view = mark_version(&vault, &principal, &nu, &piece, number, &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
