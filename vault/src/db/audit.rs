//! The audit journal: one row per event, written in the same transaction as
//! what it records, hash-chained. The chain head (`audit_head`) is updated
//! in that transaction too; its row lock makes appenders take turns, so the
//! chain has no forks.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, Tx, now_ms};
use crate::{
    domain::journal::{Actor, Outcome, Recorded, RequestId},
    error::Error,
};

/// One audit event. Ids only: never document content or personal data.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent {
    /// Who acted, and the purpose the event is recorded under.
    pub actor: Actor,
    pub action: Recorded,
    pub dossier: Option<Uuid>,
    pub piece: Option<Uuid>,
    pub version: Option<Uuid>,
    pub outcome: Outcome,
    /// The organisation a grant event opens the dossier to (or closes it).
    pub grantee: Option<Uuid>,
}

impl AuditEvent {
    /// A successful `action` by `actor`, on nothing yet.
    pub fn new(actor: Actor, action: impl Into<Recorded>) -> Self {
        Self {
            actor,
            action: action.into(),
            dossier: None,
            piece: None,
            version: None,
            outcome: Outcome::Ok,
            grantee: None,
        }
    }

    pub fn on(mut self, dossier: Uuid) -> Self {
        self.dossier = Some(dossier);
        self
    }

    pub fn granting(mut self, organisation: Uuid) -> Self {
        self.grantee = Some(organisation);
        self
    }

    pub fn of_version(mut self, piece: Uuid, version: Uuid) -> Self {
        self.piece = Some(piece);
        self.version = Some(version);
        self
    }

    pub fn denied(mut self) -> Self {
        self.outcome = Outcome::Denied;
        self
    }
}

/// An event as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: i64,
    /// agent, organisation, action, dossier, piece, version, outcome,
    /// purpose, grantee, request id.
    pub fields: [Option<String>; 10],
    pub hash: Option<Vec<u8>>,
}

/// The chain head: last sequence number and hash, and where the chain starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub chain_start: i64,
}

