//! Signed checkpoints of the audit chain.

use std::path::Path;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};

use crate::{app::Vault, error::Error, store::ObjectKey};

/// The checkpoint signing key.
pub struct SigningKey(Ed25519KeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", hex::encode(self.public_key()))
    }
}

impl SigningKey {
    /// Loads the key, generating it on first use (with owner-only permissions).
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        if !path.exists() {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| Error::Config("cannot generate the audit signing key".into()))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            crate::app::write_private_file(path, format!("{}\n", B64.encode(doc.as_ref())).as_bytes())?;
            tracing::info!(path = %path.display(), "audit signing key generated");
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read audit signing key {}: {e}", path.display())))?;
        let der = B64
            .decode(text.trim())
            .map_err(|_| Error::Config(format!("audit signing key {}: not base64", path.display())))?;
        let pair = Ed25519KeyPair::from_pkcs8(&der)
            .map_err(|e| Error::Config(format!("audit signing key {}: {e}", path.display())))?;
        Ok(Self(pair))
    }

    pub fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }
}

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
    let at = crate::db::now_ms();
    let signer = vault.audit_key();
    let sig = signer.0.sign(&message(head.seq, &hash, at));
    let cp = Checkpoint {
        seq: head.seq,
        hash,
        at,
        public_key: hex::encode(signer.public_key()),
        signature: hex::encode(sig.as_ref()),
    };
    let mut w = vault.store().writer(&key).await?;
    w.write(serde_json::to_vec_pretty(&cp).map_err(|e| Error::Store(e.to_string()))?).await?;
    w.finish().await?;
    tracing::info!(audit.seq = cp.seq, "audit checkpoint written");
    Ok(Some(cp))
}
