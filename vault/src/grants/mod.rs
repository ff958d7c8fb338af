//! Explicit grants: an organisation may read one dossier, for a purpose,
//! until a date; revocation takes effect on the next request.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    db::grants::Grant,
    domain::{Purpose, Siren, journal::Actor},
    error::Error,
};

/// Longest a grant may run: one year, the validity of a demand.
const MAX_SECONDS: i64 = 366 * 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// SIREN of the organisation granted access.
    pub organisation: String,
    /// What for, from the closed list (instruction, attribution, dalo,
    /// accompagnement, controle): the grantee's requests must carry it.
    pub purpose: String,
    /// The guichet's words, shown to the applicant, e.g. "CAL du 12 décembre".
    #[serde(default)]
    pub note: Option<String>,
    /// RFC 3339 time at which the grant ends.
    pub expires_at: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GrantView {
    pub id: Uuid,
    pub organisation: crate::dossiers::OrgRef,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub expires_at: String,
    pub revoked: bool,
    pub active: bool,
}

/// The agent acting (grants are managed by agents only).
fn by(p: &Principal) -> Result<Actor, Error> {
    p.as_agent()?;
    Ok(p.actor(Action::GrantManage))
}

async fn view(vault: &Vault, g: &Grant) -> Result<GrantView, Error> {
    let org = vault
        .db()
        .organisation(g.organisation_id)
        .await?
        .ok_or_else(|| Error::Integrity("grant without its organisation".into()))?;
    let now = crate::clock::now_s();
    Ok(GrantView {
        id: g.id,
        organisation: (&org).into(),
        purpose: g.purpose.to_string(),
        note: g.note.clone(),
        expires_at: crate::clock::rfc3339(g.expires_at),
        revoked: g.revoked,
        active: !g.revoked && g.expires_at > now,
    })
}

/// Opens the dossier to an organisation for a purpose, until a date.
pub async fn create_grant(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    input: CreateGrant,
) -> Result<GrantView, Error> {
    let opened = access::open(vault, principal, nu, Action::GrantManage).await?;
    let dossier = opened.dossier();
    let siren = Siren::parse(&input.organisation).map_err(|e| Error::Invalid(format!("organisation: {e}")))?;
    let org = vault
        .db()
        .organisation_by_siren(&siren)
        .await?
        .ok_or_else(|| Error::Invalid(format!("organisation: no organisation with SIREN {siren}")))?;
    let purpose = Purpose::parse(&input.purpose).map_err(|e| Error::Invalid(format!("purpose: {}", e.0)))?;
    if matches!(purpose, Purpose::Demandeur | Purpose::Enregistrement) {
        return Err(Error::Invalid(format!(
            "purpose: {purpose} is not a finality a partner is granted a dossier for; expected instruction, \
             attribution, dalo, accompagnement or controle"
        )));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 200) {
        return Err(Error::Invalid("note: at most 200 characters".into()));
    }
    let expires = OffsetDateTime::parse(&input.expires_at, &Rfc3339)
        .map_err(|_| Error::Invalid(format!("expires_at: {:?} is not an RFC 3339 time", input.expires_at)))?
        .unix_timestamp();
    let now = crate::clock::now_s();
    if expires <= now {
        return Err(Error::Invalid("expires_at: the grant would already have ended".into()));
    }
    if expires - now > MAX_SECONDS {
        return Err(Error::Invalid("expires_at: a grant lasts at most one year".into()));
    }
    let g = vault.db().insert_grant(dossier.id, org.id, purpose, note, expires, by(principal)?).await?;
    tracing::info!(dossier.id = %dossier.id, grant.id = %g.id, "grant created");
    view(vault, &g).await
}

/// The dossier's grants, live and dead: for whoever manages them, and for
/// the applicant, who reads them as part of their own dossier (who besides
/// the territory's partners may read it, and until when).
pub async fn list_grants(vault: &Vault, principal: &Principal, nu: &str) -> Result<Vec<GrantView>, Error> {
    let action = match principal {
        Principal::Applicant { .. } => Action::DossierRead,
        Principal::Agent(_) => Action::GrantManage,
    };
    let opened = access::open(vault, principal, nu, action).await?;
    let mut out = Vec::new();
    for g in vault.db().grants_of(opened.dossier().id).await? {
        out.push(view(vault, &g).await?);
    }
    Ok(out)
}

/// Revokes a grant of the dossier; it takes effect on the next request.
pub async fn revoke_grant(vault: &Vault, principal: &Principal, nu: &str, id: &str) -> Result<(), Error> {
    let opened = access::open(vault, principal, nu, Action::GrantManage).await?;
    let dossier = opened.dossier();
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound(format!("no grant {id:?} on this dossier")))?;
    if !vault.db().revoke_grant(dossier.id, id, by(principal)?).await? {
        return Err(Error::NotFound(format!("no grant {id} on this dossier")));
    }
    tracing::info!(dossier.id = %dossier.id, grant.id = %id, "grant revoked");
    Ok(())
}

pub async fn create(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    body: Result<Json<CreateGrant>, JsonRejection>,
) -> Result<(StatusCode, Json<GrantView>), Error> {
    let Json(input) = body?;
    Ok((StatusCode::CREATED, Json(create_grant(&vault, &principal, &nu, input).await?)))
}

pub async fn list(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<Vec<GrantView>>, Error> {
    list_grants(&vault, &principal, &nu).await.map(Json)
}

pub async fn revoke(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    revoke_grant(&vault, &principal, &nu, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
