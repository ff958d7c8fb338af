//! The once-a-day traces: an agent listing a dossier in a worklist, or
//! reading its metadata, is recorded in the dossier's journal once per
//! agent, action and UTC day. `daily_traces` holds one row per trace
//! recorded today, written in the commit of its event, so which dossiers of
//! a page already have theirs is a lookup of the page's own keys (the
//! journal itself would be read for the agent's whole day; migration 0024
//! says what that cost).

use uuid::Uuid;

use super::{
    Db, Tx,
    audit::AuditEvent,
    journal::{Daily, Queued},
};
use crate::error::Error;

/// Four parameters a row: far below PostgreSQL's 65,535 and SQLite's 32,766.
const ROWS_PER_INSERT: usize = 500;

impl Db {
    /// Records `event` on each of `dossiers` that `agent` has no trace of
    /// the same action on for the UTC day starting at `day` (ms): one read
    /// of the page's keys, then one shared commit for the events and their
    /// rows whatever the number of dossiers. Returns how many were new.
    ///
    /// Two requests of the same agent racing on one dossier may both
    /// record it (the second row is then ignored): a trace line too many,
    /// never one missing.
    pub async fn record_once_each(
        &self,
        event: &AuditEvent,
        agent: Uuid,
        dossiers: &[Uuid],
        day: i64,
    ) -> Result<usize, Error> {
        if dossiers.is_empty() {
            return Ok(0);
        }
        // Led by the dossiers, as the key is (migration 0024 says why).
        let sql = format!(
            "SELECT dossier_id FROM daily_traces WHERE dossier_id IN ({}) AND agent_id = $1 AND action = $2 \
             AND day = $3",
            super::placeholders(4, dossiers.len())
        );
        // Planned each time, not prepared once per connection: the table
        // starts each day nearly empty, and a plan cached then (a scan of
        // a few rows) stayed cached while the table grew, since nothing
        // analyses it within the day. 20–36 ms a page by the 200th (the
        // whole day scanned, in `auto_explain`), against 0.3–0.6 ms through
        // the key; planning costs a few hundredths of a millisecond.
        let mut q = sqlx::query_scalar::<_, String>(&sql)
            .persistent(false)
            .bind(agent.to_string())
            .bind(event.action.as_str())
            .bind(day);
        for d in dossiers {
            q = q.bind(d.to_string());
        }
        let seen: std::collections::HashSet<String> = q.fetch_all(self.pool()).await?.into_iter().collect();
        let fresh: Vec<AuditEvent> =
            dossiers.iter().filter(|d| !seen.contains(&d.to_string())).map(|d| (*event).on(*d)).collect();
        if fresh.is_empty() {
            return Ok(0);
        }
        // Through the group commit: under load, every agent opening a
        // dossier for the first time today would otherwise take the
        // journal's lock and a log flush of its own.
        self.enqueue(&fresh, Some(Daily { day, agent })).await?;
        Ok(fresh.len())
    }

    /// Writes the `daily_traces` rows of the once-a-day events of a batch,
    /// in the transaction that appends them to the journal.
    pub(super) async fn mark_daily_in(tx: &mut Tx, batch: &[Queued]) -> Result<(), Error> {
        let rows: Vec<(i64, String, &str, String)> = batch
            .iter()
            .filter_map(|q| {
                let daily = q.daily?;
                Some((daily.day, daily.agent.to_string(), q.event.action.as_str(), q.event.dossier?.to_string()))
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> =
                (0..chunk.len()).map(|r| format!("({})", super::placeholders(r * 4 + 1, 4))).collect();
            let sql = format!(
                "INSERT INTO daily_traces (day, agent_id, action, dossier_id) VALUES {} ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (day, agent, action, dossier) in chunk {
                q = q.bind(*day).bind(agent.as_str()).bind(*action).bind(dossier.as_str());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Deletes the rows of the days before `day` (ms), which no lookup
    /// asks for any more: a scan of the table, meant for once a day, when
    /// they are most of it. Returns how many went.
    pub async fn forget_daily_traces_before(&self, day: i64) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM daily_traces WHERE day < $1").bind(day).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
