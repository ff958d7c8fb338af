//! Applicants' credentials and sessions.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, Tx, now_ms, uuid_col};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantRow {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub code_hash: String,
    /// Failed sign-ins since the last success (the `locked_until` column
    /// of migration 0004 is no longer set: sign-in is throttled per client
    /// address, never per identifier).
    pub failures: i64,
}

impl Db {
    pub(crate) async fn insert_applicant(
        tx: &mut Tx,
        dossier: Uuid,
        identifier: &str,
        code_hash: &str,
    ) -> Result<Uuid, Error> {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO applicants (id, dossier_id, identifier, code_hash, failures, created_at) VALUES ($1, $2, $3, $4, 0, $5)")
            .bind(id.to_string())
            .bind(dossier.to_string())
            .bind(identifier)
            .bind(code_hash)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(id)
    }

    pub async fn applicant_by_identifier(&self, identifier: &str) -> Result<Option<ApplicantRow>, Error> {
        let row = sqlx::query("SELECT id, dossier_id, code_hash, failures FROM applicants WHERE identifier = $1")
            .bind(identifier)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(ApplicantRow {
                id: uuid_col(&r, "id")?,
                dossier_id: uuid_col(&r, "dossier_id")?,
                code_hash: r.try_get("code_hash")?,
                failures: r.try_get("failures")?,
            })
        })
        .transpose()
    }

    /// Counts a failed sign-in, atomically (concurrent failures all count).
    /// The count is for the operators; it locks nothing.
    pub async fn applicant_failed(&self, id: Uuid) -> Result<(), Error> {
        sqlx::query("UPDATE applicants SET failures = failures + 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A successful sign-in: failures forgotten, session stored (with the
    /// FranceConnect id_token, the logout's hint, when it came that way).
    pub async fn applicant_signed_in(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
        expires_at: i64,
        id_token: Option<&str>,
    ) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE applicants SET failures = 0, locked_until = NULL WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM applicant_sessions WHERE applicant_id = $1 AND expires_at < $2")
            .bind(id.to_string())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO applicant_sessions (token_hash, applicant_id, expires_at, created_at, id_token) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_vec())
        .bind(id.to_string())
        .bind(expires_at)
        .bind(now_ms())
        .bind(id_token)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The applicant and dossier of a live session token.
    pub async fn applicant_session(&self, token_hash: &[u8; 32]) -> Result<Option<(Uuid, Uuid)>, Error> {
        let row = sqlx::query(
            "SELECT a.id, a.dossier_id FROM applicant_sessions s JOIN applicants a ON a.id = s.applicant_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash.to_vec())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((uuid_col(&r, "id")?, uuid_col(&r, "dossier_id")?))).transpose()
    }

    /// Ends a session (signing out); returns its FranceConnect id_token,
    /// if it had one, for the provider's logout.
    pub async fn applicant_signed_out(&self, token_hash: &[u8; 32]) -> Result<Option<String>, Error> {
        let row = sqlx::query("DELETE FROM applicant_sessions WHERE token_hash = $1 RETURNING id_token")
            .bind(token_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("id_token")).transpose()?.flatten())
    }
}
