//! The intake worker as the server runs it: a separate, confined process.
//! Hostile documents are refused or neutralised; renditions pass tools we
//! did not write (qpdf, poppler's pdftoppm); a decompression bomb, a worker
//! that runs out of memory or time, all end as a clear 422 while the
//! server (this test process) carries on.

use std::{path::PathBuf, process::Command, time::Duration};

use bytes::Bytes;
use vault::{config::IntakeConfig, error::Error, sandbox::Sandbox};

fn config() -> IntakeConfig {
    IntakeConfig {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_dnu-vault")),
        memory_mib: 512,
        cpu_seconds: 30,
        timeout: Duration::from_secs(60),
        workers: 2,
        max_pages: 200,
    }
}

fn sandbox() -> Sandbox {
    Sandbox::new(&config())
}

/// A one-page PDF with text, a JavaScript open action and a link.
pub fn hostile_pdf() -> Vec<u8> {
    let content = "BT /F1 36 Tf 72 700 Td (DNU MARKER) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> \
         /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 99 99] /A << /S /URI /URI (http://x) >> >>] >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    pdf(&objects)
}

fn pdf(objects: &[String]) -> Vec<u8> {
    intake::sample::pdf(&objects.iter().map(|o| o.as_bytes().to_vec()).collect::<Vec<_>>())
}

/// A zlib stream that inflates to `mib` MiB of zeros from a few hundred KiB:
/// one fully flushed block of 1 MiB repeated (each stands alone), then the
/// end and the right Adler-32.
fn flate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut block = Vec::with_capacity(4096);
    c.compress_vec(&zeros, &mut block, FlushCompress::Full).unwrap();
    let mut out = vec![0x78, 0xDA];
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&[0x03, 0x00]); // final, empty fixed-Huffman block
    let n = (mib as u64) << 20;
    let (a, b) = (1u64, n % 65_521);
    out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    out
}

fn unprocessable(r: Result<vault::sandbox::Rendered, Error>) -> (String, String) {
    match r {
        Err(Error::Unprocessable { code, message }) => (code.as_str().to_owned(), message),
        Err(other) => panic!("expected 422, got {other:?}"),
        Ok(_) => panic!("expected a refusal"),
    }
}

#[tokio::test]
async fn renditions_pass_qpdf_and_render_with_poppler() {
    let dir = tempfile::tempdir().unwrap();
    let r = sandbox().render(Bytes::from(hostile_pdf())).await.unwrap();
    assert_eq!((r.media_type.as_str(), r.pages), ("application/pdf", 1));
    for word in ["JavaScript", "OpenAction", "/URI", "Annots", "DNU MARKER"] {
        assert!(!r.rendition.windows(word.len()).any(|w| w == word.as_bytes()), "{word} survived");
    }
    let path = dir.path().join("rendition.pdf");
    std::fs::write(&path, &r.rendition).unwrap();
    let check = Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf is installed (.ci/run)");
    assert!(check.status.success(), "qpdf --check: {}", String::from_utf8_lossy(&check.stdout));
    let out = dir.path().join("page");
    let render = Command::new("pdftoppm").args(["-r", "30", "-png"]).arg(&path).arg(&out).output().expect("pdftoppm");
    assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
    let pages = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("page"));
    assert_eq!(pages.count(), 1);
}

#[tokio::test]
async fn password_protection_is_named_and_an_empty_password_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pdf");
    std::fs::write(&plain, hostile_pdf()).unwrap();
    let locked = dir.path().join("locked.pdf");
    let st = Command::new("qpdf").args(["--encrypt", "secret", "owner", "256", "--"]).arg(&plain).arg(&locked).status();
    assert!(st.unwrap().success());
    let (code, msg) = unprocessable(sandbox().render(Bytes::from(std::fs::read(&locked).unwrap())).await);
    assert_eq!(code, "password_protected");
    assert!(msg.contains("remove the password"), "{msg}");
    // Encrypted without a user password (common for "protected" tax notices).
    let open = dir.path().join("open.pdf");
    let st = Command::new("qpdf").args(["--encrypt", "", "owner", "256", "--"]).arg(&plain).arg(&open).status();
    assert!(st.unwrap().success());
    let r = sandbox().render(Bytes::from(std::fs::read(&open).unwrap())).await.unwrap();
    assert_eq!(r.pages, 1);
}

