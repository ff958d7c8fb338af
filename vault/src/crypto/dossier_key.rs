//! Per-dossier data keys and what is derived from them.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf::{HKDF_SHA256, Salt},
    hmac,
};
use secrecy::{ExposeSecret, SecretBox};
use uuid::Uuid;

use super::{CryptoError, KeyVersion, MasterKeys, random_bytes};

/// A dossier key as stored: wrapped by one master key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_version: KeyVersion,
    pub bytes: Vec<u8>,
}

/// A dossier's data key in clear, only ever in memory.
pub struct DossierKey {
    dossier: Uuid,
    key: SecretBox<[u8; 32]>,
}

fn wrap_aad(dossier: Uuid, v: KeyVersion) -> Vec<u8> {
    let mut aad = b"dnu-vault/dossier-key/v1".to_vec();
    aad.extend_from_slice(dossier.as_bytes());
    aad.extend_from_slice(&v.to_be_bytes());
    aad
}

impl DossierKey {
    /// A fresh random key for a new dossier.
    pub fn generate(dossier: Uuid) -> Result<Self, CryptoError> {
        Ok(Self { dossier, key: SecretBox::new(Box::new(random_bytes::<32>()?)) })
    }

    /// Wraps the key under the ring's current version. The dossier id and the
    /// version are associated data: a wrapped key copied onto another
    /// dossier, or relabelled with another version, does not unwrap.
    pub fn wrap(&self, ring: &MasterKeys) -> Result<WrappedKey, CryptoError> {
        let v = ring.current();
        Ok(WrappedKey { kek_version: v, bytes: ring.seal(v, &wrap_aad(self.dossier, v), self.key.expose_secret())? })
    }

    pub fn unwrap(dossier: Uuid, wrapped: &WrappedKey, ring: &MasterKeys) -> Result<Self, CryptoError> {
        let raw = ring.open(wrapped.kek_version, &wrap_aad(dossier, wrapped.kek_version), &wrapped.bytes)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CryptoError::Integrity("dossier key has the wrong length"))?;
        Ok(Self { dossier, key: SecretBox::new(Box::new(key)) })
    }

    pub fn dossier(&self) -> Uuid {
        self.dossier
    }

    /// HKDF-SHA-256 from the dossier key with `salt` and `info`.
    pub(crate) fn derive(&self, salt: &[u8], info: &[&[u8]]) -> [u8; 32] {
        let prk = Salt::new(HKDF_SHA256, salt).extract(self.key.expose_secret());
        let okm = prk.expand(info, HKDF_SHA256).expect("32 bytes is a valid HKDF-SHA-256 output length");
        let mut out = [0u8; 32];
        okm.fill(&mut out).expect("32 bytes is a valid HKDF-SHA-256 output length");
        out
    }

    /// The keyed fingerprint of an original, from its SHA-256. Equal bytes in
    /// the same dossier give equal fingerprints; nobody without the dossier
    /// key can test whether the dossier holds a given known document.
    pub fn fingerprint(&self, sha256: &[u8; 32]) -> [u8; 32] {
        let k = self.derive(b"", &[b"dnu-vault/fingerprint/v1", self.dossier.as_bytes()]);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k), sha256);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts a small metadata record bound to `record_id` (a version id).
    pub fn seal_meta(&self, record_id: Uuid, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.meta_key()?;
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut buf = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(record_id.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Integrity("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open_meta(&self, record_id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Integrity("sealed metadata too short"));
        }
        let key = self.meta_key()?;
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Integrity("bad nonce"))?;
        let mut buf = ct.to_vec();
        let n = key
            .open_in_place(nonce, Aad::from(record_id.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Integrity("sealed metadata does not authenticate"))?
            .len();
        buf.truncate(n);
        Ok(buf)
    }

    fn meta_key(&self) -> Result<LessSafeKey, CryptoError> {
        let k = self.derive(b"", &[b"dnu-vault/metadata/v1", self.dossier.as_bytes()]);
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &k).map_err(|_| CryptoError::Integrity("bad key"))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_are_bound_to_their_dossier() {
        let ring = MasterKeys::generate().unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ka = DossierKey::generate(a).unwrap();
        let w = ka.wrap(&ring).unwrap();
        let again = DossierKey::unwrap(a, &w, &ring).unwrap();
        assert_eq!(again.fingerprint(&[1; 32]), ka.fingerprint(&[1; 32]));
        assert!(DossierKey::unwrap(b, &w, &ring).is_err(), "a wrapped key copied onto another dossier must not unwrap");
        let relabelled = WrappedKey { kek_version: 2, ..w };
        assert!(DossierKey::unwrap(a, &relabelled, &ring).is_err());
    }

    #[test]
    fn fingerprints_and_metadata_depend_on_the_dossier_key() {
        let d = Uuid::new_v4();
        let (k1, k2) = (DossierKey::generate(d).unwrap(), DossierKey::generate(d).unwrap());
        assert_ne!(k1.fingerprint(&[0; 32]), k2.fingerprint(&[0; 32]));
        let rec = Uuid::new_v4();
        let sealed = k1.seal_meta(rec, b"{}").unwrap();
        assert_eq!(k1.open_meta(rec, &sealed).unwrap(), b"{}");
        assert!(k2.open_meta(rec, &sealed).is_err());
        assert!(k1.open_meta(Uuid::new_v4(), &sealed).is_err(), "metadata moved to another record must not open");
    }
}
