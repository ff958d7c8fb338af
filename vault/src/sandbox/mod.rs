//! Untrusted uploads are parsed only here: in a separate, confined worker
//! process (`dnu-vault intake-worker`, see [`worker`]), never in the server.
//!
//! The server writes the upload to the worker's stdin and reads one answer
//! from its stdout. Whatever the worker does — crash, abort on memory,
//! exceed its CPU time, hang, print garbage — the server survives it and
//! answers 422; a worker that cannot confine itself is a refusal too, never
//! a reason to parse unconfined.

pub mod worker;

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::Error;

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

/// How the server runs workers.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `dnu-vault` executable to re-execute.
    pub exe: PathBuf,
    pub memory_mib: u64,
    pub cpu_seconds: u64,
    /// Wall-clock limit: a worker stuck waiting (not burning CPU) is killed.
    pub wall: Duration,
    pub max_pages: usize,
}

/// What an accepted upload becomes.
#[derive(Debug)]
pub struct Rendered {
    pub media_type: String,
    pub pages: usize,
    pub rendition: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// Most bytes a worker may answer with (a 200-page rendition at 150 dpi
/// fits well within it).
const MAX_ANSWER: u64 = 512 << 20;

fn failed(why: &str) -> Error {
    Error::Unprocessable {
        code: "unreadable_document",
        message: format!("the document could not be read safely ({why}); check the file, or print it again as a PDF"),
    }
}

impl Sandbox {
    /// Runs one worker over `input`.
    pub async fn render(&self, input: bytes::Bytes) -> Result<Rendered, Error> {
        let mut child = tokio::process::Command::new(&self.exe)
            .arg("intake-worker")
            .arg(format!("--memory-mib={}", self.memory_mib))
            .arg(format!("--cpu-seconds={}", self.cpu_seconds))
            .arg(format!("--max-input-bytes={}", input.len()))
            .arg(format!("--max-pages={}", self.max_pages))
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Store(format!("cannot start the intake worker {}: {e}", self.exe.display())))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Error::Store("intake worker without its pipes".into()));
        };
        // Feed, drain and wait at once: a worker that dies early must not
        // leave the server blocked on a full pipe.
        let feed = async move {
            // A worker that stops reading (it crashed) breaks the pipe: not
            // an error of ours, its exit status tells what happened.
            let _ = stdin.write_all(&input).await;
            drop(stdin);
        };
        let drain = async move {
            let mut out = Vec::new();
            stdout.take(MAX_ANSWER + 1).read_to_end(&mut out).await.map(|_| out)
        };
        let errors = async move {
            let mut err = Vec::new();
            let _ = stderr.take(4096).read_to_end(&mut err).await;
            err
        };
        let run = async { tokio::join!(feed, drain, errors, child.wait()) };
        let ((), out, err, status) = match tokio::time::timeout(self.wall, run).await {
            Ok(r) => r,
            Err(_) => {
                // kill_on_drop ends the worker when `child` goes.
                tracing::warn!(timeout_s = self.wall.as_secs(), "intake worker timed out");
                return Err(failed("it took too long"));
            }
        };
        let status = status.map_err(|e| Error::Store(format!("waiting for the intake worker: {e}")))?;
        let out = out.map_err(|e| Error::Store(format!("reading the intake worker: {e}")))?;
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            let why = match status.signal() {
                Some(sig) => format!("worker killed by signal {sig}"),
                None => format!("worker exit status {}", status.code().unwrap_or(-1)),
            };
            // The worker's stderr never holds document content, only its
            // own diagnostics (a panic message at most).
            tracing::warn!(reason = %why, stderr = %String::from_utf8_lossy(&err).trim(), "intake worker failed");
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
            let (rendition, thumbnail) = blobs.split_at(rendition_len);
            Ok(Rendered { media_type, pages, rendition: rendition.to_vec(), thumbnail: thumbnail.to_vec() })
        }
        Answer::Unsupported { message } => Err(Error::UnsupportedMediaType(message)),
        Answer::Unusable { code, message } => {
            // Codes come from a fixed list in `intake`; anything else is
            // reported under a generic one.
            let code = KNOWN_CODES.iter().find(|c| **c == code).copied().unwrap_or("unreadable_document");
            Err(Error::Unprocessable { code, message })
        }
    }
}

const KNOWN_CODES: [&str; 10] = [
    "password_protected",
    "encrypted",
    "broken_pdf",
    "no_pages",
    "too_many_pages",
    "too_large",
    "broken_image",
    "unsupported_tiff",
    "render_failed",
    "unreadable_document",
];
