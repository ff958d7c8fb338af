//! Who is calling, and whether they may do what they ask.
//!
//! [`authorize`] is the single authorisation seam: every handler calls it
//! with (principal, action, resource) before touching anything, and the
//! configured Cedar policy set (crate `policies`) decides.

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use policies::{DossierFacts, GrantFacts, OrgFacts};

use crate::{
    app::Vault,
    crypto::{random_bytes, sha256},
    db::{agents::Agent, dossiers::Dossier, grants::Grant, orgs::Organisation},
    domain::{CommuneCode, Purpose, TerritoryCode},
    error::Error,
};

const TOKEN_PREFIX: &str = "dnuv_";
/// An agent's web session (the pages' cookie), not its access token.
pub const AGENT_SESSION_PREFIX: &str = "dnus_";

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
pub struct AgentPrincipal {
    pub agent: Agent,
    pub organisation: Organisation,
    /// What the agent declared with `X-Vault-Purpose`, if anything.
    pub purpose: Option<Purpose>,
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

    /// The trace of an allowed access by this caller to a dossier: `what`
    /// names it in the journal (`piece.read_rendition`, `dossier.export`…),
    /// with the purpose the caller declared for `action`.
    pub fn access_event<'a>(
        &self,
        action: Action,
        what: &'a str,
        dossier: uuid::Uuid,
    ) -> crate::db::audit::AuditEvent<'a> {
        crate::db::audit::AuditEvent {
            agent: self.agent_id(),
            organisation: self.organisation_id(),
            action: what,
            dossier: Some(dossier),
            outcome: "ok",
            purpose: Some(self.purpose(action).as_str()),
            ..Default::default()
        }
    }

    /// For what only agents do; call after `authorize`, which has already
    /// refused applicants wherever the policy does.
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
        Self::from_token(vault, token, parts.headers.get(Purpose::HEADER)).await
    }
}

