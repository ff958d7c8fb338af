//! `PUT /api/v1/dossiers/{nu}/contact`: the applicant or their guichet
//! keeps the contact details current (the notices go where they say).
//!
//! Decided as `dossier.renew`: keeping a demand's details current is part
//! of keeping the demand alive (the renewal form of the CERFA carries the
//! same fields), and the policy set grants it to exactly the applicant and
//! the registering guichets of its territory, and to no one once radiated.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
};

use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    domain::{Contact, ContactFields},
    error::Error,
};

/// Replaces the contact details; answers them as stored.
pub async fn put_contact(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    fields: &ContactFields,
) -> Result<ContactFields, Error> {
    let contact = Contact::parse(fields)?;
    let opened = access::open(vault, principal, nu, Action::DossierRenew).await?;
    let record = crate::sealed::records::seal_contact(&opened.key().await?, &contact)?;
    let actor = opened.principal().actor(Action::DossierRenew);
    vault.db().replace_contact(opened.dossier().id, &record, actor).await?;
    tracing::info!(dossier.id = %opened.dossier().id, "contact details changed");
    Ok(contact.fields())
}

pub async fn put(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    body: Result<Json<ContactFields>, JsonRejection>,
) -> Result<Json<ContactFields>, Error> {
    let Json(fields) = body?;
    put_contact(&vault, &principal, &nu, &fields).await.map(Json)
}
