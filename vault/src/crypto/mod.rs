//! Encryption, exactly as DESIGN §5.
//!
//! * [`MasterKeys`]: the versioned key-encryption key (KEK) ring.
//! * [`DossierKey`]: one random key per dossier, stored only wrapped by a KEK
//!   version, with the dossier id and KEK version as associated data.
//! * [`stream`]: objects as a STREAM of AES-256-GCM chunks under a key derived
//!   per object with HKDF-SHA-256.
//! * Keyed fingerprints and sealed metadata, both under keys derived from the
//!   dossier key, so shredding the dossier key makes them meaningless too.

mod code;
mod dossier_key;
mod master;
pub mod stream;

pub use code::{argon2_memory, code_matches, hash_code};
pub use dossier_key::{DossierKey, WrappedKey};
pub use master::{KeyVersion, MasterKeys};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Why a cryptographic operation failed. Deliberately coarse: the caller only
/// needs to know that the data is not what was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("authentication failed: {0}")]
    Integrity(&'static str),
    #[error("master key version {0} is not in the key ring")]
    UnknownKeyVersion(u32),
    #[error("system random generator failed")]
    Random,
    #[error("{0}")]
    KeyRing(String),
    #[error("hashing a personal code: {0}")]
    CodeHash(String),
}

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// SHA-256 of a byte string.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Incremental SHA-256 of an original's bytes.
pub struct Sha256(aws_lc_rs::digest::Context);

impl Default for Sha256 {
    fn default() -> Self {
        Self(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256))
    }
}

impl Sha256 {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

/// Compares two secrets without an early exit (CSRF tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