#[tokio::test]
async fn a_decompression_bomb_stops_at_the_worker_memory_limit() {
    let bomb = flate_bomb(2048);
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let doc = intake::sample::pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
        intake::sample::stream("/Filter /FlateDecode", &bomb),
    ]);

    let limit_mib = 512;
    let result = Sandbox { memory_mib: limit_mib, ..sandbox() }.render(Bytes::from(doc.clone())).await;
    // Refused (the worker died at its limit) or neutralised (the renderer
    // gave up on the stream): never more memory than the limit.
    match result {
        Ok(r) => assert_eq!(r.pages, 1),
        Err(Error::Unprocessable { message, .. }) => assert!(message.contains("could not be read safely"), "{message}"),
        Err(other) => panic!("{other:?}"),
    }
    // The worker's own peak, measured by GNU time (a child's getrusage seen
    // from this large test process would report this process's peak: Linux
    // charges the spawning process's memory to a vforked child until exec).
    let dir = tempfile::tempdir().unwrap();
    let (input, report) = (dir.path().join("bomb.pdf"), dir.path().join("peak"));
    // What the server writes to a worker: the document, framed.
    let mut framer = vault::sandbox::frames::Framer::default();
    let framed: Vec<u8> = [framer.begin_file(), framer.data(&doc), framer.flush()].concat().concat();
    std::fs::write(&input, &framed).unwrap();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_dnu-vault"))
        .args(["intake-worker", &format!("--memory-mib={limit_mib}"), &format!("--max-input-bytes={}", framed.len())])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("GNU time is installed (.ci/run)");
    let text = std::fs::read_to_string(&report).unwrap();
    let peak_kib: u64 = text.lines().last().unwrap().trim().parse().unwrap_or_else(|_| panic!("{text}"));
    assert!(peak_kib <= limit_mib * 1024, "the worker peaked at {peak_kib} KiB ({status:?})");
    // It did work on the bomb: more than the few MiB a worker starts with.
    assert!(peak_kib > 100 * 1024, "the worker stopped at {peak_kib} KiB: did it read the stream?");
}

#[tokio::test]
async fn a_worker_that_crashes_or_hangs_is_a_refusal_not_an_outage() {
    // Too little memory to even start: the worker dies.
    let (code, msg) = unprocessable(Sandbox { memory_mib: 4, ..sandbox() }.render(Bytes::from(hostile_pdf())).await);
    assert_eq!(code, "unreadable_document", "{msg}");
    // No time at all: the wall-clock limit kills it.
    let (code, msg) =
        unprocessable(Sandbox { wall: Duration::from_millis(1), ..sandbox() }.render(Bytes::from(hostile_pdf())).await);
    assert!(code == "unreadable_document" && msg.contains("too long"), "{code}: {msg}");
    // And the next document is served as usual.
    assert_eq!(sandbox().render(Bytes::from(hostile_pdf())).await.unwrap().pages, 1);
    // Not a document at all: 415 with what to send.
    match sandbox().render(Bytes::from_static(b"MZ\x90\0 not a document")).await {
        Err(Error::UnsupportedMediaType(m)) => assert!(m.contains("PDF, JPEG, PNG, TIFF or HEIC"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_slow_upload_does_not_hold_the_only_worker_slot() {
    let one = Sandbox::new(&IntakeConfig { workers: 1, ..config() });
    let doc = hostile_pdf();
    // An upload still arriving (a slow connection)…
    let mut slow = one.start(doc.len() as u64);
    slow.begin_file().await;
    slow.feed(&doc[..100]).await;
    // …does not keep a complete one from being read.
    let quick = tokio::time::timeout(Duration::from_secs(30), one.render(Bytes::from(doc.clone()))).await;
    assert_eq!(quick.expect("the slot was held by an upload still arriving").unwrap().pages, 1);
    slow.feed(&doc[100..]).await;
    assert_eq!(slow.finish(&[]).await.unwrap().pages, 1);
}

/// A scanner's 12-page PDF (300-dpi greyscale pages with paper grain) is
/// rendered whole by the real worker, which works its pages on several
/// threads inside the jail: the threads' allocations and start-up stay
/// within what the jail lets through (a thread's own allocator arena, once
/// shrunk, had glibc open a file and the jail kill the worker).
#[tokio::test]
async fn a_many_page_scan_is_rendered_on_the_workers_threads_inside_the_jail() {
    let mut seed = 0x2545_F491u32;
    let pages: Vec<intake::PageImage> = (0..12)
        .map(|_| {
            let pixels = image::GrayImage::from_fn(2480, 3508, |x, y| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let ink = (y / 40) % 2 == 0 && (x / 90) % 3 != 0;
                image::Luma([if ink { 30 } else { 230 } + (seed % 12) as u8])
            });
            intake::PageImage::Gray { pixels, dpi: 300.0 }
        })
        .collect();
    let scan = intake::build_pdf(&pages).unwrap();
    drop(pages);
    let r = sandbox().render(Bytes::from(scan)).await.unwrap();
    assert_eq!((r.media_type.as_str(), r.pages), ("application/pdf", 12));
    let rendition = intake::compose::Rendition::open(&r.rendition).unwrap();
    assert_eq!(rendition.len(), 12, "the rendition in the vault's own shape, every page");
}
