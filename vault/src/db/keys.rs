//! Wrapped dossier keys: read, rewrap, shred.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, Tx, now_ms, uuid_col};
use crate::{
    crypto::{KeyVersion, WrappedKey},
    error::Error,
};

pub(super) fn kek_version(r: &sqlx::any::AnyRow) -> Result<KeyVersion, Error> {
    KeyVersion::try_from(r.try_get::<i64, _>("kek_version")?)
        .map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))))
}

impl Db {
    pub(crate) async fn insert_dossier_key(tx: &mut Tx, dossier: Uuid, w: &WrappedKey) -> Result<(), Error> {
        sqlx::query("INSERT INTO dossier_keys (dossier_id, kek_version, wrapped, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(dossier.to_string())
            .bind(i64::from(w.kek_version))
            .bind(w.bytes.clone())
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The wrapped key of a dossier; `None` once it has been shredded.
    pub async fn wrapped_key(&self, dossier: Uuid) -> Result<Option<WrappedKey>, Error> {
        let row = sqlx::query("SELECT kek_version, wrapped FROM dossier_keys WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(WrappedKey { kek_version: kek_version(&r)?, bytes: r.try_get("wrapped")? })).transpose()
    }

    /// The wrapped keys of several dossiers (those not shredded).
    pub async fn wrapped_keys(&self, dossiers: &[Uuid]) -> Result<std::collections::HashMap<Uuid, WrappedKey>, Error> {
        self.fetch_for_ids(
            "SELECT dossier_id, kek_version, wrapped FROM dossier_keys WHERE dossier_id IN ({ids})",
            dossiers,
        )
        .await?
        .iter()
        .map(|r| {
            Ok((uuid_col(r, "dossier_id")?, WrappedKey { kek_version: kek_version(r)?, bytes: r.try_get("wrapped")? }))
        })
        .collect()
    }

    /// Up to `limit` dossiers whose key is wrapped by a version below `current`.
    pub async fn keys_to_rewrap(&self, current: KeyVersion, limit: i64) -> Result<Vec<(Uuid, WrappedKey)>, Error> {
        let rows = sqlx::query(
            "SELECT dossier_id, kek_version, wrapped FROM dossier_keys WHERE kek_version < $1 ORDER BY dossier_id LIMIT $2",
        )
        .bind(i64::from(current))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid_col(r, "dossier_id")?,
                    WrappedKey { kek_version: kek_version(r)?, bytes: r.try_get("wrapped")? },
                ))
            })
            .collect()
    }

    /// Replaces a wrapped key if it is still the one read (`old`): a
    /// concurrent rewrap or shred wins and this one is a no-op.
    pub async fn replace_wrapped_key(&self, dossier: Uuid, old: &WrappedKey, new: &WrappedKey) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE dossier_keys SET kek_version = $1, wrapped = $2, updated_at = $3 \
             WHERE dossier_id = $4 AND kek_version = $5 AND wrapped = $6",
        )
        .bind(i64::from(new.kek_version))
        .bind(new.bytes.clone())
        .bind(now_ms())
        .bind(dossier.to_string())
        .bind(i64::from(old.kek_version))
        .bind(old.bytes.clone())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// How many dossier keys each master key version wraps.
    pub async fn key_versions_in_use(&self) -> Result<Vec<(KeyVersion, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT kek_version, COUNT(*) AS n FROM dossier_keys GROUP BY kek_version ORDER BY kek_version",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((kek_version(r)?, r.try_get::<i64, _>("n")?))).collect()
    }

    /// Crypto-shredding: deletes the dossier key. Every object of the dossier
    /// is unreadable from this commit on, whatever copies of the store exist.
    /// Shreds the keys of several dossiers in one transaction (the purge);
    /// the caller settles the erasure on disk afterwards
    /// ([`Db::settle_erasure`]).
    pub async fn shred_dossier_keys(&self, dossiers: &[Uuid]) -> Result<(), Error> {
        if dossiers.is_empty() {
            return Ok(());
        }
        let (ids, after_now) = (super::placeholders(1, dossiers.len()), super::placeholders(2, dossiers.len()));
        let mut tx = self.write_tx().await?;
        for (sql, now) in [
            (format!("DELETE FROM dossier_keys WHERE dossier_id IN ({ids})"), false),
            // Names stored in clear before members were sealed go with the key.
            (format!("UPDATE pieces SET member = NULL WHERE dossier_id IN ({ids})"), false),
            (format!("UPDATE dossiers SET shredded_at = COALESCE(shredded_at, $1) WHERE id IN ({after_now})"), true),
        ] {
            let mut q = sqlx::query(&sql);
            if now {
                q = q.bind(now_ms());
            }
            for d in dossiers {
                q = q.bind(d.to_string());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn shred_dossier_key(&self, dossier: Uuid) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("DELETE FROM dossier_keys WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .execute(&mut *tx)
            .await?;
        // Names stored in clear before members were sealed go with the key.
        sqlx::query("UPDATE pieces SET member = NULL WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE dossiers SET shredded_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(dossier.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if self.backend() == super::Backend::Sqlite {
            // secure_delete zeroed the row in the new page image; a
            // checkpoint moves that image into the main file and truncates
            // the WAL, so the old wrapped key is not left in either.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(self.pool()).await?;
        }
        Ok(r.rows_affected() == 1)
    }
}
