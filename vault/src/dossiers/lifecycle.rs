//! `POST /api/v1/dossiers/{nu}/renew` and `POST …/radiate`: the lifecycle
//! of a demand (CCH R.441-2-8 and R.441-2-8-1 for renewal; radiation on
//! attribution, withdrawal, non-renewal or inadmissibility). The policy set
//! decides who may; a radiated dossier is kept, read-only, until its purge
//! date one year later (décret 2017-917).

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::show::{DossierView, view};
use crate::{
    app::Vault,
    auth::{Action, Principal, Resource, authorize},
    db::dossiers::{Dossier, Lifecycle},
    error::Error,
};

/// Why a demand leaves the file: a closed list, so the journal and the
/// applicant's view never carry free text.
const REASONS: [&str; 5] = ["attribution", "renonciation", "non_renouvellement", "irrecevabilite", "autre"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiateInput {
    reason: String,
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// 409 unless the dossier can still change.
fn still_active(d: &Dossier) -> Result<(), Error> {
    if d.shredded {
        return Err(Error::Conflict("this dossier has been erased".into()));
    }
    if d.status != "active" {
        return Err(Error::Conflict("this dossier is radiated: it can no longer be renewed or radiated".into()));
    }
    Ok(())
}

/// Renews the demand: valid for one year from today.
pub async fn renew(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<DossierView>, Error> {
    let dossier = super::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::DossierRenew, Resource::Dossier(&dossier)).await?;
    still_active(&dossier)?;
    let change = Lifecycle::Renew { valid_until: super::one_year_after(today()) };
    apply(&vault, &principal, &dossier, change, Action::DossierRenew).await
}

/// Radiates the demand, for one of [`REASONS`].
pub async fn radiate(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    input: Result<Json<RadiateInput>, JsonRejection>,
) -> Result<Json<DossierView>, Error> {
    let dossier = super::find(&vault, &nu).await?;
    authorize(&vault, &principal, Action::DossierRadiate, Resource::Dossier(&dossier)).await?;
    let Json(input) = input.map_err(|e| Error::BadRequest(e.body_text()))?;
    let reason = REASONS
        .iter()
        .find(|r| **r == input.reason.trim())
        .ok_or_else(|| Error::Invalid(format!("reason: expected one of {}", REASONS.join(", "))))?;
    still_active(&dossier)?;
    apply(&vault, &principal, &dossier, Lifecycle::Radiate { on: today(), reason }, Action::DossierRadiate).await
}

async fn apply(
    vault: &Vault,
    principal: &Principal,
    dossier: &Dossier,
    change: Lifecycle<'_>,
    action: Action,
) -> Result<Json<DossierView>, Error> {
    let by = (principal.agent_id(), principal.organisation_id());
    if !vault.db().change_lifecycle(dossier.id, change, by, principal.purpose(action).as_str()).await? {
        // Radiated or erased between the check and the update.
        return Err(Error::Conflict("this dossier changed meanwhile: it is no longer active".into()));
    }
    tracing::info!(dossier.id = %dossier.id, action = action.as_str(), "dossier lifecycle changed");
    let updated = vault
        .db()
        .dossier_by_nu(&dossier.numero_unique)
        .await?
        .ok_or_else(|| Error::Integrity("dossier vanished after its lifecycle change".into()))?;
    view(vault, &updated).await.map(Json)
}
