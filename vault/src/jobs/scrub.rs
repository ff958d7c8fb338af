//! Scrubbing: every stored object read back and verified again over a
//! cycle (default 30 days), so that a silent corruption of an object
//! nobody reads (a bit flipped on a disk, a truncated file, an object lost
//! by the store) is found within a cycle, not the day an applicant needs
//! the piece.
//!
//! Each version's original is decrypted and its SHA-256 compared with the
//! one sealed at upload; its rendition and thumbnail are decrypted end to
//! end (every chunk authenticates). A failure becomes a row of
//! `scrub_findings` (listed by `dnu-vault check` with the dossier and the
//! piece), an audit event `piece.integrity_failure` on the dossier, and
//! `dnu_vault_integrity_failures_total`. Nothing is repaired here: the
//! operator restores the object from a backup.
//!
//! In `serve`, [`background`] walks the dossiers in id order, one at a
//! time, pausing so that one cycle spreads over `cycle` and never reads
//! faster than `max_bytes_per_s`. The cursor is shared in the database:
//! replicas take turns, a restart resumes, and a cycle that ends early
//! waits for its period before the next begins.

use std::time::Duration;

use uuid::Uuid;

use super::verify::verify_dossier;
use crate::{
    app::Vault,
    config::ScrubPace as Pace,
    db::scrub::{Finding, Problem},
    error::Error,
    store::ObjectKey,
};

/// What a pass found.
#[derive(Debug, Default, Clone)]
pub struct ScrubReport {
    pub dossiers: usize,
    pub objects: usize,
    pub bytes: u64,
    pub problems: Vec<Finding>,
    /// Problems not recorded before this pass.
    pub new: usize,
}

/// Verifies every object of one dossier; records what failed.
pub async fn scrub_dossier(vault: &Vault, dossier: Uuid, report: &mut ScrubReport) -> Result<(), Error> {
    // An erased dossier's objects are gone with its key, as they should.
    if vault.db().wrapped_key(dossier).await?.is_none() {
        return Ok(());
    }
    let dk = vault.dossier_key(dossier).await?;
    let mut found = Vec::new();
    for c in verify_dossier(vault, &dk, dossier, |_| false).await? {
        report.objects += 1;
        report.bytes += c.size;
        if c.sound {
            continue;
        }
        // Asked only of what failed: one more call to the store for the
        // rare object that did.
        let present = vault.store().len(&ObjectKey::Dossier { dossier, object: c.object }).await?.is_some();
        let problem = if present { Problem::Corrupt } else { Problem::Missing };
        found.push(Finding { object: c.object, dossier, piece: c.piece, version: c.version, part: c.part, problem });
    }
    report.dossiers += 1;
    let still_bad: Vec<Uuid> = found.iter().map(|f| f.object).collect();
    vault.db().resolve_findings(dossier, &still_bad).await?;
    if !found.is_empty() {
        let new = vault.db().record_findings(&found).await?;
        for f in &new {
            crate::metrics::global().integrity_failures.inc();
            tracing::error!(
                dossier.id = %f.dossier, piece.id = %f.piece, version.id = %f.version, object.id = %f.object,
                part = f.part.as_str(), problem = f.problem.as_str(),
                "scrubber: a stored object failed verification; restore it from a backup"
            );
        }
        report.new += new.len();
        report.problems.extend(found);
    }
    Ok(())
}

/// `dnu-vault scrub`: the dossiers the current cycle has not reached yet
/// (`all`: every dossier, from the first), now, at full speed.
pub async fn pass(vault: &Vault, all: bool, mut progress: impl FnMut(&ScrubReport)) -> Result<ScrubReport, Error> {
    let mut report = ScrubReport::default();
    let mut cursor = if all { None } else { vault.db().scrub_progress().await?.0 };
    while let Some(dossier) = vault.db().next_dossier_to_scrub(cursor).await? {
        scrub_dossier(vault, dossier, &mut report).await?;
        if !all {
            // Moved for the cycle too, so `serve` does not read it again.
            let _ = vault.db().claim_scrub(cursor, Some(dossier)).await?;
        }
        cursor = Some(dossier);
        if report.dossiers % 100 == 0 {
            progress(&report);
        }
    }
    Ok(report)
}

/// The scrubber of `serve`, until `stop` turns true.
pub async fn background(vault: Vault, pace: Pace, mut stop: tokio::sync::watch::Receiver<bool>) {
    // The cycle's length in dossiers, counted once per cycle (a count over
    // every version is no query to run between two dossiers).
    let mut dossiers = None;
    loop {
        let wait = match step(&vault, pace, &mut dossiers).await {
            Ok(wait) => wait,
            Err(e) => {
                // The database or the store is away: try again later.
                tracing::warn!(error = %e, "scrubber: step failed; retrying in a minute");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Scrubs the next dossier of the cycle (or starts the next cycle when its
/// time has come); returns how long to wait before the next step.
async fn step(vault: &Vault, pace: Pace, dossiers: &mut Option<u64>) -> Result<Duration, Error> {
    let (cursor, started_ms) = vault.db().scrub_progress().await?;
    let Some(dossier) = vault.db().next_dossier_to_scrub(cursor).await? else {
        // The cycle is done: the next starts one period after this began.
        let cycle_ms = i64::try_from(pace.cycle.as_millis()).unwrap_or(i64::MAX);
        let due = started_ms.saturating_add(cycle_ms) - crate::clock::now_ms();
        if due > 0 {
            return Ok(Duration::from_millis(u64::try_from(due).unwrap_or(0)).min(Duration::from_secs(3600)));
        }
        vault.db().claim_scrub(cursor, None).await?;
        *dossiers = None;
        return Ok(Duration::ZERO);
    };
    // Another replica took it first: go on from where it is.
    if !vault.db().claim_scrub(cursor, Some(dossier)).await? {
        return Ok(Duration::ZERO);
    }
    let mut report = ScrubReport::default();
    scrub_dossier(vault, dossier, &mut report).await?;
    // A cycle's dossiers spread over its period, and never faster than the
    // byte rate allows.
    let n = match *dossiers {
        Some(n) => n,
        None => *dossiers.insert(vault.db().scrub_cycle_length().await?.max(1)),
    };
    let spread = pace.cycle / u32::try_from(n).unwrap_or(u32::MAX);
    let by_rate = Duration::from_secs_f64(report.bytes as f64 / pace.max_bytes_per_s.max(1) as f64);
    Ok(spread.max(by_rate))
}
