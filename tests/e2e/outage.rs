//! The database goes away under load and comes back (issue 21, row 1).
//!
//! A PostgreSQL server of the test's own (`e2e::pg`) is stopped with a fast
//! shutdown while three clients upload (retrying, as a client should, with
//! the same `Idempotency-Key` after a 503) and two read, then started again.
//! The same vault process must: refuse with 503 + `Retry-After` within its
//! connection timeout (never a 500, never a hang), say so on `/readyz`
//! within 2 s, serve again on its own once the database is back, and have
//! lost none of the uploads it acknowledged nor stored any twice.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use e2e::{Api, Server, demo, doc_of, multipart, multipart_content_type, pg::PgServer, run};
use serde_json::Value;

/// One answer a client got.
#[derive(Debug, Clone)]
struct Seen {
    sent: Instant,
    took: Duration,
    /// `None`: no HTTP answer at all (connection error, client timeout).
    status: Option<u16>,
    retry_after: bool,
    code: String,
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    acked: Vec<Acked>,
}

/// An acknowledged upload.
#[derive(Debug, Clone)]
struct Acked {
    key: String,
    piece: String,
    version: String,
    number: i64,
    seed: u64,
}

async fn seen(sent: Instant, r: reqwest::Result<reqwest::Response>) -> (Seen, Option<Value>) {
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            let body: Option<Value> = r.json().await.ok();
            let code = body.as_ref().and_then(|b| b["error"]["code"].as_str()).unwrap_or_default().to_owned();
            (Seen { sent, took: sent.elapsed(), status: Some(status), retry_after, code }, body)
        }
        Err(_) => (Seen { sent, took: sent.elapsed(), status: None, retry_after: false, code: String::new() }, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_stops_and_starts_under_load_and_nothing_acknowledged_is_lost() {
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    // A short connection timeout keeps the test short; production's is 5 s.
    let env = [("VAULT_DATABASE_URL", url.as_str()), ("VAULT_DATABASE_TIMEOUT_SECONDS", "2")];
    assert!(run(dir.path(), &env, &["migrate"]).status.success());
    let d = demo(dir.path(), &env);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let mut server = Server::start(dir.path(), &env);
    let api = Api::new(&server, &token);
    let known = api.upload_ok(&nu, "identite", &doc_of(40_000, 1)).await;
    let versions_before = api.versions_of(&nu, "ressources").await;

    let log: Arc<Mutex<Log>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut clients = Vec::new();
    for c in 0..3u64 {
        let (http, log, done, token) = (http.clone(), Arc::clone(&log), Arc::clone(&done), token.clone());
        let url = server.url(&format!("/api/v1/dossiers/{nu}/pieces"));
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                let (key, seed) = (format!("outage-{c}-{n}"), 1_000 + c * 10_000 + n);
                let sent = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("idempotency-key", &key)
                    .header("content-type", multipart_content_type())
                    .body(multipart("ressources", &doc_of(30_000, seed)))
                    .send()
                    .await;
                let (s, body) = seen(sent, r).await;
                let acked = match (s.status, body) {
                    (Some(200 | 201), Some(b)) => Some(Acked {
                        key,
                        piece: b["piece"]["id"].as_str().unwrap_or_default().to_owned(),
                        version: b["version"]["id"].as_str().unwrap_or_default().to_owned(),
                        number: b["version"]["number"].as_i64().unwrap_or_default(),
                        seed,
                    }),
                    _ => None,
                };
                {
                    let mut l = log.lock().unwrap();
                    l.seen.push(s);
                    if let Some(a) = acked.clone() {
                        l.acked.push(a);
                    }
                }
                if acked.is_some() {
                    n += 1;
                } else {
                    // Refused or cut: the same key again, a little later.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }));
    }
    for _ in 0..2 {
        let (http, log, done, token) = (http.clone(), Arc::clone(&log), Arc::clone(&done), token.clone());
        let paths = [
            server.url(&format!("/api/v1/dossiers/{nu}")),
            server.url(&format!("/api/v1/dossiers/{nu}/pieces/{known}/original")),
        ];
        clients.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let r = http.get(&paths[i % 2]).bearer_auth(&token).send().await;
                let (s, _) = seen(sent, r).await;
                let failed = s.status != Some(200);
                log.lock().unwrap().seen.push(s);
                i += 1;
                if failed {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }));
    }
    let ready: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let prober = {
        let (http, ready, done, url) = (http.clone(), Arc::clone(&ready), Arc::clone(&done), server.url("/readyz"));
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let r = http.get(&url).send().await;
                let (s, _) = seen(sent, r).await;
                ready.lock().unwrap().push(s);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(3)).await;
    let acked_before = log.lock().unwrap().acked.len();
    assert!(acked_before > 0, "no upload went through before the outage");
    let stopping = Instant::now();
    tokio::task::block_in_place(|| pg.stop());
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let restarting = Instant::now();
    tokio::task::block_in_place(|| pg.start_again());
    let up = Instant::now();
    // Recovery: until an upload sent after the database came back is acknowledged.
    let acked_at_restart = log.lock().unwrap().acked.len();
    let recovered = loop {
        if log.lock().unwrap().acked.len() > acked_at_restart {
            break up.elapsed();
        }
        assert!(up.elapsed() < Duration::from_secs(30), "no upload acknowledged 30 s after the database came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    done.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    prober.await.unwrap();

    // The same process served throughout: it never exited.
    assert!(server.is_running(), "the vault exited during the outage:\n{}", server.log());
    let log = std::mem::take(&mut *log.lock().unwrap());
    let during: Vec<&Seen> = log.seen.iter().filter(|s| s.sent >= stopping && s.sent < up).collect();
    let refused: Vec<&&Seen> = during.iter().filter(|s| s.status == Some(503)).collect();
    for s in &log.seen {
        // The connection timeout (2 s) bounds the wait; an upload's own
        // work adds a little.
        assert!(s.took < Duration::from_secs(8), "a request hung for {:?}: {s:?}", s.took);
        match s.status {
            Some(200 | 201) => {}
            Some(503) => {
                assert!(s.retry_after, "503 without Retry-After: {s:?}");
                assert_eq!(s.code, "database_unavailable", "{s:?}");
            }
            other => panic!("an answer other than success or 503: {other:?} {s:?}\n{}", server.log()),
        }
    }
    assert!(refused.len() >= 5, "only {} requests refused during the outage", refused.len());
    let ready = std::mem::take(&mut *ready.lock().unwrap());
    // Probes wholly inside the outage (one still waiting when the database
    // came back may rightly answer 200).
    let ready_down: Vec<&Seen> = ready.iter().filter(|s| s.sent >= down && s.sent + s.took < restarting).collect();
    // Each probe waits up to its 1.5 s bound, then 250 ms: about 5 in 8 s.
    assert!(ready_down.len() >= 3, "{} readiness probes during the outage", ready_down.len());
    for s in &ready_down {
        assert_eq!(s.status, Some(503), "/readyz during the outage: {s:?}");
        assert!(s.took < Duration::from_secs(2), "/readyz took {:?} during the outage", s.took);
    }
    let slowest_ready = ready_down.iter().map(|s| s.took).max().unwrap_or_default();
    assert!(!server.log().contains("panicked"), "{}", server.log());

    // Nothing acknowledged lost, nothing stored twice.
    let acked = log.acked.clone();
    let mut keys: Vec<&str> = acked.iter().map(|a| a.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), acked.len(), "a key acknowledged twice");
    let mut versions: Vec<&str> = acked.iter().map(|a| a.version.as_str()).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), acked.len(), "two keys answered with the same version");
    assert_eq!(
        api.versions_of(&nu, "ressources").await,
        versions_before + acked.len(),
        "versions stored ≠ acknowledged"
    );
    for a in &acked {
        assert!(api.original_version(&nu, &a.piece, a.number).await == doc_of(30_000, a.seed), "{a:?}: bytes differ");
    }
    server.terminate();

    // Uploads cut by the outage left objects without rows: orphans, which
    // `gc` collects; no row points at a missing object.
    let check = run(dir.path(), &env, &["check"]);
    let err = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(check.status.success() && err.contains("0 missing"), "{err}");
    let gc = run(dir.path(), &env, &["gc", "--grace-hours", "0"]);
    let gc_err = String::from_utf8_lossy(&gc.stderr).into_owned();
    assert!(gc.status.success(), "{gc_err}");
    assert!(run(dir.path(), &env, &["check"]).status.success());

    eprintln!(
        "database outage: stopped in {:?}, down {:?}; {} requests sent during it: {} answered 503 with Retry-After, \
         0 other errors, slowest answer {:?}; /readyz 503 in at most {:?} ({} probes); serving again {:?} after \
         the database was; {} uploads acknowledged ({} during or after), 0 lost, 0 duplicated; gc: {}",
        down - stopping,
        restarting - down,
        during.len(),
        refused.len(),
        during.iter().map(|s| s.took).max().unwrap_or_default(),
        slowest_ready,
        ready_down.len(),
        recovered,
        acked.len(),
        acked.len() - acked_before,
        gc_err.lines().last().unwrap_or_default()
    );
}
