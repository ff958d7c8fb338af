//! The daily pass: a demand's legal year (CCH R.441-2-7, R.441-2-8,
//! décret 2017-917 art. 4), as of one day.
//!
//! 1. The renewal notice for every active demand expiring within the lead
//!    (31 days by default), lapsed ones included, that has none for its
//!    current validity.
//! 2. Radiation for (e), non-renewal, of every lapsed demand whose notice
//!    went out a month ago or more: never less (a demand imported late,
//!    or a pass that could not run, gets its full month).
//! 3. Radiation for (c) or (d) of every demand whose warning is a month
//!    old and still stands.
//! 4. The purge of every demand radiated a year ago ([`super::purge`]).
//! 5. A count of the pieces that have expired or expire within the lead
//!    (the pages mark them from `valid_until`, computed where shown).
//!
//! Decisions are written with their notices in transactions of 250 (one
//! commit per batch, several under way on PostgreSQL), each checking its
//! dossier is still as the pass saw it; notices are unique per dossier,
//! kind, validity and channel. So a pass killed half-way and run again
//! completes without doubling anything, and two replicas running it at
//! once issue each notice once. `serve` runs it once a day ([`daily`]),
//! one replica per day holding the day's lease.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

use super::{
    Batch,
    purge::{PurgeReport, purge},
    under_way,
};
use crate::{
    app::Vault,
    db::notices::Because,
    domain::{NoticeKind, RadiationReason},
    error::Error,
    notices::{DeliveryReport, deliver},
};

#[derive(Debug, Default, Clone, Serialize)]
pub struct PassReport {
    pub as_of: String,
    pub dry_run: bool,
    /// Demands given their renewal notice (or due for one, dry run).
    pub renewal_notices: usize,
    /// Notices written (one per channel).
    pub messages: usize,
    /// Radiated for (e), non-renewal.
    pub radiated_non_renewal: usize,
    /// Radiated for (c) or (d), a month after the warning.
    pub radiated_after_warning: usize,
    pub purge: PurgeReport,
    /// Pieces past their validity, and pieces lapsing within the lead.
    pub pieces_expired: i64,
    pub pieces_expiring: i64,
    /// Digests of the relance list sent to registering organisations.
    pub digests: usize,
    /// Milliseconds each step took: notices, (e), (c)/(d), purge.
    pub step_ms: [u128; 4],
    /// The e-mails sent after the pass (not in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReport>,
}

/// Progress is logged every this many decisions.
const PROGRESS_EVERY: usize = 1000;
/// Decisions written per transaction: one commit per batch rather than per
/// demand, while the journal's head (which every traced request takes)
/// stays locked only for a batch's few milliseconds. 250: of 100, 250 and
/// 500, the fastest pass in `benches/lifecycle.rs` (2026-12-03).
const BATCH: usize = 250;

/// One batch's decisions (see [`crate::notices::issue`]).
type Decisions<'a> = Batch<'a, Vec<Option<usize>>>;

/// Runs the pass as of `as_of`; with `dry_run`, only counts.
pub async fn run_pass(vault: &Vault, as_of: Date, dry_run: bool) -> Result<PassReport, Error> {
    let lead = i64::from(vault.config().notices.lead_days);
    let mut r = PassReport { as_of: crate::clock::iso_date(as_of), dry_run, ..PassReport::default() };

    let started = std::time::Instant::now();
    let due = vault.db().due_for_notice(as_of + time::Duration::days(lead)).await?;
    tracing::info!(as_of = %r.as_of, due = due.len(), "lifecycle pass: renewal notices");
    let ids: Vec<Uuid> = due.iter().map(|(id, _, _)| *id).collect();
    if dry_run {
        r.renewal_notices = ids.len();
    } else {
        let batches: Vec<Decisions<'_>> = ids
            .chunks(BATCH)
            .map(|chunk| {
                async move {
                    let dossiers = vault.db().dossier_rows(chunk).await?;
                    crate::notices::issue(vault, &dossiers, NoticeKind::Renewal, as_of, |_| Because::Expiring).await
                }
                .boxed()
            })
            .collect();
        let mut done = under_way(vault, batches);
        let mut k = 0;
        while let Some(batch) = done.next().await {
            for added in batch?.into_iter().flatten() {
                r.renewal_notices += 1;
                r.messages += added;
            }
            k += 1;
            progress("renewal notices", k * BATCH, ids.len());
        }
    }

    r.step_ms[0] = started.elapsed().as_millis();
    let started = std::time::Instant::now();
    let lapsed = vault.db().lapsed_with_notice(as_of).await?;
    let ripe: Vec<(Uuid, RadiationReason)> = lapsed
        .into_iter()
        .filter(|(_, _, _, noticed)| crate::clock::one_month_after(*noticed) <= as_of)
        .map(|(id, _, _, _)| (id, RadiationReason::NonRenouvellement))
        .collect();
    tracing::info!(as_of = %r.as_of, due = ripe.len(), "lifecycle pass: radiations for non-renewal (e)");
    r.radiated_non_renewal = radiate_all(vault, &ripe, as_of, dry_run, &mut r.messages).await?;

    r.step_ms[1] = started.elapsed().as_millis();
    let started = std::time::Instant::now();
    let mut warned = vault.db().pending_warnings().await?;
    warned.retain(|(_, _, _, _, on)| crate::clock::one_month_after(*on) <= as_of);
    // A demand warned for both (c) and (d) is radiated once, for the first.
    warned.dedup_by_key(|w| w.0);
    let warned: Vec<(Uuid, RadiationReason)> = warned.into_iter().map(|(id, _, _, reason, _)| (id, reason)).collect();
    tracing::info!(as_of = %r.as_of, due = warned.len(), "lifecycle pass: radiations after a warning (c, d)");
    r.radiated_after_warning = radiate_all(vault, &warned, as_of, dry_run, &mut r.messages).await?;

    r.step_ms[2] = started.elapsed().as_millis();
    let started = std::time::Instant::now();
    r.purge = purge(vault, as_of, dry_run).await?;
    r.step_ms[3] = started.elapsed().as_millis();
    if !dry_run && vault.config().notices.digest {
        r.digests = crate::notices::send_digests(vault, as_of).await?;
    }
    (r.pieces_expired, r.pieces_expiring) =
        vault.db().pieces_by_validity(as_of, as_of + time::Duration::days(lead)).await?;
    tracing::info!(
        as_of = %r.as_of,
        dry_run,
        renewal_notices = r.renewal_notices,
        messages = r.messages,
        radiated.non_renewal = r.radiated_non_renewal,
        radiated.after_warning = r.radiated_after_warning,
        purged = r.purge.purged,
        pieces.expired = r.pieces_expired,
        pieces.expiring = r.pieces_expiring,
        "lifecycle pass done"
    );
    Ok(r)
}

