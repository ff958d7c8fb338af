//! Who is calling, and whether they may do what they ask.
//!
//! A [`Principal`] is parsed once from the request (bearer header, or the
//! pages' cookie) and carried inward; the decision itself is
//! [`decide`]'s, and only the access seam ([`crate::access`]) asks for it
//! on a dossier, so "find, decide, then act" is written once.

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{
    app::Vault,
    crypto::sha256,
    db::{agents::Agent, dossiers::Dossier, orgs::Organisation, signin::SignedIn},
    domain::{CommuneCode, Purpose, journal::Actor},
    error::Error,
};

mod decide;
mod source;
pub mod token;

pub use decide::{Prepared, decide_prepared, no_such_dossier, request_purpose};
pub(crate) use decide::{authorize, authorize_with};
pub use source::ClientAddr;
pub use token::{Carrier, TokenKind, new_token};

/// An authenticated agent and its organisation.
#[derive(Debug, Clone)]
pub struct AgentPrincipal {
    pub agent: Agent,
    pub organisation: Organisation,
    /// What the agent declared with `X-Vault-Purpose`, if anything.
    pub purpose: Option<Purpose>,
    /// How a page session was opened through ProConnect (level, methods,
    /// the logout's hint); `None` for access tokens.
    pub signed_in: Option<SignedIn>,
}

/// Who is calling: an agent (bearer token `dnuv_…`) or an applicant signed
/// in for their dossier (session token `dnua_…`).
#[derive(Debug, Clone)]
pub enum Principal {
    Agent(AgentPrincipal),
    Applicant { id: uuid::Uuid, dossier: uuid::Uuid },
}

impl Principal {
    pub fn agent_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Agent(a) => Some(a.agent.id),
            Self::Applicant { .. } => None,
        }
    }

    pub fn organisation_id(&self) -> Option<uuid::Uuid> {
        match self {
            Self::Agent(a) => Some(a.organisation.id),
            Self::Applicant { .. } => None,
        }
    }

    /// Why the caller asks, for the policy context and the trace: what an
    /// agent declared, else the usual finality of the action; an applicant
    /// always acts for themself.
    pub fn purpose(&self, action: Action) -> Purpose {
        match self {
            Self::Applicant { .. } => Purpose::Demandeur,
            Self::Agent(a) => a.purpose.unwrap_or(match action {
                Action::DossierRegister
                | Action::DossierRenew
                | Action::DossierRadiate
                | Action::PieceUpload
                | Action::GrantManage => Purpose::Enregistrement,
                Action::PlatformManage => Purpose::Controle,
                _ => Purpose::Instruction,
            }),
        }
    }

    /// Who acts, as the journal records it: the caller's ids and the
    /// purpose it declared for `action` (the one place that choice is made).
    pub fn actor(&self, action: Action) -> Actor {
        Actor { agent: self.agent_id(), organisation: self.organisation_id(), purpose: self.purpose(action) }
    }

    /// For what only agents do; call after `authorize`, which has already
    /// refused applicants wherever the policy does.
    /// A stable name of the caller for per-caller bookkeeping (upload
    /// slots, idempotency keys): `agent:<id>` or `applicant:<id>`.
    pub fn caller_key(&self) -> String {
        match self {
            Self::Agent(a) => format!("agent:{}", a.agent.id),
            Self::Applicant { id, .. } => format!("applicant:{id}"),
        }
    }

    pub fn as_agent(&self) -> Result<&AgentPrincipal, Error> {
        match self {
            Self::Agent(a) => Ok(a),
            Self::Applicant { .. } => Err(Error::Forbidden("only agents of organisations may do this".into())),
        }
    }
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
            .ok_or(Error::Unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        Self::from_token(vault, token, Carrier::Bearer, parts.headers.get(Purpose::HEADER)).await
    }
}

impl Principal {
    /// Who a token (an agent's, or an applicant's session) stands for, with
    /// the purpose the caller declared, if any. Shared by the API (bearer
    /// header) and the web pages (session cookie).
    pub async fn from_token(
        vault: &Vault,
        token: &str,
        carrier: Carrier,
        purpose: Option<&axum::http::HeaderValue>,
    ) -> Result<Self, Error> {
        let kind = TokenKind::of(token)
            .filter(|k| k.accepted(carrier))
            .ok_or(Error::Unauthenticated("unknown or revoked token"))?;
        if kind == TokenKind::ApplicantSession {
            let (id, dossier) = vault
                .db()
                .applicant_session(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or expired session; sign in again"))?;
            return Ok(Self::Applicant { id, dossier });
        }
        let (agent, signed_in, organisation) = if kind == TokenKind::AgentSession {
            vault
                .db()
                .agent_by_session(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or expired session; sign in again"))?
        } else {
            let (agent, organisation) = vault
                .db()
                .agent_by_token_hash(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or revoked token"))?;
            (agent, None, organisation)
        };
        let purpose = purpose
            .map(|v| {
                v.to_str()
                    .map_err(|_| Error::Invalid(format!("{}: not text", Purpose::HEADER)))
                    .and_then(|s| Purpose::parse(s).map_err(|e| Error::Invalid(format!("{}: {e}", Purpose::HEADER))))
            })
            .transpose()?;
        if agent.disabled {
            return Err(Error::Unauthenticated("this agent has been disabled"));
        }
        Ok(Self::Agent(AgentPrincipal { agent, organisation, purpose, signed_in }))
    }
}

pub use policies::Action;

/// What the action is on.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A dossier about to be registered, with the communes it will wish.
    NewDossier(&'a [CommuneCode]),
    Dossier(&'a Dossier),
    /// The shared file itself (administration: inviting agents).
    Platform,
}
