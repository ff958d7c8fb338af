//! Inviting a person as an agent: the gestionnaire (the API) or the
//! operator (`dnu-vault admin agent invite`) names the organisation and the
//! e-mail address of the person's ProConnect account; the first ProConnect
//! sign-in with that address binds them ([`super::agent`]). No token is
//! issued.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    db::audit::AuditEvent,
    domain::{EmailAddress, Siren},
    error::Error,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    /// SIREN of the organisation.
    organisation: String,
    email: String,
    /// As shown in traces; the e-mail's local part when absent.
    name: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Invited {
    pub agent: uuid::Uuid,
    pub organisation: String,
    pub email: String,
}

/// Invites a person; only who may administer the shared file may.
pub async fn invite(vault: &Vault, principal: &Principal, input: Invitation) -> Result<Invited, Error> {
    access::may_manage_platform(vault, principal).await?;
    let siren = Siren::parse(&input.organisation).map_err(|e| Error::Invalid(format!("organisation: {e}")))?;
    let email = EmailAddress::parse(&input.email).map_err(|e| Error::Invalid(format!("email: {e}")))?;
    let org = vault
        .db()
        .organisation_by_siren(&siren)
        .await?
        .ok_or_else(|| Error::Invalid(format!("organisation: no organisation with SIREN {siren}")))?;
    let name = match input.name.as_deref().map(str::trim) {
        Some("") => return Err(Error::Invalid("name: must not be empty".into())),
        Some(n) if n.chars().count() > 100 => return Err(Error::Invalid("name: at most 100 characters".into())),
        Some(n) => n.to_owned(),
        None => email.as_str().split('@').next().unwrap_or_default().to_owned(),
    };
    let agent = vault.db().invite_agent(org.id, &name, &email).await?;
    vault.db().record(&AuditEvent::new(principal.actor(Action::PlatformManage), Action::PlatformManage)).await?;
    tracing::info!(agent.id = %agent, organisation.id = %org.id, "agent invited");
    Ok(Invited { agent, organisation: siren.to_string(), email: email.to_string() })
}

pub async fn create(
    State(vault): State<Vault>,
    principal: Principal,
    body: Result<Json<Invitation>, JsonRejection>,
) -> Result<(StatusCode, Json<Invited>), Error> {
    let Json(input) = body?;
    Ok((StatusCode::CREATED, Json(invite(&vault, &principal, input).await?)))
}
