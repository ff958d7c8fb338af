//! SIGKILL during uploads: every upload that got 201 reads back
//! byte-identical after a restart, and no row points at a missing object.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use e2e::{Api, Server, demo, doc_of, multipart, multipart_content_type, run};

#[tokio::test]
async fn killed_during_uploads_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let mut server = Server::start(dir.path(), &[]);
    let url = server.url(&format!("/api/v1/dossiers/{nu}/pieces"));

    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let (url, token, acked) = (url.clone(), token.clone(), Arc::clone(&acked));
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..10_000u64 {
                let seed = w * 100_000 + i;
                let len = 20_000 + (seed * 7919 % 3_000_000) as usize;
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", multipart_content_type())
                    .body(multipart("ressources", &doc_of(len, seed)))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let v: serde_json::Value = match r.json().await {
                            Ok(v) => v,
                            Err(_) => break,
                        };
                        acked.lock().unwrap().push((v["piece"]["id"].as_str().unwrap().to_owned(), seed));
                    }
                    // Killed mid-request: not acknowledged, the client knows to retry.
                    _ => break,
                }
            }
        }));
    }
    // Let uploads run, then kill the server without warning.
    let start = std::time::Instant::now();
    while acked.lock().unwrap().len() < 12 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 12, "only {} uploads acknowledged before the kill", acked.len());

    let server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    for (piece, seed) in &acked {
        let len = 20_000 + (seed * 7919 % 3_000_000) as usize;
        assert!(api.original(&nu, piece).await == doc_of(len, *seed), "piece {piece} differs");
    }
    drop(server);

    // No row points at a missing object; deep check decrypts everything.
    let check = run(dir.path(), &[], &["check", "--deep"]);
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "check failed: {err}");
    assert!(err.contains("0 missing") && err.contains("0 corrupt"), "{err}");
    // Orphans of interrupted uploads are collected, and the check stays clean.
    let gc = run(dir.path(), &[], &["gc", "--grace-hours", "0"]);
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    assert!(run(dir.path(), &[], &["check"]).status.success());
}
