//! Answers that carry document content: their type, how to offer them
//! (`attachment; filename=…` or `inline`), never cached, never sniffed.
//!
//! What the server wrote itself (exports, sheets) may open in the browser's
//! viewer; anything else (`hostile`: an original as deposited, and the
//! renditions and thumbnails the intake worker made of it) is sandboxed so
//! nothing in it can run even if it is opened.

use axum::{
    body::Body,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

pub fn content(body: Body, media_type: &str, disposition: &str, hostile: bool) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if hostile {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    }
    resp
}