/// SHA-256 over the previous hash and every field, each length-prefixed so
/// that no two different events encode alike. The purpose (the eighth
/// field, added later) is hashed only when present: the first seven fields
/// are self-delimiting, so an event with a purpose still encodes unlike any
/// event without one, and events recorded before it keep their hashes.
/// The grantee (the ninth, added later still) likewise, after a marker no
/// purpose's length can take, so "no purpose, a grantee" never encodes as
/// "a purpose". The request id (the tenth, added last) follows the same
/// rule after its own marker.
pub fn chain_hash(prev: &[u8], seq: i64, at: i64, fields: &[Option<String>; 10]) -> [u8; 32] {
    let mut h = crate::crypto::Sha256::default();
    h.update(b"dnu-vault/audit/v1");
    h.update(prev);
    h.update(&seq.to_be_bytes());
    h.update(&at.to_be_bytes());
    let (core, tail) = fields.split_at(7);
    let (purpose, rest) = tail.split_at(1);
    let (grantee, request) = rest.split_at(1);
    let field = |h: &mut crate::crypto::Sha256, f: &Option<String>| match f {
        Some(s) => {
            h.update(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(&u32::MAX.to_be_bytes()),
    };
    for f in core.iter().chain(purpose.iter().filter(|p| p.is_some())) {
        field(&mut h, f);
    }
    for f in grantee.iter().filter(|g| g.is_some()) {
        h.update(&(u32::MAX - 1).to_be_bytes());
        field(&mut h, f);
    }
    for f in request.iter().filter(|r| r.is_some()) {
        h.update(&(u32::MAX - 2).to_be_bytes());
        field(&mut h, f);
    }
    h.finish()
}

const EVENT_COLUMNS: &str = "seq, at, agent_id, organisation_id, action, dossier_id, piece_id, version_id, outcome, \
     purpose, grantee, request_id, hash";

impl Db {
    pub(crate) async fn record_in(tx: &mut Tx, e: &AuditEvent) -> Result<(), Error> {
        Self::record_many_in(tx, std::slice::from_ref(e)).await
    }

    /// Appends events to the chain in one go: the head is advanced by their
    /// number once (which locks it until commit), their hashes are chained
    /// here, and they are inserted a few hundred rows per statement. A batch
    /// job (the daily pass) records a hundred decisions for the price of one.
    pub(crate) async fn record_many_in(tx: &mut Tx, events: &[AuditEvent]) -> Result<(), Error> {
        // Set by the request span for the task serving a request.
        let request = RequestId::current();
        Self::append_in(tx, events.iter().map(|e| (e, request.as_ref()))).await
    }

    /// [`Self::record_many_in`] for events of several requests (group
    /// commit): each carries its own request id.
    pub(super) async fn append_in<'e>(
        tx: &mut Tx,
        events: impl ExactSizeIterator<Item = (&'e AuditEvent, Option<&'e RequestId>)>,
    ) -> Result<(), Error> {
        if events.len() == 0 {
            return Ok(());
        }
        let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let s = |u: Option<Uuid>| u.map(|u| u.to_string());
        // Taking the numbers locks the head row until commit.
        let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
            .bind(n)
            .fetch_one(&mut **tx)
            .await?;
        let (last, mut prev): (i64, Vec<u8>) = (head.try_get("seq")?, head.try_get("hash")?);
        let at = now_ms();
        let mut rows = Vec::with_capacity(events.len());
        for (i, (e, request)) in events.enumerate() {
            let seq = last - n + 1 + i64::try_from(i).unwrap_or(0);
            let fields = [
                s(e.actor.agent),
                s(e.actor.organisation),
                Some(e.action.as_str().to_owned()),
                s(e.dossier),
                s(e.piece),
                s(e.version),
                Some(e.outcome.as_str().to_owned()),
                Some(e.actor.purpose.as_str().to_owned()),
                s(e.grantee),
                request.map(|r| r.as_str().to_owned()),
            ];
            let hash = chain_hash(&prev, seq, at, &fields).to_vec();
            prev.clone_from(&hash);
            rows.push((seq, fields, hash));
        }
        // 13 parameters a row: 400 rows stay far below PostgreSQL's 65,535.
        for chunk in rows.chunks(400) {
            let values: Vec<String> =
                (0..chunk.len()).map(|r| format!("({})", super::placeholders(r * 13 + 1, 13))).collect();
            let sql = format!("INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES {}", values.join(", "));
            let mut q = sqlx::query(&sql);
            for (seq, fields, hash) in chunk {
                let [agent, org, action, dossier, piece, version, outcome, purpose, grantee, request] = fields.clone();
                q = q
                    .bind(*seq)
                    .bind(at)
                    .bind(agent)
                    .bind(org)
                    .bind(action)
                    .bind(dossier)
                    .bind(piece)
                    .bind(version)
                    .bind(outcome)
                    .bind(purpose)
                    .bind(grantee)
                    .bind(request)
                    .bind(hash.clone());
            }
            q.execute(&mut **tx).await?;
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(prev).execute(&mut **tx).await?;
        Ok(())
    }

    /// How many `ok` events of `action` the dossier has.
    pub async fn audit_count(&self, dossier: Uuid, action: &str) -> Result<i64, Error> {
        self.audit_count_with(dossier, action, "ok").await
    }

    pub async fn audit_count_with(&self, dossier: Uuid, action: &str, outcome: &str) -> Result<i64, Error> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_events WHERE dossier_id = $1 AND action = $2 AND outcome = $3",
        )
        .bind(dossier.to_string())
        .bind(action)
        .bind(outcome)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn audit_head(&self) -> Result<ChainHead, Error> {
        let r =
            sqlx::query("SELECT seq, hash, chain_start FROM audit_head WHERE id = 1").fetch_one(self.pool()).await?;
        Ok(ChainHead { seq: r.try_get("seq")?, hash: r.try_get("hash")?, chain_start: r.try_get("chain_start")? })
    }

    /// Every event of a dossier, in order (its access trace), with those
    /// of the numbers merged into it (R.441-2-8 (f): one history).
    pub async fn audit_of_dossier(&self, dossier: Uuid) -> Result<Vec<StoredEvent>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE dossier_id = $1 \
             OR dossier_id IN (SELECT absorbed_id FROM dossier_merges WHERE kept_id = $1) ORDER BY seq"
        ))
        .bind(dossier.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(stored).collect()
    }

    /// Up to `limit` chained events after `after`, in order.
    pub async fn audit_events_after(&self, after: i64, limit: i64) -> Result<Vec<StoredEvent>, Error> {
        let rows =
            sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after)
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(stored).collect()
    }
}

fn stored(r: &sqlx::any::AnyRow) -> Result<StoredEvent, Error> {
    let f = |c: &str| r.try_get::<Option<String>, _>(c);
    Ok(StoredEvent {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        fields: [
            f("agent_id")?,
            f("organisation_id")?,
            f("action")?,
            f("dossier_id")?,
            f("piece_id")?,
            f("version_id")?,
            f("outcome")?,
            f("purpose")?,
            f("grantee")?,
            f("request_id")?,
        ],
        hash: r.try_get("hash")?,
    })
}
