//! Signed checkpoints of the audit chain.
//!
//! Version 2 signs, besides the head (event N had hash H, at time T), where
//! the chain starts and the hash of its first event: a checkpoint then
//! vouches for the whole chain, so deleting events from its start and
//! moving `audit_head.chain_start` past them no longer verifies. Version 1
//! files (head only) are still read and their signatures still checked.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::{app::Vault, error::Error, store::ObjectKey};

/// A checkpoint older than this is re-signed even when no event happened
/// (a running server tries every five minutes), so that the newest
/// checkpoint's age says the journal is alive (see `verify`'s age limit).
pub const REFRESH_MS: i64 = 4 * 60 * 1000;

/// What a checkpoint file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    #[serde(default = "v1")]
    pub version: u8,
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    /// The chain covers the events after this one (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_start: Option<i64>,
    /// The hash of event `chain_start + 1` (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_hash: Option<String>,
    pub public_key: String,
    pub signature: String,
}

fn v1() -> u8 {
    1
}

impl Checkpoint {
    fn message(&self) -> Option<Vec<u8>> {
        let mut m = match self.version {
            1 => b"dnu-vault/audit-checkpoint/v1".to_vec(),
            2 => b"dnu-vault/audit-checkpoint/v2".to_vec(),
            _ => return None,
        };
        m.extend_from_slice(&self.seq.to_be_bytes());
        m.extend_from_slice(self.hash.as_bytes());
        m.extend_from_slice(&self.at.to_be_bytes());
        if self.version == 2 {
            m.extend_from_slice(&self.chain_start?.to_be_bytes());
            let first = self.first_hash.as_deref()?;
            m.extend_from_slice(&(first.len() as u64).to_be_bytes());
            m.extend_from_slice(first.as_bytes());
        }
        Some(m)
    }

    /// Whether the signature is good and made by `public_key`.
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        let Ok(sig) = hex::decode(&self.signature) else { return false };
        let Some(message) = self.message() else { return false };
        hex::decode(&self.public_key).is_ok_and(|k| k == public_key)
            && UnparsedPublicKey::new(&ED25519, public_key).verify(&message, &sig).is_ok()
    }
}

/// Reads a checkpoint file; `None` when it does not parse.
pub(super) async fn read(vault: &Vault, key: &ObjectKey) -> Result<Option<Checkpoint>, Error> {
    let mut raw = Vec::new();
    vault.store().reader(key).await?.read_to_end(&mut raw).await?;
    Ok(serde_json::from_slice(&raw).ok())
}

/// Signs the current chain head, unless a checkpoint of it younger than
/// [`REFRESH_MS`] exists already. Returns the checkpoint written.
pub async fn write_checkpoint(vault: &Vault) -> Result<Option<Checkpoint>, Error> {
    let head = vault.db().audit_head().await?;
    if head.seq <= head.chain_start {
        return Ok(None);
    }
    let key = ObjectKey::AuditCheckpoint { seq: u64::try_from(head.seq).unwrap_or(0) };
    let at = crate::clock::now_ms();
    if vault.store().len(&key).await?.is_some()
        && read(vault, &key).await?.is_some_and(|cp| cp.version == 2 && at - cp.at < REFRESH_MS)
    {
        return Ok(None);
    }
    let first = vault.db().audit_events_after(head.chain_start, 1).await?;
    let first_hash = first
        .first()
        .and_then(|e| e.hash.as_deref())
        .map(hex::encode)
        .ok_or_else(|| Error::Integrity(format!("the audit chain has no event after {}", head.chain_start)))?;
    let signer = vault.audit_key();
    let mut cp = Checkpoint {
        version: 2,
        seq: head.seq,
        hash: hex::encode(&head.hash),
        at,
        chain_start: Some(head.chain_start),
        first_hash: Some(first_hash),
        public_key: hex::encode(signer.public_key()),
        signature: String::new(),
    };
    let message = cp.message().ok_or_else(|| Error::internal("signing a checkpoint", "incomplete checkpoint"))?;
    cp.signature = hex::encode(signer.sign(&message));
    let mut w = vault.store().writer(&key).await?;
    w.write(serde_json::to_vec_pretty(&cp).map_err(|e| Error::internal("writing a checkpoint", e))?).await?;
    w.finish().await?;
    tracing::info!(audit.seq = cp.seq, "audit checkpoint written");
    Ok(Some(cp))
}
