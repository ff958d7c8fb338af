//! A thousand slow clients next to normal traffic (issue 21, row 4).
//!
//! For 30 s, 1,000 connections from 100 loopback addresses (127.0.1.1 to
//! 127.0.1.100, ten each) send one byte a second: half of them a request's
//! headers that never end (slowloris), half a sign-in whose JSON body never
//! ends. Each connection that ends is opened again. Meanwhile an agent on
//! 127.0.0.1 asks `/healthz` ten times a second and uploads a document
//! every second, as through a trusted proxy. The vault runs with a header
//! time-out of 5 s, a body deadline of 10 s and 8 connections per address.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use e2e::{Api, Server, demo, doc_of};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADDRESSES: u8 = 100;
const PER_ADDRESS: usize = 10;
const FLOOD: Duration = Duration::from_secs(30);

/// How a flooding connection ended.
#[derive(Debug, Default, Clone)]
struct Ends {
    /// Closed by the server with no answer (header time-out), with the
    /// time it was held.
    closed: Vec<Duration>,
    /// Answered 408 (body deadline), with the time it was held.
    timed_out: Vec<Duration>,
    /// Refused at once: 429, too many connections from the address.
    refused: usize,
    /// Anything else (status line or nothing), for the failure message.
    other: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_clients_do_not_starve_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let env = [
        ("VAULT_HEADER_TIMEOUT_SECONDS", "5"),
        ("VAULT_UPLOAD_DEADLINE_SECONDS", "10"),
        ("VAULT_MAX_CONNECTIONS_PER_CLIENT", "8"),
        // The normal traffic comes as through a proxy on this host; the
        // flood's addresses are clients like any other.
        ("VAULT_TRUSTED_PROXIES", "127.0.0.1"),
        // Five thousand connections at trace level would log gigabytes of
        // hyper's reads; the other tests read the logs at trace.
        ("RUST_LOG", "info"),
    ];
    let server = Server::start(dir.path(), &env);
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let api = Api::new(&server, &token);
    api.upload_ok(&nu, "ressources", &doc_of(50_000, 1)).await;
    let rss_before = rss_kib(server.pid());

    let stop = Arc::new(AtomicBool::new(false));
    let ends: Arc<Mutex<Ends>> = Arc::default();
    let mut flood = Vec::new();
    for a in 1..=ADDRESSES {
        for i in 0..PER_ADDRESS {
            let (stop, ends) = (Arc::clone(&stop), Arc::clone(&ends));
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, a));
            let slow_body = i % 2 == 1;
            flood.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    slow_connection(addr, from, slow_body, &stop, &ends).await;
                }
            }));
        }
    }

    // Normal traffic beside the flood.
    let started = Instant::now();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let health = {
        let (http, url, stop) = (http.clone(), server.url("/healthz"), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = http.get(&url).send().await.is_ok_and(|r| r.status() == 200);
                took.push((t.elapsed(), ok));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            took
        })
    };
    let mut uploads = Vec::new();
    let mut rss_max = rss_before;
    let mut seed = 100;
    while started.elapsed() < FLOOD {
        let t = Instant::now();
        let r = api.upload(&nu, "ressources", &doc_of(50_000, seed)).await;
        uploads.push((t.elapsed(), r.map(|r| r.status().as_u16()).unwrap_or(0)));
        seed += 1;
        rss_max = rss_max.max(rss_kib(server.pid()));
        tokio::time::sleep(Duration::from_millis(1000).saturating_sub(t.elapsed())).await;
    }
    let open_at_end = metric(&http, &server, "dnu_vault_connections_open").await;
    stop.store(true, Ordering::Relaxed);
    let health = health.await.unwrap();
    for f in flood {
        f.await.unwrap();
    }
    let refused_metric = metric(&http, &server, "dnu_vault_connections_refused_total").await;

    let ends = ends.lock().unwrap().clone();
    let mut health_took: Vec<Duration> = health.iter().map(|h| h.0).collect();
    health_took.sort_unstable();
    let p99 = health_took[health_took.len() * 99 / 100];
    let failed_health = health.iter().filter(|h| !h.1).count();
    let uploads_ok = uploads.iter().filter(|u| u.1 == 201).count();
    let slowest_upload = uploads.iter().map(|u| u.0).max().unwrap();
    let max = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    eprintln!(
        "flood of {} slow connections for {FLOOD:?}: /healthz p99 {p99:?} over {} requests ({failed_health} failed); \
         uploads {uploads_ok}/{} answered 201, slowest {slowest_upload:?}; slow headers closed: {} (held at most {:?}); \
         slow bodies answered 408: {} (held at most {:?}); refused 429 at connect: {} (metric {refused_metric}); \
         other ends: {}; connections open at the end {open_at_end}; server RSS {} MiB before, at most {} MiB during",
        usize::from(ADDRESSES) * PER_ADDRESS,
        health.len(),
        uploads.len(),
        ends.closed.len(),
        max(&ends.closed),
        ends.timed_out.len(),
        max(&ends.timed_out),
        ends.refused,
        ends.other.len(),
        rss_before / 1024,
        rss_max / 1024,
    );
    assert_eq!(failed_health, 0, "/healthz failed during the flood");
    assert!(p99 < Duration::from_secs(1), "/healthz p99 {p99:?}");
    assert_eq!(uploads_ok, uploads.len(), "uploads not served during the flood: {uploads:?}");
    assert!(uploads.len() >= 20, "{} uploads in {FLOOD:?}", uploads.len());
    // Every slow connection let go within its time-out (plus a second of
    // the client's own pace and scheduling).
    assert!(ends.closed.len() >= 500, "{} slow-header connections closed", ends.closed.len());
    assert!(max(&ends.closed) < Duration::from_secs(8), "a slow header held {:?}", max(&ends.closed));
    assert!(ends.timed_out.len() >= 250, "{} slow bodies answered 408", ends.timed_out.len());
    assert!(max(&ends.timed_out) < Duration::from_secs(13), "a slow body held {:?}", max(&ends.timed_out));
    // Ten per address, eight allowed.
    assert!(ends.refused >= 200, "{} connections refused", ends.refused);
    assert!(refused_metric >= ends.refused as f64, "metric {refused_metric} < {} refusals seen", ends.refused);
    assert!(ends.other.is_empty(), "unexpected ends: {:?}", &ends.other[..ends.other.len().min(5)]);
    assert!(open_at_end <= f64::from(ADDRESSES) * 8.0 + 10.0, "{open_at_end} connections open");
    assert!(rss_max < 400 * 1024, "server RSS reached {} MiB", rss_max / 1024);
}

