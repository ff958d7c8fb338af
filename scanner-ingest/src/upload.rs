//! Filing a queued job through the vault's HTTP API with the guichet
//! agent's token. The job id is sent as `Idempotency-Key`.

use std::time::Duration;

use dnu_api::wire::{ErrorBody, UploadReceipt};
use reqwest::blocking::{Client, multipart};

use crate::{error::Error, queue::Job};

/// Bearer token of the guichet agent; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(s: String) -> Self {
        Self(s.trim().to_owned())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// What the vault made of an upload.
#[derive(Debug)]
pub enum Outcome {
    Filed {
        piece: String,
        version: String,
        duplicate: bool,
    },
    /// Worth trying again later: the vault is down, overloaded, or the
    /// token is refused (an operator must act, but the job stays queued).
    Retry(String),
    /// The vault will never accept this job as it is (unknown dossier,
    /// refused kind, not a document): quarantine.
    Refused(String),
}

pub struct Vault {
    base: String,
    token: Token,
    http: Client,
}

impl Vault {
    pub fn new(base: &str, token: Token) -> Result<Self, Error> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("scanner-ingest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token, http })
    }

    pub fn send(&self, job: &Job, pdf: Vec<u8>) -> Outcome {
        let scan = match serde_json::to_string(&job.scan) {
            Ok(s) => s,
            Err(e) => return Outcome::Refused(format!("provenance: {e}")),
        };
        let file = match multipart::Part::bytes(pdf).file_name(format!("{}.pdf", job.id)).mime_str("application/pdf") {
            Ok(p) => p,
            Err(e) => return Outcome::Refused(format!("form: {e}")),
        };
        let form = multipart::Form::new().text("kind", job.kind.clone()).text("scan", scan).part("file", file);
        let url = format!("{}/api/v1/dossiers/{}/pieces", self.base, job.numero_unique);
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.token.0)
            .header(dnu_api::IDEMPOTENCY_KEY_HEADER, &job.id)
            .multipart(form)
            .send();
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("vault unreachable: {}", without_url(&e))),
        };
        let status = resp.status();
        let body = resp.bytes().unwrap_or_default();
        if status.is_success() {
            return match serde_json::from_slice::<UploadReceipt>(&body) {
                Ok(a) => Outcome::Filed { piece: a.piece.id, version: a.version.id, duplicate: a.duplicate },
                Err(e) => Outcome::Retry(format!("unexpected answer ({status}): {e}")),
            };
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| format!("{} ({}): {}", status.as_u16(), b.error.code, b.error.message))
            .unwrap_or_else(|_| format!("{}", status.as_u16()));
        match status.as_u16() {
            // 403 too: the vault answers a number it does not hold exactly as one
            // out of reach (no existence oracle); either way this piece cannot be
            // filed by this token, and the guichet must see why.
            400 | 403 | 404 | 409 | 413 | 415 | 422 => Outcome::Refused(detail),
            _ => Outcome::Retry(detail),
        }
    }
}

/// A transport error without the URL (it holds the numéro unique).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused or no route".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        let s = e.to_string();
        match e.url() {
            Some(u) => s.replace(u.as_str(), "<vault>"),
            None => s,
        }
    }
}
