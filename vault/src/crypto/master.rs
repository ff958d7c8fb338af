//! The master key ring: versioned 256-bit KEKs.
//!
//! On disk (or in `VAULT_MASTER_KEY`) the ring is a text file, one version
//! per line, `<version> <base64 key>`, `#` comments allowed; the highest
//! version is the current one. Rotation appends a line; nothing is removed
//! until an operator retires a version nobody uses any more.
//!
//! The ring is behind [`MasterKeys`] so that a KMS can replace the local file
//! later: callers only ask it to wrap and unwrap dossier keys.

use std::{collections::BTreeMap, fmt, path::Path};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use secrecy::{ExposeSecret, SecretBox};

use super::{CryptoError, random_bytes};

/// A master key version number (1, 2, …).
pub type KeyVersion = u32;

pub struct MasterKeys {
    keys: BTreeMap<KeyVersion, SecretBox<[u8; 32]>>,
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeys").field("versions", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

impl MasterKeys {
    /// Parses the text form. Refuses an empty ring, duplicate versions and
    /// keys that are not exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| CryptoError::KeyRing(format!("master key ring, line {}: {why}", n + 1));
            let (v, k) =
                line.split_once(char::is_whitespace).ok_or_else(|| bad("expected `<version> <base64 key>`"))?;
            let v: KeyVersion = v.parse().map_err(|_| bad("the version must be a positive number"))?;
            if v == 0 {
                return Err(bad("versions start at 1"));
            }
            let raw = B64.decode(k.trim()).map_err(|_| bad("the key is not valid base64"))?;
            let key: [u8; 32] = raw.try_into().map_err(|_| bad("the key must be 32 bytes"))?;
            if keys.insert(v, SecretBox::new(Box::new(key))).is_some() {
                return Err(bad("this version appears twice"));
            }
        }
        if keys.is_empty() {
            return Err(CryptoError::KeyRing("the master key ring holds no key".into()));
        }
        Ok(Self { keys })
    }

    /// Reads the ring from a file.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CryptoError::KeyRing(format!("cannot read master key file {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// A new ring with one random version 1.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        keys.insert(1, SecretBox::new(Box::new(random_bytes::<32>()?)));
        Ok(Self { keys })
    }

    /// Adds a new random version and returns it.
    pub fn rotate(&mut self) -> Result<KeyVersion, CryptoError> {
        let v = self.current() + 1;
        self.keys.insert(v, SecretBox::new(Box::new(random_bytes::<32>()?)));
        Ok(v)
    }

    /// The text form, for writing the ring back to its file.
    pub fn to_text(&self) -> String {
        let mut s = String::from(
            "# DNU Vault master key ring: one version per line, the highest is current.\n\
             # Secret. Losing it makes every dossier unreadable; keep it apart from backups of the data.\n",
        );
        for (v, k) in &self.keys {
            s.push_str(&format!("{v} {}\n", B64.encode(k.expose_secret())));
        }
        s
    }

    pub fn current(&self) -> KeyVersion {
        self.keys.keys().next_back().copied().unwrap_or(1)
    }

    pub fn versions(&self) -> impl Iterator<Item = KeyVersion> + '_ {
        self.keys.keys().copied()
    }

    /// Encrypts `plaintext` under version `v` with `aad`; output is
    /// `nonce ‖ ciphertext ‖ tag`. The nonce is random: a KEK wraps far fewer
    /// than 2^32 keys, well inside AES-GCM's random-nonce bound.
    pub(crate) fn seal(&self, v: KeyVersion, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key(v)?;
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Integrity("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub(crate) fn open(&self, v: KeyVersion, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key(v)?;
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Integrity("wrapped key too short"));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Integrity("bad nonce"))?;
        let mut buf = ct.to_vec();
        let n = key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Integrity("wrapped key does not authenticate"))?
            .len();
        buf.truncate(n);
        Ok(buf)
    }

    fn aead_key(&self, v: KeyVersion) -> Result<LessSafeKey, CryptoError> {
        let k = self.keys.get(&v).ok_or(CryptoError::UnknownKeyVersion(v))?;
        let unbound =
            UnboundKey::new(&AES_256_GCM, k.expose_secret()).map_err(|_| CryptoError::Integrity("bad key"))?;
        Ok(LessSafeKey::new(unbound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_rotation() {
        let mut ring = MasterKeys::generate().unwrap();
        assert_eq!(ring.current(), 1);
        assert_eq!(ring.rotate().unwrap(), 2);
        let again = MasterKeys::parse(&ring.to_text()).unwrap();
        assert_eq!(again.versions().collect::<Vec<_>>(), vec![1, 2]);
        let sealed = ring.seal(1, b"aad", b"secret").unwrap();
        assert_eq!(again.open(1, b"aad", &sealed).unwrap(), b"secret");
        assert!(again.open(2, b"aad", &sealed).is_err());
        assert!(again.open(1, b"other", &sealed).is_err());
    }

    #[test]
    fn refuses_malformed_rings() {
        assert!(MasterKeys::parse("").is_err());
        assert!(MasterKeys::parse("1 abc").is_err());
        let k = B64.encode([7u8; 32]);
        assert!(MasterKeys::parse(&format!("1 {k}\n1 {k}")).is_err());
        assert!(MasterKeys::parse(&format!("0 {k}")).is_err());
        assert!(MasterKeys::parse(&format!("# c\n\n3 {k}")).unwrap().current() == 3);
    }
}
