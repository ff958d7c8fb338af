//! The purge of one dossier of 20 pieces on Garage: its key shredded, its
//! 60 objects (originals, renditions, thumbnails) deleted from the store,
//! its metadata erased in one transaction, a tombstone left.
//!
//! `cargo bench -p vault --bench purge` (needs `garage`, which
//! `tests/run.sh` installs; BENCH_PURGES, default 5). Each round registers
//! a dossier, uploads 20 pieces through safe intake, radiates it (not
//! timed), then times `jobs::purge::purge` a year and a day later.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/it/common.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use std::time::{Duration, Instant};

use serde_json::json;

fn main() {
    let rounds: usize = std::env::var("BENCH_PURGES").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let Some(garage) = common::s3_servers().await.into_iter().find(|s| s.name == "garage") else {
            println!("no garage binary: install it (cargo install garage --locked) to run this benchmark");
            return;
        };
        let app = common::TestApp::builder().s3(garage.bucket().await).build().await;
        let later = vault::clock::today() + time::Duration::days(366);
        let mut times = Vec::new();
        let mut objects = 0;
        for round in 0..rounds {
            let nu = app.register().await;
            for i in 0..20u8 {
                app.upload_ok(&nu, &common::doc_of(100_000, round as u8 * 20 + i)).await;
            }
            let r = app.post_json(&format!("/api/v1/dossiers/{nu}/radiate"), &app.guichet_token, json!({"reason": "attribution"})).await;
            assert_eq!(r.status, axum::http::StatusCode::OK);
            let t = Instant::now();
            let report = vault::jobs::purge::purge(&app.vault, later, false).await.unwrap();
            times.push(t.elapsed());
            assert_eq!(report.purged, 1);
            objects = report.objects;
            assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.status, axum::http::StatusCode::GONE);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "purge of one dossier of 20 pieces ({objects} objects) on Garage, SQLite metadata: median {:.0} ms, min {:.0} ms, max {:.0} ms over {rounds} rounds",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    });
}
