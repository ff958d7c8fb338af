//! Encrypt-and-store throughput against a plain copy and against `rage`,
//! measured in the same run on the same file (ratios, not absolute times);
//! each stage alone (read, SHA-256, seal, store write), to see which one
//! limits; and a download (read, authenticate, decrypt) against `cat` of
//! the plain file, both from the device (page cache dropped, root only).
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
use vault::{Config, Vault, app::Schema, crypto::DossierKey, sealed::stage_original};

const RUNS: usize = 5;

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

/// Removes the contenders' outputs and flushes the file system.
fn settle(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("copy.bin"));
    let _ = std::fs::remove_file(dir.join("out.age"));
    let _ = Command::new("sync").arg("-f").arg(dir).status();
    std::thread::sleep(Duration::from_millis(200));
}

/// `cp` (coreutils; `copy_file_range` in the kernel) and an fsync of the copy,
/// since the vault's store fsyncs too.
fn plain_copy(src: &Path, dst: &Path) -> Duration {
    let _ = std::fs::remove_file(dst);
    let t = Instant::now();
    assert!(Command::new("cp").arg(src).arg(dst).status().unwrap().success());
    std::fs::File::open(dst).unwrap().sync_all().unwrap();
    t.elapsed()
}

/// The file as a stream of 256 KiB chunks read by a plain reader thread,
/// as hyper hands an upload's body to the vault.
fn file_stream(src: &Path) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let src = src.to_owned();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(src).unwrap();
        loop {
            let mut buf = bytes::BytesMut::zeroed(256 * 1024);
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf.freeze())).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

async fn vault_store(vault: &Vault, src: &Path) -> Duration {
    let dk = DossierKey::generate(uuid::Uuid::new_v4()).unwrap();
    let t = Instant::now();
    let staged = stage_original(vault, &dk, file_stream(src), u64::MAX, None).await.unwrap();
    let d = t.elapsed();
    staged.discard(vault).await;
    d
}

/// Throughput of each stage alone, in memory, one core (GB/s).
fn components() -> (f64, f64) {
    let data = vec![7u8; 256 << 20];
    let t = Instant::now();
    let mut h = vault::crypto::Sha256::default();
    h.update(&data);
    let _ = h.finish();
    let sha = data.len() as f64 / t.elapsed().as_secs_f64() / 1e9;
    let dk = DossierKey::generate(uuid::Uuid::new_v4()).unwrap();
    let mut sealer = vault::crypto::stream::Sealer::new(&dk, uuid::Uuid::new_v4()).unwrap();
    // As in an upload: sealed bytes go out in ~1 MiB batches, buffer reused.
    let mut out = Vec::with_capacity(2 << 20);
    let t = Instant::now();
    for part in data.chunks(256 * 1024) {
        sealer.push(part, &mut out).unwrap();
        if out.len() >= 1 << 20 {
            out.clear();
        }
    }
    sealer.finish(&mut out).unwrap();
    let seal = data.len() as f64 / t.elapsed().as_secs_f64() / 1e9;
    println!("components, one core, in memory: SHA-256 {sha:.2} GB/s, STREAM seal {seal:.2} GB/s");
    (sha, seal)
}

/// The read stage alone: the input streamed as an upload streams (warm).
async fn read_stage(src: &Path) -> Duration {
    use futures_util::StreamExt;
    let t = Instant::now();
    let mut body = file_stream(src);
    while let Some(chunk) = body.next().await {
        std::hint::black_box(chunk.unwrap());
    }
    t.elapsed()
}

/// The write stage alone: `bytes` of sealed-looking data through the
/// store's own writer, made durable and visible as an upload's is.
async fn write_stage(vault: &Vault, bytes: usize) -> Duration {
    let key = vault::store::ObjectKey::Dossier { dossier: uuid::Uuid::new_v4(), object: uuid::Uuid::new_v4() };
    let block: Vec<u8> = (0..1usize << 20).map(|i| (i * 31 % 251) as u8).collect();
    let t = Instant::now();
    let mut w = vault.store().writer(&key).await.unwrap();
    for _ in 0..bytes >> 20 {
        w.write(block.clone()).await.unwrap();
    }
    w.finish().await.unwrap();
    let d = t.elapsed();
    vault.store().delete(&key).await.unwrap();
    d
}

