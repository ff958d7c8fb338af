//! Personal codes: stored as an Argon2id hash (PHC string, the crate's
//! default parameters: 19 MiB, two passes), checked with memory the caller
//! lends, so that the server checks codes in a fixed amount of memory
//! however many sign-ins arrive (`crate::gate::Costly` holds one such
//! memory per turn).

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, SaltString},
};

use super::{CryptoError, constant_time_eq, random_bytes};

/// The memory one check with the default parameters needs (19 MiB),
/// zeroed: pages are only resident once a check has written them.
pub fn argon2_memory() -> Vec<Block> {
    vec![Block::default(); Params::DEFAULT.block_count()]
}

/// Argon2id hash of a code (slow on purpose: run it off the async threads).
pub fn hash_code(code: &str) -> Result<String, CryptoError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| CryptoError::CodeHash(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(code.as_bytes(), &salt)
        .map_err(|e| CryptoError::CodeHash(e.to_string()))?
        .to_string())
}

/// Whether `code` matches the PHC string `hash`, computed in `memory` (grown
/// for this check only if the hash asks for more than it holds). An
/// unparsable hash matches nothing.
pub fn code_matches(hash: &str, code: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(code.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok_and(|()| constant_time_eq(&out, expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_hash_only_and_the_memory_is_reused() {
        let hash = hash_code("ABCDE23456").unwrap_or_default();
        let mut memory = argon2_memory();
        let len = memory.len();
        assert!(code_matches(&hash, "ABCDE23456", &mut memory));
        assert!(!code_matches(&hash, "ABCDE23457", &mut memory));
        assert!(!code_matches("not a hash", "ABCDE23456", &mut memory));
        assert_eq!(memory.len(), len, "the default parameters fit the lent memory");
    }
}
