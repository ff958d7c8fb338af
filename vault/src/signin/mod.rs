//! People signing in through an identity provider: agents with
//! ProConnect ([`agent`]), applicants with FranceConnect.
//!
//! A sign-in starts with [`start`]: an attempt whose secrets (state,
//! nonce, PKCE verifier) stay in the database under the hash of a random
//! handle, the only thing the browser keeps (a `SameSite=Lax` cookie: the
//! provider's redirect back is a cross-site navigation, which `Strict`
//! would strip). The callback takes the attempt back once ([`take`]),
//! checks that the browser's state is the attempt's, and hands the code to
//! [`crate::oidc::Client::finish`]. Whatever the outcome, the attempt is
//! gone, and a refusal leaves no session behind.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::{
    app::Vault,
    config::ProviderKind,
    crypto::{random_bytes, sha256},
    db::audit::AuditEvent,
    domain::{
        Purpose,
        journal::{Actor, Recorded, SignIn},
    },
    error::Error,
    oidc::{Attempt, Client, Failure},
};

pub mod agent;
pub mod applicant;
pub mod invite;

/// The cookie holding a sign-in attempt's handle.
pub const ATTEMPT_COOKIE: &str = "dnu_connexion";
/// How long a person has at the provider (ProConnect's own pages included).
pub const ATTEMPT_S: u32 = 10 * 60;

/// Why a sign-in ended without a session.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{} is not configured on this vault", .0.label())]
    NotConfigured(ProviderKind),
    #[error(transparent)]
    Protocol(#[from] Failure),
    #[error("no agent was invited with this e-mail address")]
    NotInvited,
    #[error("the agent invited with this e-mail address is bound to another ProConnect account")]
    OtherAccount,
    #[error("the SIRET given by ProConnect is not one of {organisation}")]
    Siren { organisation: String },
    #[error("this agent has been disabled")]
    Disabled,
    #[error(transparent)]
    Internal(#[from] Error),
}

impl Refusal {
    /// The journal's name for it (`None`: nothing a person did).
    pub fn journal(&self) -> Option<SignIn> {
        Some(match self {
            Self::NotConfigured(_) | Self::Internal(_) => return None,
            Self::NotInvited => SignIn::NotInvited,
            Self::OtherAccount => SignIn::OtherAccount,
            Self::Siren { .. } => SignIn::Siren,
            Self::Disabled => SignIn::Disabled,
            Self::Protocol(f) => match f {
                Failure::Cancelled => SignIn::Cancelled,
                Failure::Unreachable | Failure::Malformed(_) | Failure::Provider(_) | Failure::Setup(_) => {
                    SignIn::Unreachable
                }
                Failure::WeakAcr(_) => SignIn::Level,
                Failure::NoAttempt | Failure::StateMismatch | Failure::CodeRefused | Failure::Token { .. } => {
                    SignIn::Forged
                }
            },
        })
    }
}

/// A sign-in sent to its provider: the browser keeps `handle` in the
/// attempt cookie and goes to `url`.
#[derive(Debug)]
pub struct Started {
    pub handle: String,
    pub url: String,
}

/// Starts a sign-in through `kind`. A provider that cannot be reached is
/// a refusal like the others: its page, and an event in the journal.
pub async fn start(vault: &Vault, kind: ProviderKind) -> Result<Started, Refusal> {
    let result = begin(vault, kind).await;
    if let Err(r) = &result
        && let Some(what) = r.journal()
    {
        let purpose = match kind {
            ProviderKind::ProConnect => Purpose::Controle,
            ProviderKind::FranceConnect => Purpose::Demandeur,
        };
        let mut event = AuditEvent::new(Actor { agent: None, organisation: None, purpose }, Recorded::SignIn(what));
        event.outcome = what.outcome();
        vault.db().record(&event).await?;
        tracing::info!(provider = kind.as_str(), signin.refusal = what.as_str(), "sign-in not started: {r}");
    }
    result
}

async fn begin(vault: &Vault, kind: ProviderKind) -> Result<Started, Refusal> {
    let client = vault.identity_provider(kind).ok_or(Refusal::NotConfigured(kind))?;
    let attempt = Attempt::new(kind)?;
    let url = client.authorize_url(&attempt).await?;
    let handle = URL_SAFE_NO_PAD.encode(random_bytes::<32>().map_err(Error::from)?);
    let expires = crate::clock::now_ms() + i64::from(ATTEMPT_S) * 1000;
    vault
        .db()
        .signin_attempt_put(
            &sha256(handle.as_bytes()),
            kind,
            &attempt.state,
            &attempt.nonce,
            attempt.verifier.as_deref(),
            expires,
        )
        .await?;
    Ok(Started { handle, url })
}

/// What the provider's redirect brings back (RFC 6749 §4.1.2, RFC 9207's `iss`).
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

/// The attempt this browser started, taken back once and matched with the
/// callback; then the provider's answer, if it is a code.
async fn take<'v>(
    vault: &'v Vault,
    kind: ProviderKind,
    handle: Option<&str>,
    callback: &Callback,
) -> Result<(&'v Client, Attempt, String), Refusal> {
    let client = vault.identity_provider(kind).ok_or(Refusal::NotConfigured(kind))?;
    let handle = handle.ok_or(Failure::NoAttempt)?;
    let stored = vault
        .db()
        .signin_attempt_take(&sha256(handle.as_bytes()))
        .await?
        .filter(|a| a.provider == kind)
        .ok_or(Failure::NoAttempt)?;
    let same_state = callback
        .state
        .as_deref()
        .is_some_and(|s| crate::crypto::constant_time_eq(s.as_bytes(), stored.state.as_bytes()));
    if !same_state {
        return Err(Failure::StateMismatch.into());
    }
    // RFC 9207: a provider that names itself must be the one asked.
    if let Some(iss) = &callback.iss
        && iss.trim_end_matches('/') != client.config().issuer
    {
        return Err(Failure::StateMismatch.into());
    }
    match (callback.error.as_deref(), callback.code.as_deref()) {
        (Some("access_denied"), _) => Err(Failure::Cancelled.into()),
        (Some(other), _) => Err(Failure::Provider(other.chars().take(64).collect()).into()),
        (None, Some(code)) if !code.is_empty() && code.len() <= 2048 => Ok((
            client,
            Attempt { state: stored.state, nonce: stored.nonce, verifier: stored.verifier },
            code.to_owned(),
        )),
        (None, _) => Err(Failure::Malformed("a callback without a code").into()),
    }
}

