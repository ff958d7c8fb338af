//! Agents and their bearer tokens (stored as SHA-256 only).

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Db, is_unique_violation, now_ms, uuid_col};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub disabled: bool,
}

fn from_row(row: &AnyRow) -> Result<Agent, Error> {
    Ok(Agent {
        id: uuid_col(row, "id")?,
        organisation_id: uuid_col(row, "organisation_id")?,
        name: row.try_get("name")?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
    })
}

impl Db {
    /// Stores an agent with the hash of its token.
    pub async fn insert_agent(&self, organisation_id: Uuid, name: &str, token_hash: &[u8; 32]) -> Result<Agent, Error> {
        let id = Uuid::new_v4();
        let r = sqlx::query(
            "INSERT INTO agents (id, organisation_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(organisation_id.to_string())
        .bind(name)
        .bind(token_hash.to_vec())
        .bind(now_ms())
        .execute(self.pool())
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => return Err(Error::Conflict("token collision; try again".into())),
            r => r?,
        };
        Ok(Agent { id, organisation_id, name: name.to_owned(), disabled: false })
    }

    pub async fn agent_by_token_hash(&self, token_hash: &[u8; 32]) -> Result<Option<Agent>, Error> {
        let row = sqlx::query("SELECT id, organisation_id, name, disabled_at FROM agents WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Disables an agent; returns false when there is no such agent.
    pub async fn disable_agent(&self, id: Uuid) -> Result<bool, Error> {
        let r = sqlx::query("UPDATE agents SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(now_ms())
            .bind(id.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 1 {
            return Ok(true);
        }
        let exists =
            sqlx::query("SELECT 1 FROM agents WHERE id = $1").bind(id.to_string()).fetch_optional(self.pool()).await?;
        Ok(exists.is_some())
    }
}
