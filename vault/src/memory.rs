//! Memory a burst freed, given back to the system while the server idles.
//!
//! glibc's allocator keeps what the threads of a burst freed in its
//! per-thread arenas for their next allocation; only the top of each heap
//! is returned by itself. After a load test, a server held 242 MiB of
//! mostly free memory 15 s after its last request, and would hold it
//! until restarted: an operator cannot tell that from a leak, and the
//! machine cannot use it. `malloc_trim` returns the free pages of every
//! arena (glibc ≥ 2.8 releases whole free pages inside the heaps too).
//! It locks each arena in turn, briefly, so it runs on a blocking thread
//! and no more than every [`EVERY`]. And [`few_arenas`] keeps what a burst
//! leaves from being spread over many arenas in the first place.

use std::time::Duration;

/// The arenas glibc may create ([`few_arenas`]).
pub const ARENAS: i32 = 2;

/// Caps glibc's arenas at [`ARENAS`]; called before the runtime's threads
/// start. glibc gives a thread that meets contention an arena of its own,
/// up to eight per core, and what a burst frees stays spread over all of
/// them in pages partly in use, which no trim can return. In the load run
/// (`bench/load.sh`, 270 k dossiers, 2026-12-05), with two arenas (set by
/// `MALLOC_ARENA_MAX=2` there, which this call does in-process): RSS 15 s
/// after the run 44 MiB against 106 MiB, 144 MiB against 270 MiB right
/// after the uploads, and renditions no slower (1,683 a second at 32
/// connections against 1,553). An operator's `MALLOC_ARENA_MAX` is left
/// to decide.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn few_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: `mallopt` takes integers only and changes the allocator's
    // own settings under its lock (MT-Safe); a refusal (0) leaves glibc's
    // default, which is only a matter of memory.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Other allocators manage their own arenas.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn few_arenas() {}

/// Pause between two trims.
pub const EVERY: Duration = Duration::from_secs(10);

/// Trims every [`EVERY`] until `stop` says the server is stopping.
pub async fn give_back(mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

/// Returns free memory to the system now; whether any was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and touches only the
    // allocator's own state, under the allocator's locks; glibc documents
    // it as thread-safe (MT-Safe). 0 leaves no padding at the top of the
    // heap.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators return memory by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large block freed in a thread's arena is given back: the
    /// process's resident memory falls when `trim` runs.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_in_a_thread_arena_is_given_back() {
        fn rss_kib() -> u64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        }
        // Many small blocks (below the mmap threshold, so in the arena),
        // touched, then all freed but the last: the arena's top stays in
        // use and nothing returns by itself.
        let held = std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 4096]).collect();
            let last = blocks.pop();
            drop(blocks);
            last
        })
        .join();
        let before = rss_kib();
        assert!(trim(), "something was given back");
        let after = rss_kib();
        assert!(after + 40_000 < before, "RSS {before} KiB before the trim, {after} KiB after");
        drop(held);
    }
}