/// Radiates `due` in batches; returns how many were (counts them, dry run).
async fn radiate_all(
    vault: &Vault,
    due: &[(Uuid, RadiationReason)],
    as_of: Date,
    dry_run: bool,
    messages: &mut usize,
) -> Result<usize, Error> {
    if dry_run {
        return Ok(due.len());
    }
    let batches: Vec<Decisions<'_>> = due
        .chunks(BATCH)
        .map(|chunk| {
            async move {
                let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
                let reasons: std::collections::HashMap<Uuid, RadiationReason> = chunk.iter().copied().collect();
                let dossiers: Vec<_> = vault
                    .db()
                    .dossier_rows(&ids)
                    .await?
                    .into_iter()
                    .map(|d| {
                        let reason = reasons.get(&d.id).copied().unwrap_or(RadiationReason::NonRenouvellement);
                        (d, reason)
                    })
                    .collect();
                crate::notices::radiate(vault, &dossiers, as_of).await
            }
            .boxed()
        })
        .collect();
    let mut done = under_way(vault, batches);
    let (mut radiated, mut k) = (0, 0);
    while let Some(batch) = done.next().await {
        for added in batch?.into_iter().flatten() {
            radiated += 1;
            *messages += added;
        }
        k += 1;
        progress("radiations", k * BATCH, due.len());
    }
    Ok(radiated)
}

fn progress(step: &str, done: usize, total: usize) {
    let done = done.min(total);
    if done.is_multiple_of(PROGRESS_EVERY) || (done == total && total >= PROGRESS_EVERY) {
        tracing::info!(step, done, total, "lifecycle pass progress");
    }
}

/// How often `serve` looks at the clock and the outbox.
const TICK: Duration = Duration::from_secs(60);
/// A replica holds the day's pass this long, renewed at each step it takes.
const LEASE_MS: i64 = 30 * 60 * 1000;

/// `serve`'s daily loop: each minute, the e-mails due; once a UTC day,
/// the forgetting of past days' once-a-day trace keys (`db/daily.rs`);
/// once the local time
/// of the pass has come, the day's pass unless finished (by this replica
/// or another), taken with the day's lease. A vault that was down at that
/// time runs the pass when it comes back the same day. It returns when
/// `stop` turns true: a pass under way is dropped (its open transaction
/// rolls back; the next start resumes it), an e-mail in flight finishes.
pub async fn daily(vault: Vault, stop: tokio::sync::watch::Receiver<bool>) {
    let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4());
    let stopping = || *stop.borrow();
    let mut changed = stop.clone();
    let mut forgotten_before = None;
    loop {
        if vault.config().notices.daily {
            tokio::select! {
                r = daily_tick(&vault, &owner) => if let Err(e) = r {
                    tracing::error!(error = %e, "the daily pass failed; it is tried again in a minute");
                },
                _ = changed.wait_for(|s| *s) => return,
            }
        }
        let today = crate::clock::start_of_day_ms();
        if forgotten_before != Some(today) {
            match vault.db().forget_daily_traces_before(today).await {
                Ok(_) => forgotten_before = Some(today),
                Err(e) => {
                    tracing::error!(error = %e, "forgetting past days' trace keys failed; it is tried again in a minute");
                }
            }
        }
        if let Err(e) = deliver(&vault, false, stopping).await {
            tracing::error!(error = %e, "delivering the outbox failed; it is tried again in a minute");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = changed.wait_for(|s| *s) => return,
        }
    }
}

async fn daily_tick(vault: &Vault, owner: &str) -> Result<(), Error> {
    let c = &vault.config().notices;
    let local = c.zone.local(time::OffsetDateTime::now_utc());
    let day = local.date();
    let (h, m) = c.run_at;
    if (local.hour(), local.minute()) < (h, m) || vault.db().run_finished(day).await? {
        return Ok(());
    }
    if !vault.db().claim_run(day, owner, LEASE_MS).await? {
        return Ok(());
    }
    run_pass(vault, day, false).await?;
    vault.db().finish_run(day, owner).await
}
