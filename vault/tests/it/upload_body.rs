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

/// A body that starts and then stops: the file part has begun (an intake
/// worker is running for it), and nothing more comes.
fn stalled_body() -> Body {
    let head: &'static [u8] = b"--NEVERSENT\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nidentite\r\n--NEVERSENT\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\n";
    let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from_static(head))])
        .chain(futures_util::stream::pending());
    Body::from_stream(stream)
}

/// Stalled uploads used to hold their worker for as long as the client
/// wished (24 uploads stalled after 4 bytes kept 24 workers). Now a silent
/// body is cut off after the idle time (408), and a caller holds at most
/// its share of uploads in progress (429 beyond).
#[tokio::test]
async fn stalled_uploads_are_cut_off_and_a_caller_holds_only_its_share() {
    let app = TestApp::builder()
        .tune(|c| {
            c.upload_idle = std::time::Duration::from_secs(2);
            c.max_uploads_per_caller = 3;
        })
        .build()
        .await;
    let nu = app.register().await;
    let app = Arc::new(app);
    let started = std::time::Instant::now();
    let stalled: Vec<_> = (0..3)
        .map(|_| {
            let (app, nu) = (app.clone(), nu.clone());
            tokio::spawn(async move { post(&app, &nu, stalled_body()).await })
        })
        .collect();
    // While the three hang, the same caller's fourth upload is refused.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let fourth = app.upload(&nu, "identite", &crate::common::doc_of(1000, 1)).await;
    assert_eq!((fourth.status, fourth.error_code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "busy"));
    assert!(fourth.headers.contains_key("retry-after"));
    for s in stalled {
        let r = s.await.unwrap();
        assert_eq!((r.status, r.error_code().as_str()), (StatusCode::REQUEST_TIMEOUT, "stalled"), "{:?}", r.body);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "cut off after the idle time");
    // Their slots came back: the caller uploads again.
    let again = app.upload(&nu, "identite", &crate::common::doc_of(1000, 2)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
}

/// A dossier holds a bounded amount: an applicant could grow theirs until
/// partners' exports exhausted memory. Past the quota, uploads are refused
/// (422 `dossier_full`) before a byte of the body is read.
#[tokio::test]
async fn a_dossier_holds_no_more_than_its_quota() {
    let app = TestApp::builder()
        .tune(|c| c.quota = vault::config::DossierQuota { versions: 3, bytes: 1 << 30, pages: 1000 })
        .build()
        .await;
    let nu = app.register().await;
    for i in 0..3u8 {
        app.upload_ok(&nu, &crate::common::doc_of(1500, 20 + i)).await;
    }
    let (body, pulled) = counted_body(b"--NEVERSENT\r\n", 16);
    let r = post(&app, &nu, body).await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "dossier_full"));
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("3 versions"));
    assert_eq!(pulled.load(Ordering::Relaxed), 0, "refused before reading the body");
    // Another dossier is not affected.
    let other = app.register().await;
    app.upload_ok(&other, &crate::common::doc_of(1500, 30)).await;
}