/// One flooding connection from `from`, until the server ends it (or the
/// flood stops): one byte a second of headers that never end, or of a
/// JSON body that never ends.
async fn slow_connection(to: SocketAddr, from: IpAddr, slow_body: bool, stop: &AtomicBool, ends: &Mutex<Ends>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let Ok(stream) = socket.connect(to).await else {
        tokio::time::sleep(Duration::from_millis(500)).await;
        return;
    };
    let opened = Instant::now();
    let (mut rd, mut wr) = stream.into_split();
    let head = if slow_body {
        "POST /api/v1/session HTTP/1.1\r\nHost: vault\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    } else {
        "GET /healthz HTTP/1.1\r\nHost: vault\r\nX-Slow: "
    };
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let mut started = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ended = loop {
        tokio::select! {
            n = rd.read(&mut buf) => match n {
                Ok(0) | Err(_) => break true,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => {
                if stop.load(Ordering::Relaxed) {
                    break false;
                }
                // The request line at once, then one byte a second.
                let sent = if started { wr.write_all(b"a").await } else { wr.write_all(head.as_bytes()).await };
                started = true;
                if sent.is_err() {
                    // The server closed; read what it said.
                    let _ = tokio::time::timeout(Duration::from_secs(1), rd.read_to_end(&mut answer)).await;
                    break true;
                }
            }
        }
    };
    if !ended {
        return;
    }
    let held = opened.elapsed();
    let text = String::from_utf8_lossy(&answer);
    let status = text.split_whitespace().nth(1).unwrap_or_default().to_owned();
    {
        let mut e = ends.lock().unwrap();
        match (status.as_str(), slow_body) {
            ("429", _) => e.refused += 1,
            ("", false) => e.closed.push(held),
            ("408", true) => e.timed_out.push(held),
            _ => e
                .other
                .push(format!("slow_body={slow_body} after {held:?}: {}", text.lines().next().unwrap_or("(nothing)"))),
        }
    }
    if status == "429" {
        // Refused: wait before trying again, as a client told Retry-After would.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The process's resident set, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A metric's value from `/metrics`.
async fn metric(http: &reqwest::Client, server: &Server, name: &str) -> f64 {
    let text = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}
