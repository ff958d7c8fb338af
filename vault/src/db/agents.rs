//! Agents and their bearer tokens (stored as SHA-256 only).

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::orgs::{Organisation, WITH_TERRITORY, with_territory_from_rows};
use super::signin::SignedIn;
use super::{Db, is_unique_violation, now_ms, uuid_col};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub disabled: bool,
    /// A guichet's scanning workstation: may file scan provenance.
    pub scanner: bool,
}

fn from_row(row: &AnyRow) -> Result<Agent, Error> {
    agent_of(row, ["id", "organisation_id", "name"])
}

/// The agent of a row, its id, organisation id and name in the columns named.
fn agent_of(row: &AnyRow, [id, organisation_id, name]: [&str; 3]) -> Result<Agent, Error> {
    Ok(Agent {
        id: uuid_col(row, id)?,
        organisation_id: uuid_col(row, organisation_id)?,
        name: row.try_get(name)?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        scanner: row.try_get::<i64, _>("scanner")? != 0,
    })
}

/// An agent's columns beside its organisation's ([`WITH_TERRITORY`]), which
/// names `o.id` as `id`: the agent's own are renamed.
const AGENT_JOINED: &str = "a.id AS agent_id, a.name AS agent_name, a.disabled_at, a.scanner";

/// The agent of a row selected with [`AGENT_JOINED`].
fn agent_joined(row: &AnyRow) -> Result<Agent, Error> {
    agent_of(row, ["agent_id", "id", "agent_name"])
}

impl Db {
    /// Stores an agent (a person, or a guichet's scanner) with the hash of
    /// its token.
    pub async fn insert_agent(
        &self,
        organisation_id: Uuid,
        name: &str,
        token_hash: &[u8; 32],
        scanner: bool,
    ) -> Result<Agent, Error> {
        let id = Uuid::new_v4();
        let r = sqlx::query(
            "INSERT INTO agents (id, organisation_id, name, token_hash, created_at, scanner) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(organisation_id.to_string())
        .bind(name)
        .bind(token_hash.to_vec())
        .bind(now_ms())
        .bind(i64::from(scanner))
        .execute(self.pool())
        .await;
        match r {
            Err(e) if is_unique_violation(&e) => return Err(Error::Conflict("token collision; try again".into())),
            r => r?,
        };
        Ok(Agent { id, organisation_id, name: name.to_owned(), disabled: false, scanner })
    }

    /// The agent a bearer token stands for, with its organisation, in one
    /// round trip (every API request asks).
    pub async fn agent_by_token_hash(&self, token_hash: &[u8; 32]) -> Result<Option<(Agent, Organisation)>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_JOINED}, {WITH_TERRITORY} \
             JOIN agents a ON a.organisation_id = o.id WHERE a.token_hash = $1 ORDER BY territory_code"
        ))
        .bind(token_hash.to_vec())
        .fetch_all(self.pool())
        .await?;
        let Some(organisation) = with_territory_from_rows(&rows)?.pop() else { return Ok(None) };
        Ok(Some((agent_joined(&rows[0])?, organisation)))
    }

    pub async fn agent(&self, id: Uuid) -> Result<Option<Agent>, Error> {
        let row = sqlx::query("SELECT id, organisation_id, name, disabled_at, scanner FROM agents WHERE id = $1")
            .bind(id.to_string())
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

    /// Opens a web session for an agent (the cookie's token, hashed).
    pub async fn agent_session_open(&self, agent: Uuid, token_hash: &[u8; 32], expires_at: i64) -> Result<(), Error> {
        let now = now_ms();
        // Expired sessions of this agent go at the same time.
        sqlx::query("DELETE FROM agent_sessions WHERE agent_id = $1 AND expires_at < $2")
            .bind(agent.to_string())
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO agent_sessions (token_hash, agent_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_vec())
        .bind(agent.to_string())
        .bind(expires_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The agent of a live web session, how it signed in when it was
    /// through an identity provider, and its organisation, in one round
    /// trip (every page an agent opens asks).
    pub async fn agent_by_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Agent, Option<SignedIn>, Organisation)>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_JOINED}, s.provider, s.acr, s.amr, s.id_token, {WITH_TERRITORY} \
             JOIN agents a ON a.organisation_id = o.id JOIN agent_sessions s ON s.agent_id = a.id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 ORDER BY territory_code"
        ))
        .bind(token_hash.to_vec())
        .bind(now_ms())
        .fetch_all(self.pool())
        .await?;
        let Some(organisation) = with_territory_from_rows(&rows)?.pop() else { return Ok(None) };
        let first = &rows[0];
        Ok(Some((agent_joined(first)?, super::signin::signed_in_of(first)?, organisation)))
    }

    /// Ends a web session (signing out); returns its ProConnect id_token,
    /// if it had one, for the provider's logout.
    pub async fn agent_session_close(&self, token_hash: &[u8; 32]) -> Result<Option<String>, Error> {
        let row = sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1 RETURNING id_token")
            .bind(token_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("id_token")).transpose()?.flatten())
    }
}
