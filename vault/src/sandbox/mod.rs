//! Untrusted uploads are parsed only here: in a separate, confined worker
//! process (`dnu-vault intake-worker`, see [`worker`]), never in the server.
//!
//! The server writes the upload to the worker's stdin and reads one answer
//! from its stdout. Whatever the worker does — crash, abort on memory,
//! exceed its CPU time, hang, print garbage — the server survives it and
//! answers 422; a worker that cannot confine itself is a refusal too, never
//! a reason to parse unconfined.

pub mod frames;
pub mod worker;

use std::{path::PathBuf, process::Stdio, sync::Arc, time::Duration};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::{Semaphore, mpsc},
};

use intake::RefusalCode;

use crate::{config::IntakeConfig, error::Error};

/// Arguments of the hidden `intake-worker` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    #[arg(long, default_value_t = 1024)]
    pub memory_mib: u64,
    #[arg(long, default_value_t = 60)]
    pub cpu_seconds: u64,
    #[arg(long, default_value_t = 20 << 20)]
    pub max_input_bytes: u64,
    #[arg(long, default_value_t = 200)]
    pub max_pages: usize,
}

/// The worker's answer: a JSON line, then the blobs it announces.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Accepted { media_type: String, pages: usize, rendition_len: usize, thumbnail_len: usize },
    Unsupported { message: String },
    Unusable { code: String, message: String },
}

/// How the server runs workers. Cheap to clone; clones share the limit on
/// workers running at once.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `dnu-vault` executable to re-execute.
    pub exe: PathBuf,
    pub memory_mib: u64,
    pub cpu_seconds: u64,
    /// Wall-clock limit once the whole upload has reached the worker: a
    /// worker stuck waiting (not burning CPU) is killed.
    pub wall: Duration,
    pub max_pages: usize,
    /// Workers parsing at once: each may use `memory_mib`, so this is what
    /// bounds the memory intake can take from the machine.
    pub permits: Arc<Semaphore>,
}

/// What an accepted upload becomes.
#[derive(Debug)]
pub struct Rendered {
    pub media_type: String,
    pub pages: usize,
    pub rendition: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// A worker being fed an upload as it arrives ([`Sandbox::start`]): one
/// file, or the several files of one document ([`frames`]). Dropping the
/// job before [`Job::finish`] kills the worker.
#[derive(Debug)]
pub struct Job {
    tx: Option<mpsc::Sender<Bytes>>,
    framer: frames::Framer,
    done: tokio::task::JoinHandle<Result<Rendered, Error>>,
}

impl Job {
    async fn send(&self, frames: Vec<Bytes>) {
        if let Some(tx) = &self.tx {
            for f in frames {
                // The job's task only stops reading once its worker is
                // gone; the outcome then comes from `finish`.
                let _ = tx.send(f).await;
            }
        }
    }

    /// The next file of the upload begins.
    pub async fn begin_file(&mut self) {
        let frames = self.framer.begin_file();
        self.send(frames).await;
    }

    /// Hands the worker the next part of the current file.
    pub async fn feed(&mut self, part: &[u8]) {
        let frames = self.framer.data(part);
        self.send(frames).await;
    }

    /// Ends the input with the turns asked for each file (none: upright),
    /// and waits for the worker's verdict.
    pub async fn finish(mut self, turns: &[intake::Turns]) -> Result<Rendered, Error> {
        let frames = if turns.is_empty() { self.framer.flush() } else { self.framer.turns(turns) };
        self.send(frames).await;
        drop(self.tx.take());
        (&mut self.done).await.map_err(|e| Error::internal("intake task", e))?
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // An abandoned upload: the task goes, and with it (kill_on_drop) the worker.
        self.done.abort();
    }
}

/// Most bytes a worker may answer with (a 200-page rendition at 150 dpi
/// fits well within it).
const MAX_ANSWER: u64 = 512 << 20;

fn failed(why: &str) -> Error {
    Error::Unprocessable {
        code: RefusalCode::UnreadableDocument,
        message: format!("the document could not be read safely ({why}); check the file, or print it again as a PDF"),
    }
}

impl Sandbox {
    pub fn new(c: &IntakeConfig) -> Self {
        Self {
            exe: c.exe.clone(),
            memory_mib: c.memory_mib,
            cpu_seconds: c.cpu_seconds,
            wall: c.timeout,
            max_pages: c.max_pages,
            permits: Arc::new(Semaphore::new(c.workers.max(1))),
        }
    }

