//! `GET /api/v1/dossiers/{nu}/audit`: who consulted what, when — the
//! dossier's access trace as the applicant sees it. Agents appear by their
//! organisation and a stable pseudonym, never by name.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, Principal},
    crypto::sha256,
    error::Error,
};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TraceOrg {
    pub name: String,
    pub siren: String,
    pub kind: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TraceEvent {
    pub at: String,
    pub action: String,
    pub outcome: String,
    /// Absent when the applicant acted themself.
    pub organisation: Option<TraceOrg>,
    /// A stable pseudonym of the agent (the same agent always has the same one).
    pub agent: Option<String>,
    pub piece: Option<String>,
    /// Why the caller asked (enregistrement, instruction, attribution…).
    pub purpose: Option<String>,
    /// For a grant given or withdrawn: the organisation it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grantee: Option<TraceOrg>,
}

/// Organisations named in a trace, each looked up once.
#[derive(Default)]
struct Orgs(HashMap<String, Option<TraceOrg>>);

impl Orgs {
    async fn get(&mut self, vault: &crate::app::Vault, id: Option<String>) -> Result<Option<TraceOrg>, Error> {
        let Some(id) = id else { return Ok(None) };
        if !self.0.contains_key(&id) {
            let o = match Uuid::parse_str(&id) {
                Ok(u) => vault.db().organisation(u).await?,
                Err(_) => None,
            };
            let o = o.map(|o| TraceOrg { name: o.name, siren: o.siren.to_string(), kind: o.kind.to_string() });
            self.0.insert(id.clone(), o);
        }
        Ok(self.0.get(&id).cloned().flatten())
    }
}

/// `A-` and 8 hex digits derived from the agent id: stable, not a name.
pub fn pseudonym(agent: &str) -> String {
    format!("A-{}", &hex::encode(sha256(format!("dnu-vault/agent-pseudonym/v1/{agent}").as_bytes()))[..8])
}

/// The dossier's access trace, for whoever the policy lets read it.
pub async fn trace_of(vault: &Vault, principal: &Principal, nu: &str) -> Result<Vec<TraceEvent>, Error> {
    let opened = access::open(vault, principal, nu, Action::AuditRead).await?;
    events_of(&opened).await
}

pub async fn trace(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<Vec<TraceEvent>>, Error> {
    trace_of(&vault, &principal, &nu).await.map(Json)
}

/// The trace of a dossier opened for it, oldest first, as the applicant
/// sees it.
pub async fn events_of(opened: &Opened<'_>) -> Result<Vec<TraceEvent>, Error> {
    let (vault, dossier) = (opened.vault(), opened.dossier().id);
    let mut orgs = Orgs::default();
    let mut out = Vec::new();
    for e in vault.db().audit_of_dossier(dossier).await? {
        let [agent, org, action, _, piece, _, outcome, purpose, grantee, _] = e.fields;
        let organisation = orgs.get(vault, org).await?;
        let grantee = orgs.get(vault, grantee).await?;
        out.push(TraceEvent {
            at: crate::clock::rfc3339(e.at / 1000),
            action: action.unwrap_or_default(),
            outcome: outcome.unwrap_or_default(),
            organisation,
            agent: agent.as_deref().map(pseudonym),
            piece,
            purpose,
            grantee,
        });
    }
    Ok(out)
}
