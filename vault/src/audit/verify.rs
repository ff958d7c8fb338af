//! `dnu-vault audit verify`: recomputes the chain and checks it against the
//! signed checkpoints.

use tokio::io::AsyncReadExt;

use super::Checkpoint;
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

pub async fn verify(vault: &Vault) -> Result<VerifyReport, Error> {
    let mut report = VerifyReport::default();
    let head = vault.db().audit_head().await?;
    // Checkpoints first: the chain walk checks each one as it passes.
    let mut checkpoints = Vec::new();
    for key in vault.store().list_checkpoints().await? {
        let mut raw = Vec::new();
        vault.store().reader(&key).await?.read_to_end(&mut raw).await?;
        match serde_json::from_slice::<Checkpoint>(&raw) {
            Ok(cp) if cp.signed_by(vault.audit_key().public_key()) => checkpoints.push(cp),
            Ok(cp) => report.problems.push(format!("checkpoint at event {} has a bad signature", cp.seq)),
            Err(_) => report.problems.push(format!("checkpoint {key} is unreadable")),
        }
    }
    report.checkpoints = checkpoints.len();
    let mut prev = vec![0u8; 32];
    let mut expected = head.chain_start + 1;
    let mut after = head.chain_start;
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
            // Continue from the stored hash so one bad event is reported once.
            prev = e.hash.clone().unwrap_or_else(|| computed.to_vec());
            for cp in checkpoints.iter().filter(|c| c.seq == e.seq) {
                if cp.hash != hex::encode(computed) {
                    report.problems.push(format!("event {} differs from the signed checkpoint", e.seq));
                }
            }
            expected = e.seq + 1;
            after = e.seq;
            report.events += 1;
        }
    }
    let last = expected - 1;
    if last != head.seq || (last > head.chain_start && head.hash != prev) {
        report.problems.push(format!("the chain ends at event {last} but its head says {}", head.seq));
    }
    for cp in checkpoints.iter().filter(|c| c.seq > last) {
        report.problems.push(format!(
            "events up to {} were signed in a checkpoint but the journal ends at {last} (truncated)",
            cp.seq
        ));
    }
    Ok(report)
}
