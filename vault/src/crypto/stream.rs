//! Objects as a STREAM of AES-256-GCM chunks (as in age; Hoang, Reyhanitabar,
//! Rogaway, Vizár 2015).
//!
//! ```text
//! header (72 bytes) = "DNUV" ‖ format 1 ‖ 0 0 0 ‖ dossier id (16) ‖ object id (16) ‖ salt (32)
//! key               = HKDF-SHA-256(salt, dossier key, "dnu-vault/object/v1" ‖ header[..40])
//! chunk i           = AES-256-GCM(key, nonce = i as 11 bytes BE ‖ last?1:0, aad = header, 64 KiB)
//! ```
//!
//! Every chunk authenticates the whole header, so the header cannot be
//! altered; the object key depends on the dossier and object ids the reader
//! *expects* (from the database), so an object copied onto another piece or
//! dossier does not decrypt; the counter in the nonce catches reordering and
//! the last-chunk flag catches truncation at a chunk boundary. The plaintext
//! is always at least one chunk (an empty object is one empty final chunk),
//! so even a zero-byte original is authenticated.
//!
//! Both directions hold one chunk at a time: memory does not grow with size.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use uuid::Uuid;

use super::{CryptoError, DossierKey, random_bytes};

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// GCM tag length.
pub const TAG: usize = 16;
/// Header length.
pub const HEADER: usize = 72;
const MAGIC: &[u8; 4] = b"DNUV";
const FORMAT: u8 = 1;

/// Length of the stored object for a plaintext of `len` bytes.
pub fn ciphertext_len(len: u64) -> u64 {
    let chunks = if len == 0 { 1 } else { len.div_ceil(CHUNK as u64) };
    HEADER as u64 + len + chunks * TAG as u64
}

fn object_key(dk: &DossierKey, header: &[u8; HEADER]) -> Result<LessSafeKey, CryptoError> {
    let k = dk.derive(&header[40..72], &[b"dnu-vault/object/v1", &header[..40]]);
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &k).map_err(|_| CryptoError::Integrity("bad key"))?))
}

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts one object, chunk by chunk.
pub struct Sealer {
    key: LessSafeKey,
    header: [u8; HEADER],
    counter: u64,
    /// Plaintext not yet sealed: up to one chunk, held back because the
    /// last chunk is only known when the input ends.
    pending: Vec<u8>,
}

impl Sealer {
    /// Starts an object; the header must be written first (see [`Sealer::header`]).
    pub fn new(dk: &DossierKey, object: Uuid) -> Result<Self, CryptoError> {
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(MAGIC);
        header[4] = FORMAT;
        header[8..24].copy_from_slice(dk.dossier().as_bytes());
        header[24..40].copy_from_slice(object.as_bytes());
        header[40..72].copy_from_slice(&random_bytes::<32>()?);
        Ok(Self { key: object_key(dk, &header)?, header, counter: 0, pending: Vec::with_capacity(CHUNK) })
    }

    pub fn header(&self) -> &[u8; HEADER] {
        &self.header
    }

    /// Takes plaintext; appends every chunk that is now known not to be the
    /// last to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                self.seal_pending(false, out)?;
            }
            if self.pending.is_empty() && data.len() > CHUNK {
                // More input follows this chunk, so it is not the last: seal
                // it straight from the input, sparing a copy.
                self.seal(&data[..CHUNK], false, out)?;
                data = &data[CHUNK..];
                continue;
            }
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals what is left as the final chunk.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        self.seal_pending(true, out)
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let pending = std::mem::take(&mut self.pending);
        let r = self.seal(&pending, last, out);
        self.pending = pending;
        self.pending.clear();
        r
    }

    fn seal(&mut self, plain: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce(self.counter, last), Aad::from(&self.header[..]), &mut out[start..])
            .map_err(|_| CryptoError::Integrity("sealing failed"))?;
        out.extend_from_slice(tag.as_ref());
        self.counter += 1;
        Ok(())
    }
}

/// Decrypts one object, chunk by chunk, checking it is the object expected.
pub struct Opener {
    key: LessSafeKey,
    header: [u8; HEADER],
    counter: u64,
    done: bool,
}

impl Opener {
    /// Checks the header names the expected dossier and object and derives
    /// the object key from the *expected* ids.
    pub fn new(dk: &DossierKey, object: Uuid, header: &[u8]) -> Result<Self, CryptoError> {
        let header: [u8; HEADER] = header.try_into().map_err(|_| CryptoError::Integrity("object header truncated"))?;
        if &header[..4] != MAGIC || header[4] != FORMAT {
            return Err(CryptoError::Integrity("not a DNU Vault object"));
        }
        if header[8..24] != *dk.dossier().as_bytes() || header[24..40] != *object.as_bytes() {
            return Err(CryptoError::Integrity("object belongs to another dossier or piece"));
        }
        Ok(Self { key: object_key(dk, &header)?, header, counter: 0, done: false })
    }