/// Empties the page cache where the bench may (root); says so otherwise.
fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// A download: the stored object read, authenticated and decrypted to the
/// last byte, as `GET …/original` streams it.
async fn vault_read(vault: &Vault, dk: &DossierKey, object: uuid::Uuid) -> Duration {
    use futures_util::StreamExt;
    let t = Instant::now();
    let mut body = std::pin::pin!(vault::sealed::open_object(vault, dk, object).await.unwrap());
    while let Some(chunk) = body.next().await {
        std::hint::black_box(chunk.unwrap());
    }
    t.elapsed()
}

fn cat(src: &Path) -> Duration {
    let t = Instant::now();
    let out = std::fs::File::create("/dev/null").unwrap();
    assert!(Command::new("cat").arg(src).stdout(out).status().unwrap().success());
    t.elapsed()
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

    let (sha, seal) = components();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let vault = rt.block_on(Vault::open(Config::for_tests(&dir.path().join("vault"), None), Schema::Migrate)).unwrap();

    // Warm the page cache so every contender reads from memory.
    let _ = std::fs::read(&src).map(|v| v.len());
    let (mut copy, mut store, mut rg) = (Vec::new(), Vec::new(), Vec::new());
    // BENCH_ONLY=vault runs the vault alone (for profiling).
    let only_vault = std::env::var("BENCH_ONLY").as_deref() == Ok("vault");
    for _ in 0..RUNS {
        if only_vault {
            let d = rt.block_on(vault_store(&vault, &src));
            println!("vault encrypt+store {:.2} s", d.as_secs_f64());
            continue;
        }
        // Each contender starts with no dirty data and no file of the others
        // left to free, so none pays for another's writeback.
        settle(dir.path());
        copy.push(plain_copy(&src, &dir.path().join("copy.bin")));
        settle(dir.path());
        store.push(rt.block_on(vault_store(&vault, &src)));
        settle(dir.path());
        if let Some(d) = rage(&src, &dir.path().join("out.age")) {
            rg.push(d);
        }
    }
    if only_vault {
        return;
    }
    let (c, s) = (median(copy), median(store));
    println!("plain copy (+fsync)        {:>8.2} s  {:>7.0} MB/s", c.as_secs_f64(), rate(c));
    println!(
        "vault encrypt+store        {:>8.2} s  {:>7.0} MB/s  ratio to copy {:.2} (target >= 0.90)",
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
    // Each stage alone, to see which one limits the end-to-end figure.
    let (mut rd, mut wr) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        rd.push(rt.block_on(read_stage(&src)));
        settle(dir.path());
        wr.push(rt.block_on(write_stage(&vault, mib << 20)));
    }
    println!(
        "stages alone: read {:.0} MB/s (page cache), SHA-256 {:.0} MB/s, seal {:.0} MB/s, store write {:.0} MB/s (+fsync)",
        rate(median(rd)),
        sha * 1e3,
        seal * 1e3,
        rate(median(wr))
    );

    // Downloads: the object read back and decrypted, against `cat` of the
    // plain file, each from the device (page cache dropped) where allowed.
    let dk = DossierKey::generate(uuid::Uuid::new_v4()).unwrap();
    let staged = rt.block_on(stage_original(&vault, &dk, file_stream(&src), u64::MAX, None)).unwrap();
    let (mut plain, mut down) = (Vec::new(), Vec::new());
    let mut cold = true;
    for _ in 0..RUNS {
        cold &= drop_caches();
        plain.push(cat(&src));
        cold &= drop_caches();
        down.push(rt.block_on(vault_read(&vault, &dk, staged.key.object())));
    }
    rt.block_on(staged.discard(&vault));
    let (p, d) = (median(plain), median(down));
    let from =
        if cold { "from the device, page cache dropped" } else { "page cache NOT dropped (not root): from memory" };
    println!("cat > /dev/null            {:>8.2} s  {:>7.0} MB/s  ({from})", p.as_secs_f64(), rate(p));
    println!(
        "vault read+decrypt         {:>8.2} s  {:>7.0} MB/s  ratio to cat {:.2} (target >= 0.90)",
        d.as_secs_f64(),
        rate(d),
        p.as_secs_f64() / d.as_secs_f64()
    );
    println!("median of {RUNS} runs each, interleaved");
}
