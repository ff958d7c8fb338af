//! `POST /api/v1/dossiers`: register a dossier.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::show::DossierView;
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    crypto::DossierKey,
    db::dossiers::{NewDossier, NumberSource},
    domain::{CommuneCode, Contact, ContactFields, NumeroUnique},
    error::Error,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    /// Given by the national system or a local file; issued here when absent.
    pub numero_unique: Option<String>,
    /// INSEE codes of the communes the applicant wishes.
    pub communes: Vec<String>,
    /// Deposit date `YYYY-MM-DD`; today when absent.
    pub deposited_on: Option<String>,
    /// How the applicant is reached (e-mail, postal address, registered
    /// online, asked for post): the notices' channels follow from it.
    #[serde(default)]
    pub contact: Option<ContactFields>,
    /// Catalogue codes of the pieces the applicant's situation calls for,
    /// beyond the identity piece every dossier needs.
    #[serde(default)]
    pub expected: Vec<String>,
}

/// A demand is valid one year from its deposit (CCH R.441-2-7).
pub(crate) fn one_year_after(d: Date) -> Date {
    crate::clock::one_year_after(d)
}

/// The applicant's credentials: the code is only ever shown here, once.
pub(crate) struct Credentials {
    pub identifier: String,
    pub code: String,
    pub code_hash: String,
}

impl Credentials {
    pub async fn issue() -> Result<Self, Error> {
        let (identifier, code) = crate::applicants::new_credentials()?;
        let c = code.clone();
        let code_hash = tokio::task::spawn_blocking(move || crate::crypto::hash_code(&c))
            .await
            .map_err(|e| Error::internal("hashing the applicant code", e))??;
        Ok(Self { identifier, code, code_hash })
    }

    pub fn shown(&self) -> ShownCredentials {
        ShownCredentials { identifier: self.identifier.clone(), code: self.code.clone() }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ShownCredentials {
    pub identifier: String,
    pub code: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Registered {
    #[serde(flatten)]
    pub dossier: DossierView,
    /// For the applicant's attestation: shown once, never again.
    pub applicant: ShownCredentials,
}

/// The numéro unique départemental dates from the law of 29 July 1998; no
/// demand was deposited with one before 1999.
const FIRST_DEPOSIT: time::Date = time::macros::date!(1999 - 01 - 01);

pub async fn register(
    State(vault): State<Vault>,
    principal: Principal,
    body: Result<Json<RegisterInput>, JsonRejection>,
) -> Result<impl IntoResponse, Error> {
    let Json(input) = body?;
    let registered = register_dossier(&vault, &principal, input).await?;
    let location = format!("/api/v1/dossiers/{}", registered.dossier.numero_unique);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(registered)))
}

/// Registers a dossier for an agent of a registering guichet (API and pages).
pub async fn register_dossier(vault: &Vault, principal: &Principal, input: RegisterInput) -> Result<Registered, Error> {
    if input.communes.is_empty() {
        return Err(Error::Invalid("communes: at least one wished commune (INSEE code) is required".into()));
    }
    let communes = input
        .communes
        .iter()
        .map(|c| CommuneCode::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(format!("communes: {e}")))?;
    // A code of the right shape may still name no commune, or one merged
    // away: demands name current communes (the official geographic code).
    if let Some(gone) = communes.iter().find(|c| !crate::domain::geo::is_current(c)) {
        return Err(Error::Invalid(format!(
            "communes: {gone} is not a current commune of the code officiel géographique"
        )));
    }
    let contact = input.contact.as_ref().map(Contact::parse).transpose()?;
    let expected = super::completeness::parse_kinds(&input.expected)?;
    // The decision needs the communes: a guichet registers on its territory.
    access::may_register(vault, principal, &communes).await?;
    let agent = principal.as_agent()?;
    let today = OffsetDateTime::now_utc().date();
    let deposited_on = match input.deposited_on.as_deref() {
        None => today,
        Some(s) => crate::clock::parse_iso_date(s)
            .map_err(|_| Error::Invalid(format!("deposited_on: {s:?} is not a date YYYY-MM-DD")))?,
    };
    if deposited_on > today {
        return Err(Error::Invalid("deposited_on: the deposit date is in the future".into()));
    }
    if deposited_on < FIRST_DEPOSIT {
        return Err(Error::Invalid(format!(
            "deposited_on: demands with a numéro unique exist since {FIRST_DEPOSIT}; check the date"
        )));
    }
    let number = match input.numero_unique.as_deref() {
        // A given number may name another guichet than the registering
        // organisation's: it is the first guichet's, and a demand imported
        // from the national system keeps the number it was given there.
        // Its territory, though, is this shared file's (a number of another
        // territory is that territory's demand, registered in its own
        // file), and its month and year of deposit are the demand's.
        Some(nu) => {
            let nu = NumeroUnique::parse(nu).map_err(|e| Error::Invalid(format!("numero_unique: {e}")))?;
            let territory = &vault.config().nu_territory;
            if nu.territory() != territory {
                return Err(Error::Invalid(format!(
                    "numero_unique: {nu} is a demand of territory {}, not of this shared file's ({territory}); \
                     it is registered in its own territory's file",
                    nu.territory()
                )));
            }
            let mmaa = format!("{:02}{:02}", u8::from(deposited_on.month()), deposited_on.year().rem_euclid(100));
            if nu.deposit_mmaa() != mmaa {
                return Err(Error::Invalid(format!(
                    "deposited_on: {deposited_on} is not the month and year of deposit the numéro unique carries \
                     ({}/{}); give the date of deposit",
                    &nu.deposit_mmaa()[..2],
                    &nu.deposit_mmaa()[2..]
                )));
            }
            NumberSource::Given(nu)
        }
        None => NumberSource::Issue {
            territory: vault.config().nu_territory.clone(),
            guichet: agent.organisation.guichet_code.clone().ok_or_else(|| {
                Error::Invalid(
                    "numero_unique: your organisation has no guichet code, so the vault cannot issue a number; give the numéro unique".into(),
                )
            })?,
        },
    };
    let id = Uuid::new_v4();
    let dk = DossierKey::generate(id)?;
    let key = dk.wrap(&vault.keys())?;
    let sealed_contact = contact.as_ref().map(|c| crate::sealed::records::seal_contact(&dk, c)).transpose()?;
    let credentials = Credentials::issue().await?;
    let dossier = vault
        .db()
        .insert_dossier(&NewDossier {
            id,
            number,
            registered_by: agent.organisation.id,
            registered_by_agent: Some(agent.agent.id),
            purpose: principal.purpose(Action::DossierRegister),
            deposited_on,
            valid_until: one_year_after(deposited_on),
            communes,
            key,
            applicant: Some((credentials.identifier.clone(), credentials.code_hash.clone())),
            contact: sealed_contact,
            expected: expected.clone(),
        })
        .await?;
    tracing::info!(dossier.id = %dossier.id, agent.id = %agent.agent.id, "dossier registered");
    Ok(Registered {
        dossier: DossierView {
            contact: contact.map(|c| c.fields()),
            ..DossierView::new(&dossier, &agent.organisation, Vec::new(), super::completeness::assess_new(&expected)?)
        },
        applicant: credentials.shown(),
    })
}
