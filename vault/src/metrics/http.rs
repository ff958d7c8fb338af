//! The request-recording middleware and `GET /metrics`.

use std::time::Instant;

use axum::{
    body::{Body, HttpBody},
    extract::{MatchedPath, Request},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::TryStreamExt;

use crate::error::Failure;

/// `GET /metrics`: the registry as Prometheus text.
pub fn exposition() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], super::global().render()).into_response()
}

/// The method as a label: the client chooses it, so anything outside the
/// methods HTTP defines counts as `other` (each new label value is a new
/// series held for the life of the process).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts every request by route template, method and status, times it, and
/// counts the bytes of its body and of the answer's body as they stream.
pub async fn record_requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method()).to_owned();
    let m = super::global();
    // Request bodies are counted as they are read (uploads stream).
    let req = req.map(|body| {
        if body.size_hint().exact() == Some(0) {
            return body;
        }
        Body::from_stream(body.into_data_stream().inspect_ok(move |chunk| m.bytes_in.add(chunk.len() as u64)))
    });
    let res = next.run(req).await;
    m.observe_request(&route, &method, res.status().as_u16(), start.elapsed());
    // The error mapping marks what kind of failure an answer carries.
    if let Some(f) = res.extensions().get::<Failure>() {
        m.count_failure(*f);
    }
    // A body of known length is counted at once and keeps its length (and
    // so its Content-Length); a streamed one is counted as it goes.
    match res.body().size_hint().exact() {
        Some(n) => {
            m.bytes_out.add(n);
            res
        }
        None => res.map(|body| {
            Body::from_stream(body.into_data_stream().inspect_ok(move |chunk| m.bytes_out.add(chunk.len() as u64)))
        }),
    }
}
