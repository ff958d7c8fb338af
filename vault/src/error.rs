//! The crate's one error type and its one mapping to HTTP.
//!
//! Every refusal names what was wrong; a 5xx logs its cause once, here, and
//! tells the client only that something failed on our side.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use dnu_api::wire::ErrorBody;
use intake::RefusalCode;

use crate::{crypto::CryptoError, domain::ParseError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (missing field, wrong encoding).
    #[error("{0}")]
    BadRequest(String),
    /// A field is well-formed but not acceptable (bad numéro unique…).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// A refusal with a specific reason code (e.g. `grant_expired`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// A document of an accepted type that cannot be used (password,
    /// damage, limits), with a specific code.
    #[error("{message}")]
    Unprocessable { code: RefusalCode, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// What was here has been erased for good (a purged dossier).
    #[error("{0}")]
    Gone(String),
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("too many attempts; try again in {retry_after_s} seconds")]
    Throttled { retry_after_s: i64 },
    /// The client stopped sending its request.
    #[error("{0}")]
    Stalled(String),
    /// Costly work is bounded and every turn is taken: not the caller's fault.
    #[error("the service is busy; try again in {retry_after_s} seconds")]
    Busy { retry_after_s: i64 },
    /// A bounded line of costly work (dossier exports, uploads) is full: the
    /// server sheds the request, not the caller's fault (503 with
    /// Retry-After).
    #[error("too many {what} are under way at once; try again in {retry_after_s} seconds")]
    Saturated { what: Saturable, retry_after_s: i64 },
    /// Stored data failed authentication: tampering or corruption.
    #[error("integrity failure: {0}")]
    Integrity(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The commit that was to hold this request's audit event failed; the
    /// cause is shared by every event of that commit (group commit), so it
    /// is kept behind an `Arc`. Answers as its cause does.
    #[error("audit journal: {0}")]
    Journal(#[source] std::sync::Arc<Error>),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("object store: {0}")]
    Store(String),
    /// The object store did not answer, or answered that it cannot serve
    /// now (timeouts, refused or cut connections, 5xx), after the retries:
    /// the client may try again (503).
    #[error("object store unreachable: {0}")]
    StoreUnreachable(String),
    /// The disk or volume that holds `what` has no space left: nothing was
    /// kept, and the operators must free or add space.
    #[error("{what} is full: {source}")]
    StorageFull {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A failure on our side that is neither the database nor the object
    /// store: an intake worker, a rendering task, a hashing thread, the
    /// password hasher. Says what failed and keeps why.
    #[error("{what}: {source}")]
    Internal {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("crypto: {0}")]
    Crypto(CryptoError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Self::Invalid(e.0)
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::Integrity(why) => Self::Integrity(why.to_owned()),
            other => Self::Crypto(other),
        }
    }
}

/// What kind of failure an answer carries: put on the response as an
/// extension, so the metrics middleware counts it as what it is without
/// this module knowing about metrics (crates.io's `ErrorField` idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Stored data failed authentication.
    Integrity,
    Database,
    ObjectStore,
    /// Anything else on our side (intake worker, rendering, hashing…).
    Internal,
    /// The caller's mistake or a refusal (4xx).
    Refusal,
}

/// The bounded lines of work a server sheds when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saturable {
    DossierExports,
    Uploads,
}

impl std::fmt::Display for Saturable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::DossierExports => "dossier exports",
            Self::Uploads => "uploads",
        })
    }
}

impl Error {
    /// An internal failure: `what` failed, for `source`.
    pub fn internal(what: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal { what, source: source.into() }
    }

    /// What kind of failure this is (see [`Failure`]).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Integrity(_) => Failure::Integrity,
            Self::Journal(cause) => cause.failure(),
            Self::Database(_) | Self::Migrate(_) => Failure::Database,
            Self::Store(_) | Self::StoreUnreachable(_) | Self::StorageFull { .. } => Failure::ObjectStore,
            // Load shed on purpose: nothing failed.
            Self::Saturated { .. } => Failure::Refusal,
            e if e.is_internal() => Failure::Internal,
            _ => Failure::Refusal,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Journal(cause) => cause.status_and_code(),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Refused { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code.as_str()),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Gone(_) => (StatusCode::GONE, "gone"),
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            Self::Busy { .. } => (StatusCode::TOO_MANY_REQUESTS, "busy"),
            Self::Saturated { .. } => (StatusCode::SERVICE_UNAVAILABLE, "saturated"),
            Self::Stalled(_) => (StatusCode::REQUEST_TIMEOUT, "stalled"),
            Self::Integrity(_) => (StatusCode::INTERNAL_SERVER_ERROR, "integrity_failure"),
            Self::StorageFull { .. } => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            Self::StoreUnreachable(_) => (StatusCode::SERVICE_UNAVAILABLE, "object_store_unavailable"),
            Self::Database(e) if database_full(e) => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            Self::Database(e) if database_unreachable(e) => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Self::Config(_)
            | Self::Database(_)
            | Self::Migrate(_)
            | Self::Store(_)
            | Self::Internal { .. }
            | Self::Crypto(_)
            | Self::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Whether the disk under the store or the database is full (507).
    fn is_storage_full(&self) -> bool {
        match self {
            Self::StorageFull { .. } => true,
            Self::Database(e) => database_full(e),
            Self::Journal(cause) => cause.is_storage_full(),
            _ => false,
        }
    }

