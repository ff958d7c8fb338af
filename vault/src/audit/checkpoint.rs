//! Signed checkpoints of the audit chain.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::{app::Vault, error::Error, store::ObjectKey};

/// What a checkpoint file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub public_key: String,
    pub signature: String,
}

pub(super) fn message(seq: i64, hash: &str, at: i64) -> Vec<u8> {
    let mut m = b"dnu-vault/audit-checkpoint/v1".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m
}

impl Checkpoint {
    /// Whether the signature is good and made by `public_key`.
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        let Ok(sig) = hex::decode(&self.signature) else { return false };
        hex::decode(&self.public_key).is_ok_and(|k| k == public_key)
            && UnparsedPublicKey::new(&ED25519, public_key)
                .verify(&message(self.seq, &self.hash, self.at), &sig)
                .is_ok()
    }
}

/// Writes a checkpoint of the current chain head, unless nothing happened
/// since the last one. Returns the checkpoint written.
pub async fn write_checkpoint(vault: &Vault) -> Result<Option<Checkpoint>, Error> {
    let head = vault.db().audit_head().await?;
    if head.seq <= head.chain_start {
        return Ok(None);
    }
    let key = ObjectKey::AuditCheckpoint { seq: u64::try_from(head.seq).unwrap_or(0) };
    if vault.store().len(&key).await?.is_some() {
        return Ok(None);
    }
    let hash = hex::encode(&head.hash);
    let at = crate::clock::now_ms();
    let signer = vault.audit_key();
    let sig = signer.sign(&message(head.seq, &hash, at));
    let cp = Checkpoint {
        seq: head.seq,
        hash,
        at,
        public_key: hex::encode(signer.public_key()),
        signature: hex::encode(&sig),
    };
    let mut w = vault.store().writer(&key).await?;
    w.write(serde_json::to_vec_pretty(&cp).map_err(|e| Error::internal("writing a checkpoint", e))?).await?;
    w.finish().await?;
    tracing::info!(audit.seq = cp.seq, "audit checkpoint written");
    Ok(Some(cp))
}
