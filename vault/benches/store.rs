//! Encrypt-and-store throughput against a plain copy and against `rage`,
//! measured in the same run on the same file (ratios, not absolute times).
//!
//! `cargo bench -p vault --bench store` (BENCH_SIZE_MIB, default 1024;
//! BENCH_DIR, default the system temporary directory). `rage` must be on
//! PATH for the third figure (`cargo install rage`). See `bench/run.sh`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    io::Write,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use bytes::Bytes;
use vault::{
    Config, Vault,
    app::Schema,
    crypto::DossierKey,
    pieces::stage_original,
};

const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn make_input(path: &Path, mib: usize) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for w in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    f.get_ref().sync_all().unwrap();
}

fn plain_copy(src: &Path, dst: &Path) -> Duration {
    let _ = std::fs::remove_file(dst);
    let t = Instant::now();
    std::fs::copy(src, dst).unwrap();
    std::fs::File::open(dst).unwrap().sync_all().unwrap();
    t.elapsed()
}

async fn vault_store(vault: &Vault, src: &Path) -> Duration {
    let dk = DossierKey::generate(uuid::Uuid::new_v4()).unwrap();
    let t = Instant::now();
    let file = tokio::fs::File::open(src).await.unwrap();
    let body = Box::pin(futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    }));
    let staged = stage_original(vault, &dk, body, u64::MAX).await.unwrap();
    let d = t.elapsed();
    staged.discard(vault).await;
    d
}

fn rage(src: &Path, dst: &Path) -> Option<Duration> {
    let keygen = Command::new("rage-keygen").output().ok()?;
    let text = String::from_utf8_lossy(&keygen.stdout).into_owned() + &String::from_utf8_lossy(&keygen.stderr);
    let recipient = text.split_whitespace().find(|w| w.starts_with("age1"))?.to_owned();
    let _ = std::fs::remove_file(dst);
    let t = Instant::now();
    let ok = Command::new("rage").arg("-r").arg(&recipient).arg("-o").arg(dst).arg(src).status().ok()?.success();
    std::fs::File::open(dst).ok()?.sync_all().ok()?;
    ok.then(|| t.elapsed())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to filter here.
    let mib: usize = std::env::var("BENCH_SIZE_MIB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let base = std::env::var("BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    let dir = tempfile::tempdir_in(base).unwrap();
    let src = dir.path().join("input.bin");
    println!("input: {mib} MiB of pseudo-random bytes in {}", dir.path().display());
    make_input(&src, mib);
    let bytes = (mib as f64) * 1024.0 * 1024.0;
    let rate = |d: Duration| bytes / d.as_secs_f64() / 1e6;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let vault = rt.block_on(Vault::open(Config::for_tests(&dir.path().join("vault"), None), Schema::Migrate)).unwrap();

    // Warm the page cache so every contender reads from memory.
    let _ = std::fs::read(&src).map(|v| v.len());
    let (mut copy, mut store, mut rg) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        copy.push(plain_copy(&src, &dir.path().join("copy.bin")));
        store.push(rt.block_on(vault_store(&vault, &src)));
        if let Some(d) = rage(&src, &dir.path().join("out.age")) {
            rg.push(d);
        }
    }
    let (c, s) = (median(copy), median(store));
    println!("plain copy (+fsync)        {:>8.2} s  {:>7.0} MB/s", c.as_secs_f64(), rate(c));
    println!(
        "vault encrypt+store        {:>8.2} s  {:>7.0} MB/s  ratio to copy {:.2} (target >= 0.80)",
        s.as_secs_f64(),
        rate(s),
        c.as_secs_f64() / s.as_secs_f64()
    );
    if rg.is_empty() {
        println!("rage                       not found on PATH: `cargo install rage` to compare");
    } else {
        let r = median(rg);
        println!(
            "rage -r (+fsync)           {:>8.2} s  {:>7.0} MB/s  vault/rage {:.2} (target >= 2.00)",
            r.as_secs_f64(),
            rate(r),
            r.as_secs_f64() / s.as_secs_f64()
        );
    }
    println!("median of {RUNS} runs each, interleaved");
}