    /// The error itself, or the cause a [`Self::Journal`] shares.
    fn peeled(&self) -> &Self {
        match self {
            Self::Journal(cause) => cause.peeled(),
            e => e,
        }
    }

    /// Whether the error is on our side (logged, hidden from the client).
    pub fn is_internal(&self) -> bool {
        self.status_and_code().0.is_server_error()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let failure = self.failure();
        // A shared journal failure is told and logged as its cause.
        let shown = self.peeled();
        let message = match shown {
            Self::Integrity(_) => {
                tracing::error!(error = %self, "integrity failure: stored data does not authenticate");
                "stored data failed its integrity check; the operators have been alerted".to_owned()
            }
            Self::Database(e) if database_unreachable(e) && !database_full(e) => {
                tracing::warn!(error = %e, "database unreachable: request refused with 503");
                format!("the database cannot be reached; try again in {UNAVAILABLE_RETRY_S} seconds")
            }
            Self::StoreUnreachable(e) => {
                tracing::warn!(error = %e, "object store unreachable: request refused with 503");
                format!(
                    "the document store cannot be reached; nothing was lost; try again in {UNAVAILABLE_RETRY_S} seconds"
                )
            }
            Self::Saturated { what, .. } => {
                tracing::warn!(what = %what, "line full: request refused with 503");
                self.to_string()
            }
            e if e.is_storage_full() => {
                tracing::error!(error = %self, "storage full: request refused with 507");
                "the store has no space left; nothing was kept; the operators have been alerted, try again later"
                    .to_owned()
            }
            e if status.is_server_error() => {
                tracing::error!(error = %e, "request failed");
                "internal error; the operators have been alerted".to_owned()
            }
            e => e.to_string(),
        };
        let mut resp = (status, Json(ErrorBody::new(code, message))).into_response();
        let retry_after_s = match shown {
            Self::Throttled { retry_after_s }
            | Self::Busy { retry_after_s }
            | Self::Saturated { retry_after_s, .. } => Some(*retry_after_s),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(UNAVAILABLE_RETRY_S),
            _ => None,
        };
        if let Some(s) = retry_after_s {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(s));
        }
        resp.extensions_mut().insert(failure);
        resp
    }
}

/// What a 503 tells the client to wait before trying again: a database
/// that restarts is usually back within seconds.
const UNAVAILABLE_RETRY_S: i64 = 5;

/// Whether a database error means the database cannot be reached now
/// (stopped, restarting, its connections cut, every connection waited for
/// in vain), not that the request or the data is wrong: the request is
/// refused with 503 and the client tries again.
fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // PostgreSQL: class 08 (connection exception), 57P01–57P03 (the
        // server is shutting down or starting), 53300 (too many
        // connections). SQLite: 5 and its extended codes (SQLITE_BUSY:
        // the write lock was not free within the busy timeout).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08")
                || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                || c.parse::<i32>().is_ok_and(|n| n & 0xff == 5)
        }),
        _ => false,
    }
}

/// Whether the database refused to write for want of disk space
/// (PostgreSQL 53100 `disk_full`; SQLite 13 `SQLITE_FULL`).
fn database_full(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "53100" || c.parse::<i32>().is_ok_and(|n| n & 0xff == 13)))
}

/// Whether an i/o error means the disk is full (or the quota spent).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        if let Some(why @ (BodyRefusal::Stalled { .. } | BodyRefusal::TooSlow { .. })) = BodyRefusal::find(&r) {
            return Self::Stalled(format!("{why}; send it again"));
        }
        let text = r.body_text();
        match r.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(text),
            StatusCode::UNPROCESSABLE_ENTITY => Self::Invalid(text),
            _ => Self::BadRequest(text),
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for Error {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        Self::UnsupportedMediaType(format!("{}: send the piece as multipart/form-data", r.body_text()))
    }
}

/// Why an upload's body was cut off before the multipart parser could
/// buffer it (`pieces::body` guards the stream; the refusal travels to
/// here inside the parser's error).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefusal {
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no multipart boundary within the first {within} bytes of the body")]
    NoBoundary { within: usize },
    #[error("the upload sent nothing for {idle_s} seconds")]
    Stalled { idle_s: u64 },
    #[error("the upload was still arriving after {deadline_s} seconds")]
    TooSlow { deadline_s: u64 },
}

impl BodyRefusal {
    /// The refusal that ended `e`, if one did.
    fn find(e: &(dyn std::error::Error + 'static)) -> Option<Self> {
        let mut cur = Some(e);
        while let Some(e) = cur {
            if let Some(r) = e.downcast_ref::<Self>() {
                return Some(*r);
            }
            cur = e.source();
        }
        None
    }
}

impl From<axum::extract::multipart::MultipartError> for Error {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        match BodyRefusal::find(&e) {
            Some(BodyRefusal::TooLarge { limit }) => return Self::TooLarge { limit },
            Some(r @ BodyRefusal::NoBoundary { .. }) => {
                return Self::BadRequest(format!("malformed multipart body: {r}"));
            }
            Some(r @ (BodyRefusal::Stalled { .. } | BodyRefusal::TooSlow { .. })) => {
                return Self::Stalled(format!("{r}; send it again"));
            }
            None => {}
        }
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::BadRequest(e.body_text());
        }
        Self::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}
