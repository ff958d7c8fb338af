//! Group commit of audit events (issue 20): rendition reads through the
//! real router, each committing its `piece.read_rendition` event before
//! its first byte, at 1, 8, 32 and 128 concurrent readers, with the events
//! of readers arriving together sharing a commit (the default) against
//! each event committed alone (`VAULT_AUDIT_BATCH=1`, how the vault ran
//! before), in the same run and on the same database, alternating.
//!
//! `cargo bench -p vault --bench journal` (SQLite, the embedded default);
//! with `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` also
//! on PostgreSQL (a fresh database `vault_bench_journal_…`, left for
//! inspection). `BENCH_SECONDS` per measure, default 3.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Body, http::Request};
use tower::ServiceExt;
use vault::{
    Config, Vault,
    app::Schema,
    auth::new_token,
    db::orgs::NewOrganisation,
    domain::{GuichetCode, OrgKind, Siren, TerritoryCode},
};

const BOUNDARY: &str = "dnuvaultbenchboundary";

/// A one-page text PDF of about `lines` lines (a letter, a notice).
fn document(seed: usize) -> Vec<u8> {
    let mut text = String::from("BT /F1 11 Tf 60 780 Td 14 TL ");
    for l in 0..40 {
        text.push_str(&format!("(Avis {seed} ligne {l} : revenus fiscaux de reference et situation) ' "));
    }
    text.push_str("ET");
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
            .to_vec(),
        intake::sample::stream("", text.as_bytes()),
    ];
    intake::sample::pdf(&objects)
}

async fn call(router: &Router, req: Request<Body>) -> (u16, bytes::Bytes) {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status().as_u16();
    (status, axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap())
}

/// Registers `n` dossiers with one piece each; the rendition URLs.
async fn seed(router: &Router, token: &str, n: usize) -> Vec<String> {
    let mut urls = Vec::new();
    for i in 0..n {
        let req = Request::post("/api/v1/dossiers")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(r#"{"communes":["59183"]}"#))
            .unwrap();
        let (status, body) = call(router, req).await;
        assert_eq!(status, 201);
        let nu =
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["numero_unique"].as_str().unwrap().to_owned();
        let mut form = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nressources\r\n--{BOUNDARY}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"avis.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        form.extend_from_slice(&document(i));
        form.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let req = Request::post(format!("/api/v1/dossiers/{nu}/pieces"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(form))
            .unwrap();
        let (status, body) = call(router, req).await;
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let piece =
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["piece"]["id"].as_str().unwrap().to_owned();
        urls.push(format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition"));
    }
    urls
}

/// Reads per second with `readers` concurrent readers for `secs`.
async fn measure(router: &Router, token: &str, urls: &[String], readers: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for r in 0..readers {
        let (router, stop, done) = (router.clone(), Arc::clone(&stop), Arc::clone(&done));
        let (token, urls) = (token.to_owned(), urls.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let req = Request::get(&urls[i % urls.len()])
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                let (status, body) = call(&router, req).await;
                assert!(status == 200 && body.starts_with(b"%PDF"), "{status}");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let n = done.load(Ordering::Relaxed);
    let elapsed = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / elapsed
}

async fn bench(label: &str, url: Option<String>, secs: f64) {
    let dir = tempfile::tempdir().unwrap();
    let config = |batch: usize| {
        let mut c = Config::for_tests(dir.path(), url.clone());
        // The confined intake worker is the server binary run again.
        c.intake.exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_dnu-vault"));
        c.audit_batch = batch;
        c
    };
    let grouped = Vault::open(config(vault::config::DEFAULT_AUDIT_BATCH), Schema::Migrate).await.unwrap();
    let config = config(1);
    let alone = Vault::open(config, Schema::Migrate).await.unwrap();
    let org = grouped
        .db()
        .insert_organisation(&NewOrganisation {
            siren: Siren::parse("215901836").unwrap(),
            name: "Mairie de Dunkerque".into(),
            kind: OrgKind::Guichet,
            registering: true,
            guichet_code: Some(GuichetCode::parse("DKMAI").unwrap()),
            territory: vec![TerritoryCode::parse("59183").unwrap()],
        })
        .await
        .unwrap();
    let (token, hash) = new_token().unwrap();
    grouped.db().insert_agent(org.id, "bench", &hash, false).await.unwrap();
    let routers = [vault::router::router(grouped.clone()), vault::router::router(alone.clone())];
    let urls = seed(&routers[0], &token, 16).await;
    println!("{label}: rendition reads/s (each event committed before its first byte), {secs} s per measure");
    // Warm both (caches, connections, the intake of nothing: reads only).
    for r in &routers {
        measure(r, &token, &urls, 8, 1.0).await;
    }
    println!("  readers   alone (batch of 1)   grouped   gain   events per commit");
    for readers in [1, 8, 32, 128] {
        let a = measure(&routers[1], &token, &urls, readers, secs).await;
        let before = grouped.db().journal_stats();
        let g = measure(&routers[0], &token, &urls, readers, secs).await;
        let after = grouped.db().journal_stats();
        let per = (after.events - before.events) as f64 / (after.commits - before.commits).max(1) as f64;
        println!("  {readers:>7}   {a:>18.0}   {g:>7.0}   {:>4.2}×   {per:.1}", g / a);
    }
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        bench("SQLite (embedded default, synchronous = FULL)", None, secs).await;
        if let Ok(admin) = std::env::var("BENCH_DATABASE_URL") {
            sqlx::any::install_default_drivers();
            let name = format!("vault_bench_journal_{}", std::process::id());
            let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            bench("PostgreSQL", Some(url), secs).await;
        } else {
            println!("set BENCH_DATABASE_URL=postgres://… to measure on PostgreSQL too");
        }
    });
}
