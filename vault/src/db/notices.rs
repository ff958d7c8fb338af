//! The notices' outbox (CCH R.441-2-7, R.441-2-8): written in the
//! transaction of the decision that causes them, then delivered: e-mails
//! by the sender (claimed for a while, retried with back-off), letters by
//! an agent of the registering guichet who marks them posted. The text and
//! recipient are sealed under the dossier key; the rows say only which
//! dossier, what kind, which channel and when.

use std::collections::{HashMap, HashSet};

use sqlx::{Row, any::AnyRow};
use time::Date;
use uuid::Uuid;

use super::{Db, date_from_sql, date_to_sql, now_ms, parsed, uuid_col};
use crate::{
    db::audit::AuditEvent,
    domain::{
        Channel, NoticeKind, RadiationReason,
        journal::{Actor, Recorded},
    },
    error::Error,
};

/// A notice to write.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub id: Uuid,
    pub kind: NoticeKind,
    /// The validity the notice is about (`valid_until` when issued).
    pub period: Date,
    pub channel: Channel,
    /// The sealed message (record id = `id`).
    pub sealed: Vec<u8>,
}

/// One decision of a batch and its notices.
#[derive(Debug, Clone)]
pub struct Issue {
    pub dossier: Uuid,
    /// The registering organisation (whose letter queue gets the letters).
    pub organisation: Uuid,
    pub because: Because,
    pub notices: Vec<NewNotice>,
}

/// A notice as stored.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: Uuid,
    pub dossier: Uuid,
    pub organisation: Uuid,
    pub kind: NoticeKind,
    pub period: Date,
    pub channel: Channel,
    pub issued_on: Date,
    pub sealed: Vec<u8>,
    pub attempts: i64,
    /// Unix ms: delivered (e-mail) or posted (letter).
    pub sent_at: Option<i64>,
    pub gave_up: bool,
    pub last_error: Option<String>,
}

/// The decision a batch of notices goes with.
#[derive(Debug, Clone, Copy)]
pub enum Because {
    /// A renewal notice: the dossier must still be active and valid until
    /// the notices' period.
    Expiring,
    /// A radiation, decided now, that the notices announce.
    Radiated { on: Date, reason: RadiationReason },
    /// A (c)/(d) warning, already recorded: the dossier must be active.
    Warned { on: Date, reason: RadiationReason },
}

const COLUMNS: &str = "id, dossier_id, organisation_id, kind, period, channel, issued_on, sealed, attempts, \
                       sent_at, gave_up_at, last_error";

fn from_row(r: &AnyRow) -> Result<Notice, Error> {
    Ok(Notice {
        id: uuid_col(r, "id")?,
        dossier: uuid_col(r, "dossier_id")?,
        organisation: uuid_col(r, "organisation_id")?,
        kind: parsed(r, "kind", NoticeKind::parse)?,
        period: parsed(r, "period", date_from_sql)?,
        channel: parsed(r, "channel", Channel::parse)?,
        issued_on: parsed(r, "issued_on", date_from_sql)?,
        sealed: r.try_get("sealed")?,
        attempts: r.try_get("attempts")?,
        sent_at: r.try_get("sent_at")?,
        gave_up: r.try_get::<Option<i64>, _>("gave_up_at")?.is_some(),
        last_error: r.try_get("last_error")?,
    })
}