    /// Opens one sealed chunk in place and returns the plaintext length.
    /// `last` says whether the stored object ends after this chunk.
    pub fn open(&mut self, chunk: &mut [u8], last: bool) -> Result<usize, CryptoError> {
        if self.done {
            return Err(CryptoError::Integrity("data after the final chunk"));
        }
        if chunk.len() < TAG || chunk.len() > CHUNK + TAG {
            return Err(CryptoError::Integrity("chunk has an impossible length"));
        }
        let plain = self
            .key
            .open_in_place(nonce(self.counter, last), Aad::from(&self.header[..]), chunk)
            .map_err(|_| {
                CryptoError::Integrity("chunk does not authenticate (altered, reordered or truncated object)")
            })?
            .len();
        if !last && plain != CHUNK {
            return Err(CryptoError::Integrity("short chunk before the end"));
        }
        self.counter += 1;
        self.done = last;
        Ok(plain)
    }

    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(dk: &DossierKey, obj: Uuid, data: &[u8], piece: usize) -> Vec<u8> {
        let mut s = Sealer::new(dk, obj).unwrap();
        let mut out = s.header().to_vec();
        for part in data.chunks(piece.max(1)) {
            s.push(part, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        out
    }

    fn open_all(dk: &DossierKey, obj: Uuid, stored: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if stored.len() < HEADER {
            return Err(CryptoError::Integrity("short"));
        }
        let mut o = Opener::new(dk, obj, &stored[..HEADER])?;
        let mut body = stored[HEADER..].to_vec();
        let mut out = Vec::new();
        let chunks: Vec<&mut [u8]> = body.chunks_mut(CHUNK + TAG).collect();
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let len = o.open(c, i + 1 == n)?;
            out.extend_from_slice(&c[..len]);
        }
        if !o.is_done() {
            return Err(CryptoError::Integrity("no final chunk"));
        }
        Ok(out)
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let dk = DossierKey::generate(Uuid::new_v4()).unwrap();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            for piece in [1000, CHUNK, 7 * CHUNK] {
                let obj = Uuid::new_v4();
                let stored = seal_all(&dk, obj, &data, piece);
                assert_eq!(stored.len() as u64, ciphertext_len(len as u64));
                assert_eq!(open_all(&dk, obj, &stored).unwrap(), data, "len {len} piece {piece}");
            }
        }
    }

    #[test]
    fn tampering_fails_closed() {
        let d = Uuid::new_v4();
        let dk = DossierKey::generate(d).unwrap();
        let obj = Uuid::new_v4();
        let data = vec![42u8; 3 * CHUNK + 100];
        let stored = seal_all(&dk, obj, &data, CHUNK);
        // Any flipped byte, header included.
        for pos in [0, 5, 30, 50, HEADER, HEADER + CHUNK + 3, stored.len() - 1] {
            let mut t = stored.clone();
            t[pos] ^= 1;
            assert!(open_all(&dk, obj, &t).is_err(), "flip at {pos}");
        }
        // Truncation at a chunk boundary.
        let t = stored[..HEADER + 2 * (CHUNK + TAG)].to_vec();
        assert!(open_all(&dk, obj, &t).is_err());
        assert!(open_all(&dk, obj, &stored[..HEADER]).is_err());
        // Reordered chunks.
        let mut t = stored.clone();
        let (a, b) = (HEADER, HEADER + CHUNK + TAG);
        let first = t[a..b].to_vec();
        let second = t[b..b + CHUNK + TAG].to_vec();
        t[a..b].copy_from_slice(&second);
        t[b..b + CHUNK + TAG].copy_from_slice(&first);
        assert!(open_all(&dk, obj, &t).is_err());
        // Another object id, another dossier, another key for the same dossier.
        assert!(open_all(&dk, Uuid::new_v4(), &stored).is_err());
        let other = DossierKey::generate(Uuid::new_v4()).unwrap();
        assert!(open_all(&other, obj, &stored).is_err());
        let same_dossier_new_key = DossierKey::generate(d).unwrap();
        assert!(open_all(&same_dossier_new_key, obj, &stored).is_err());
        // Splicing a chunk from another object of the same dossier.
        let obj2 = Uuid::new_v4();
        let stored2 = seal_all(&dk, obj2, &data, CHUNK);
        let mut t = stored.clone();
        t[HEADER..HEADER + CHUNK + TAG].copy_from_slice(&stored2[HEADER..HEADER + CHUNK + TAG]);
        assert!(open_all(&dk, obj, &t).is_err());
    }
}
