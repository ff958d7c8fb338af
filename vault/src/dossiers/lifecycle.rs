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

use super::show::{DossierView, view};
pub use crate::domain::RadiationReason;
use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, Principal},
    db::dossiers::{Dossier, Lifecycle},
    domain::DossierStatus,
    error::Error,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiateInput {
    reason: String,
}

/// 409 unless the dossier can still change.
fn still_active(d: &Dossier) -> Result<(), Error> {
    if d.shredded {
        return Err(Error::Conflict("this dossier has been erased".into()));
    }
    if d.status != DossierStatus::Active {
        return Err(Error::Conflict("this dossier is radiated: it can no longer be renewed or radiated".into()));
    }
    Ok(())
}

/// Renews the demand: valid for one year from today.
pub async fn renew_dossier(vault: &Vault, principal: &Principal, nu: &str) -> Result<DossierView, Error> {
    let opened = access::open(vault, principal, nu, Action::DossierRenew).await?;
    still_active(opened.dossier())?;
    let change = Lifecycle::Renew { valid_until: super::one_year_after(crate::clock::today()) };
    apply(&opened, change, Action::DossierRenew).await
}

/// Radiates the demand, for one of the accepted reasons.
pub async fn radiate_dossier(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    reason: RadiationReason,
) -> Result<DossierView, Error> {
    let opened = access::open(vault, principal, nu, Action::DossierRadiate).await?;
    still_active(opened.dossier())?;
    let change = Lifecycle::Radiate { on: crate::clock::today(), reason: reason.as_str() };
    apply(&opened, change, Action::DossierRadiate).await
}

pub async fn renew(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<DossierView>, Error> {
    renew_dossier(&vault, &principal, &nu).await.map(Json)
}

pub async fn radiate(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    input: Result<Json<RadiateInput>, JsonRejection>,
) -> Result<Json<DossierView>, Error> {
    let Json(input) = input.map_err(|e| Error::BadRequest(e.body_text()))?;
    let reason = RadiationReason::parse(&input.reason).map_err(|e| Error::Invalid(format!("reason: {e}")))?;
    radiate_dossier(&vault, &principal, &nu, reason).await.map(Json)
}

async fn apply(opened: &Opened<'_>, change: Lifecycle<'_>, action: Action) -> Result<DossierView, Error> {
    let (vault, dossier) = (opened.vault(), opened.dossier());
    if !vault.db().change_lifecycle(dossier.id, change, opened.principal().actor(action)).await? {
        // Radiated or erased between the check and the update.
        return Err(Error::Conflict("this dossier changed meanwhile: it is no longer active".into()));
    }
    tracing::info!(dossier.id = %dossier.id, action = action.as_str(), "dossier lifecycle changed");
    let updated = vault
        .db()
        .dossier_by_nu(&dossier.numero_unique)
        .await?
        .ok_or_else(|| Error::Integrity("dossier vanished after its lifecycle change".into()))?;
    view(opened, &updated).await
}
