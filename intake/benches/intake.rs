//! Intake throughput, in pages per second, against tools we did not write
//! doing comparable work on the same files in the same run:
//!
//! * a 20-page scanned PDF (A4 greyscale JPEG pages at 300 dpi): the vault's
//!   intake (parse, rasterise at 150 dpi, JPEG, rebuild, thumbnail) against
//!   poppler's `pdftoppm -r 150 -jpeg` (parse, rasterise, JPEG only);
//! * a 12-megapixel phone photo (4000×3000 JPEG): intake (decode, orient,
//!   scale, re-encode, rebuild, thumbnail) against ImageMagick's
//!   `convert -auto-orient -strip` re-encoding it (decode and re-encode only).
//!
//! Each is timed in process (`intake::process`, on as many threads as the
//! worker takes) and, when DNU_VAULT_BIN names
//! a built `dnu-vault`, as the server runs it: one confined worker process
//! per document (`dnu-vault intake-worker`, start-up and confinement
//! included). Medians of BENCH_RUNS runs (default 5), interleaved.
//!
//! `bench/intake.sh` builds everything and runs this; or
//! `cargo bench -p intake --bench intake`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use image::{Rgb, RgbImage};
use intake::{Limits, PageImage};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A 12-megapixel photo-like image: smooth gradients and texture.
fn photo() -> RgbImage {
    RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27;
        Rgb([(x / 16 + n) as u8, (y / 12 + n) as u8, ((x + y) / 28) as u8])
    })
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// One file as the server frames it for the worker
/// (`vault/src/sandbox/frames.rs`): a file, its bytes, no turn.
fn framed(doc: &[u8]) -> Vec<u8> {
    let mut out = vec![b'F'];
    for part in doc.chunks(64 << 10) {
        out.push(b'D');
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&[b'T', 1, 0]);
    out
}

fn through_worker(bin: &Path, doc: &[u8]) {
    let doc = framed(doc);
    let mut child = Command::new(bin)
        .args(["intake-worker", "--memory-mib=2048", "--cpu-seconds=120"])
        .arg(format!("--max-input-bytes={}", doc.len()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&doc));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success() && out.stdout.starts_with(b"{\"answer\":\"accepted\""), "worker refused the document");
}

fn run_tool(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn report(what: &str, pages: usize, ours: Duration, worker: Option<Duration>, peer: Duration, peer_name: &str) {
    let pps = |d: Duration| pages as f64 / d.as_secs_f64();
    println!("{what}");
    println!("  intake in process    {:>8.3} s  {:>6.2} pages/s", ours.as_secs_f64(), pps(ours));
    if let Some(w) = worker {
        println!("  intake worker        {:>8.3} s  {:>6.2} pages/s", w.as_secs_f64(), pps(w));
    }
    println!("  {peer_name:<20} {:>8.3} s  {:>6.2} pages/s", peer.as_secs_f64(), pps(peer));
    let through = worker.unwrap_or(ours);
    println!(
        "  ratio: intake {} is {:.2}x the pages/s of {peer_name}",
        if worker.is_some() { "(worker)" } else { "(in process)" },
        peer.as_secs_f64() / through.as_secs_f64()
    );
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let worker_bin = std::env::var_os("DNU_VAULT_BIN").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    // In process on as many threads as the worker takes (its MAX_THREADS).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let limits = Limits { threads, ..Limits::default() };

    // The scanned PDF: 20 greyscale pages at 300 dpi, as a scanner's PDF.
    let pages: Vec<PageImage> =
        (0..20).map(|i| PageImage::Gray { pixels: intake::sample::scanned_page(i), dpi: 300.0 }).collect();
    let scan = intake::build_pdf(&pages).unwrap();
    drop(pages);
    let scan_path = dir.path().join("scan.pdf");
    std::fs::write(&scan_path, &scan).unwrap();
    println!("inputs: 20-page scanned PDF {:.1} MB", scan.len() as f64 / 1e6);

    // The phone photo: a 12 MP JPEG as a phone writes it.
    let photo_jpeg = PageImage::Rgb { pixels: photo(), dpi: 72.0 }.jpeg(90).unwrap();
    let photo_path = dir.path().join("photo.jpg");
    std::fs::write(&photo_path, &photo_jpeg).unwrap();
    println!("        12 MP phone photo {:.1} MB; {runs} runs each, median\n", photo_jpeg.len() as f64 / 1e6);

    let out = dir.path().join("out");
    let (mut ours, mut worker, mut peer) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(time(1, || assert_eq!(intake::process(&scan, &limits).unwrap().pages, 20)));
        if let Some(bin) = &worker_bin {
            worker.push(time(1, || through_worker(bin, &scan)));
        }
        peer.push(time(1, || {
            run_tool(Command::new("pdftoppm").args(["-r", "150", "-jpeg"]).arg(&scan_path).arg(&out))
        }));
    }
    let worker_t = (!worker.is_empty()).then(|| median(worker.clone()));
    report("20-page scanned PDF", 20, median(ours), worker_t, median(peer), "pdftoppm -jpeg");

    let (mut ours, mut worker, mut peer) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(time(1, || assert_eq!(intake::process(&photo_jpeg, &limits).unwrap().pages, 1)));
        if let Some(bin) = &worker_bin {
            worker.push(time(1, || through_worker(bin, &photo_jpeg)));
        }
        peer.push(time(1, || {
            run_tool(
                Command::new("convert")
                    .arg(&photo_path)
                    .args(["-auto-orient", "-strip", "-quality", "82"])
                    .arg(dir.path().join("photo-out.jpg")),
            )
        }));
    }
    let worker_t = (!worker.is_empty()).then(|| median(worker.clone()));
    report("\n12 MP phone photo", 1, median(ours), worker_t, median(peer), "convert (ImageMagick)");
}