    /// Runs one worker over a whole document held in memory.
    pub async fn render(&self, input: Bytes) -> Result<Rendered, Error> {
        let mut job = self.start(input.len() as u64);
        job.begin_file().await;
        job.feed(&input).await;
        job.finish(&[]).await
    }

    /// Starts a worker for an upload of at most `max_input` bytes of files, to be fed
    /// with [`Job::feed`] as the upload streams in (the server never holds
    /// the whole document).
    pub fn start(&self, max_input: u64) -> Job {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let this = self.clone();
        let done = tokio::spawn(async move { this.run(rx, frames::max_input(max_input)).await });
        Job { tx: Some(tx), framer: frames::Framer::default(), done }
    }

    async fn run(&self, mut rx: mpsc::Receiver<Bytes>, max_input: u64) -> Result<Rendered, Error> {
        let mut child = tokio::process::Command::new(&self.exe)
            .arg("intake-worker")
            .arg(format!("--memory-mib={}", self.memory_mib))
            .arg(format!("--cpu-seconds={}", self.cpu_seconds))
            .arg(format!("--max-input-bytes={max_input}"))
            .arg(format!("--max-pages={}", self.max_pages))
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::internal("starting the intake worker", format!("{}: {e}", self.exe.display())))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Error::internal("starting the intake worker", "no pipes"));
        };
        // Drained while the input is still being fed: a worker that answers
        // or complains early must not block on a full pipe.
        let drain = tokio::spawn(async move {
            let mut out = Vec::new();
            stdout.take(MAX_ANSWER + 1).read_to_end(&mut out).await.map(|_| out)
        });
        let errors = tokio::spawn(async move {
            let mut err = Vec::new();
            let _ = stderr.take(4096).read_to_end(&mut err).await;
            err
        });
        // Feed until the upload ends. A worker that stops reading (it
        // crashed) breaks the pipe: the rest is read and dropped so the
        // upload still completes, and the exit status tells what happened.
        let mut broken = false;
        while let Some(part) = rx.recv().await {
            if !broken && stdin.write_all(&part).await.is_err() {
                broken = true;
            }
        }
        // The worker reads its whole input before any parsing: a slow
        // client costs an idle process, not a permit. Parsing starts at the
        // end of input, only once a permit is free, so no more workers
        // parse at once than the machine was sized for.
        let _permit =
            self.permits.acquire().await.map_err(|_| Error::internal("intake", "the intake workers are shut down"))?;
        drop(stdin);
        let finish = async { (child.wait().await, drain.await, errors.await) };
        let (status, out, err) = match tokio::time::timeout(self.wall, finish).await {
            Ok(r) => r,
            Err(_) => {
                // kill_on_drop ends the worker when `child` goes.
                tracing::warn!(timeout_s = self.wall.as_secs(), "intake worker timed out");
                crate::metrics::global().worker_failed(crate::metrics::WorkerFailure::Timeout);
                return Err(failed("it took too long"));
            }
        };
        let status = status.map_err(|e| Error::internal("waiting for the intake worker", e))?;
        let out = out
            .map_err(|e| Error::internal("intake worker output", e))?
            .map_err(|e| Error::internal("reading the intake worker", e))?;
        let err = err.unwrap_or_default();
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            let why = match status.signal() {
                Some(sig) => format!("worker killed by signal {sig}"),
                None => format!("worker exit status {}", status.code().unwrap_or(-1)),
            };
            // A parser's panic message may quote the document: the log
            // gets the kind of failure, never the worker's own words.
            let text = String::from_utf8_lossy(&err);
            let kind = if status.signal() == Some(libc::SIGSYS) {
                // The seccomp filter killed it: a system call outside the
                // jail's allowlist, which a parser never makes by itself.
                "jail violation"
            } else if text.contains("memory allocation") {
                "out of memory"
            } else if text.contains("panicked") {
                "panic"
            } else if text.contains("cannot confine itself") {
                "confinement failed"
            } else if text.is_empty() {
                "silent"
            } else {
                "other"
            };
            tracing::warn!(reason = %why, failure = kind, stderr_bytes = err.len(), "intake worker failed");
            crate::metrics::global().worker_failed(crate::metrics::WorkerFailure::Crash);
            return Err(failed(if status.signal().is_some() { "the reader was stopped" } else { "the reader failed" }));
        }
        parse_answer(&out)
    }
}

