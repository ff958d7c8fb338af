//! The registry of objects the store holds on purpose.

use uuid::Uuid;

use super::{Db, Tx, now_ms};
use crate::error::Error;

impl Db {
    pub(crate) async fn insert_object(
        tx: &mut Tx,
        id: Uuid,
        dossier: Uuid,
        role: &str,
        stored_len: u64,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO objects (id, dossier_id, role, stored_len, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(dossier.to_string())
            .bind(role)
            .bind(i64::try_from(stored_len).map_err(|_| Error::Invalid("object too large".into()))?)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Every registered object: (object id, dossier id, stored length).
    pub async fn registered_objects(&self) -> Result<Vec<(Uuid, Uuid, u64)>, Error> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT id, dossier_id, stored_len FROM objects ORDER BY dossier_id, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let len = u64::try_from(r.try_get::<i64, _>("stored_len")?).unwrap_or(0);
                Ok((super::uuid_col(r, "id")?, super::uuid_col(r, "dossier_id")?, len))
            })
            .collect()
    }

    /// Every registered object of one dossier (originals and, later,
    /// renditions, thumbnails, exports).
    pub async fn objects_of(&self, dossier: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows = sqlx::query("SELECT id FROM objects WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| super::uuid_col(r, "id")).collect()
    }

    /// The registered objects of several dossiers: (dossier, object).
    pub async fn objects_of_many(&self, dossiers: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, Error> {
        self.fetch_for_ids("SELECT dossier_id, id FROM objects WHERE dossier_id IN ({ids})", dossiers)
            .await?
            .iter()
            .map(|r| Ok((super::uuid_col(r, "dossier_id")?, super::uuid_col(r, "id")?)))
            .collect()
    }
}
