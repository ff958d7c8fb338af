//! Who is calling, and whether they may do what they ask.
//!
//! [`authorize`] is the single authorisation seam: every handler calls it
//! with (principal, action, resource) before touching anything. Until the
//! Cedar policy engine replaces it, its rule is the foundation's simple one:
//! active agents of registering organisations may act.

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    app::Vault,
    crypto::{random_bytes, sha256},
    db::{agents::Agent, dossiers::Dossier, orgs::Organisation},
    error::Error,
};

const TOKEN_PREFIX: &str = "dnuv_";

/// A new bearer token and the hash under which it is stored. The token is
/// shown once and never stored in clear; 256 random bits make a plain
/// SHA-256 a sufficient hash (no password stretching needed).
pub fn new_token() -> Result<(String, [u8; 32]), Error> {
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
    let hash = sha256(token.as_bytes());
    Ok((token, hash))
}

/// An authenticated agent and its organisation.
#[derive(Debug, Clone)]
pub struct Principal {
    pub agent: Agent,
    pub organisation: Organisation,
}

impl FromRequestParts<Vault> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or(Error::Unauthenticated("missing Authorization: Bearer <token> header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or(Error::Unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        let agent = vault
            .db()
            .agent_by_token_hash(&sha256(token.as_bytes()))
            .await?
            .ok_or(Error::Unauthenticated("unknown or revoked token"))?;
        let organisation = vault
            .db()
            .organisation(agent.organisation_id)
            .await?
            .ok_or_else(|| Error::Integrity("agent without its organisation".into()))?;
        Ok(Self { agent, organisation })
    }
}

/// What a principal wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    RegisterDossier,
    ReadDossier,
    UploadPiece,
    ReadPiece,
    ReadOriginal,
}

/// What the action is on.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// The vault as a whole (registering a new dossier).
    Vault,
    Dossier(&'a Dossier),
}

/// The one authorisation decision. Deny by default.
pub fn authorize(p: &Principal, action: Action, resource: Resource<'_>) -> Result<(), Error> {
    if p.agent.disabled {
        return Err(Error::Forbidden("this agent has been disabled".into()));
    }
    let _ = (action, resource);
    if p.organisation.registering {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "organisation {} is not a registering service and may not do this",
            p.organisation.siren
        )))
    }
}
