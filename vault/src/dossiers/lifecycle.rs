//! `POST /api/v1/dossiers/{nu}/renew`, `POST …/radiation-warnings` and
//! `POST …/radiate`: the lifecycle of a demand. Renewal (CCH R.441-2-7);
//! radiation only for the six reasons of R.441-2-8, (c) no answer and (d)
//! irrecevabilité only a month after the applicant was warned, (e) only
//! once the demand has lapsed, (f) only by merging numbers (`merge`).
//! The policy set decides who may; a radiated dossier is kept, read-only,
//! until its purge date one year later (décret 2017-917).

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
};
use serde::{Deserialize, Serialize};

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
pub(super) fn still_active(d: &Dossier) -> Result<(), Error> {
    if d.shredded {
        return Err(Error::Conflict("this dossier has been erased".into()));
    }
    if d.status != DossierStatus::Active {
        return Err(Error::Conflict("this dossier is radiated: it can no longer be renewed or radiated".into()));
    }
    Ok(())
}

/// Renews the demand: valid for one year from today. A radiated demand
/// cannot be renewed (409, said to whoever may read it: the policy set's
/// freeze would otherwise answer a bare 403); a new demand is needed.
pub async fn renew_dossier(vault: &Vault, principal: &Principal, nu: &str) -> Result<DossierView, Error> {
    let read = access::open(vault, principal, nu, Action::DossierRead).await?;
    if read.dossier().status != DossierStatus::Active {
        return Err(Error::Conflict(
            "this demand is radiated: it can no longer be renewed; the applicant deposits a new demand".into(),
        ));
    }
    let opened = read.and(Action::DossierRenew).await?;
    still_active(opened.dossier())?;
    let change = Lifecycle::Renew { valid_until: super::one_year_after(crate::clock::today()) };
    apply(&opened, change, Action::DossierRenew).await
}

/// Radiates the demand, for one of the law's reasons, when the law allows
/// it today (409 saying when it will, or why it cannot).
pub async fn radiate_dossier(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    reason: RadiationReason,
) -> Result<DossierView, Error> {
    let opened = access::open(vault, principal, nu, Action::DossierRadiate).await?;
    still_active(opened.dossier())?;
    let today = crate::clock::today();
    match reason {
        RadiationReason::Fusion => {
            return Err(Error::Invalid(
                "reason: fusion (f) radiates a number by merging it into another: \
                 POST /api/v1/dossiers/{kept}/merges with {\"absorb\": this number}"
                    .into(),
            ));
        }
        RadiationReason::NonRenouvellement if opened.dossier().valid_until >= today => {
            return Err(Error::Conflict(format!(
                "the demand is valid until {}: it can be radiated for non_renouvellement (e) only once it has lapsed",
                crate::clock::iso_date(opened.dossier().valid_until)
            )));
        }
        r if r.needs_warning() => {
            let Some(warned) = vault.db().pending_warning(opened.dossier().id, r).await? else {
                return Err(Error::Conflict(format!(
                    "no pending warning for {} ({}): warn the applicant first (POST …/radiation-warnings); \
                     the radiation is possible one month after",
                    r.as_str(),
                    r.letter()
                )));
            };
            let possible = crate::clock::one_month_after(warned);
            if today < possible {
                return Err(Error::Conflict(format!(
                    "the applicant was warned on {}: the radiation for {} ({}) is possible from {}",
                    crate::clock::iso_date(warned),
                    r.as_str(),
                    r.letter(),
                    crate::clock::iso_date(possible)
                )));
            }
        }
        _ => {}
    }
    let change = Lifecycle::Radiate { on: crate::clock::today(), reason: reason.as_str() };
    apply(&opened, change, Action::DossierRadiate).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningInput {
    reason: String,
}

/// A recorded warning and the first day the radiation is possible.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WarningView {
    pub reason: &'static str,
    pub warned_on: String,
    pub radiation_possible_on: String,
}

/// Records that the applicant was warned, today, of a radiation for (c)
/// or (d) (the letter that proves delivery is sent by the guichet). A
/// warning already pending keeps its date.
pub async fn warn_radiation(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    reason: RadiationReason,
) -> Result<(bool, WarningView), Error> {
    if !reason.needs_warning() {
        return Err(Error::Invalid(format!(
            "reason: only sans_reponse (c) and irrecevabilite (d) are warned of a month ahead, not {}",
            reason.as_str()
        )));
    }
    let opened = access::open(vault, principal, nu, Action::DossierRadiate).await?;
    still_active(opened.dossier())?;
    let dossier = opened.dossier().id;
    let actor = opened.principal().actor(Action::DossierRadiate);
    let added = vault.db().warn_radiation(dossier, reason, crate::clock::today(), actor).await?;
    let warned = vault
        .db()
        .pending_warning(dossier, reason)
        .await?
        .ok_or_else(|| Error::Integrity("a warning vanished after it was recorded".into()))?;
    // The letter that proves delivery goes to the guichet's queue (issued
    // again on a repeated call, never doubled).
    crate::notices::warn(vault, opened.dossier(), reason, warned).await?;
    let view = WarningView {
        reason: reason.as_str(),
        warned_on: crate::clock::iso_date(warned),
        radiation_possible_on: crate::clock::iso_date(crate::clock::one_month_after(warned)),
    };
    Ok((added, view))
}

pub async fn warn(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    input: Result<Json<WarningInput>, JsonRejection>,
) -> Result<(axum::http::StatusCode, Json<WarningView>), Error> {
    let Json(input) = input.map_err(|e| Error::BadRequest(e.body_text()))?;
    let reason = RadiationReason::parse(&input.reason).map_err(|e| Error::Invalid(format!("reason: {e}")))?;
    let (added, view) = warn_radiation(&vault, &principal, &nu, reason).await?;
    let status = if added { axum::http::StatusCode::CREATED } else { axum::http::StatusCode::OK };
    Ok((status, Json(view)))
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
