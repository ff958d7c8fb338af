//! Applicants: the identifier and personal code of their attestation, and
//! `POST /api/v1/session` to sign in with them.
//!
//! The code is shown once, when the dossier is registered, and stored only
//! as an Argon2id hash. Guessing is slowed per client address (ten
//! attempts, then one every six seconds: 429 with `Retry-After`), and
//! verifications run a few at a time whoever asks ([`crate::gate`]).

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
};
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use crate::{
    app::Vault,
    auth::{ClientAddr, TokenKind},
    crypto::random_bytes,
    db::applicants::ApplicantRow,
    error::Error,
    gate::Busy,
};

const SESSION_MS: i64 = 3600 * 1000;
/// Letters and digits that cannot be misread on paper (no 0/O, 1/I/L).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

fn random_text(len: usize) -> Result<String, Error> {
    let bytes = random_bytes::<32>()?;
    Ok(bytes.iter().take(len).map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect())
}

/// A new identifier (`DNU-` and 8 characters) and personal code (10
/// characters, about 50 bits).
pub fn new_credentials() -> Result<(String, String), Error> {
    Ok((format!("DNU-{}", random_text(8)?), random_text(10)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    identifier: String,
    code: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
}

pub async fn sign_in(
    State(vault): State<Vault>,
    source: ClientAddr,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Json<Session>, Error> {
    let Json(input) = body?;
    Ok(Json(open_session(&vault, source, &input.identifier, &input.code).await?))
}

/// Checks an applicant's identifier and code and opens a session: the API
/// answers its token, the web pages keep it in a cookie.
///
/// Guessing is slowed per source, not per identifier: an identifier is
/// never locked, so knowing one does not let anyone lock its applicant out,
/// and unknown, known and recently failed identifiers answer alike. The
/// source's attempt is taken before the code is checked (a burst of
/// concurrent guesses gets no more evaluations than its budget), and the
/// verification itself waits for one of a few turns (it costs 19 MiB).
pub async fn open_session(vault: &Vault, source: ClientAddr, identifier: &str, code: &str) -> Result<Session, Error> {
    let applicant = verified(vault, source, identifier, code).await?;
    start_session(vault, applicant.id, applicant.dossier_id, None).await
}

/// The applicant whose identifier and code these are, under the same
/// slowing as [`open_session`] (FranceConnect's first sign-in uses it to
/// link the identity).
pub async fn verified(vault: &Vault, source: ClientAddr, identifier: &str, code: &str) -> Result<ApplicantRow, Error> {
    let identifier = identifier.trim().to_ascii_uppercase();
    let code = code.trim().to_ascii_uppercase();
    let gates = vault.sign_in_gates();
    gates
        .budget
        .spend(source.0, std::time::Instant::now())
        .map_err(|e| Error::Throttled { retry_after_s: retry_after_s(e.retry_after) })?;
    let mut turn = gates.costly.enter().await.map_err(|Busy| Error::Busy { retry_after_s: 1 })?;
    let applicant = vault.db().applicant_by_identifier(&identifier).await?;
    // An unknown identifier costs the same hash as a known one.
    let hash = match &applicant {
        Some(a) => a.code_hash.clone(),
        None => dummy_hash().await?,
    };
    let mut memory = turn.take().unwrap_or_else(crate::crypto::argon2_memory);
    let (ok, memory) = tokio::task::spawn_blocking(move || {
        let ok = crate::crypto::code_matches(&hash, &code, &mut memory);
        (ok, memory)
    })
    .await
    .map_err(|e| Error::internal("checking a code", e))?;
    turn.give_back(memory);
    drop(turn);
    let a = match applicant {
        Some(a) if ok => a,
        other => {
            if let Some(a) = other {
                // Counted for the operators (an identifier under attack
                // shows); never a lock.
                vault.db().applicant_failed(a.id).await?;
            }
            return Err(Error::Unauthenticated("wrong identifier or code"));
        }
    };
    gates.budget.refund(source.0);
    Ok(a)
}

/// Opens an applicant's session (one hour); `id_token` when it came through
/// FranceConnect, for the provider's logout. Signing in is an answer: a
/// pending (c) radiation warning of the dossier no longer stands.
pub async fn start_session(
    vault: &Vault,
    applicant: Uuid,
    dossier: Uuid,
    id_token: Option<&str>,
) -> Result<Session, Error> {
    vault.db().applicant_answered(dossier).await?;
    let now = crate::clock::now_ms();
    let (token, hash) = TokenKind::ApplicantSession.mint()?;
    let expires = now + SESSION_MS;
    vault.db().applicant_signed_in(applicant, &hash, expires, id_token).await?;
    tracing::info!(applicant.id = %applicant, "applicant signed in");
    let expires_at = crate::clock::rfc3339(expires / 1000);
    Ok(Session { token, expires_at })
}

fn retry_after_s(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(i64::MAX).max(1)
}

/// A hash of a random code, to spend the same time on unknown identifiers
/// (made once, off the async threads: hashing takes tens of milliseconds).
async fn dummy_hash() -> Result<String, Error> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let code = random_text(10)?;
    let h = tokio::task::spawn_blocking(move || crate::crypto::hash_code(&code))
        .await
        .map_err(|e| Error::internal("hashing a code", e))??;
    Ok(DUMMY.get_or_init(|| h).clone())
}
