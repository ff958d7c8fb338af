//! Silent corruption of objects nobody reads (issue 21, row 7).
//!
//! Three dossiers hold 12 versions, 36 stored objects (each version's
//! original, rendition and thumbnail). With the vault stopped, one byte is
//! flipped in 10 of them, on disk, as a failing disk would. The vault then
//! serves with a scrubber cycle of 15 s and nobody reads anything: the
//! scrubber must find 10 of 10 within the cycle, each once, as a metric,
//! an audit event the applicant sees and a line of `check` naming the
//! dossier and the piece.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use e2e::{Api, Server, demo, doc_of, files_under, run};
use serde_json::Value;

const CYCLE_S: u64 = 15;

#[tokio::test]
async fn ten_silent_corruptions_are_found_within_one_scrubbing_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let mut dossiers =
        vec![(d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned(), d["dossiers"][0]["applicant"].clone())];
    let mut server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    for _ in 0..2 {
        let r: Value = api.register().await.unwrap().json().await.unwrap();
        e2e::logs::watch_json(&r);
        dossiers.push((r["numero_unique"].as_str().unwrap().to_owned(), r["applicant"].clone()));
    }
    let mut seed = 0;
    for (nu, _) in &dossiers {
        for kind in ["identite", "ressources", "avis_imposition_n1", "handicap"] {
            seed += 1;
            api.upload_ok(nu, kind, &doc_of(30_000, seed)).await;
        }
    }
    server.terminate();

    // Ten of the 36 objects, spread over the dossiers, each with one byte
    // flipped in its middle.
    let mut objects: Vec<PathBuf> = files_under(&dir.path().join("objects/dossiers"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dnuv"))
        .collect();
    objects.sort();
    assert_eq!(objects.len(), 36, "{objects:?}");
    for p in objects.iter().step_by(3).take(10) {
        let mut bytes = std::fs::read(p).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x20;
        std::fs::write(p, bytes).unwrap();
    }
    let corrupted = objects.iter().step_by(3).take(10).count();
    assert_eq!(corrupted, 10);

    let cycle = CYCLE_S.to_string();
    let env = [("VAULT_SCRUB_CYCLE_SECONDS", cycle.as_str())];
    let started = Instant::now();
    let mut server = Server::start(dir.path(), &env);
    let http = reqwest::Client::new();
    let found = loop {
        let n = integrity_failures(&http, &server).await;
        if n >= 10.0 || started.elapsed() > Duration::from_secs(CYCLE_S * 3) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let within = started.elapsed();
    assert_eq!(found, 10.0, "{found} corruptions found in {within:?}:\n{}", server.log());
    assert!(within < Duration::from_secs(CYCLE_S + 5), "found in {within:?}, the cycle is {CYCLE_S} s");
    // A second cycle finds the same ten, not ten more.
    tokio::time::sleep(Duration::from_secs(CYCLE_S + 2)).await;
    assert_eq!(integrity_failures(&http, &server).await, 10.0, "counted twice");

    // The applicants see it in their trace.
    let mut events = 0;
    for (nu, applicant) in &dossiers {
        let session: Value =
            http.post(server.url("/api/v1/session")).json(applicant).send().await.unwrap().json().await.unwrap();
        let me = Api::new(&server, session["token"].as_str().unwrap());
        let trace = me.get(&format!("/api/v1/dossiers/{nu}/audit")).await.unwrap().text().await.unwrap();
        events += trace.matches("piece.integrity_failure").count();
    }
    assert_eq!(events, 10, "audit events");
    server.terminate();

    // `check` names each for the operator, and fails.
    let check = run(dir.path(), &[], &["check"]);
    assert!(!check.status.success());
    let out = String::from_utf8_lossy(&check.stdout);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("scrub: dossier ")).collect();
    assert_eq!(lines.len(), 10, "{out}");
    for l in &lines {
        assert!(dossiers.iter().any(|(nu, _)| l.contains(nu.as_str())) && l.contains("corrupt"), "{l}");
    }
    // By hand: the same ten, none new.
    let scrub = run(dir.path(), &[], &["scrub", "--all"]);
    let err = String::from_utf8_lossy(&scrub.stderr);
    assert!(
        !scrub.status.success() && err.contains("36 objects") && err.contains("10 failed verification (0 new)"),
        "{err}"
    );
    eprintln!(
        "scrubbing: 10 of 10 silent corruptions among 36 objects found {within:?} after start (cycle {CYCLE_S} s), \
         each once: metric 10, 10 audit events, 10 lines of `check` with dossier and piece; `scrub --all`: {}",
        err.lines().find(|l| l.starts_with("scrubbed")).unwrap_or_default()
    );
}

async fn integrity_failures(http: &reqwest::Client, server: &Server) -> f64 {
    let text = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("dnu_vault_integrity_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}
