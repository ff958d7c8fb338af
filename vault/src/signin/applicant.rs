//! An applicant's FranceConnect sign-in.
//!
//! The first time, FranceConnect's identity is linked to the dossier once,
//! with the identifier and personal code of the attestation (slowed as the
//! ordinary sign-in is); afterwards FranceConnect's subject alone signs
//! them in. Nothing is ever matched on an e-mail address, and the vault
//! keeps only the SHA-256 of the subject FranceConnect gives it. The link
//! is traced in the dossier's journal, shown to the applicant, and
//! removable.

use uuid::Uuid;

use super::{Callback, Refusal, take};
use crate::{
    app::Vault,
    applicants::{self, Session},
    auth::ClientAddr,
    config::ProviderKind,
    crypto::{random_bytes, sha256},
    db::{
        audit::AuditEvent,
        signin::{Link, Pending},
    },
    domain::{
        Purpose,
        journal::{Actor, Recorded, SignIn},
    },
    error::Error,
};

/// The cookie holding a FranceConnect identity waiting to be linked.
pub const PENDING_COOKIE: &str = "dnu_liaison";
/// How long the applicant has to give their identifier and code.
pub const PENDING_S: u32 = 10 * 60;

/// Where FranceConnect's return leads.
#[derive(Debug)]
pub enum Arrived {
    /// A linked identity: the applicant's session.
    SignedIn(Session),
    /// Not linked yet: the browser keeps `handle` while the applicant gives
    /// the identifier and code of their attestation.
    MustLink { handle: String },
}

/// Why a link was not made.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefusal {
    #[error("no FranceConnect identity is waiting in this browser (expired?)")]
    NothingPending,
    #[error(transparent)]
    Credentials(Error),
    #[error("this dossier is already linked to another FranceConnect identity")]
    ApplicantHasAnother,
    #[error("this FranceConnect identity is already linked to another dossier")]
    IdentityTaken,
}

fn applicant_actor() -> Actor {
    Actor { agent: None, organisation: None, purpose: Purpose::Demandeur }
}

async fn trace(vault: &Vault, what: SignIn, dossier: Option<Uuid>) -> Result<(), Error> {
    let mut event = AuditEvent::new(applicant_actor(), Recorded::SignIn(what));
    event.outcome = what.outcome();
    event.dossier = dossier;
    vault.db().record(&event).await
}

/// Completes FranceConnect's return.
pub async fn finish(vault: &Vault, handle: Option<&str>, callback: &Callback) -> Result<Arrived, Refusal> {
    let result = arrive(vault, handle, callback).await;
    match &result {
        Ok(Arrived::SignedIn(_)) | Err(Refusal::Internal(_)) => {}
        Ok(Arrived::MustLink { .. }) => {
            tracing::info!("FranceConnect identity not linked yet: asking for the attestation")
        }
        Err(r) => {
            if let Some(what) = r.journal() {
                trace(vault, what, None).await?;
            }
            tracing::info!(signin.refusal = ?r.journal().map(SignIn::as_str), "FranceConnect sign-in refused: {r}");
        }
    }
    result
}

async fn arrive(vault: &Vault, handle: Option<&str>, callback: &Callback) -> Result<Arrived, Refusal> {
    let (client, attempt, code) = take(vault, ProviderKind::FranceConnect, handle, callback).await?;
    let identity = client.finish(&attempt, &code).await?;
    let sub_hash = sha256(identity.sub.as_bytes());
    if let Some((applicant, dossier)) = vault.db().applicant_by_franceconnect(&sub_hash).await? {
        let session = applicants::start_session(vault, applicant, dossier, Some(&identity.id_token)).await?;
        trace(vault, SignIn::Applicant, Some(dossier)).await?;
        return Ok(Arrived::SignedIn(session));
    }
    let handle = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        random_bytes::<32>().map_err(Error::from)?,
    );
    let expires = crate::clock::now_ms() + i64::from(PENDING_S) * 1000;
    let pending = Pending { sub_hash, id_token: identity.id_token };
    vault.db().franceconnect_pending_put(&sha256(handle.as_bytes()), &pending, expires).await?;
    Ok(Arrived::MustLink { handle })
}

/// Links the waiting FranceConnect identity to the dossier whose
/// attestation this is, and signs the applicant in. A wrong code leaves
/// the identity waiting (it may be typed again, slowed per client).
pub async fn link(
    vault: &Vault,
    source: ClientAddr,
    handle: Option<&str>,
    identifier: &str,
    code: &str,
) -> Result<Session, LinkRefusal> {
    let handle_hash = sha256(handle.ok_or(LinkRefusal::NothingPending)?.as_bytes());
    let pending = vault
        .db()
        .franceconnect_pending(&handle_hash)
        .await
        .map_err(LinkRefusal::Credentials)?
        .ok_or(LinkRefusal::NothingPending)?;
    let applicant = applicants::verified(vault, source, identifier, code).await.map_err(LinkRefusal::Credentials)?;
    let linked =
        vault.db().link_franceconnect(applicant.id, &pending.sub_hash).await.map_err(LinkRefusal::Credentials)?;
    vault.db().franceconnect_pending_drop(&handle_hash).await.map_err(LinkRefusal::Credentials)?;
    match linked {
        Link::Linked => {}
        Link::ApplicantHasAnother => return Err(LinkRefusal::ApplicantHasAnother),
        Link::IdentityTaken => return Err(LinkRefusal::IdentityTaken),
    }
    trace(vault, SignIn::ApplicantLinked, Some(applicant.dossier_id)).await.map_err(LinkRefusal::Credentials)?;
    applicants::start_session(vault, applicant.id, applicant.dossier_id, Some(&pending.id_token))
        .await
        .map_err(LinkRefusal::Credentials)
}

/// Removes the applicant's FranceConnect link (their own choice; one
/// applicant per dossier); traced.
pub async fn unlink(vault: &Vault, dossier: Uuid) -> Result<bool, Error> {
    let removed = vault.db().unlink_franceconnect_of_dossier(dossier).await?;
    if removed {
        trace(vault, SignIn::ApplicantUnlinked, Some(dossier)).await?;
    }
    Ok(removed)
}

/// The guichet removes a dossier's FranceConnect link (an applicant who
/// lost access to their FranceConnect account, or a link made by someone
/// else): under `grant.manage`, which decides who opens the dossier to
/// whom. Traced under the agent. `false` when there was no link.
pub async fn unlink_by_agent(vault: &Vault, principal: &crate::auth::Principal, nu: &str) -> Result<bool, Error> {
    let opened = crate::access::open(vault, principal, nu, crate::auth::Action::GrantManage).await?;
    let removed = vault.db().unlink_franceconnect_of_dossier(opened.dossier().id).await?;
    if removed {
        opened.record(Recorded::SignIn(SignIn::ApplicantUnlinked), None).await?;
    }
    Ok(removed)
}

pub async fn unlink_handler(
    axum::extract::State(vault): axum::extract::State<Vault>,
    principal: crate::auth::Principal,
    axum::extract::Path(nu): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, Error> {
    if unlink_by_agent(&vault, &principal, &nu).await? {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("this dossier has no FranceConnect link".into()))
    }
}
