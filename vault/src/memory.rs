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
//! and no more than every [`EVERY`].

use std::time::Duration;

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
