//! `dnu-vault audit verify`: recomputes the chain and checks it against the
//! signed checkpoints.
//!
//! Nothing the database says about itself is trusted on its own word: where
//! the chain starts is what the signed checkpoints say (a checkpoint at or
//! before the database's claimed start means events were cut from the
//! start), every checkpoint must name an event that is there with the hash
//! it signed, and the newest checkpoint must be recent (running servers
//! re-sign the head every few minutes), so deleting the newest events
//! together with the checkpoints that signed them shows too.

use std::collections::BTreeSet;

use super::{Checkpoint, checkpoint};
use crate::{app::Vault, db::audit::chain_hash, error::Error};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub checkpoints: usize,
    /// Every problem found, in words naming the event or checkpoint.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What the verification tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Most age of the newest checkpoint (ms); `None` for a journal
    /// verified long after its servers stopped (an old backup).
    pub max_checkpoint_age_ms: Option<i64>,
    /// Most age of an event that no checkpoint covers yet (ms): a server
    /// killed before it signed leaves a short unsigned tail, which the next
    /// start signs.
    pub max_unsigned_ms: i64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { max_checkpoint_age_ms: Some(24 * 3600 * 1000), max_unsigned_ms: 15 * 60 * 1000 }
    }
}

pub async fn verify(vault: &Vault) -> Result<VerifyReport, Error> {
    verify_with(vault, VerifyOptions::default()).await
}

pub async fn verify_with(vault: &Vault, options: VerifyOptions) -> Result<VerifyReport, Error> {
    let mut report = VerifyReport::default();
    let head = vault.db().audit_head().await?;
    let mut checkpoints = Vec::new();
    for key in vault.store().list_checkpoints().await? {
        match checkpoint::read(vault, &key).await? {
            Some(cp) if cp.signed_by(vault.audit_key().public_key()) => checkpoints.push(cp),
            Some(cp) => report.problems.push(format!("checkpoint at event {} has a bad signature", cp.seq)),
            None => report.problems.push(format!("checkpoint {key} is unreadable")),
        }
    }
    report.checkpoints = checkpoints.len();
    start_problems(&checkpoints, head.chain_start, &mut report.problems);

    let mut prev = vec![0u8; 32];
    let mut expected = head.chain_start + 1;
    let mut after = head.chain_start;
    let mut matched = BTreeSet::new();
    let mut last_at = None;
    loop {
        let batch = vault.db().audit_events_after(after, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if e.seq != expected {
                report.problems.push(format!("events {expected} to {} are missing (deleted)", e.seq - 1));
            }
            let computed = chain_hash(&prev, e.seq, e.at, &e.fields);
            if e.hash.as_deref() != Some(&computed[..]) {
                report.problems.push(format!(
                    "event {} does not match the chain (altered, reordered or deleted before it)",
                    e.seq
                ));
            }
            if e.seq == head.chain_start + 1 {
                let first = hex::encode(computed);
                for cp in checkpoints.iter().filter(|c| c.first_hash.as_ref().is_some_and(|h| *h != first)) {
                    report.problems.push(format!(
                        "the first event of the chain ({}) is not the one the checkpoint at event {} signed",
                        e.seq, cp.seq
                    ));
                }
            }
            // Continue from the stored hash so one bad event is reported once.
            prev = e.hash.clone().unwrap_or_else(|| computed.to_vec());
            for cp in checkpoints.iter().filter(|c| c.seq == e.seq) {
                matched.insert(cp.seq);
                if cp.hash != hex::encode(computed) {
                    report.problems.push(format!("event {} differs from the signed checkpoint", e.seq));
                }
            }
            expected = e.seq + 1;
            after = e.seq;
            last_at = Some(e.at);
            report.events += 1;
        }
    }
    let last = expected - 1;
    if last != head.seq || (last > head.chain_start && head.hash != prev) {
        report.problems.push(format!("the chain ends at event {last} but its head says {}", head.seq));
    }
    for cp in checkpoints.iter().filter(|c| c.seq > head.chain_start && !matched.contains(&c.seq)) {
        report.problems.push(if cp.seq > last {
            format!("events up to {} were signed in a checkpoint but the journal ends at {last} (truncated)", cp.seq)
        } else {
            format!("the checkpoint at event {} names an event that is not in the journal (deleted)", cp.seq)
        });
    }
    if let Some(last_at) = last_at {
        freshness_problems(&checkpoints, last, last_at, crate::clock::now_ms(), options, &mut report.problems);
    }
    Ok(report)
}

/// The chain's start as the database claims it, against what checkpoints signed.
fn start_problems(checkpoints: &[Checkpoint], chain_start: i64, problems: &mut Vec<String>) {
    for cp in checkpoints {
        if cp.seq <= chain_start {
            problems.push(format!(
                "the checkpoint at event {} lies before the chain's claimed start (after event {chain_start}): \
                 events were cut from the start of the journal",
                cp.seq
            ));
        }
        if let Some(start) = cp.chain_start.filter(|s| *s != chain_start) {
            problems.push(format!(
                "the checkpoint at event {} signed a chain starting after event {start}, the database says after \
                 event {chain_start}",
                cp.seq
            ));
        }
    }
}

/// Whether the newest events are signed, and the newest signature recent.
fn freshness_problems(
    checkpoints: &[Checkpoint],
    last: i64,
    last_at: i64,
    now: i64,
    options: VerifyOptions,
    problems: &mut Vec<String>,
) {
    let newest = checkpoints.iter().max_by_key(|c| (c.seq, c.at));
    let signed_up_to = newest.map_or(i64::MIN, |c| c.seq);
    if signed_up_to < last && now - last_at > options.max_unsigned_ms {
        problems.push(match newest {
            Some(c) => format!("events {} to {last} are signed by no checkpoint", c.seq + 1),
            None => format!("no signed checkpoint covers the journal (events up to {last})"),
        });
    }
    if let (Some(c), Some(max)) = (newest, options.max_checkpoint_age_ms)
        && now - c.at > max
    {
        problems.push(format!(
            "the newest checkpoint (event {}) is {} hours old: running servers re-sign every few minutes; \
             newer checkpoints and the events they signed may have been deleted",
            c.seq,
            (now - c.at) / 3_600_000
        ));
    }
}
