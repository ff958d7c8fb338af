//! Load generator for `bench/cluster.sh`: uploads N distinct documents of a
//! given size to one dossier with C uploads in flight, and prints the rate.
//!
//!   upload_load BASE_URL TOKEN NU COUNT CONCURRENCY SIZE_BYTES SEED
//!
//! Documents are generated before the clock starts (each different, so the
//! vault's de-duplication never short-cuts an upload). Prints one line:
//! `uploads=N seconds=S per_second=R failed=F`.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Instant};

use e2e::{multipart, multipart_content_type};
use tokio::sync::Semaphore;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 8 {
        eprintln!("usage: upload_load BASE_URL TOKEN NU COUNT CONCURRENCY SIZE_BYTES SEED");
        std::process::exit(2);
    }
    let (base, token, nu) = (a[1].clone(), a[2].clone(), a[3].clone());
    let count: u64 = a[4].parse().unwrap();
    let conc: usize = a[5].parse().unwrap();
    let size: usize = a[6].parse().unwrap();
    let seed: u64 = a[7].parse().unwrap();
    let bodies: Vec<Vec<u8>> =
        (0..count).map(|i| multipart("ressources", &intake::sample::padded_pdf(size, seed * 1_000_000 + i))).collect();
    let http = reqwest::Client::new();
    let permits = Arc::new(Semaphore::new(conc));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for body in bodies {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (http, url, token) = (http.clone(), format!("{base}/api/v1/dossiers/{nu}/pieces"), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", multipart_content_type())
                .body(body)
                .send()
                .await;
            drop(permit);
            match r {
                Ok(r) if r.status() == 201 => None,
                Ok(r) => Some(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                Err(e) => Some(e.to_string()),
            }
        }));
    }
    let mut failed = 0;
    for t in tasks {
        if let Some(why) = t.await.unwrap() {
            if failed == 0 {
                eprintln!("upload failed: {why}");
            }
            failed += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("uploads={count} seconds={secs:.3} per_second={:.2} failed={failed}", count as f64 / secs);
    if failed > 0 {
        std::process::exit(1);
    }
}
