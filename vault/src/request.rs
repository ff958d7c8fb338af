//! One span per request: its id, route template, method and, once
//! answered, status and time. Every log line emitted while the request is
//! handled (deep in an upload, in the intake worker's supervision) carries
//! `request.id`, and the answer returns it as `X-Request-Id`, so an
//! operator can go from a user's report to the lines that explain it.
//!
//! The id is made here (16 random hex digits) unless the configuration
//! trusts the proxy in front to set `X-Request-Id`, in which case a
//! well-formed one is kept: a client reaching the vault directly cannot
//! then put its own words in the logs. The route is the template
//! (`/api/v1/dossiers/{nu}`), never the path, which may hold a numéro unique.
//! The audit events the request records store its id too.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::{Instrument, field};

use crate::{app::Vault, domain::journal::RequestId};

/// The header carrying a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest request id kept from a trusted proxy.
const MAX_ID: usize = 64;

/// Whether a proxy's id is fit for a log line: visible ASCII without
/// quotes or separators.
fn well_formed(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn new_id() -> String {
    let raw = uuid::Uuid::new_v4();
    hex::encode(&raw.as_bytes()[..8])
}

pub async fn span(State(vault): State<Vault>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let given = vault
        .config()
        .trust_request_id
        .then(|| req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| well_formed(id)))
        .flatten();
    let id = given.map_or_else(new_id, str::to_owned);
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let span = tracing::info_span!(
        "request",
        request.id = %id,
        http.route = %route,
        http.method = %req.method(),
        http.status = field::Empty,
        elapsed_ms = field::Empty,
    );
    // The audit events recorded while serving carry the id (see `RequestId`).
    let mut res = RequestId::new(&id).serve(next.run(req)).instrument(span.clone()).await;
    span.record("http.status", res.status().as_u16());
    span.record("elapsed_ms", start.elapsed().as_millis() as u64);
    tracing::debug!(parent: &span, "answered");
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_kept() {
        assert!(well_formed("9f2c-41ab.7"));
        assert!(!well_formed(""));
        assert!(!well_formed("a b"));
        assert!(!well_formed("x\"y"));
        assert!(!well_formed(&"a".repeat(65)));
        assert_eq!(new_id().len(), 16);
    }
}
