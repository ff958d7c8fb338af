//! Applicants: the identifier and personal code of their attestation, and
//! `POST /api/v1/session` to sign in with them.
//!
//! The code is shown once, when the dossier is registered, and stored only
//! as an Argon2id hash. After five wrong codes an identifier is locked for
//! one minute, doubling with each further failure up to an hour: even the
//! right code is refused while locked (429), so guessing is slow.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
};
use serde::{Deserialize, Serialize};

use crate::{app::Vault, auth::TokenKind, crypto::random_bytes, error::Error};

const SESSION_MS: i64 = 3600 * 1000;
const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 3600 * 1000;
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

/// Argon2id hash of a code (slow on purpose: run it off the async threads).
pub fn hash_code(code: &str) -> Result<String, Error> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| Error::internal("hashing a code", e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(code.as_bytes(), &salt)
        .map_err(|e| Error::internal("hashing a code", e.to_string()))?
        .to_string())
}

fn code_matches(hash: &str, code: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(code.as_bytes(), &h).is_ok())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    identifier: String,
    code: String,
}

#[derive(Debug, Serialize)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
}

pub async fn sign_in(
    State(vault): State<Vault>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Json<Session>, Error> {
    let Json(input) = body?;
    Ok(Json(open_session(&vault, &input.identifier, &input.code).await?))
}

/// Checks an applicant's identifier and code (throttled after repeated
/// failures) and opens a session: the API answers its token, the web
/// pages keep it in a cookie.
pub async fn open_session(vault: &Vault, identifier: &str, code: &str) -> Result<Session, Error> {
    let identifier = identifier.trim().to_ascii_uppercase();
    let code = code.trim().to_ascii_uppercase();
    let now = crate::clock::now_ms();
    let applicant = vault.db().applicant_by_identifier(&identifier).await?;
    if let Some(a) = &applicant
        && let Some(until) = a.locked_until.filter(|u| *u > now)
    {
        return Err(Error::Throttled { retry_after_s: (until - now + 999) / 1000 });
    }
    // An unknown identifier costs the same hash as a known one.
    let hash = match &applicant {
        Some(a) => a.code_hash.clone(),
        None => dummy_hash()?,
    };
    let ok = tokio::task::spawn_blocking(move || code_matches(&hash, &code))
        .await
        .map_err(|e| Error::internal("checking a code", e))?;
    let Some(a) = applicant.filter(|_| ok) else {
        if let Some(a) = vault.db().applicant_by_identifier(&identifier).await? {
            let failures = a.failures + 1;
            let lock = (failures >= FREE_FAILURES)
                .then(|| now + (60_000_i64 << (failures - FREE_FAILURES).min(6)).min(MAX_LOCK_MS));
            vault.db().applicant_failed(a.id, failures, lock).await?;
        }
        return Err(Error::Unauthenticated("wrong identifier or code"));
    };
    let (token, hash) = TokenKind::ApplicantSession.mint()?;
    let expires = now + SESSION_MS;
    vault.db().applicant_signed_in(a.id, &hash, expires).await?;
    tracing::info!(applicant.id = %a.id, "applicant signed in");
    let expires_at = crate::clock::rfc3339(expires / 1000);
    Ok(Session { token, expires_at })
}

/// A hash of a random code, to spend the same time on unknown identifiers.
fn dummy_hash() -> Result<String, Error> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let h = hash_code(&random_text(10)?)?;
    Ok(DUMMY.get_or_init(|| h).clone())
}
