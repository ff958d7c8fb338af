//! Delivering the e-mails of the outbox: each claimed for a while (so two
//! senders, on one replica or two, never send the same one at once), sent
//! with its stable Message-ID, then marked sent; a temporary failure is
//! retried with back-off, a refusal for good is kept and shown. A crash
//! between the send and the mark sends that one message again, with the
//! same Message-ID.

use serde::Serialize;
use uuid::Uuid;

use super::compose::Message;
use crate::{
    app::Vault,
    db::contacts::SealedRecord,
    domain::EmailAddress,
    error::Error,
    mail::{Failure, Outgoing},
};

/// How long a sender holds a claimed e-mail before another may take it.
const CLAIM_MS: i64 = 5 * 60 * 1000;
/// The first retry waits a minute, each next one twice as long, up to an hour.
const FIRST_RETRY_MS: i64 = 60 * 1000;
const LAST_RETRY_MS: i64 = 60 * 60 * 1000;
const BATCH: i64 = 50;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    /// Failed for now; tried again later.
    pub deferred: usize,
    /// Refused for good by the mail server.
    pub refused: usize,
    /// E-mails still waiting after this run (no SMTP configured, or deferred).
    pub waiting: i64,
}

/// The delay before attempt `attempts + 1`.
fn backoff(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    (FIRST_RETRY_MS << doublings).min(LAST_RETRY_MS)
}

/// Sends the e-mails due. `now_all`: also those backing off (a run by
/// hand, whose operator wants them out now). `stopping` is asked between
/// two messages: a server shutting down finishes the one in flight and
/// leaves the rest unclaimed, for another replica or its next start.
pub async fn deliver(vault: &Vault, now_all: bool, stopping: impl Fn() -> bool) -> Result<DeliveryReport, Error> {
    let mut report = DeliveryReport::default();
    let Some(mailer) = vault.mailer() else {
        report.waiting = vault.db().outbox_counts().await?.0;
        crate::metrics::global().outbox_waiting(report.waiting);
        return Ok(report);
    };
    let mut seen = std::collections::HashSet::new();
    'batches: loop {
        let due = vault.db().emails_due(BATCH, now_all).await?;
        let fresh: Vec<_> = due.into_iter().filter(|id| seen.insert(*id)).collect();
        if fresh.is_empty() {
            break;
        }
        for id in fresh {
            if stopping() {
                break 'batches;
            }
            let Some(notice) = vault.db().claim_email(id, CLAIM_MS).await? else {
                continue;
            };
            let dk = vault.dossier_key(notice.dossier).await?;
            let message: Message =
                crate::sealed::records::open(&dk, &SealedRecord { id: notice.id, sealed: notice.sealed.clone() })?;
            let to = message.to.as_deref().map(EmailAddress::parse);
            let outcome = match to {
                Some(Ok(to)) => {
                    let (text, html) = (message.text(), message.html());
                    mailer
                        .send(&Outgoing {
                            to: &to,
                            subject: &message.subject,
                            text: &text,
                            html: &html,
                            message_id: mailer.message_id(notice.id),
                        })
                        .await
                }
                _ => Err(Failure::Refused("no valid recipient address".into())),
            };
            record(vault, notice.id, notice.attempts, outcome, &mut report).await?;
        }
    }
    report.waiting = vault.db().outbox_counts().await?.0;
    let m = crate::metrics::global();
    m.notices_sent.add(report.sent as u64);
    m.notices_deferred.add(report.deferred as u64);
    m.notices_refused.add(report.refused as u64);
    m.outbox_waiting(report.waiting);
    if report.sent + report.deferred + report.refused > 0 {
        tracing::info!(
            notices.sent = report.sent,
            notices.deferred = report.deferred,
            notices.refused = report.refused,
            notices.waiting = report.waiting,
            "outbox delivered"
        );
    }
    Ok(report)
}

async fn record(
    vault: &Vault,
    id: Uuid,
    attempts: i64,
    outcome: Result<(), Failure>,
    report: &mut DeliveryReport,
) -> Result<(), Error> {
    match outcome {
        Ok(()) => {
            vault.db().notice_sent(id).await?;
            report.sent += 1;
        }
        Err(Failure::Deferred(why)) => {
            let next = crate::clock::now_ms() + backoff(attempts);
            vault.db().notice_failed(id, &why, Some(next)).await?;
            tracing::warn!(notice.id = %id, attempts = attempts + 1, error = %why, "e-mail notice deferred");
            report.deferred += 1;
        }
        Err(failure @ Failure::Refused(_)) => {
            vault.db().notice_failed(id, &failure.to_string(), None).await?;
            tracing::warn!(notice.id = %id, error = %failure, "e-mail notice refused for good");
            report.refused += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(0), 60_000);
        assert_eq!(backoff(1), 120_000);
        assert_eq!(backoff(6), LAST_RETRY_MS);
        assert_eq!(backoff(1_000), LAST_RETRY_MS);
    }
}
