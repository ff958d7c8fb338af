//! Group commit of the audit events that must be durable before content
//! leaves (reads of pieces, exports, sign-ins, denials).
//!
//! Alone, each such event is a transaction of its own: the chain head's row
//! lock is taken, the event inserted, the head moved, and the commit waits
//! for the database's log flush while every other reader waits on the lock.
//! Readers arriving together would commit one after the other, one flush
//! each. Here they queue instead: one drainer task takes everything queued,
//! appends it to the chain in one transaction, commits once, and only then
//! tells each waiter. "Committed before the first byte" holds unchanged:
//! a waiter returns only after the commit that holds its event succeeded.
//!
//! The drainer is spawned when the first event arrives with none running
//! and ends when the queue is empty, so nothing outlives its runtime, and a
//! request dropped while waiting (its client went away) cannot cancel a
//! commit that others' events ride on.

use std::sync::{
    Arc, Mutex, MutexGuard,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::oneshot;

use super::{Db, audit::AuditEvent};
use crate::{domain::journal::RequestId, error::Error};

/// An event waiting for its commit, with the request it was recorded for.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) event: AuditEvent,
    pub(super) request: Option<RequestId>,
    /// Set for a once-a-day trace: its `daily_traces` row is written in
    /// the same commit.
    pub(super) daily: Option<Daily>,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The day and agent a once-a-day trace stands for (the action and the
/// dossier are the event's).
#[derive(Debug, Clone, Copy)]
pub(super) struct Daily {
    /// The UTC day's first millisecond.
    pub(super) day: i64,
    pub(super) agent: uuid::Uuid,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Queued>,
    /// A drainer task is running: it will see what is pushed now.
    draining: bool,
}

/// The group-commit queue of one process.
#[derive(Debug)]
pub(super) struct Journal {
    queue: Mutex<Queue>,
    max_batch: usize,
    commits: AtomicU64,
    events: AtomicU64,
}

/// Commits and events so far (for `/metrics` and the tests): their ratio is
/// how many readers shared a commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    pub commits: u64,
    pub events: u64,
}

impl Journal {
    pub(super) fn new(max_batch: usize) -> Self {
        Self {
            queue: Mutex::default(),
            max_batch: max_batch.max(1),
            commits: AtomicU64::new(0),
            events: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding it; a poisoned queue is still whole.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn stats(&self) -> JournalStats {
        JournalStats { commits: self.commits.load(Ordering::Relaxed), events: self.events.load(Ordering::Relaxed) }
    }
}

/// If the drainer unwinds, fails every event still queued (their waiters
/// answer an error rather than wait forever) and lets the next event start
/// another drainer.
struct DrainGuard(Arc<Journal>);

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.lock();
            q.draining = false;
            q.waiting.clear();
        }
    }
}

impl Db {
    /// Records an event, committed before this returns (reads are traced
    /// before the first byte leaves). Concurrent callers share commits.
    pub async fn record(&self, e: &AuditEvent) -> Result<(), Error> {
        self.record_all(std::slice::from_ref(e)).await
    }

    /// Records several events, all committed before this returns. They are
    /// queued together, so they ride in one commit unless the batch limit
    /// falls between them; if a commit fails, the error is returned (some
    /// of them may then be in the journal: each says only what was asked).
    pub async fn record_all(&self, events: &[AuditEvent]) -> Result<(), Error> {
        self.enqueue(events, None).await
    }

    /// [`Self::record_all`], each event also marked as `daily`'s trace.
    pub(super) async fn enqueue(&self, events: &[AuditEvent], daily: Option<Daily>) -> Result<(), Error> {
        let request = RequestId::current();
        let mut waits = Vec::with_capacity(events.len());
        let start = {
            let mut q = self.journal.lock();
            for event in events {
                let (done, committed) = oneshot::channel();
                q.waiting.push(Queued { event: *event, request: request.clone(), daily, done });
                waits.push(committed);
            }
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            let db = self.clone();
            tokio::spawn(async move { db.drain().await });
        }
        for committed in waits {
            committed
                .await
                .map_err(|_| Error::internal("audit journal", "the commit of this event was abandoned"))??;
        }
        Ok(())
    }

    /// Commits what is queued, batch after batch, until nothing is left.
    async fn drain(&self) {
        let _guard = DrainGuard(Arc::clone(&self.journal));
        loop {
            let batch: Vec<Queued> = {
                let mut q = self.journal.lock();
                if q.waiting.is_empty() {
                    q.draining = false;
                    return;
                }
                let n = q.waiting.len().min(self.journal.max_batch);
                q.waiting.drain(..n).collect()
            };
            let result = self.commit_batch(&batch).await;
            if result.is_ok() {
                self.journal.commits.fetch_add(1, Ordering::Relaxed);
                self.journal.events.fetch_add(batch.len() as u64, Ordering::Relaxed);
                crate::metrics::global().audit_commits.inc();
                crate::metrics::global().audit_events.add(batch.len() as u64);
            }
            // One failure, shared by every event of the batch: each waiter
            // answers with it (a database down is a 503 for all of them).
            let shared = result.err().map(Arc::new);
            for q in batch {
                let answer = match &shared {
                    None => Ok(()),
                    Some(e) => Err(Error::Journal(Arc::clone(e))),
                };
                // A waiter that went away needs no answer.
                let _ = q.done.send(answer);
            }
        }
    }

    async fn commit_batch(&self, batch: &[Queued]) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        Self::append_in(&mut tx, batch.iter().map(|q| (&q.event, q.request.as_ref()))).await?;
        Self::mark_daily_in(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many commits carried how many events since start.
    pub fn journal_stats(&self) -> JournalStats {
        self.journal.stats()
    }

    /// The same store, committing at most `max` events at once (1: each
    /// event alone, as before group commit; for comparison).
    #[must_use]
    pub fn with_audit_batch(mut self, max: usize) -> Self {
        self.journal = Arc::new(Journal::new(max));
        self
    }
}
