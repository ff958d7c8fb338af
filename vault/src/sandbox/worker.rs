//! The worker side: `dnu-vault intake-worker`, re-executed by the server for
//! each upload. It shuts itself in ([`confine`]) before it reads a single
//! untrusted byte, then reads the upload from stdin, runs
//! `intake::process_several`, and writes one answer to stdout (see
//! [`super::Answer`]). Inside, it can compute, read stdin, write stdout and
//! stderr, and end; nothing else.

use std::{
    io::{Read, Write},
    process::ExitCode,
};

use super::{Answer, WorkerArgs};

/// Exit status when confinement itself failed: the server refuses the
/// upload rather than parse it unconfined.
const CONFINEMENT_FAILED: u8 = 3;

/// Most threads one document's pages are worked on by: each adds a page's
/// pixels to the worker's memory, which its limit (`--memory-mib`) bounds
/// as a whole.
const MAX_THREADS: usize = 4;

pub fn main(args: &WorkerArgs) -> ExitCode {
    // Loading a shared library opens files and maps code: only possible
    // before the jail closes. Without libheif, HEIC photos are refused.
    intake::load_heif();
    // Read before the jail closes: the count may come from files
    // (cgroup quotas) the jail no longer lets the worker open.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    if let Err(e) = confine(args) {
        eprintln!("intake worker: cannot confine itself: {e}");
        return ExitCode::from(CONFINEMENT_FAILED);
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(args.max_input_bytes + 1).read_to_end(&mut input) {
        eprintln!("intake worker: reading the upload: {e}");
        return ExitCode::FAILURE;
    }
    let limits = intake::Limits { max_pages: args.max_pages, threads, ..intake::Limits::default() };
    let result = if input.len() as u64 > args.max_input_bytes {
        // The server enforces its upload limit itself; this is the backstop.
        Err(intake::Refusal::Unusable {
            code: intake::RefusalCode::TooLarge,
            message: "the document is larger than allowed".into(),
        })
    } else {
        match super::frames::decode(&input) {
            Ok(files) => {
                let files: Vec<(&[u8], intake::Turns)> = files.iter().map(|(b, t)| (b.as_slice(), *t)).collect();
                intake::process_several(&files, &limits)
            }
            Err(e) => {
                eprintln!("intake worker: garbled input: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let (header, blobs) = match result {
        Ok(done) => {
            let header = Answer::Accepted {
                media_type: done.format.media_type().to_owned(),
                pages: done.pages,
                rendition_len: done.rendition.len(),
                thumbnail_len: done.thumbnail.len(),
            };
            (header, vec![done.rendition, done.thumbnail])
        }
        Err(intake::Refusal::Unsupported(message)) => (Answer::Unsupported { message }, Vec::new()),
        Err(intake::Refusal::Unusable { code, message }) => {
            (Answer::Unusable { code: code.as_str().to_owned(), message }, Vec::new())
        }
    };
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &header)
        .map_err(std::io::Error::other)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| blobs.iter().try_for_each(|b| out.write_all(b)))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("intake worker: writing the answer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Shuts the worker in ([`jail::confine`]) within `args`' limits.
pub fn confine(args: &WorkerArgs) -> Result<(), String> {
    jail::confine(jail::Limits { memory_mib: args.memory_mib, cpu_seconds: args.cpu_seconds })
}
