//! An upload's body is guarded before the multipart parser buffers it: a
//! stream that never shows its boundary is cut off after a few KiB, and a
//! body larger than the upload limit (plus the form's room) is cut off at
//! the limit, whatever part of the form it pretends to be in. The tests
//! count what the server pulled from the client's stream: before the
//! guard, the parser read (and held) every byte it was sent.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use futures_util::StreamExt;

use crate::common::TestApp;

const CHUNK: usize = 64 * 1024;

/// `chunks` chunks: `head`, then zeros; counts the bytes the server pulls.
fn counted_body(head: &'static [u8], chunks: usize) -> (Body, Arc<AtomicU64>) {
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let stream = futures_util::stream::iter(0..chunks).map(move |i| {
        let chunk = if i == 0 { Bytes::from_static(head) } else { Bytes::from(vec![0u8; CHUNK]) };
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok::<_, std::convert::Infallible>(chunk)
    });
    (Body::from_stream(stream), pulled)
}

async fn post(app: &TestApp, nu: &str, body: Body) -> crate::common::Resp {
    let req = Request::post(format!("/api/v1/dossiers/{nu}/pieces"))
        .header("authorization", format!("Bearer {}", app.guichet_token))
        .header("content-type", "multipart/form-data; boundary=NEVERSENT")
        .body(body)
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn a_body_that_never_shows_its_boundary_is_refused_after_a_few_kib() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    // 64 MiB of zeros, no boundary anywhere.
    let (body, pulled) = counted_body(b"", 1024);
    let r = post(&app, &nu, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("no multipart boundary within the first"));
    let read = pulled.load(Ordering::Relaxed);
    assert!(read <= 4 * CHUNK as u64, "the server pulled {read} bytes of a body without a boundary");
}

#[tokio::test]
async fn a_body_past_the_limit_is_cut_off_at_the_limit_even_inside_part_headers() {
    let limit = 1 << 20;
    let app = TestApp::builder().max_upload(limit).build().await;
    let nu = app.register().await;
    // A boundary, then a part header that never ends: the parser would
    // buffer it all while looking for the blank line.
    let (body, pulled) = counted_body(b"--NEVERSENT\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Pad: ", 64);
    let r = post(&app, &nu, body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(r.error_code(), "too_large");
    let read = pulled.load(Ordering::Relaxed);
    assert!(read <= limit + 2 * CHUNK as u64 + 64 * 1024, "the server pulled {read} bytes for a limit of {limit}");
}
