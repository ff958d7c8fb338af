//! The applicant's contact details, sealed under the dossier key: the
//! database holds only ciphertext and the id the seal is bound to.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, Tx, now_ms, uuid_col};
use crate::{
    db::audit::AuditEvent,
    domain::journal::{Actor, Recorded},
    error::Error,
};

/// A small record sealed under a dossier key, with the id its seal is
/// bound to (the additional data of the AEAD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub id: Uuid,
    pub sealed: Vec<u8>,
}

impl Db {
    pub(super) async fn insert_contact(tx: &mut Tx, dossier: Uuid, contact: &SealedRecord) -> Result<(), Error> {
        sqlx::query("INSERT INTO dossier_contacts (dossier_id, sealed_id, sealed, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(dossier.to_string())
            .bind(contact.id.to_string())
            .bind(contact.sealed.clone())
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The dossier's sealed contact details, if any were given.
    pub async fn contact_of(&self, dossier: Uuid) -> Result<Option<SealedRecord>, Error> {
        let row = sqlx::query("SELECT sealed_id, sealed FROM dossier_contacts WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(SealedRecord { id: uuid_col(&r, "sealed_id")?, sealed: r.try_get("sealed")? })).transpose()
    }

    /// The sealed contact details of several dossiers.
    pub async fn contacts_of(&self, dossiers: &[Uuid]) -> Result<std::collections::HashMap<Uuid, SealedRecord>, Error> {
        self.fetch_for_ids(
            "SELECT dossier_id, sealed_id, sealed FROM dossier_contacts WHERE dossier_id IN ({ids})",
            dossiers,
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                uuid_col(r, "dossier_id")?,
                SealedRecord { id: uuid_col(r, "sealed_id")?, sealed: r.try_get("sealed")? },
            ))
        })
        .collect()
    }

    /// Replaces the contact details, with the journal event, in one
    /// transaction.
    pub async fn replace_contact(&self, dossier: Uuid, contact: &SealedRecord, by: Actor) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM dossier_contacts WHERE dossier_id = $1")
            .bind(dossier.to_string())
            .execute(&mut *tx)
            .await?;
        Self::insert_contact(&mut tx, dossier, contact).await?;
        Self::record_in(&mut tx, &AuditEvent::new(by, Recorded::ContactChanged).on(dossier)).await?;
        tx.commit().await?;
        Ok(())
    }
}
