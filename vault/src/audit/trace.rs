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
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    crypto::sha256,
    error::Error,
    routes::{Auth, Doc, Produces, Routes},
};

pub fn router() -> Routes {
    Routes::new("audit").get(
        "/api/v1/dossiers/{nu}/audit",
        trace,
        Doc::new("dossierAudit", "The dossier's access trace", Auth::Bearer, Produces::Json),
    )
}

#[derive(Debug, Serialize)]
pub struct TraceOrg {
    pub name: String,
    pub siren: String,
    pub kind: String,
}

#[derive(Debug, Serialize)]
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
}

/// `A-` and 8 hex digits derived from the agent id: stable, not a name.
pub fn pseudonym(agent: &str) -> String {
    format!("A-{}", &hex::encode(sha256(format!("dnu-vault/agent-pseudonym/v1/{agent}").as_bytes()))[..8])
}

async fn trace(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<Vec<TraceEvent>>, Error> {
    let dossier = crate::dossiers::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::AuditRead, Resource::Dossier(&dossier)).await?;
    Ok(Json(events_of(&vault, dossier.id).await?))
}

/// The dossier's trace, oldest first, as the applicant sees it.
pub async fn events_of(vault: &Vault, dossier: Uuid) -> Result<Vec<TraceEvent>, Error> {
    let mut orgs: HashMap<String, Option<TraceOrg>> = HashMap::new();
    let mut out = Vec::new();
    for e in vault.db().audit_of_dossier(dossier).await? {
        let [agent, org, action, _, piece, _, outcome, purpose] = e.fields;
        let organisation = match org {
            Some(id) => {
                if !orgs.contains_key(&id) {
                    let o = match Uuid::parse_str(&id) {
                        Ok(u) => vault.db().organisation(u).await?,
                        Err(_) => None,
                    };
                    orgs.insert(
                        id.clone(),
                        o.map(|o| TraceOrg { name: o.name, siren: o.siren.to_string(), kind: o.kind.to_string() }),
                    );
                }
                orgs.get(&id).and_then(|o| o.as_ref()).map(|o| TraceOrg {
                    name: o.name.clone(),
                    siren: o.siren.clone(),
                    kind: o.kind.clone(),
                })
            }
            None => None,
        };
        out.push(TraceEvent {
            at: crate::db::rfc3339(e.at / 1000),
            action: action.unwrap_or_default(),
            outcome: outcome.unwrap_or_default(),
            organisation,
            agent: agent.as_deref().map(pseudonym),
            piece,
            purpose,
        });
    }
    Ok(out)
}
