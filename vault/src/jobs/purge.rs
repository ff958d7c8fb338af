//! `dnu-vault purge`: erases the dossiers radiated a year ago or more
//! (décret 2017-917 art. 4). For each: the key is crypto-shredded (every
//! object of the dossier, backups included, is unreadable from then on),
//! its objects are deleted from the store (a failure there is left to
//! `gc`, which deletes the objects of shredded dossiers), then its
//! personal metadata goes in one transaction and a tombstone stays: the
//! internal id, the numéro unique (which then answers 410 Gone), the dates
//! and the radiation reason. Interrupted, a run resumes where it stopped:
//! a dossier is due until its tombstone is written.

use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

use super::{Batch, under_way};
use crate::{app::Vault, error::Error};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The day the run purged as of.
    pub as_of: String,
    /// Dossiers whose year after radiation had ended.
    pub due: usize,
    pub purged: usize,
    /// Objects of those dossiers the registry listed (deleted, or left to gc).
    pub objects: usize,
    /// Internal ids of the dossiers purged (or due, in a dry run).
    pub dossiers: Vec<Uuid>,
}

/// Dossiers purged per transaction (250 purged faster than 100 in
/// `benches/lifecycle.rs`).
const BATCH: usize = 250;

/// Purges what is due `as_of`; with `dry_run`, only says what would go.
pub async fn purge(vault: &Vault, as_of: Date, dry_run: bool) -> Result<PurgeReport, Error> {
    // One year after radiation, as `purge_on` shows it: the query takes
    // every dossier radiated 365 days ago or more (a superset), the exact
    // anniversary is checked here.
    let candidates = vault.db().due_for_purge(as_of - time::Duration::days(365)).await?;
    let mut report = PurgeReport { as_of: crate::clock::iso_date(as_of), ..PurgeReport::default() };
    // Each: the dossiers due, their objects, how many were purged.
    let batches: Vec<Batch<'_, (Vec<Uuid>, usize, usize)>> = candidates
        .chunks(BATCH)
        .map(|chunk| {
            async move {
                let due: Vec<Uuid> = vault
                    .db()
                    .dossier_rows(chunk)
                    .await?
                    .into_iter()
                    .filter(|d| d.radiated.as_ref().is_some_and(|(on, _)| crate::dossiers::purge_on(*on) <= as_of))
                    .map(|d| d.id)
                    .collect();
                if dry_run || due.is_empty() {
                    return Ok((due, 0, 0));
                }
                // The keys first: from then on nothing of these dossiers can
                // be read, whatever happens to the rest.
                let objects = vault.shred_dossiers(&due).await?;
                let purged = vault.db().purge_metadata(&due, as_of).await?.len();
                Ok((due, objects, purged))
            }
            .boxed()
        })
        .collect();
    let mut done = under_way(vault, batches);
    while let Some(batch) = done.next().await {
        let (due, objects, purged) = batch?;
        report.due += due.len();
        report.dossiers.extend(&due);
        report.objects += objects;
        report.purged += purged;
    }
    if report.purged > 0 {
        vault.db().settle_erasure().await?;
    }
    tracing::info!(due = report.due, purged = report.purged, objects = report.objects, dry_run, "purge done");
    Ok(report)
}
