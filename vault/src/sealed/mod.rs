//! Sealed objects: the only code that turns plaintext into stored
//! ciphertext ([`stage_original`], [`Upload`]) and back
//! ([`open_object`]), under a dossier key (DESIGN §5: per-object keys by
//! HKDF, 64 KiB AES-256-GCM STREAM chunks, a header binding each object to
//! its dossier and id). Features hand it a dossier key obtained through the
//! access seam and get staged objects or a fail-closed plaintext stream.

mod read;
pub mod records;
mod write;

pub use read::{open_object, read_object};
pub use write::{Accepted, BUNDLE_MEDIA_TYPE, Staged, Upload, stage_bytes, stage_original};