fn parse_answer(out: &[u8]) -> Result<Rendered, Error> {
    let garbled = || failed("the reader's answer was garbled");
    let nl = out.iter().position(|b| *b == b'\n').ok_or_else(garbled)?;
    let answer: Answer = serde_json::from_slice(&out[..nl]).map_err(|_| garbled())?;
    let blobs = &out[nl + 1..];
    match answer {
        Answer::Accepted { media_type, pages, rendition_len, thumbnail_len } => {
            if blobs.len() != rendition_len.saturating_add(thumbnail_len) || pages == 0 {
                return Err(garbled());
            }
            // The worker may be hostile: the type served with the original
            // comes from the server's own list, never from its words.
            let format = intake::Format::from_media_type(&media_type).ok_or_else(garbled)?;
            let (rendition, thumbnail) = blobs.split_at(rendition_len);
            // Nor its renditions: stored only in the vault's own shape, so
            // that what exports and readers get later is what the vault
            // would have written.
            let own = intake::compose::Rendition::open(rendition)
                .map_err(|_| failed("the reader's rendition was not the vault's own"))?;
            let thumb_ok = intake::own::jpeg_header(thumbnail).is_some_and(|(w, h, _)| w <= 1024 && h <= 4096);
            if own.len() != pages || !thumb_ok {
                return Err(failed("the reader's rendition was not the vault's own"));
            }
            Ok(Rendered {
                media_type: format.media_type().to_owned(),
                pages,
                rendition: rendition.to_vec(),
                thumbnail: thumbnail.to_vec(),
            })
        }
        Answer::Unsupported { message } => Err(Error::UnsupportedMediaType(message)),
        Answer::Unusable { code, message } => {
            // Codes come from `intake`'s list; anything else is reported
            // under the generic one.
            let code = RefusalCode::parse(&code).unwrap_or(RefusalCode::UnreadableDocument);
            Err(Error::Unprocessable { code, message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker's answer: a real rendition and thumbnail unless given.
    fn answer(media_type: &str, rendition: Option<Vec<u8>>) -> Vec<u8> {
        let page =
            intake::PageImage::Gray { pixels: image::GrayImage::from_pixel(60, 80, image::Luma([200])), dpi: 72.0 };
        let rendition = rendition.unwrap_or_else(|| intake::build_pdf(std::slice::from_ref(&page)).unwrap_or_default());
        let thumbnail = page.thumbnail(40).unwrap_or_default();
        let header = Answer::Accepted {
            media_type: media_type.into(),
            pages: 1,
            rendition_len: rendition.len(),
            thumbnail_len: thumbnail.len(),
        };
        let mut out = serde_json::to_vec(&header).unwrap_or_default();
        out.push(b'\n');
        out.extend_from_slice(&rendition);
        out.extend_from_slice(&thumbnail);
        out
    }

    #[test]
    fn a_worker_cannot_choose_the_media_type_served_with_an_original() {
        // A worker under an attacker's control answers a type that a
        // browser would render as a page of the vault's origin.
        assert!(matches!(parse_answer(&answer("text/html", None)), Err(Error::Unprocessable { .. })));
        assert!(matches!(parse_answer(&answer("image/svg+xml", None)), Err(Error::Unprocessable { .. })));
        let ok = parse_answer(&answer("image/png", None)).map(|r| r.media_type);
        assert_eq!(ok.ok().as_deref(), Some("image/png"));
    }

    #[test]
    fn a_worker_cannot_hand_the_server_a_pdf_of_its_own_making() {
        // What exports would parse later: an arbitrary PDF with an action,
        // passed off as a rendition.
        let crafted = intake::sample::pdf(&[
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (x) >> >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>".to_vec(),
        ]);
        assert!(matches!(parse_answer(&answer("application/pdf", Some(crafted))), Err(Error::Unprocessable { .. })));
    }
}
