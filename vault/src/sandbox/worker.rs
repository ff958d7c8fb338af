//! The worker side: `dnu-vault intake-worker`, re-executed by the server for
//! each upload. It confines itself before it reads a single untrusted byte:
//! address-space, CPU-time, file-size and open-file limits, and a seccomp
//! filter that refuses sockets (no network) and program execution. Then it
//! reads the upload from stdin, runs `intake::process`, and writes one
//! answer to stdout (see [`super::Answer`]).

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    process::ExitCode,
};

use rustix::process::{Resource, Rlimit, setrlimit};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use super::{Answer, WorkerArgs};

/// Exit status when confinement itself failed: the server refuses the
/// upload rather than parse it unconfined.
const CONFINEMENT_FAILED: u8 = 3;

pub fn main(args: &WorkerArgs) -> ExitCode {
    if let Err(e) = confine(args) {
        eprintln!("intake worker: cannot confine itself: {e}");
        return ExitCode::from(CONFINEMENT_FAILED);
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().take(args.max_input_bytes + 1).read_to_end(&mut input) {
        eprintln!("intake worker: reading the upload: {e}");
        return ExitCode::FAILURE;
    }
    let limits = intake::Limits { max_pages: args.max_pages, ..intake::Limits::default() };
    let result = if input.len() as u64 > args.max_input_bytes {
        // The server enforces its upload limit itself; this is the backstop.
        Err(intake::Refusal::Unusable {
            code: intake::RefusalCode::TooLarge,
            message: "the document is larger than allowed".into(),
        })
    } else {
        intake::process(&input, &limits)
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

fn confine(args: &WorkerArgs) -> Result<(), String> {
    let limit = |r: Resource, n: u64, what: &str| {
        setrlimit(r, Rlimit { current: Some(n), maximum: Some(n) }).map_err(|e| format!("{what}: {e}"))
    };
    limit(Resource::As, args.memory_mib << 20, "address space")?;
    limit(Resource::Cpu, args.cpu_seconds, "CPU time")?;
    // It never needs to create a file, nor more than a few descriptors.
    limit(Resource::Fsize, 0, "file size")?;
    limit(Resource::Nofile, 16, "open files")?;
    limit(Resource::Core, 0, "core dumps")?;
    let arch = if cfg!(target_arch = "x86_64") {
        TargetArch::x86_64
    } else if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        return Err("no seccomp support for this architecture".into());
    };
    // An empty rule list matches the call whatever its arguments.
    let denied: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = [
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept4,
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
    ]
    .into_iter()
    .map(|n| (n, Vec::new()))
    .collect();
    let filter = SeccompFilter::new(denied, SeccompAction::Allow, SeccompAction::Errno(libc::EACCES as u32), arch)
        .map_err(|e| format!("seccomp filter: {e}"))?;
    let program = BpfProgram::try_from(filter).map_err(|e| format!("seccomp program: {e}"))?;
    seccompiler::apply_filter(&program).map_err(|e| format!("seccomp: {e}"))?;
    Ok(())
}