impl Principal {
    /// Who a token (an agent's, or an applicant's session) stands for, with
    /// the purpose the caller declared, if any. Shared by the API (bearer
    /// header) and the web pages (session cookie).
    pub async fn from_token(
        vault: &Vault,
        token: &str,
        purpose: Option<&axum::http::HeaderValue>,
    ) -> Result<Self, Error> {
        if token.starts_with(crate::applicants::SESSION_PREFIX) {
            let (id, dossier) = vault
                .db()
                .applicant_session(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or expired session; sign in again"))?;
            return Ok(Self::Applicant { id, dossier });
        }
        let agent = if token.starts_with(AGENT_SESSION_PREFIX) {
            vault
                .db()
                .agent_by_session(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or expired session; sign in again"))?
        } else if token.starts_with(TOKEN_PREFIX) {
            vault
                .db()
                .agent_by_token_hash(&sha256(token.as_bytes()))
                .await?
                .ok_or(Error::Unauthenticated("unknown or revoked token"))?
        } else {
            return Err(Error::Unauthenticated("the Authorization header must be `Bearer <token>`"));
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
        let organisation = vault
            .db()
            .organisation(agent.organisation_id)
            .await?
            .ok_or_else(|| Error::Integrity("agent without its organisation".into()))?;
        Ok(Self::Agent(AgentPrincipal { agent, organisation, purpose }))
    }
}

pub use policies::Action;

/// What the action is on.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A dossier about to be registered, with the communes it will wish.
    NewDossier(&'a [CommuneCode]),
    Dossier(&'a Dossier),
}

fn org_facts(o: &Organisation) -> OrgFacts {
    let (mut communes, mut departements) = (Vec::new(), Vec::new());
    for t in &o.territory {
        match t {
            TerritoryCode::Commune(c) => communes.push(c.to_string()),
            TerritoryCode::Departement(d) => departements.push(d.clone()),
        }
    }
    OrgFacts { id: o.id.to_string(), kind: o.kind.to_string(), registering: o.registering, communes, departements }
}

fn dossier_facts(id: String, status: &str, communes: &[CommuneCode]) -> DossierFacts {
    let mut departements: Vec<String> = communes.iter().map(|c| c.departement().to_owned()).collect();
    departements.sort();
    departements.dedup();
    DossierFacts {
        id,
        status: status.to_owned(),
        communes: communes.iter().map(ToString::to_string).collect(),
        departements,
    }
}

/// The one authorisation decision: the configured Cedar policy set decides,
/// given the caller's organisation's grant on the dossier if it has one.
/// Deny by default; a refusal involving a dead grant says so.
pub async fn authorize(vault: &Vault, p: &Principal, action: Action, resource: Resource<'_>) -> Result<(), Error> {
    let now = crate::db::now_ms() / 1000;
    let grant = match (resource, p.organisation_id()) {
        (Resource::Dossier(d), Some(org)) => vault.db().grant_for(d.id, org, now).await?,
        _ => None,
    };
    let decided = decide(vault, p, action, resource, grant.as_ref(), now);
    if decided.is_err() {
        crate::metrics::global().policy_denials.inc();
        // Every denial is traced, committed before the refusal is sent.
        let dossier = match resource {
            Resource::Dossier(d) => Some(d.id),
            Resource::NewDossier(_) => None,
        };
        let event = crate::db::audit::AuditEvent {
            agent: p.agent_id(),
            organisation: p.organisation_id(),
            action: action.as_str(),
            dossier,
            outcome: "denied",
            purpose: Some(p.purpose(action).as_str()),
            ..Default::default()
        };
        vault.db().record(&event).await?;
    }
    decided
}

/// The caller as the policies see it, built once for many decisions (the
/// worklist asks about every candidate dossier).
pub struct Prepared {
    principal: policies::PreparedPrincipal,
    who: String,
}

impl Prepared {
    pub fn new(vault: &Vault, p: &Principal) -> Self {
        let (principal, who) = match p {
            Principal::Agent(a) => (
                policies::Principal::Agent {
                    id: a.agent.id.to_string(),
                    organisation: org_facts(&a.organisation),
                    active: !a.agent.disabled,
                },
                format!("organisation {}", a.organisation.siren),
            ),
            Principal::Applicant { id, dossier } => (
                policies::Principal::Applicant { id: id.to_string(), dossier: dossier.to_string() },
                "the applicant".to_owned(),
            ),
        };
        Self { principal: vault.policies().prepare(&principal), who }
    }
}

/// The decision itself, with the grant already looked up.
pub fn decide(
    vault: &Vault,
    p: &Principal,
    action: Action,
    resource: Resource<'_>,
    grant: Option<&Grant>,
    now: i64,
) -> Result<(), Error> {
    decide_prepared(vault, &Prepared::new(vault, p), p.purpose(action), action, resource, grant, now)
}

/// [`decide`] for a caller prepared once.
pub fn decide_prepared(
    vault: &Vault,
    prepared: &Prepared,
    purpose: Purpose,
    action: Action,
    resource: Resource<'_>,
    grant: Option<&Grant>,
    now: i64,
) -> Result<(), Error> {
    let facts = match resource {
        Resource::NewDossier(communes) => dossier_facts("new".into(), "active", communes),
        Resource::Dossier(d) => dossier_facts(d.id.to_string(), &d.status, &d.communes),
    };
    let grant_facts =
        grant.map(|g| GrantFacts { expires_at: g.expires_at, revoked: g.revoked, purpose: g.purpose.clone() });
    let resource_facts = policies::Resource::Dossier(facts);
    let question = policies::Question {
        action,
        resource: &resource_facts,
        now,
        purpose: Some(purpose.as_str()),
        grant: grant_facts.as_ref(),
    };
    let decision = prepared.principal.decide(vault.policies(), &question);
    if decision.allowed {
        return Ok(());
    }
    tracing::debug!(action = action.as_str(), policies = ?decision.policies, "access denied");
    let what = format!("{} for {}", action.as_str(), prepared.who);
    Err(match grant {
        Some(g) if g.revoked => {
            Error::Refused { code: "grant_revoked", message: format!("{what}: its grant on this dossier was revoked") }
        }
        Some(g) if g.expires_at <= now => {
            Error::Refused { code: "grant_expired", message: format!("{what}: its grant on this dossier has expired") }
        }
        _ => Error::Forbidden(format!("the access policy does not allow {what} on this dossier")),
    })
}
