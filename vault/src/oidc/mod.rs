//! The OpenID Connect relying party: one [`Client`] per provider
//! (ProConnect for agents, FranceConnect for applicants), the
//! authorization code flow and every check on what comes back.
//!
//! A sign-in is an [`Attempt`] (state, nonce and, for ProConnect, a PKCE
//! verifier: 256 random bits each, 43 characters) kept by the caller
//! until the browser returns, then [`Client::finish`]: the code exchanged
//! with `client_secret_post`, the id_token's signature and claims checked
//! (issuer, audience, expiry with a minute's tolerance, nonce), the
//! userinfo read as a signed JWT whatever its content type says, its
//! subject compared, and the `acr` checked against the accepted list — a
//! provider may answer a weaker level than asked, and the relying party
//! must refuse it itself.
//!
//! The two providers differ in what `/authorize` may carry: FranceConnect
//! refuses any parameter outside its list (no PKCE, no `login_hint`), so
//! the parameters are built per kind in one place ([`Client::authorize_url`]).
//!
//! FranceConnect+ also encrypts the id_token and userinfo (JWE) to keys the
//! relying party publishes; that is not done here. The seam is
//! [`Client::verified`]: a token would be decrypted there before its
//! signature is checked.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::config::{ProviderConfig, ProviderKind};

mod http;
pub mod jws;
mod token;

pub use token::Identity;

/// Why a sign-in did not complete. Each has its own page for the person.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the identity provider cannot be reached")]
    Unreachable,
    #[error("the identity provider sent {0} in a form this vault cannot read")]
    Malformed(&'static str),
    #[error("the identity provider answered error {0:?}")]
    Provider(String),
    #[error("the sign-in was cancelled at the identity provider")]
    Cancelled,
    #[error("no sign-in was started in this browser, or it expired or was already used")]
    NoAttempt,
    #[error("the callback does not match the sign-in started in this browser")]
    StateMismatch,
    #[error("the identity provider refused the authorization code (already used or expired)")]
    CodeRefused,
    #[error("the {what} does not verify: {why}")]
    Token { what: &'static str, why: &'static str },
    #[error("the authentication level {0:?} is not one this vault accepts")]
    WeakAcr(Option<String>),
    #[error("setting up the sign-in: {0}")]
    Setup(String),
}

/// What the provider's discovery document says (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: Option<String>,
}

/// The secrets of one sign-in in progress, kept by the vault (never in the
/// browser) until the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    /// PKCE code verifier (ProConnect only: FranceConnect refuses PKCE).
    pub verifier: Option<String>,
}

fn random_text() -> Result<String, Failure> {
    crate::crypto::random_bytes::<32>().map(|b| URL_SAFE_NO_PAD.encode(b)).map_err(|e| Failure::Setup(e.to_string()))
}

impl Attempt {
    pub fn new(kind: ProviderKind) -> Result<Self, Failure> {
        Ok(Self {
            state: random_text()?,
            nonce: random_text()?,
            verifier: match kind {
                ProviderKind::ProConnect => Some(random_text()?),
                ProviderKind::FranceConnect => None,
            },
        })
    }
}

/// How long a discovery document is trusted before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// A key set is read again on an unknown key id, at most this often (a
/// flood of forged key ids must not become a flood towards the provider).
const KEYS_REFRESH_MIN: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Cache {
    metadata: Option<(Metadata, Instant)>,
    keys: jws::JwkSet,
    keys_read: Option<Instant>,
}

/// One provider, as this vault is registered with it.
#[derive(Debug)]
pub struct Client {
    config: ProviderConfig,
    http: http::Http,
    cache: RwLock<Cache>,
}

impl Client {
    pub fn new(config: ProviderConfig) -> Result<Self, Failure> {
        Ok(Self { config, http: http::Http::new()?, cache: RwLock::default() })
    }

