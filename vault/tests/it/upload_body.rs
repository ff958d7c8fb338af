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
/// (422 `dossier_full`) before the body is parsed; the body is then read
/// off and dropped, so that the client hears the answer.
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
    assert_eq!(pulled.load(Ordering::Relaxed), 13 + 15 * CHUNK as u64, "read off whole, not left unread");
    // Another dossier is not affected.
    let other = app.register().await;
    app.upload_ok(&other, &crate::common::doc_of(1500, 30)).await;
}

/// At 128 connections, 942 refused uploads reached their client as a reset
/// connection rather than as the refusal: the server answered before the
/// body and closed while the client was still sending. Over a real socket,
/// an upload refused because every slot is taken now gets its 503 with
/// `Retry-After`, its whole body having been accepted off the wire.
#[tokio::test]
async fn an_upload_refused_for_want_of_a_slot_hears_the_refusal_over_a_real_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::builder().max_upload(32 << 20).tune(|c| c.max_uploads = 1).build().await;
    let nu = app.register().await;
    let app = Arc::new(app);
    // The only slot is held by an upload that stalls.
    let holder = {
        let (app, nu) = (app.clone(), nu.clone());
        tokio::spawn(async move { post(&app, &nu, stalled_body()).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = app.vault.config().connections.clone();
    let server = tokio::spawn(vault::listener::serve(listener, app.router.clone(), limits, std::future::pending()));

    // 16 MiB: more than the loopback's socket buffers hold, so the client
    // is still sending when the server decides.
    let len = 16usize << 20;
    let head = format!(
        "POST /api/v1/dossiers/{nu}/pieces HTTP/1.1\r\nhost: vault\r\nauthorization: Bearer {}\r\n\
         content-type: multipart/form-data; boundary=NEVERSENT\r\ncontent-length: {len}\r\n\r\n",
        app.guichet_token
    );
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let sender = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let mut body =
            b"--NEVERSENT\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n".to_vec();
        body.resize(len, b'x');
        for chunk in body.chunks(64 * 1024) {
            wr.write_all(chunk).await?;
        }
        Ok::<_, std::io::Error>(wr)
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = rd.read(&mut buf).await?;
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                return Ok::<_, std::io::Error>(());
            }
        }
    })
    .await
    .expect("an answer within the drain window");
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(read.is_ok(), "the connection was reset before the answer: {read:?}, read {answer:?}");
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 5"), "{answer}");
    assert!(answer.contains("saturated"), "{answer}");
    assert!(sender.await.unwrap().is_ok(), "the whole body was taken off the wire");

    server.abort();
    holder.abort();
}
