//! A scanner's PDF is hostile until proven otherwise: it is opened only in
//! a confined worker (`scanner-ingest pdf-worker`, this program run again
//! for each PDF and shut in by [`jail::confine`] before it reads a byte),
//! never in `watch` or `convert`. The worker writes back each page: the
//! page's own JPEG, or rendered pixels (`intake::scan_pdf`).
//!
//! Whatever the worker does — crash, run out of memory or CPU time, hang,
//! print garbage — the caller gets a refusal in French for the batch's
//! quarantine, never a crash or a stall.

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::PathBuf,
    process::{Command, ExitCode, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use intake::{Limits, PageImage, RefusalCode, scan_pdf::ScanPage};
use serde::{Deserialize, Serialize};

/// Pages of one PDF at most (a long duplex stack).
pub const MAX_PAGES: usize = 500;
/// What one page the worker sends back may be, checked before it is
/// decoded or allocated: the limits of any scan file.
const ONE_PAGE: Limits =
    Limits { max_pages: 1, max_pixels: 80_000_000, max_side: 20_000, max_alloc: 1 << 30, threads: 1 };
/// Exit status when confinement itself failed.
const CONFINEMENT_FAILED: u8 = 3;

/// How PDFs are opened: which program to run as the worker, and its limits.
#[derive(Debug, Clone)]
pub struct PdfWorker {
    /// The `scanner-ingest` executable (run with `pdf-worker`).
    pub exe: PathBuf,
    pub memory_mib: u64,
    pub cpu_seconds: u64,
    /// Wall-clock limit for one PDF: a worker stuck without using CPU is
    /// killed too.
    pub wall: Duration,
    /// Largest PDF read.
    pub max_bytes: u64,
}

impl PdfWorker {
    /// This very program as the worker, with the default limits.
    pub fn this_program() -> std::io::Result<Self> {
        Ok(Self::at(std::env::current_exe()?))
    }

    /// `exe` as the worker, with the default limits: 1 GiB, 120 s of CPU,
    /// 300 s in all (a 200-page stack renders in well under a minute).
    pub fn at(exe: PathBuf) -> Self {
        Self { exe, memory_mib: 1024, cpu_seconds: 120, wall: Duration::from_secs(300), max_bytes: 512 << 20 }
    }

    /// Hands each page of `pdf` to `each` as the worker delivers it, in
    /// order; returns their number. The error is a French sentence for the
    /// quarantine's RAISON.txt. Pages come still encoded when it is a JPEG (the caller decodes it where
    /// it cleans it, on any core). Pages handed over before a refusal are
    /// to be dropped by the caller. The wall-clock limit counts only the
    /// time spent waiting for the worker, not the time `each` takes: a
    /// caller cleaning slowly holds the worker back through the pipe, and
    /// that is not the PDF's fault.
    pub fn each_page(&self, pdf: &[u8], each: &mut dyn FnMut(RawPage)) -> Result<usize, String> {
        let mut child = Command::new(&self.exe)
            .arg("pdf-worker")
            .arg("--memory-mib")
            .arg(self.memory_mib.to_string())
            .arg("--cpu-seconds")
            .arg(self.cpu_seconds.to_string())
            .arg("--max-bytes")
            .arg(self.max_bytes.to_string())
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("le programme d'ouverture des PDF n'a pas pu démarrer ({e})"))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("le programme d'ouverture des PDF n'a pas pu démarrer".into());
        };
        let pid = child.id();
        let waiting = Arc::new(Waiting::default());
        let input = pdf.to_vec();
        let feeder = std::thread::spawn(move || {
            // A worker that dies early closes its end: nothing to report here.
            let _ = stdin.write_all(&input);
        });
        let (wall, watched) = (self.wall, Arc::clone(&waiting));
        let watchdog = std::thread::spawn(move || {
            while !watched.done.load(Ordering::Relaxed) {
                if watched.so_far() >= wall {
                    kill(pid);
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        });
        let read = read_answer(BufReader::new(stdout), &waiting, each);
        waiting.done.store(true, Ordering::Relaxed);
        let killed = watchdog.join().unwrap_or(false);
        if read.is_err() {
            kill(pid);
        }
        let _ = feeder.join();
        let status = child.wait();
        match (read, status) {
            (Ok(Answer::Done(pages)), Ok(s)) if s.success() => Ok(pages),
            (Ok(Answer::Refused { code }), _) => Err(in_french(&code)),
            _ if killed => Err(format!(
                "l'ouverture du PDF a dépassé {} secondes : fichier anormal, numérisez le lot à nouveau",
                self.wall.as_secs()
            )),
            (_, Ok(s)) if s.code() == Some(i32::from(CONFINEMENT_FAILED)) => {
                Err("le programme d'ouverture des PDF n'a pas pu s'isoler : PDF non ouvert (voir l'administrateur)"
                    .into())
            }
            _ => Err(
                "ce PDF n'a pas pu être lu (fichier endommagé, ou trop lourd à ouvrir) : numérisez le lot à nouveau"
                    .into(),
            ),
        }
    }
}

/// A page as the worker delivered it: a JPEG still encoded, or pixels.
#[derive(Debug)]
pub enum RawPage {
    Jpeg { bytes: Vec<u8>, dpi: f32 },
    Pixels(PageImage),
}

impl RawPage {
    /// The page's pixels; a JPEG decoded with the limits of any scan file,
    /// at the resolution the PDF draws it at, not its header's.
    pub fn decode(self) -> Result<PageImage, String> {
        match self {
            Self::Pixels(p) => Ok(p),
            Self::Jpeg { bytes, dpi } => {
                let mut decoded = intake::decode_scan(&bytes, &ONE_PAGE).map_err(|e| e.to_string())?;
                match decoded.pop() {
                    Some(PageImage::Gray { pixels, .. }) => Ok(PageImage::Gray { pixels, dpi }),
                    Some(PageImage::Rgb { pixels, .. }) => Ok(PageImage::Rgb { pixels, dpi }),
                    None => Err("a JPEG page without pixels".into()),
                }
            }
        }
    }
}

/// How long the caller has waited for the worker: the time spent reading
/// its answer, not the time spent on the pages between reads.
#[derive(Default)]
struct Waiting {
    done: AtomicBool,
    clock: std::sync::Mutex<(Duration, Option<Instant>)>,
}

impl Waiting {
    fn start(&self) {
        if let Ok(mut c) = self.clock.lock() {
            c.1 = Some(Instant::now());
        }
    }
    fn stop(&self) {
        if let Ok(mut c) = self.clock.lock()
            && let Some(since) = c.1.take()
        {
            c.0 += since.elapsed();
        }
    }
    fn so_far(&self) -> Duration {
        self.clock.lock().map(|c| c.0 + c.1.map_or(Duration::ZERO, |s| s.elapsed())).unwrap_or(Duration::MAX)
    }
}

/// Kills our own child, not yet waited for (so its pid is not reused).
fn kill(pid: u32) {
    use rustix::process::{Pid, Signal, kill_process};
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // Already gone: nothing to kill.
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// One line of the worker's answer, each followed by the bytes it announces.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "snake_case")]
enum Line {
    Jpeg { dpi: f32, len: usize },
    Gray { width: u32, height: u32, dpi: f32 },
    Rgb { width: u32, height: u32, dpi: f32 },
    Done { pages: usize },
    Refused { code: String, message: String },
}

enum Answer {
    /// The number of pages handed over.
    Done(usize),
    Refused {
        code: String,
    },
}

/// Reads and checks the worker's answer, handing each page to `each`.
fn read_answer(mut r: impl BufRead, waiting: &Waiting, each: &mut dyn FnMut(RawPage)) -> Result<Answer, String> {
    let mut pages = 0;
    loop {
        waiting.start();
        let mut line = String::new();
        r.by_ref().take(4096).read_line(&mut line).map_err(|e| e.to_string())?;
        let line: Line = serde_json::from_str(line.trim_end()).map_err(|e| format!("garbled answer: {e}"))?;
        let bytes = |r: &mut dyn BufRead, len: usize| -> Result<Vec<u8>, String> {
            if len > ONE_PAGE.max_alloc as usize {
                return Err("page too large".into());
            }
            let mut b = vec![0; len];
            r.read_exact(&mut b).map_err(|e| e.to_string())?;
            Ok(b)
        };
        let pixels = |width: u32, height: u32, channels: u64| -> Result<usize, String> {
            let n = u64::from(width) * u64::from(height);
            if width == 0 || height == 0 || n > ONE_PAGE.max_pixels {
                return Err("page size out of bounds".into());
            }
            usize::try_from(n * channels).map_err(|e| e.to_string())
        };
        let page = match line {
            Line::Jpeg { dpi, len } => RawPage::Jpeg { bytes: bytes(&mut r, len)?, dpi },
            Line::Gray { width, height, dpi } => {
                let raw = bytes(&mut r, pixels(width, height, 1)?)?;
                let pixels = image::GrayImage::from_raw(width, height, raw).ok_or("page size")?;
                RawPage::Pixels(PageImage::Gray { pixels, dpi })
            }
            Line::Rgb { width, height, dpi } => {
                let raw = bytes(&mut r, pixels(width, height, 3)?)?;
                let pixels = image::RgbImage::from_raw(width, height, raw).ok_or("page size")?;
                RawPage::Pixels(PageImage::Rgb { pixels, dpi })
            }
            Line::Done { pages: n } if n == pages => return Ok(Answer::Done(pages)),
            Line::Done { .. } => return Err("page count mismatch".into()),
            // The worker's own words are English, for its log; the code is enough.
            Line::Refused { code, .. } => return Ok(Answer::Refused { code }),
        };
        waiting.stop();
        pages += 1;
        if pages > MAX_PAGES {
            return Err("too many pages".into());
        }
        each(page);
    }
}

/// The quarantine's words for what the worker refused.
fn in_french(code: &str) -> String {
    match RefusalCode::ALL.into_iter().find(|c| c.as_str() == code) {
        Some(RefusalCode::PasswordProtected) => {
            "ce PDF est protégé par un mot de passe : réglez le scanner pour produire des PDF sans protection".into()
        }
        Some(RefusalCode::Encrypted) => {
            "ce PDF est chiffré et ne peut pas être ouvert : réglez le scanner pour produire des PDF sans chiffrement"
                .into()
        }
        Some(RefusalCode::NoPages) => "ce PDF ne contient aucune page lisible".into(),
        Some(RefusalCode::TooManyPages) => {
            format!("ce PDF a plus de {MAX_PAGES} pages : numérisez la pile en plusieurs lots")
        }
        Some(RefusalCode::TooLarge) => {
            "ce PDF est plus gros que ce qui est lu : numérisez la pile en plusieurs lots".into()
        }
        _ => format!("ce PDF est endommagé et ne peut pas être lu (code {code}) : numérisez le lot à nouveau"),
    }
}

/// Arguments of the hidden `pdf-worker` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[arg(long, default_value_t = 1024)]
    pub memory_mib: u64,
    #[arg(long, default_value_t = 120)]
    pub cpu_seconds: u64,
    #[arg(long, default_value_t = 512 << 20)]
    pub max_bytes: u64,
}

/// The worker's side: confine, read the PDF from stdin, write its pages.
pub fn worker_main(args: &WorkerArgs) -> ExitCode {
    if let Err(e) = jail::confine(jail::Limits { memory_mib: args.memory_mib, cpu_seconds: args.cpu_seconds }) {
        eprintln!("pdf worker: cannot confine itself: {e}");
        return ExitCode::from(CONFINEMENT_FAILED);
    }
    let mut input = Vec::new();
    if std::io::stdin().take(args.max_bytes + 1).read_to_end(&mut input).is_err() {
        return ExitCode::FAILURE;
    }
    let mut out = std::io::stdout().lock();
    let limits = Limits { max_pages: MAX_PAGES, ..Limits::default() };
    let written = if input.len() as u64 > args.max_bytes {
        let code = RefusalCode::TooLarge.as_str().to_owned();
        write_line(&mut out, &Line::Refused { code, message: "too large".into() }, &[])
    } else {
        let mut failed = None;
        let result = intake::scan_pdf::scanner_pages(&input, &limits, |page| {
            let r = match &page {
                ScanPage::Jpeg { bytes, dpi } => {
                    write_line(&mut out, &Line::Jpeg { dpi: *dpi, len: bytes.len() }, bytes)
                }
                ScanPage::Pixels(PageImage::Gray { pixels, dpi }) => {
                    let (width, height) = pixels.dimensions();
                    write_line(&mut out, &Line::Gray { width, height, dpi: *dpi }, pixels.as_raw())
                }
                ScanPage::Pixels(PageImage::Rgb { pixels, dpi }) => {
                    let (width, height) = pixels.dimensions();
                    write_line(&mut out, &Line::Rgb { width, height, dpi: *dpi }, pixels.as_raw())
                }
            };
            r.map_err(|e| {
                failed = Some(e);
                intake::Refusal::Unusable { code: RefusalCode::RenderFailed, message: "output".into() }
            })
        });
        match (result, failed) {
            (_, Some(e)) => Err(e),
            (Ok(pages), None) => write_line(&mut out, &Line::Done { pages }, &[]),
            (Err(intake::Refusal::Unusable { code, message }), None) => {
                write_line(&mut out, &Line::Refused { code: code.as_str().to_owned(), message }, &[])
            }
            (Err(intake::Refusal::Unsupported(message)), None) => {
                let code = RefusalCode::BrokenPdf.as_str().to_owned();
                write_line(&mut out, &Line::Refused { code, message }, &[])
            }
        }
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn write_line(out: &mut impl Write, line: &Line, bytes: &[u8]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A stand-in worker: a shell script run in place of `scanner-ingest`.
    fn worker(dir: &std::path::Path, script: &str, wall: Duration) -> PdfWorker {
        let exe = dir.join("worker.sh");
        // Written by `cp`, never opened for writing by this process: a test
        // on another thread forking at that moment would inherit the
        // descriptor and the exec here would fail with "Text file busy".
        let source = dir.join("worker.txt");
        std::fs::write(&source, format!("#!/bin/sh\n{script}\n")).unwrap();
        assert!(std::process::Command::new("cp").arg(&source).arg(&exe).status().unwrap().success());
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o700)).unwrap();
        PdfWorker { wall, ..PdfWorker::at(exe) }
    }

    #[test]
    fn a_worker_that_hangs_is_killed_at_the_wall_clock_limit() {
        let dir = tempfile::tempdir().unwrap();
        let w = worker(dir.path(), "exec sleep 30", Duration::from_secs(1));
        let t = Instant::now();
        let err = w.each_page(b"%PDF-1.4", &mut |_| panic!("no page")).unwrap_err();
        assert!(err.contains("a dépassé 1 secondes"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    /// The limit is the worker's time, not the caller's: pages cleaned slowly
    /// between reads do not count against it (the stand-in stays alive after
    /// its answer: a watchdog counting them would kill it mid-answer).
    #[test]
    fn time_the_caller_spends_on_pages_does_not_count_against_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        let page = r#"printf '{"line":"gray","width":1,"height":1,"dpi":300.0}\n\377'"#;
        let script = format!("cat >/dev/null; {page}; {page}; printf '{{\"line\":\"done\",\"pages\":2}}\\n'; sleep 2");
        let w = worker(dir.path(), &script, Duration::from_secs(1));
        let mut seen = Vec::new();
        let n = w
            .each_page(b"%PDF-1.4", &mut |raw| {
                std::thread::sleep(Duration::from_millis(1500));
                seen.push(raw.decode().unwrap());
            })
            .unwrap();
        assert_eq!((n, seen.len()), (2, 2));
        assert!(matches!(&seen[0], PageImage::Gray { pixels, dpi } if pixels.as_raw() == &[255] && *dpi == 300.0));
    }
}
