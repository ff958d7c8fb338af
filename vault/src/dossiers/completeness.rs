//! Completeness of a dossier (`domain::completeness`), and
//! `PUT /api/v1/dossiers/{nu}/expected`: the applicant or their guichet
//! declares which pieces the applicant's situation calls for.
//!
//! Decided as `dossier.renew`, as the contact details are: the situation is
//! part of the demand the applicant keeps current (the CERFA's renewal
//! carries it), and the policy set grants that to exactly the applicant and
//! the registering guichets of its territory, and to no one once radiated.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
};
use serde::Deserialize;

use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, Principal},
    domain::{
        PieceKind,
        completeness::{self, Completeness, Held},
    },
    error::Error,
    pieces::PieceSummary,
};

/// The dossier's completeness today, from its pieces as summarised.
pub async fn completeness_of(opened: &Opened<'_>, pieces: &[PieceSummary]) -> Result<Completeness, Error> {
    let expected = expected_kinds(opened.vault(), opened.dossier().id).await?;
    Ok(assess(&expected, pieces))
}

/// Every kind called for: the required one first, then those declared.
async fn expected_kinds(vault: &Vault, dossier: uuid::Uuid) -> Result<Vec<PieceKind>, Error> {
    let mut kinds = vec![required()?];
    kinds.extend(vault.db().expected_kinds_of(dossier).await?);
    Ok(kinds)
}

/// The kind every dossier needs (the identity piece).
pub(super) fn required() -> Result<PieceKind, Error> {
    PieceKind::required().ok_or_else(|| Error::Config("the catalogue has no required kind".into()))
}

/// Declared kinds as given (API, forms): catalogue codes, each once; the
/// required kind is always called for and not stored.
pub fn parse_kinds(kinds: &[String]) -> Result<Vec<PieceKind>, Error> {
    let required = required()?;
    let mut parsed: Vec<PieceKind> = Vec::new();
    for k in kinds {
        let kind = PieceKind::parse(k).map_err(|e| Error::Invalid(format!("expected: {e}")))?;
        if kind != required && !parsed.contains(&kind) {
            parsed.push(kind);
        }
    }
    Ok(parsed)
}

/// The completeness of a dossier that holds no piece yet.
pub fn assess_new(declared: &[PieceKind]) -> Result<Completeness, Error> {
    let mut kinds = vec![required()?];
    kinds.extend_from_slice(declared);
    Ok(assess(&kinds, &[]))
}

fn assess(expected: &[PieceKind], pieces: &[PieceSummary]) -> Completeness {
    let held: Vec<Held> = pieces
        .iter()
        .filter(|p| p.current.is_some())
        .filter_map(|p| {
            Some(Held {
                kind: PieceKind::parse(&p.kind).ok()?,
                valid_until: p.valid_until.as_deref().and_then(|d| crate::clock::parse_iso_date(d).ok()),
                flagged: p.current.as_ref().is_some_and(|v| v.mark.is_some()),
            })
        })
        .collect();
    completeness::assess(expected, &held, crate::clock::today())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedBody {
    /// Catalogue codes; the identity piece is always called for.
    pub kinds: Vec<String>,
}

/// Declares the kinds the situation calls for; answers the completeness
/// that follows.
pub async fn put_expected(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    kinds: &[String],
) -> Result<Completeness, Error> {
    let parsed = parse_kinds(kinds)?;
    let opened = access::open(vault, principal, nu, Action::DossierRenew).await?;
    let actor = opened.principal().actor(Action::DossierRenew);
    vault.db().replace_expected_kinds(opened.dossier().id, &parsed, actor).await?;
    tracing::info!(dossier.id = %opened.dossier().id, kinds = parsed.len(), "expected pieces declared");
    let pieces = crate::pieces::summaries(&opened).await?;
    completeness_of(&opened, &pieces).await
}

pub async fn put(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    body: Result<Json<ExpectedBody>, JsonRejection>,
) -> Result<Json<Completeness>, Error> {
    let Json(body) = body?;
    put_expected(&vault, &principal, &nu, &body.kinds).await.map(Json)
}
