//! `GET /api/v1/dossiers/{nu}`: the dossier and its pieces' metadata.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;

use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, Principal},
    db::{dossiers::Dossier, orgs::Organisation},
    domain::ContactFields,
    error::Error,
    pieces::PieceSummary,
};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrgRef {
    pub id: String,
    pub siren: String,
    pub name: String,
}

impl From<&Organisation> for OrgRef {
    fn from(o: &Organisation) -> Self {
        Self { id: o.id.to_string(), siren: o.siren.to_string(), name: o.name.clone() }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DossierView {
    pub numero_unique: String,
    pub status: String,
    pub communes: Vec<String>,
    pub deposited_on: String,
    pub valid_until: String,
    /// Once radiated: when, why, and when the dossier will be purged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radiated_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radiation_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_on: Option<String>,
    /// Radiated for `fusion`: the number it was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    pub registered_by: OrgRef,
    /// How the applicant is reached, when given (personal data: only in
    /// answers to those who may read the dossier, never in logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactFields>,
    /// Whether every piece the applicant's situation calls for is present
    /// and still counts, today, and where each stands.
    pub completeness: crate::domain::Completeness,
    pub pieces: Vec<PieceSummary>,
}

impl DossierView {
    pub fn new(
        d: &Dossier,
        registered_by: &Organisation,
        pieces: Vec<PieceSummary>,
        completeness: crate::domain::Completeness,
    ) -> Self {
        Self {
            numero_unique: d.numero_unique.to_string(),
            status: if d.shredded { "erased".into() } else { d.status.to_string() },
            communes: d.communes.iter().map(ToString::to_string).collect(),
            deposited_on: crate::clock::iso_date(d.deposited_on),
            valid_until: crate::clock::iso_date(d.valid_until),
            radiated_on: d.radiated.as_ref().map(|(on, _)| crate::clock::iso_date(*on)),
            radiation_reason: d.radiated.as_ref().map(|(_, r)| r.clone()),
            purge_on: d.radiated.as_ref().map(|(on, _)| crate::clock::iso_date(super::purge_on(*on))),
            registered_by: registered_by.into(),
            contact: None,
            merged_into: None,
            completeness,
            pieces,
        }
    }
}

/// The dossier and its pieces' metadata, for a caller the policy lets read it.
pub async fn show_dossier(vault: &Vault, principal: &Principal, nu: &str) -> Result<DossierView, Error> {
    let opened = access::open(vault, principal, nu, Action::DossierRead).await?;
    let shown = view(&opened, opened.dossier()).await?;
    opened.record_daily().await?;
    Ok(shown)
}

pub async fn show(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Json<DossierView>, Error> {
    show_dossier(&vault, &principal, &nu).await.map(Json)
}

/// The dossier as shown to a caller already allowed to read it (`dossier`
/// is the opened one, or its state after a change the caller made).
pub(super) async fn view(opened: &Opened<'_>, dossier: &Dossier) -> Result<DossierView, Error> {
    let registered_by = opened
        .vault()
        .db()
        .organisation(dossier.registered_by)
        .await?
        .ok_or_else(|| Error::Integrity("dossier without its registering organisation".into()))?;
    let pieces = crate::pieces::summaries(opened).await?;
    let completeness = super::completeness::completeness_of(opened, &pieces).await?;
    let contact = match opened.vault().db().contact_of(dossier.id).await? {
        Some(record) if !dossier.shredded => {
            Some(crate::sealed::records::open_contact(&opened.key().await?, &record)?.fields())
        }
        _ => None,
    };
    let merged_into = match &dossier.radiated {
        Some((_, reason))
            if crate::domain::RadiationReason::parse(reason) == Ok(crate::domain::RadiationReason::Fusion) =>
        {
            opened.vault().db().merged_into(dossier.id).await?.map(|nu| nu.to_string())
        }
        _ => None,
    };
    Ok(DossierView { contact, merged_into, ..DossierView::new(dossier, &registered_by, pieces, completeness) })
}
