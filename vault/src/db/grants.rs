//! Explicit grants.

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Db, now_ms, opt_uuid_col, parsed, uuid_col};
use crate::{
    db::audit::AuditEvent,
    domain::{
        Purpose,
        journal::{Actor, Recorded},
    },
    error::Error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub organisation_id: Uuid,
    /// What the grantee may read for: its requests must carry it.
    pub purpose: Purpose,
    /// The guichet's words for it ("CAL du 12 décembre"), if any.
    pub note: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    pub created_by_agent: Option<Uuid>,
    pub created_at: i64,
    pub revoked: bool,
}

const COLUMNS: &str =
    "id, dossier_id, organisation_id, purpose, expires_at, created_by_agent, created_at, revoked_at, note";
// NAMES below lists the same columns; a test checks they agree.

/// [`COLUMNS`]' names, in [`from_named`]'s order.
const NAMES: Names = [
    "id",
    "dossier_id",
    "organisation_id",
    "purpose",
    "expires_at",
    "created_by_agent",
    "created_at",
    "revoked_at",
    "note",
];

/// The same columns renamed `grant_…`, to read beside another table's
/// (`db/dossiers.rs` reads a dossier with its grant).
pub(super) const PREFIXED: Names = [
    "grant_id",
    "grant_dossier_id",
    "grant_organisation_id",
    "grant_purpose",
    "grant_expires_at",
    "grant_created_by_agent",
    "grant_created_at",
    "grant_revoked_at",
    "grant_note",
];

type Names = [&'static str; 9];

/// `SELECT`'s list renaming [`NAMES`] to [`PREFIXED`].
pub(super) fn prefixed_columns() -> String {
    NAMES.iter().zip(PREFIXED).map(|(c, p)| format!("{c} AS {p}")).collect::<Vec<_>>().join(", ")
}

fn from_row(row: &AnyRow) -> Result<Grant, Error> {
    from_named(row, &NAMES)
}

/// A grant from columns named `names` ([`NAMES`] or [`PREFIXED`]).
pub(super) fn from_named(row: &AnyRow, names: &Names) -> Result<Grant, Error> {
    let [id, dossier, organisation, purpose, expires, by, created, revoked, note] = *names;
    Ok(Grant {
        id: uuid_col(row, id)?,
        dossier_id: uuid_col(row, dossier)?,
        organisation_id: uuid_col(row, organisation)?,
        purpose: parsed(row, purpose, Purpose::parse)?,
        note: row.try_get(note)?,
        expires_at: row.try_get(expires)?,
        created_by_agent: opt_uuid_col(row, by)?,
        created_at: row.try_get(created)?,
        revoked: row.try_get::<Option<i64>, _>(revoked)?.is_some(),
    })
}

/// Of an organisation's grants on one dossier, newest first, the one that
/// decides: a live one if any, otherwise the latest (so a refusal can say
/// it expired or was revoked).
pub(super) fn deciding(grants: Vec<Grant>, now_s: i64) -> Option<Grant> {
    let live = grants.iter().find(|g| !g.revoked && g.expires_at > now_s).cloned();
    live.or_else(|| grants.into_iter().next())
}

impl Db {
    /// Stores a grant and its audit event.
    pub async fn insert_grant(
        &self,
        dossier: Uuid,
        organisation: Uuid,
        purpose: Purpose,
        note: Option<&str>,
        expires_at: i64,
        by: Actor,
    ) -> Result<Grant, Error> {
        let g = Grant {
            id: Uuid::new_v4(),
            dossier_id: dossier,
            organisation_id: organisation,
            purpose,
            note: note.map(str::to_owned),
            expires_at,
            created_by_agent: by.agent,
            created_at: now_ms(),
            revoked: false,
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!("INSERT INTO grants ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)"))
            .bind(g.id.to_string())
            .bind(dossier.to_string())
            .bind(organisation.to_string())
            .bind(purpose.as_str())
            .bind(expires_at)
            .bind(by.agent.map(|a| a.to_string()))
            .bind(g.created_at)
            .bind(g.note.clone())
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(by, Recorded::GrantCreate).on(dossier).granting(organisation);
        Self::record_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn grants_of(&self, dossier: Uuid) -> Result<Vec<Grant>, Error> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM grants WHERE dossier_id = $1 ORDER BY created_at, id"))
            .bind(dossier.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The grant that decides for this organisation: a live one if any,
    /// otherwise the latest (so a refusal can say it expired or was revoked).
    pub async fn grant_for(&self, dossier: Uuid, organisation: Uuid, now_s: i64) -> Result<Option<Grant>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM grants WHERE dossier_id = $1 AND organisation_id = $2 ORDER BY created_at DESC, id"
        ))
        .bind(dossier.to_string())
        .bind(organisation.to_string())
        .fetch_all(self.pool())
        .await?;
        let grants = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(deciding(grants, now_s))
    }

    /// For each dossier, the grant of `organisation` that decides (as in
    /// [`Db::grant_for`]), in one query.
    pub async fn grants_by_dossier_for(
        &self,
        organisation: Uuid,
        now_s: i64,
    ) -> Result<std::collections::HashMap<Uuid, Grant>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM grants WHERE organisation_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(organisation.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out: std::collections::HashMap<Uuid, Grant> = std::collections::HashMap::new();
        for g in rows.iter().map(from_row) {
            let g = g?;
            let live = !g.revoked && g.expires_at > now_s;
            match out.get(&g.dossier_id) {
                Some(cur) if !cur.revoked && cur.expires_at > now_s => {}
                Some(_) if !live => {}
                _ => {
                    out.insert(g.dossier_id, g);
                }
            }
        }
        Ok(out)
    }

    /// Revokes a grant of the dossier; false when there is no such grant.
    pub async fn revoke_grant(&self, dossier: Uuid, grant: Uuid, by: Actor) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let revoked = sqlx::query(
            "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND dossier_id = $3 AND revoked_at IS NULL \
             RETURNING organisation_id",
        )
        .bind(now_ms())
        .bind(grant.to_string())
        .bind(dossier.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = revoked else {
            let exists = sqlx::query("SELECT 1 FROM grants WHERE id = $1 AND dossier_id = $2")
                .bind(grant.to_string())
                .bind(dossier.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Ok(exists);
        };
        let event = AuditEvent::new(by, Recorded::GrantRevoke).on(dossier).granting(uuid_col(&row, "organisation_id")?);
        Self::record_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_columns_and_their_prefixed_twins() {
        assert_eq!(NAMES.join(", "), COLUMNS);
        for (c, p) in NAMES.iter().zip(PREFIXED) {
            assert_eq!(format!("grant_{c}"), p);
        }
    }
}