/// Sends the browser to the provider's logout (after the local session
/// ended), with the id_token as hint and a state checked on return.
/// `None` when the provider has no end-session endpoint or cannot be
/// reached: the person is signed out here anyway.
pub async fn logout(vault: &Vault, kind: ProviderKind, id_token: &str) -> Result<Option<Started>, Error> {
    let Some(client) = vault.identity_provider(kind) else { return Ok(None) };
    let state = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let url = match client.logout_url(id_token, &state).await {
        Ok(Some(url)) => url,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::warn!(provider = kind.as_str(), "logout at the provider skipped: {e}");
            return Ok(None);
        }
    };
    let handle = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let expires = crate::clock::now_ms() + i64::from(ATTEMPT_S) * 1000;
    vault.db().signin_attempt_put(&sha256(handle.as_bytes()), kind, &state, "logout", None, expires).await?;
    Ok(Some(Started { handle, url }))
}

/// Whether the provider's return from its logout carries the state this
/// browser's logout was sent with (the attempt is spent either way).
pub async fn logged_out(
    vault: &Vault,
    kind: ProviderKind,
    handle: Option<&str>,
    state: Option<&str>,
) -> Result<bool, Error> {
    let Some(handle) = handle else { return Ok(false) };
    let Some(stored) = vault.db().signin_attempt_take(&sha256(handle.as_bytes())).await? else { return Ok(false) };
    Ok(stored.provider == kind
        && stored.nonce == "logout"
        && state.is_some_and(|s| crate::crypto::constant_time_eq(s.as_bytes(), stored.state.as_bytes())))
}
