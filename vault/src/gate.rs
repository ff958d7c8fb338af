//! Gates in front of costly work an unauthenticated client can trigger:
//! a bound on how many run at once ([`Costly`]) and a per-source budget of
//! attempts ([`SourceBudget`]); and a line for costly work agents ask for
//! ([`Line`]: dossier exports). In memory, per process: each replica guards
//! its own CPU and memory, which is what they protect.
//!
//! Why both: an Argon2id verification takes about 19 MiB and tens of
//! milliseconds; unbounded, 128 concurrent sign-ins took a server from
//! 24 MB to 3.9 GB. The concurrency bound caps memory whoever asks; the
//! per-source budget keeps one client from taking every turn, and is taken
//! *before* the work (atomically, under one lock), so a burst of 30
//! concurrent wrong guesses is 10 evaluated guesses, not 30.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most `n` at once, each with one of `n` reusable resources (the
/// memory the work needs, allocated once); a caller waits at most `wait`
/// for its turn. Reusing the memory matters as much as bounding the count:
/// freed large blocks stay in the allocator's per-thread arenas, so work
/// spread over many threads kept the memory of all of them.
#[derive(Debug)]
pub struct Costly<R> {
    permits: Arc<Semaphore>,
    pool: Arc<Mutex<Vec<R>>>,
    make: fn() -> R,
    wait: Duration,
}

/// The gate was full for the whole wait: come back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// One turn at the costly work, with its resource; both go back on drop.
#[derive(Debug)]
pub struct Turn<R> {
    resource: Option<R>,
    pool: Arc<Mutex<Vec<R>>>,
    _permit: OwnedSemaphorePermit,
}

impl<R> Costly<R> {
    /// `make` builds a resource when a turn finds none (at first use, or
    /// after a turn lost its own, in a panic).
    pub fn new(n: usize, make: fn() -> R, wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(n.max(1))), pool: Arc::new(Mutex::new(Vec::new())), make, wait }
    }

    /// One per core: the work is CPU-bound, more at once only queues it in
    /// memory.
    pub fn per_core(make: fn() -> R, wait: Duration) -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from), make, wait)
    }

    pub async fn enter(&self) -> Result<Turn<R>, Busy> {
        let permit = match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(Busy),
        };
        let resource = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        Ok(Turn { resource: Some(resource.unwrap_or_else(self.make)), pool: self.pool.clone(), _permit: permit })
    }
}

impl<R> Turn<R> {
    /// Takes the resource out (to move it to a blocking thread); give it
    /// back with [`Turn::give_back`], or the next turn makes a new one.
    pub fn take(&mut self) -> Option<R> {
        self.resource.take()
    }

    pub fn give_back(&mut self, r: R) {
        self.resource = Some(r);
    }
}

impl<R> Drop for Turn<R> {
    fn drop(&mut self) {
        if let Some(r) = self.resource.take() {
            self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(r);
        }
    }
}

/// At most `running` at once and `waiting` in line behind them; a caller
/// finding the line full, or still in it after `wait`, is refused at once
/// rather than queued without end (each waiting export holds a connection
/// and, once in, its renditions in memory).
#[derive(Debug)]
pub struct Line {
    running: Arc<Semaphore>,
    waiting: usize,
    in_line: Arc<AtomicUsize>,
    wait: Duration,
}

/// A place in the line, left on drop (a client that hangs up while waiting
/// leaves it too).
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Line {
    pub fn new(running: usize, waiting: usize, wait: Duration) -> Self {
        Self { running: Arc::new(Semaphore::new(running.max(1))), waiting, in_line: Arc::default(), wait }
    }

    /// A turn, held until dropped; [`Busy`] when the line is full or the
    /// wait ran out.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(turn) = self.running.clone().try_acquire_owned() {
            return Ok(turn);
        }
        let place = InLine(Arc::clone(&self.in_line));
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.waiting {
            return Err(Busy);
        }
        let turn = tokio::time::timeout(self.wait, self.running.clone().acquire_owned()).await;
        drop(place);
        match turn {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(Busy),
        }
    }

    /// Callers waiting in line now.
    pub fn waiting(&self) -> usize {
        self.in_line.load(Ordering::Acquire)
    }
}

