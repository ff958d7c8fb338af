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
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    db::grants::Grant,
    domain::Siren,
    error::Error,
    routes::{Auth, Consumes, Doc, Produces, Routes, Ty, req},
};

/// Longest a grant may run: one year, the validity of a demand.
const MAX_SECONDS: i64 = 366 * 24 * 3600;

pub fn router() -> Routes {
    Routes::new("grants")
        .get(
            "/api/v1/dossiers/{nu}/grants",
            list,
            Doc::new("listGrants", "The dossier's explicit grants", Auth::Bearer, Produces::Json),
        )
        .post(
            "/api/v1/dossiers/{nu}/grants",
            create,
            Doc::new(
                "createGrant",
                "Grant an organisation access to the dossier for a purpose, until a date",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const {
                    &[
                        req("organisation", Ty::Text, "SIREN of the organisation granted access"),
                        req("purpose", Ty::Text, "why (shown to the applicant), e.g. CAL du 12 décembre"),
                        req("expires_at", Ty::DateTime, "when the grant ends"),
                    ]
                },
            )
            .success(201),
        )
        .delete(
            "/api/v1/dossiers/{nu}/grants/{id}",
            revoke,
            Doc::new("revokeGrant", "Revoke a grant", Auth::Bearer, Produces::Json).success(204),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// SIREN of the organisation granted access.
    organisation: String,
    /// Why (shown to the applicant), e.g. "CAL du 12 décembre".
    purpose: String,
    /// RFC 3339 time at which the grant ends.
    expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct GrantView {
    pub id: Uuid,
    pub organisation: crate::dossiers::OrgRef,
    pub purpose: String,
    pub expires_at: String,
    pub revoked: bool,
    pub active: bool,
}

/// The agent and organisation acting.
fn by(p: &Principal) -> Result<(Uuid, Uuid), Error> {
    let a = p.as_agent()?;
    Ok((a.agent.id, a.organisation.id))
}

async fn view(vault: &Vault, g: &Grant) -> Result<GrantView, Error> {
    let org = vault
        .db()
        .organisation(g.organisation_id)
        .await?
        .ok_or_else(|| Error::Integrity("grant without its organisation".into()))?;
    let now = crate::db::now_ms() / 1000;
    Ok(GrantView {
        id: g.id,
        organisation: (&org).into(),
        purpose: g.purpose.clone(),
        expires_at: crate::db::rfc3339(g.expires_at),
        revoked: g.revoked,
        active: !g.revoked && g.expires_at > now,
    })
}

async fn create(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    body: Result<Json<CreateGrant>, JsonRejection>,
) -> Result<(StatusCode, Json<GrantView>), Error> {
    let dossier = crate::dossiers::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::GrantManage, Resource::Dossier(&dossier)).await?;
    let Json(input) = body?;
    let siren = Siren::parse(&input.organisation).map_err(|e| Error::Invalid(format!("organisation: {e}")))?;
    let org = vault
        .db()
        .organisation_by_siren(&siren)
        .await?
        .ok_or_else(|| Error::Invalid(format!("organisation: no organisation with SIREN {siren}")))?;
    let purpose = input.purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 200 {
        return Err(Error::Invalid("purpose: say why, in at most 200 characters".into()));
    }
    let expires = OffsetDateTime::parse(&input.expires_at, &Rfc3339)
        .map_err(|_| Error::Invalid(format!("expires_at: {:?} is not an RFC 3339 time", input.expires_at)))?
        .unix_timestamp();
    let now = crate::db::now_ms() / 1000;
    if expires <= now {
        return Err(Error::Invalid("expires_at: the grant would already have ended".into()));
    }
    if expires - now > MAX_SECONDS {
        return Err(Error::Invalid("expires_at: a grant lasts at most one year".into()));
    }
    let g = vault.db().insert_grant(dossier.id, org.id, purpose, expires, by(&principal)?).await?;
    tracing::info!(dossier.id = %dossier.id, grant.id = %g.id, "grant created");
    Ok((StatusCode::CREATED, Json(view(&vault, &g).await?)))
}

async fn list(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<Vec<GrantView>>, Error> {
    let dossier = crate::dossiers::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::GrantManage, Resource::Dossier(&dossier)).await?;
    let mut out = Vec::new();
    for g in vault.db().grants_of(dossier.id).await? {
        out.push(view(&vault, &g).await?);
    }
    Ok(Json(out))
}

async fn revoke(
    State(vault): State<Vault>,
    principal: Principal,
    Path((nu, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    let dossier = crate::dossiers::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::GrantManage, Resource::Dossier(&dossier)).await?;
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFound(format!("no grant {id:?} on this dossier")))?;
    if !vault.db().revoke_grant(dossier.id, id, by(&principal)?).await? {
        return Err(Error::NotFound(format!("no grant {id} on this dossier")));
    }
    tracing::info!(dossier.id = %dossier.id, grant.id = %id, "grant revoked");
    Ok(StatusCode::NO_CONTENT)
}