    pub fn kind(&self) -> ProviderKind {
        self.config.kind
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The discovery document, read on first use and hourly after, so a
    /// provider down at start-up does not stop the vault.
    pub async fn metadata(&self) -> Result<Metadata, Failure> {
        if let Some((m, at)) = &self.cache.read().await.metadata
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let answer = self.http.get(&url, None, "application/json").await?;
        if !answer.status.is_success() {
            return Err(Failure::Unreachable);
        }
        let m: Metadata =
            serde_json::from_slice(&answer.body).map_err(|_| Failure::Malformed("its discovery document"))?;
        // Mix-up defence: the document must be the configured issuer's own.
        if m.issuer.trim_end_matches('/') != self.config.issuer {
            return Err(Failure::Malformed("a discovery document of another issuer"));
        }
        for endpoint in [&m.authorization_endpoint, &m.token_endpoint, &m.userinfo_endpoint, &m.jwks_uri]
            .into_iter()
            .chain(m.end_session_endpoint.as_ref())
        {
            crate::config::checked_url("an endpoint of the provider", endpoint)
                .map_err(|_| Failure::Malformed("an endpoint that is not https://"))?;
        }
        self.cache.write().await.metadata = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// Where to send the browser to sign in.
    pub async fn authorize_url(&self, attempt: &Attempt) -> Result<String, Failure> {
        let m = self.metadata().await?;
        let c = &self.config;
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", c.client_id.clone()),
            ("redirect_uri", c.redirect_uri.clone()),
            ("state", attempt.state.clone()),
            ("nonce", attempt.nonce.clone()),
        ];
        match c.kind {
            ProviderKind::ProConnect => {
                params.push(("scope", "openid email given_name usual_name siret uid idp_id organization_label".into()));
                // Asked as voluntary: ProConnect may answer a weaker level
                // than asked (not every identity provider behind it does
                // MFA), so the answer is checked in `finish`, and an
                // essential request only makes some providers loop.
                let claims = serde_json::json!({"id_token": {"acr": {"values": c.acr}, "amr": {"essential": true}}});
                params.push(("claims", claims.to_string()));
                if let Some(verifier) = &attempt.verifier {
                    let challenge = URL_SAFE_NO_PAD.encode(crate::crypto::sha256(verifier.as_bytes()));
                    params.push(("code_challenge", challenge));
                    params.push(("code_challenge_method", "S256".into()));
                }
            }
            ProviderKind::FranceConnect => {
                // Exactly FranceConnect's list: the sub alone is needed
                // (never an e-mail), at the weakest accepted level.
                params.push(("scope", "openid".into()));
                params.push(("acr_values", c.acr[0].clone()));
            }
        }
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sep = if m.authorization_endpoint.contains('?') { '&' } else { '?' };
        Ok(format!("{}{sep}{}", m.authorization_endpoint, form_encode(&pairs)))
    }

    /// Completes a sign-in from the code the browser brought back.
    pub async fn finish(&self, attempt: &Attempt, code: &str) -> Result<Identity, Failure> {
        let m = self.metadata().await?;
        let c = &self.config;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.expose_secret()),
        ];
        if let Some(v) = &attempt.verifier {
            form.push(("code_verifier", v));
        }
        let answer = self.http.post_form(&m.token_endpoint, &form).await?;
        let tokens = token::TokenAnswer::read(&answer)?;
        let id = self.verified(&m, &tokens.id_token, "id_token").await?;
        let identity = token::check_id_token(&id, c, &m.issuer, &attempt.nonce)?;
        // FranceConnect's access token lives 60 s: userinfo is read at once.
        let info = self.http.get(&m.userinfo_endpoint, Some(&tokens.access_token), "application/jwt").await?;
        if !info.status.is_success() {
            return Err(Failure::Provider(format!("userinfo {}", info.status.as_u16())));
        }
        let text = std::str::from_utf8(&info.body).map_err(|_| Failure::Malformed("its userinfo"))?.trim();
        let userinfo = self.verified(&m, text, "userinfo").await?;
        token::with_userinfo(identity, &userinfo, c, &m.issuer, tokens.id_token)
    }

    /// Where to send the browser to end its session at the provider, if
    /// the provider has an end-session endpoint.
    pub async fn logout_url(&self, id_token: &str, state: &str) -> Result<Option<String>, Failure> {
        let m = self.metadata().await?;
        Ok(m.end_session_endpoint.map(|end| {
            let q = form_encode(&[
                ("id_token_hint", id_token),
                ("state", state),
                ("post_logout_redirect_uri", &self.config.post_logout_redirect_uri),
            ]);
            let sep = if end.contains('?') { '&' } else { '?' };
            format!("{end}{sep}{q}")
        }))
    }

    /// A token's payload once its signature verifies under the provider's
    /// keys, read again once when the token names a key not yet seen (the
    /// provider rotated).
    async fn verified(&self, m: &Metadata, token: &str, what: &'static str) -> Result<Vec<u8>, Failure> {
        let bad = |why| Failure::Token { what, why };
        let refused = |r| match r {
            jws::Rejected::Malformed => bad("not a signed JWT of an accepted algorithm (ES256, RS256)"),
            jws::Rejected::UnknownKey => bad("signed by a key the provider does not publish"),
            jws::Rejected::BadSignature => bad("the signature is wrong"),
        };
        let parsed = || jws::Unverified::parse(token).map_err(refused);
        match parsed()?.verify(&self.cache.read().await.keys) {
            Err(jws::Rejected::UnknownKey) => {}
            other => return other.map_err(refused),
        }
        {
            let mut cache = self.cache.write().await;
            if cache.keys_read.is_none_or(|at| at.elapsed() >= KEYS_REFRESH_MIN) {
                let answer = self.http.get(&m.jwks_uri, None, "application/json").await?;
                if !answer.status.is_success() {
                    return Err(Failure::Unreachable);
                }
                cache.keys = jws::JwkSet::parse(&answer.body)?;
                cache.keys_read = Some(Instant::now());
            }
        }
        parsed()?.verify(&self.cache.read().await.keys).map_err(refused)
    }
}

/// `application/x-www-form-urlencoded`, also used for query strings:
/// everything but RFC 3986's unreserved characters is escaped.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn escape(out: &mut String, s: &str) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        escape(&mut out, k);
        out.push('=');
        escape(&mut out, v);
    }
    out
}