/// Work in progress, bounded in all and per caller: a caller that opens
/// many slow uploads holds its own slots, not everyone's.
#[derive(Debug)]
pub struct InFlight {
    max: usize,
    per_caller: usize,
    counts: Arc<Mutex<(usize, HashMap<String, usize>)>>,
}

/// Which bound an [`InFlight`] refusal met: the server's (everyone's slots
/// are taken: 503, come back later) or the caller's own share (429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Everyone,
    Caller,
}

/// A slot of [`InFlight`], given back on drop.
#[derive(Debug)]
pub struct Slot {
    caller: String,
    counts: Arc<Mutex<(usize, HashMap<String, usize>)>>,
}

impl InFlight {
    pub fn new(max: usize, per_caller: usize) -> Self {
        Self { max, per_caller, counts: Arc::new(Mutex::new((0, HashMap::new()))) }
    }

    /// A slot for `caller`, or which bound is reached when all of them, or
    /// all of the caller's, are taken.
    pub fn enter(&self, caller: &str) -> Result<Slot, Full> {
        let mut guard = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_caller) = &mut *guard;
        let mine = by_caller.get(caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(Full::Caller);
        }
        if *total >= self.max {
            return Err(Full::Everyone);
        }
        *total += 1;
        by_caller.insert(caller.to_owned(), mine + 1);
        Ok(Slot { caller: caller.to_owned(), counts: self.counts.clone() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut guard = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_caller) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = by_caller.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                by_caller.remove(&self.caller);
            }
        }
    }
}

/// A token bucket per source address: `burst` attempts, then one more every
/// `refill`. IPv6 sources count by /64 (one subscriber's prefix).
#[derive(Debug)]
pub struct SourceBudget {
    burst: u32,
    refill: Duration,
    /// Most sources tracked; beyond, full buckets are forgotten first, and
    /// if none is, new sources are refused (an attacker with many
    /// addresses must not grow this map without end).
    max_sources: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The source has no attempt left: the next one comes after this delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub retry_after: Duration,
}

impl SourceBudget {
    pub fn new(burst: u32, refill: Duration, max_sources: usize) -> Self {
        Self { burst, refill, max_sources, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one attempt from `source`'s budget, or says when one is free.
    /// `None` (no address known: an in-process caller) shares one bucket.
    pub fn spend(&self, source: Option<IpAddr>, now: Instant) -> Result<(), Exhausted> {
        let key = source.map_or(IpAddr::from([0, 0, 0, 0]), prefix);
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_sources {
            buckets.retain(|_, b| self.level(b, now) < f64::from(self.burst));
            if buckets.len() >= self.max_sources {
                return Err(Exhausted { retry_after: self.refill });
            }
        }
        let b = buckets.entry(key).or_insert(Bucket { tokens: f64::from(self.burst), at: now });
        b.tokens = self.level(b, now);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Exhausted { retry_after: self.refill.mul_f64(1.0 - b.tokens) })
        }
    }

    /// Gives back an attempt that turned out legitimate (a right code), so
    /// that the applicants behind one shared address (a guichet's public
    /// computer, a carrier's NAT) are not throttled by each other's
    /// successes.
    pub fn refund(&self, source: Option<IpAddr>) {
        let key = source.map_or(IpAddr::from([0, 0, 0, 0]), prefix);
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = buckets.get_mut(&key) {
            b.tokens = (b.tokens + 1.0).min(f64::from(self.burst));
        }
    }

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        let gained = now.saturating_duration_since(b.at).as_secs_f64() / self.refill.as_secs_f64();
        (b.tokens + gained).min(f64::from(self.burst))
    }
}

fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One running, one in line: a third is refused at once; the one in
    /// line gets the turn when it is given back; a waiter that gives up (its
    /// client hung up) leaves its place; the wait is bounded.
    #[tokio::test]
    async fn a_line_runs_its_share_holds_its_waiters_and_refuses_the_rest() {
        let line = Arc::new(Line::new(1, 1, Duration::from_millis(300)));
        let first = line.enter().await.unwrap();
        let l = Arc::clone(&line);
        let second = tokio::spawn(async move { l.enter().await.map(drop) });
        while line.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(line.enter().await.unwrap_err(), Busy, "the line is full");
        drop(first);
        assert_eq!(second.await.unwrap(), Ok(()));
        assert_eq!(line.waiting(), 0);

        let held = line.enter().await.unwrap();
        let l = Arc::clone(&line);
        let gave_up = tokio::spawn(async move { l.enter().await.map(drop) });
        while line.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        gave_up.abort();
        let _ = gave_up.await;
        assert_eq!(line.waiting(), 0, "a cancelled waiter left its place");
        let t = Instant::now();
        assert_eq!(line.enter().await.unwrap_err(), Busy, "still held after the wait");
        assert!(t.elapsed() >= Duration::from_millis(300));
        drop(held);
        assert!(line.enter().await.is_ok());
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_source_gets_its_burst_then_waits_for_the_refill() {
        let b = SourceBudget::new(3, Duration::from_secs(10), 100);
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.spend(ip("192.0.2.1"), t), Ok(()));
        }
        let e = b.spend(ip("192.0.2.1"), t).unwrap_err();
        assert_eq!(e.retry_after, Duration::from_secs(10));
        // Another address is not affected; the first gets one back later.
        assert_eq!(b.spend(ip("192.0.2.2"), t), Ok(()));
        assert_eq!(b.spend(ip("192.0.2.1"), t + Duration::from_secs(10)), Ok(()));
        assert!(b.spend(ip("192.0.2.1"), t + Duration::from_secs(10)).is_err());
        // A refund gives one attempt back.
        b.refund(ip("192.0.2.1"));
        assert_eq!(b.spend(ip("192.0.2.1"), t + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn ipv6_counts_by_prefix_and_the_map_is_bounded() {
        let b = SourceBudget::new(1, Duration::from_secs(60), 2);
        let t = Instant::now();
        assert_eq!(b.spend(ip("2001:db8:1:2::1"), t), Ok(()));
        assert!(b.spend(ip("2001:db8:1:2::ffff"), t).is_err(), "same /64");
        assert_eq!(b.spend(ip("2001:db8:9:9::1"), t), Ok(()));
        // Both tracked sources are spent: a third one cannot push them out.
        assert!(b.spend(ip("198.51.100.7"), t).is_err());
        // Once they have refilled, they are forgotten to make room.
        assert_eq!(b.spend(ip("198.51.100.7"), t + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn work_in_flight_is_bounded_in_all_and_per_caller() {
        let f = InFlight::new(3, 2);
        let a1 = f.enter("a").unwrap();
        let _a2 = f.enter("a").unwrap();
        assert_eq!(f.enter("a").unwrap_err(), Full::Caller, "a's own two are taken");
        let _b1 = f.enter("b").unwrap();
        assert_eq!(f.enter("c").unwrap_err(), Full::Everyone, "all three are taken");
        drop(a1);
        assert!(f.enter("c").is_ok(), "a slot given back serves anyone");
    }

    #[tokio::test]
    async fn costly_work_runs_n_at_once_reuses_its_resources_and_refuses_after_the_wait() {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        fn make() -> Vec<u8> {
            MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            vec![0; 16]
        }
        let gate = Costly::new(2, make, Duration::from_millis(50));
        let a = gate.enter().await.unwrap();
        let _b = gate.enter().await.unwrap();
        assert_eq!(gate.enter().await.unwrap_err(), Busy);
        drop(a);
        for _ in 0..10 {
            let mut t = gate.enter().await.unwrap();
            let r = t.take().unwrap();
            t.give_back(r);
        }
        assert_eq!(MADE.load(std::sync::atomic::Ordering::Relaxed), 2, "two resources for two turns, reused");
    }
}