impl Db {
    /// Writes decisions and their notices, a batch in one transaction (a
    /// commit per batch, not per demand: the daily pass's cost). For each:
    /// the radiation (or, for a renewal notice, the check that the dossier
    /// is still active and valid until the notices' period), the notices (a
    /// notice already issued for the same dossier, kind, period and channel
    /// is kept, not doubled) and their journal events, under `by`. Returns,
    /// in order, how many notices each added; `None`: that dossier had
    /// changed (renewed, radiated, erased) and nothing was written for it.
    pub async fn issue_notices(
        &self,
        batch: &[Issue],
        issued_on: Date,
        by: Actor,
    ) -> Result<Vec<Option<usize>>, Error> {
        let mut tx = self.write_tx().await?;
        // The guards, a statement per kind of decision (and reason): they
        // lock the rows on PostgreSQL, so a renewal or radiation
        // committed meanwhile is seen (SQLite has one writer); a dossier
        // not returned changed meanwhile and gets nothing.
        let mut passed: HashSet<Uuid> = HashSet::new();
        // Notices that keep the demand as it is: a warning needs it active,
        // a renewal notice also valid until the notices' period (renewed
        // since the pass looked, its notice is for another validity).
        let kept: HashMap<Uuid, Option<Date>> = batch
            .iter()
            .filter_map(|i| match i.because {
                Because::Expiring => Some((i.dossier, Some(i.notices.first().map_or(issued_on, |n| n.period)))),
                Because::Warned { .. } => Some((i.dossier, None)),
                Because::Radiated { .. } => None,
            })
            .collect();
        if !kept.is_empty() {
            // A row lock, not a write: an UPDATE would write a new version
            // of each row (and, on full pages, of each index entry). SQLite's
            // transaction already holds the one write lock.
            let lock = match self.backend() {
                super::Backend::Postgres => " FOR UPDATE",
                super::Backend::Sqlite => "",
            };
            let sql = format!(
                "SELECT id, valid_until FROM dossiers WHERE status = 'active' AND shredded_at IS NULL \
                 AND id IN ({}){lock}",
                super::placeholders(1, kept.len())
            );
            let mut q = sqlx::query(&sql);
            for id in kept.keys() {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                let (id, valid_until) = (uuid_col(&row, "id")?, parsed(&row, "valid_until", date_from_sql)?);
                if kept.get(&id).is_some_and(|period| period.is_none_or(|p| p == valid_until)) {
                    passed.insert(id);
                }
            }
        }
        let mut radiations: HashMap<(Date, RadiationReason), Vec<Uuid>> = HashMap::new();
        for i in batch {
            if let Because::Radiated { on, reason } = i.because {
                radiations.entry((on, reason)).or_default().push(i.dossier);
            }
        }
        for ((on, reason), ids) in &radiations {
            let sql = format!(
                "UPDATE dossiers SET status = 'radiated', radiated_on = $1, radiation_reason = $2 \
                 WHERE status = 'active' AND shredded_at IS NULL AND id IN ({}) RETURNING id",
                super::placeholders(3, ids.len())
            );
            let mut q = sqlx::query(&sql).bind(date_to_sql(*on)).bind(reason.as_str());
            for id in ids {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                passed.insert(uuid_col(&row, "id")?);
            }
        }
        // The notices, a few hundred rows per statement; one already issued
        // for the same dossier, kind, period and channel stays as it was.
        let rows: Vec<(&Issue, &NewNotice)> = batch
            .iter()
            .filter(|i| passed.contains(&i.dossier))
            .flat_map(|i| i.notices.iter().map(move |n| (i, n)))
            .collect();
        let mut added: HashMap<Uuid, usize> = HashMap::new();
        let now = now_ms();
        for chunk in rows.chunks(400) {
            let values: Vec<String> =
                (0..chunk.len()).map(|r| format!("({}, $1, $2, $3)", super::placeholders(r * 7 + 4, 7))).collect();
            let sql = format!(
                "INSERT INTO notices (id, dossier_id, organisation_id, kind, period, channel, sealed, issued_on, \
                 next_attempt_at, created_at) VALUES {} ON CONFLICT (dossier_id, kind, period, channel) DO NOTHING \
                 RETURNING dossier_id",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(date_to_sql(issued_on)).bind(now).bind(now);
            for (i, n) in chunk {
                q = q
                    .bind(n.id.to_string())
                    .bind(i.dossier.to_string())
                    .bind(i.organisation.to_string())
                    .bind(n.kind.as_str())
                    .bind(date_to_sql(n.period))
                    .bind(n.channel.as_str())
                    .bind(n.sealed.clone());
            }
            for row in q.fetch_all(&mut *tx).await? {
                *added.entry(uuid_col(&row, "dossier_id")?).or_default() += 1;
            }
        }
        let mut events = Vec::new();
        let mut out = Vec::with_capacity(batch.len());
        for i in batch {
            if !passed.contains(&i.dossier) {
                out.push(None);
                continue;
            }
            if let Because::Radiated { .. } = i.because {
                events.push(AuditEvent::new(by, policies::Action::DossierRadiate).on(i.dossier));
            }
            let n = added.get(&i.dossier).copied().unwrap_or(0);
            if n > 0 {
                events.push(AuditEvent::new(by, Recorded::NoticeIssued).on(i.dossier));
            }
            out.push(Some(n));
        }
        Self::record_many_in(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Active demands valid until `horizon` at the latest (lapsed ones
    /// included) with no renewal notice for their current validity yet:
    /// (id, valid_until, registering organisation).
    pub async fn due_for_notice(&self, horizon: Date) -> Result<Vec<(Uuid, Date, Uuid)>, Error> {
        let rows = sqlx::query(
            "SELECT d.id, d.valid_until, d.registered_by FROM dossiers d \
             WHERE d.status = 'active' AND d.shredded_at IS NULL AND d.valid_until <= $1 \
             AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dossier_id = d.id AND n.kind = 'renewal' \
                             AND n.period = d.valid_until) \
             ORDER BY d.valid_until, d.id",
        )
        .bind(date_to_sql(horizon))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((uuid_col(r, "id")?, parsed(r, "valid_until", date_from_sql)?, uuid_col(r, "registered_by")?)))
            .collect()
    }

    /// Active demands that lapsed before `as_of`, with the day their first
    /// renewal notice for that validity was issued: (id, valid_until,
    /// registering organisation, first notice). A lapsed demand with no
    /// notice is not here (it gets its notice first).
    pub async fn lapsed_with_notice(&self, as_of: Date) -> Result<Vec<(Uuid, Date, Uuid, Date)>, Error> {
        let rows = sqlx::query(
            "SELECT d.id, d.valid_until, d.registered_by, MIN(n.issued_on) AS first_notice \
             FROM dossiers d JOIN notices n ON n.dossier_id = d.id AND n.kind = 'renewal' AND n.period = d.valid_until \
             WHERE d.status = 'active' AND d.shredded_at IS NULL AND d.valid_until < $1 \
             GROUP BY d.id, d.valid_until, d.registered_by ORDER BY d.id",
        )
        .bind(date_to_sql(as_of))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid_col(r, "id")?,
                    parsed(r, "valid_until", date_from_sql)?,
                    uuid_col(r, "registered_by")?,
                    parsed(r, "first_notice", date_from_sql)?,
                ))
            })
            .collect()
    }

    /// Pending (c)/(d) warnings of active demands: (dossier, registering
    /// organisation, valid_until, reason, the day of the first warning).
    pub async fn pending_warnings(&self) -> Result<Vec<(Uuid, Uuid, Date, RadiationReason, Date)>, Error> {
        let rows = sqlx::query(
            "SELECT d.id, d.registered_by, d.valid_until, w.reason, MIN(w.warned_on) AS warned_on \
             FROM radiation_warnings w JOIN dossiers d ON d.id = w.dossier_id \
             WHERE w.cancelled_at IS NULL AND d.status = 'active' AND d.shredded_at IS NULL \
             GROUP BY d.id, d.registered_by, d.valid_until, w.reason ORDER BY d.id, w.reason",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid_col(r, "id")?,
                    uuid_col(r, "registered_by")?,
                    parsed(r, "valid_until", date_from_sql)?,
                    parsed(r, "reason", RadiationReason::parse)?,
                    parsed(r, "warned_on", date_from_sql)?,
                ))
            })
            .collect()
    }

    /// Up to `limit` e-mails due now (`now_all`: backing-off ones too)
    /// that no live sender holds. Listing takes nothing: each is claimed
    /// by [`Db::claim_email`] just before it is sent, so a sender stopped
    /// between two messages holds none.
    pub async fn emails_due(&self, limit: i64, now_all: bool) -> Result<Vec<Uuid>, Error> {
        let now = now_ms();
        let due_by = if now_all { i64::MAX } else { now };
        let rows = sqlx::query(
            "SELECT id FROM notices WHERE channel = 'email' AND sent_at IS NULL AND gave_up_at IS NULL \
             AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY next_attempt_at, id LIMIT $3",
        )
        .bind(due_by)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| uuid_col(r, "id")).collect()
    }

    /// Takes one e-mail for `lease_ms` unless it left or another sender
    /// holds it meanwhile; a sender killed while sending leaves its claim
    /// to lapse.
    pub async fn claim_email(&self, id: Uuid, lease_ms: i64) -> Result<Option<Notice>, Error> {
        let now = now_ms();
        let row = sqlx::query(&format!(
            "UPDATE notices SET claimed_until = $2 WHERE id = $1 AND sent_at IS NULL AND gave_up_at IS NULL \
             AND (claimed_until IS NULL OR claimed_until < $3) RETURNING {COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The e-mail left: never sent again.
    pub async fn notice_sent(&self, id: Uuid) -> Result<(), Error> {
        sqlx::query(
            "UPDATE notices SET sent_at = $2, claimed_until = NULL, attempts = attempts + 1, last_error = NULL \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The attempt failed: try again at `next_at`, or never when the
    /// server refused for good. `error` is a class, never the server's
    /// words (they may quote the address).
    pub async fn notice_failed(&self, id: Uuid, error: &str, next_at: Option<i64>) -> Result<(), Error> {
        let now = now_ms();
        sqlx::query(
            "UPDATE notices SET claimed_until = NULL, attempts = attempts + 1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), gave_up_at = CASE WHEN $3 IS NULL THEN $4 END \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(error)
        .bind(next_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The notices of a dossier, oldest first.
    pub async fn notices_of(&self, dossier: Uuid) -> Result<Vec<Notice>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE dossier_id = $1 ORDER BY created_at, channel, id"
        ))
        .bind(dossier.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The letters of an organisation's queue: those not posted yet (nor
    /// withdrawn), or all of them, oldest first.
    pub async fn letters_of(&self, organisation: Uuid, unposted_only: bool) -> Result<Vec<Notice>, Error> {
        let unposted = if unposted_only { "AND sent_at IS NULL AND gave_up_at IS NULL" } else { "" };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE organisation_id = $1 AND channel = 'post' {unposted} \
             ORDER BY created_at, id"
        ))
        .bind(organisation.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn notice(&self, id: Uuid) -> Result<Option<Notice>, Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM notices WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Marks a letter posted, with its journal event. `Ok(false)`: it was
    /// already.
    pub async fn letter_posted(&self, notice: &Notice, by: Actor) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let done =
            sqlx::query("UPDATE notices SET sent_at = $2 WHERE id = $1 AND channel = 'post' AND sent_at IS NULL")
                .bind(notice.id.to_string())
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        Self::record_in(&mut tx, &AuditEvent::new(by, Recorded::LetterPosted).on(notice.dossier)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// E-mails waiting (due or backing off) and e-mails given up on.
    pub async fn outbox_counts(&self) -> Result<(i64, i64), Error> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN gave_up_at IS NULL THEN 1 ELSE 0 END), 0) AS waiting, \
                    COALESCE(SUM(CASE WHEN gave_up_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS given_up \
             FROM notices WHERE channel = 'email' AND sent_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("waiting")?, row.try_get("given_up")?))
    }
}

impl Db {
    /// Pieces past their validity on `as_of`, and pieces lapsing after it
    /// and by `horizon`, of active demands.
    pub async fn pieces_by_validity(&self, as_of: Date, horizon: Date) -> Result<(i64, i64), Error> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN p.valid_until < $1 THEN 1 ELSE 0 END), 0) AS expired, \
                    COALESCE(SUM(CASE WHEN p.valid_until >= $1 AND p.valid_until <= $2 THEN 1 ELSE 0 END), 0) AS expiring \
             FROM pieces p JOIN dossiers d ON d.id = p.dossier_id \
             WHERE d.status = 'active' AND p.valid_until IS NOT NULL",
        )
        .bind(date_to_sql(as_of))
        .bind(date_to_sql(horizon))
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("expired")?, row.try_get("expiring")?))
    }
}
