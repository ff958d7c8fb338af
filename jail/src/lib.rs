//! The jail a worker process shuts itself in before it reads a single
//! hostile byte: the vault's intake worker (`dnu-vault intake-worker`) and
//! scanner-ingest's PDF worker (`scanner-ingest pdf-worker`) both call
//! [`confine`]. Inside, a process can compute, read stdin, write stdout and
//! stderr, start threads and end; nothing else.
//!
//! A leaf: it knows nothing of what the worker parses.

use std::collections::BTreeMap;

use rustix::{
    process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit},
    thread::{UnshareFlags, unshare_unsafe},
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, SeccompRule, TargetArch};

/// What one confined process may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Address space, MiB.
    pub memory_mib: u64,
    /// CPU time, seconds.
    pub cpu_seconds: u64,
}

/// Shuts the calling process in before it reads a single untrusted byte. Layers, each
/// enough on its own against what the layer names, so that a kernel lacking
/// one (Landlock, user namespaces) still leaves the others:
///
/// 1. resource limits: memory, CPU time, no file growth, few descriptors,
///    no core dumps;
/// 2. not dumpable: no same-uid process may attach to it or read its memory;
///    one allocator arena, so its threads never need a file ([`one_arena`]);
/// 3. new user, network, IPC and mount namespaces where the kernel allows
///    (no network interface but a dead loopback);
/// 4. Landlock, where the kernel has it: every file-system access refused,
///    TCP bind and connect refused, signals and abstract sockets scoped to
///    the worker itself;
/// 5. an **allowlist** seccomp filter ([`allowed_syscalls`]): reading stdin,
///    writing stdout and stderr, memory management, threads and ending;
///    anything else, a new process included, kills the process (SIGSYS),
///    which the server reports as a jail violation.
///
/// The jail test (`vault/tests/it/jail.rs`) shuts a probe in exactly as
/// the workers are shut in.
pub fn confine(args: Limits) -> Result<(), String> {
    let limit = |r: Resource, n: u64, what: &str| {
        setrlimit(r, Rlimit { current: Some(n), maximum: Some(n) }).map_err(|e| format!("{what}: {e}"))
    };
    limit(Resource::As, args.memory_mib << 20, "address space")?;
    limit(Resource::Cpu, args.cpu_seconds, "CPU time")?;
    // It never needs to create a file, nor more than a few descriptors.
    // RLIMIT_NPROC is left as it is: it counts every thread of the user,
    // the server's included, so no value of it lets the worker start the
    // one thread the HEVC decoder needs while forbidding a process; and it
    // never bound root. Seccomp refuses new processes, for every user.
    limit(Resource::Fsize, 0, "file size")?;
    limit(Resource::Nofile, 16, "open files")?;
    limit(Resource::Core, 0, "core dumps")?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(|e| format!("not dumpable: {e}"))?;
    one_arena()?;
    // Best effort: refused where user namespaces are switched off (some
    // container runtimes); Landlock and seccomp below still hold.
    let namespaces = UnshareFlags::NEWUSER | UnshareFlags::NEWNET | UnshareFlags::NEWIPC | UnshareFlags::NEWNS;
    // SAFETY: rustix marks `unshare` unsafe for CLONE_FILES and CLONE_FS,
    // which change what this process's descriptors and paths mean under
    // live Rust objects; these four flags only give the process new, empty
    // namespaces (no descriptor, memory or thread is touched), and the
    // worker is single-threaded here.
    #[allow(unsafe_code)]
    let _ = unsafe { unshare_unsafe(namespaces) };
    landlock_everything()?;
    let arch = if cfg!(target_arch = "x86_64") {
        TargetArch::x86_64
    } else if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        return Err("no seccomp support for this architecture".into());
    };
    // `clone3` passes its flags in memory, which a filter cannot read: it
    // answers ENOSYS, so that the C library falls back to `clone`, whose
    // flags the allowlist checks. Installed first; where both filters
    // speak, the kernel takes the stricter answer.
    let no_clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| format!("seccomp filter: {e}"))?;
    let filter = SeccompFilter::new(
        allowed_syscalls(std::process::id())?,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| format!("seccomp filter: {e}"))?;
    for f in [no_clone3, filter] {
        let program = BpfProgram::try_from(f).map_err(|e| format!("seccomp program: {e}"))?;
        seccompiler::apply_filter(&program).map_err(|e| format!("seccomp: {e}"))?;
    }
    Ok(())
}

/// Landlock with no rule: every access the running kernel can refuse is
/// refused. A kernel without Landlock leaves it unenforced (not an error:
/// seccomp refuses every `open*` anyway).
fn landlock_everything() -> Result<(), String> {
    use landlock::{ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, Scope};
    let abi = ABI::V6;
    let err = |e: landlock::RulesetError| format!("landlock: {e}");
    Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(err)?
        .handle_access(AccessNet::from_all(abi))
        .map_err(err)?
        .scope(Scope::from_all(abi))
        .map_err(err)?
        .create()
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    Ok(())
}

