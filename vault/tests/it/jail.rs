//! The intake worker's jail, attacked from inside. A probe runs in a child
//! process (this test binary again, `jail::probe`), shuts itself in with
//! the worker's own [`confine`], then tries one thing an attacker holding a
//! parser bug would try. Each must be refused: the call fails, or the
//! seccomp filter kills the process (SIGSYS) before the call is made. A
//! control probe that skips the jail must get through, so a probe that
//! cannot tell escape from refusal fails the test.
//!
//! What the child shares with the real worker: the limits, Landlock and the
//! seccomp filter, applied by the same function. What it lacks: the new
//! namespaces (a test binary runs several threads, and `unshare` of a user
//! namespace needs a single-threaded process), so this test shows the jail
//! holds without them.

// Raw system calls, made as an attacker would make them; `unsafe` is
// forbidden everywhere else in the workspace (Cargo.toml).
#![allow(unsafe_code)]

use std::{
    net::TcpListener,
    os::unix::process::{CommandExt, ExitStatusExt},
    process::{Command, ExitStatus, Stdio},
    time::Duration,
};

use vault::sandbox::{WorkerArgs, worker::confine};

/// Exit status of a probe whose attack succeeded.
const ESCAPED: i32 = 42;
/// Exit status of a probe whose attack failed with an error.
const REFUSED: i32 = 7;

#[derive(Debug, PartialEq)]
enum Outcome {
    Escaped,
    Refused,
    Killed,
}

fn outcome(status: ExitStatus, stderr: &[u8]) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(ESCAPED), _) => Outcome::Escaped,
        (Some(REFUSED), _) => Outcome::Refused,
        (_, Some(libc::SIGSYS)) => Outcome::Killed,
        _ => panic!("probe ended unexpectedly: {status:?}: {}", String::from_utf8_lossy(stderr)),
    }
}

struct Targets {
    key_file: std::path::PathBuf,
    victim: std::process::Child,
    listener: TcpListener,
    _dir: tempfile::TempDir,
}

fn targets() -> Targets {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, b"secret key material").unwrap();
    let victim = Command::new("sleep").arg("60").spawn().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    Targets { key_file, victim, listener, _dir: dir }
}

fn run_probe(name: &str, t: &Targets) -> Outcome {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["jail::probe", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("JAIL_PROBE", name)
        .env("JAIL_KEY_FILE", &t.key_file)
        .env("JAIL_VICTIM", t.victim.id().to_string())
        .env("JAIL_PARENT", std::process::id().to_string())
        .env("JAIL_SECRET_AT", format!("{:p}", SECRET.as_ptr()))
        .env("JAIL_LISTENER", t.listener.local_addr().unwrap().to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    outcome(out.status, &out.stderr)
}

static SECRET: [u8; 16] = *b"dossier-key-here";

const ATTACKS: &[&str] = &[
    "read_key_file",
    "read_server_environ",
    "read_server_memory",
    "kill_server",
    "truncate_file",
    "unlink_file",
    "fork",
    "fork_raw",
    "thread_reads_key_file",
    "exec",
    "io_uring",
    "tcp_connect",
    "executable_memory",
    "make_memory_executable",
];

#[test]
fn every_capability_of_an_attacker_inside_the_worker_is_refused() {
    let mut t = targets();
    // The control: the same attack without the jail gets through, so the
    // probe can see an escape.
    assert_eq!(run_probe("unconfined_read_key_file", &t), Outcome::Escaped);
    // Confinement itself works and leaves a harmless probe running.
    assert_eq!(run_probe("nothing", &t), Outcome::Refused, "a confined probe that attempts nothing ends normally");
    let mut escaped = Vec::new();
    for attack in ATTACKS {
        let got = run_probe(attack, &t);
        eprintln!("{attack}: {got:?}");
        if got == Outcome::Escaped {
            escaped.push(*attack);
        }
    }
    assert!(escaped.is_empty(), "attacks that got out of the jail: {escaped:?}");
    // The victim process lives, the file is whole, nobody connected.
    assert!(t.victim.try_wait().unwrap().is_none(), "the signalled process is still running");
    assert_eq!(std::fs::read(&t.key_file).unwrap(), b"secret key material");
    assert!(t.listener.accept().is_err(), "no connection reached the listener");
    t.victim.kill().unwrap();
}

/// The child's side; run only by the test above.
#[test]
#[ignore = "a probe process started by every_capability_of_an_attacker_inside_the_worker_is_refused"]
fn probe() {
    let name = std::env::var("JAIL_PROBE").expect("started by the jail test");
    let var = |k: &str| std::env::var(k).unwrap();
    let args = WorkerArgs { memory_mib: 1024, cpu_seconds: 10, max_input_bytes: 1 << 20, max_pages: 10 };
    if let Some(attack) = name.strip_prefix("unconfined_") {
        attempt(attack, &var)
    }
    confine(&args).expect("confinement");
    attempt(&name, &var)
}

fn attempt(name: &str, var: &dyn Fn(&str) -> String) -> ! {
    let pid = |k: &str| var(k).parse::<i32>().unwrap();
    let escaped = match name {
        "nothing" => false,
        "read_key_file" => std::fs::read(var("JAIL_KEY_FILE")).is_ok(),
        "read_server_environ" => std::fs::read(format!("/proc/{}/environ", var("JAIL_PARENT"))).is_ok(),
        "read_server_memory" => {
            let at = usize::from_str_radix(var("JAIL_SECRET_AT").trim_start_matches("0x"), 16).unwrap();
            let mut buf = [0u8; 16];
            let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            let remote = libc::iovec { iov_base: at as *mut libc::c_void, iov_len: buf.len() };
            let n = unsafe { libc::process_vm_readv(pid("JAIL_PARENT"), &local, 1, &remote, 1, 0) };
            n == 16 && &buf == b"dossier-key-here"
        }
        "kill_server" => (unsafe { libc::kill(pid("JAIL_VICTIM"), libc::SIGKILL) }) == 0,
        "truncate_file" => std::fs::OpenOptions::new().write(true).truncate(true).open(var("JAIL_KEY_FILE")).is_ok(),
        "unlink_file" => std::fs::remove_file(var("JAIL_KEY_FILE")).is_ok(),
        "fork" => Command::new("/bin/true").status().is_ok(),
        // A process by the raw call, as a parser's exploit would make it
        // (threads are allowed: libheif's HEVC decoder starts one).
        "fork_raw" => {
            let pid = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
            if pid == 0 {
                unsafe { libc::_exit(ESCAPED) }
            }
            pid > 0
        }
        // A thread is in the same jail as the process that started it.
        "thread_reads_key_file" => {
            let key = var("JAIL_KEY_FILE");
            std::thread::spawn(move || std::fs::read(key).is_ok()).join().unwrap_or(false)
        }
        // Replaces this process: the shell's exit status says it ran.
        "exec" => {
            let _ = Command::new("/bin/sh").args(["-c", &format!("exit {ESCAPED}")]).exec();
            false
        }
        "io_uring" => {
            let mut params = [0u8; 120];
            let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 8, params.as_mut_ptr()) };
            fd >= 0
        }
        "tcp_connect" => {
            std::net::TcpStream::connect_timeout(&var("JAIL_LISTENER").parse().unwrap(), Duration::from_secs(2)).is_ok()
        }
        "executable_memory" => {
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            p != libc::MAP_FAILED
        }
        "make_memory_executable" => {
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            p != libc::MAP_FAILED && unsafe { libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC) } == 0
        }
        other => panic!("unknown probe {other}"),
    };
    std::process::exit(if escaped { ESCAPED } else { REFUSED })
}