/// Every thread allocates from glibc's main heap, which grows and shrinks
/// by `brk`. A thread's own arena, when it shrinks, makes glibc open
/// `/proc/sys/vm/overcommit_memory`, which the filter answers by killing
/// the process (seen when the intake worker rendered a 20-page scan on two
/// threads). One arena also keeps each further arena's 64 MiB reservation
/// out of the address-space limit.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_arena() -> Result<(), String> {
    // SAFETY: `mallopt` takes no pointer and sets one of the allocator's
    // parameters under its lock (MT-Safe); the worker is single-threaded
    // here.
    #[allow(unsafe_code)]
    let set = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    if set == 1 { Ok(()) } else { Err("one allocator arena: mallopt refused".into()) }
}

/// Other C libraries have no per-thread arenas that open files.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_arena() -> Result<(), String> {
    Ok(())
}

/// The system calls a confined worker may make, with their arguments where
/// they matter. What the parsers need after confinement is memory and the
/// three standard streams; what Rust's runtime needs is ending (normally,
/// by panic, or by `abort` on a failed allocation, which raises SIGABRT on
/// itself), and threads (see below). No `open*`, no new process
/// (`fork`, `clone` without CLONE_THREAD), no `exec*`, no sockets, no
/// `io_uring_*`, no `process_vm_*`, no `ptrace`, no `kill`, nothing made
/// executable (`mmap`/`mprotect` with PROT_EXEC), no `unlink*`/`truncate`.
fn allowed_syscalls(pid: u32) -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    use seccompiler::{SeccompCmpArgLen::Dword, SeccompCmpArgLen::Qword, SeccompCmpOp, SeccompCondition as Cond};
    let err = |e: seccompiler::BackendError| format!("seccomp rule: {e}");
    let on = |index: u8, len, op, value: u64| Cond::new(index, len, op, value).map_err(err);
    let rule = |conditions: Vec<Cond>| SeccompRule::new(conditions).map_err(err);
    let fd_is = |fd: u64| -> Result<SeccompRule, String> { rule(vec![on(0, Dword, SeccompCmpOp::Eq, fd)?]) };
    let prot_exec = libc::PROT_EXEC as u64;
    let mut allowed: BTreeMap<i64, Vec<SeccompRule>> = [
        libc::SYS_brk,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_madvise,
        libc::SYS_futex,
        libc::SYS_getrandom,
        libc::SYS_clock_gettime,
        libc::SYS_sched_yield,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        libc::SYS_close,
        libc::SYS_exit,
        libc::SYS_exit_group,
    ]
    .into_iter()
    .map(|n| (n, Vec::new()))
    .collect();
    // Threads, never processes: libheif's HEVC decoder (libde265) starts a
    // worker thread. A thread lives in the same jail as the process (its
    // seccomp filters, Landlock domain, namespaces, address-space and CPU
    // limits), so it adds no reach; `clone` without CLONE_THREAD and
    // CLONE_VM (a new process) still kills. `clone3` is let through here
    // only to meet the ENOSYS of the filter installed before this one.
    let thread = (libc::CLONE_THREAD | libc::CLONE_VM) as u64;
    allowed.insert(libc::SYS_clone, vec![rule(vec![on(0, Qword, SeccompCmpOp::MaskedEq(thread), thread)?])?]);
    allowed.insert(libc::SYS_clone3, Vec::new());
    allowed.insert(libc::SYS_set_robust_list, Vec::new());
    allowed.insert(libc::SYS_rseq, Vec::new());
    // Read only: a thread's CPU mask. Rust's threads (the intake renders a
    // document's pages on several) ask glibc for their stack's bounds when
    // they start, and `pthread_getattr_np` fills in the mask with it.
    // Setting a mask (`sched_setaffinity`) stays forbidden.
    allowed.insert(libc::SYS_sched_getaffinity, Vec::new());
    // A new thread's stack guard page; nothing may become executable.
    allowed.insert(libc::SYS_mprotect, vec![rule(vec![on(2, Qword, SeccompCmpOp::MaskedEq(prot_exec), 0)?])?]);
    allowed.insert(libc::SYS_read, vec![fd_is(0)?]);
    allowed.insert(libc::SYS_write, vec![fd_is(1)?, fd_is(2)?]);
    // Memory, never executable.
    allowed.insert(libc::SYS_mmap, vec![rule(vec![on(2, Qword, SeccompCmpOp::MaskedEq(prot_exec), 0)?])?]);
    // `abort` signals itself, and only itself.
    allowed.insert(libc::SYS_tgkill, vec![rule(vec![on(0, Dword, SeccompCmpOp::Eq, u64::from(pid))?])?]);
    Ok(allowed)
}
