//! Separator sheets: the page a guichet slips in front of an applicant's
//! papers so that a scanned batch is filed in the right dossier as the
//! right kind of piece.
//!
//! The QR code carries `DNU1:<numéro unique>:<kind>:<tag>`, where the tag is
//! the first 16 bytes (hex) of HMAC-SHA-256 over `DNU1:<nu>:<kind>` under a
//! key shared by the vault (`VAULT_SHEET_KEY_FILE`) and `scanner-ingest`
//! (`SCANNER_SHEET_KEY_FILE`). A sheet forged or altered by hand does not
//! verify, so a batch can never be routed to a dossier nobody printed a
//! sheet for. 128 bits of tag are plenty against guessing (each guess costs
//! a printed, scanned sheet) and keep the QR code small enough to read at
//! 75 dpi.

use aws_lc_rs::{constant_time, hmac};

/// First field of every payload: lets a reader tell our sheets from any
/// other QR code on a page, and lets the format evolve.
pub const VERSION: &str = "DNU1";

/// Why a payload is not one of our sheets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not the `DNU1:` format at all (another QR code on a document).
    #[error("not a separator sheet")]
    NotASheet,
    /// Looks like a sheet, but is malformed or its tag is not this key's.
    #[error("separator sheet not issued with this key (forged, altered or from another vault)")]
    Forged,
    #[error("sheet key: {0}")]
    Key(String),
}

/// The HMAC key of separator sheets.
pub struct SheetKey(hmac::Key);

impl std::fmt::Debug for SheetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SheetKey(…)")
    }
}

/// What a verified sheet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRef {
    pub numero_unique: String,
    pub kind: String,
}

/// Piece kind codes are short lowercase identifiers (`avis_imposition_n1`).
fn kind_syntax_ok(kind: &str) -> bool {
    (1..=64).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl SheetKey {
    /// A key from its file's text: at least 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, SheetError> {
        let raw = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| SheetError::Key("expected at least 64 hex digits".into()))?;
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &raw)))
    }

    /// Reads a key file (no key is ever generated here: only the vault
    /// creates one, which is then copied beside the scanner).
    pub fn from_file(path: &std::path::Path) -> Result<Self, SheetError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SheetError::Key(format!("cannot read {}: {e}", path.display())))?;
        Self::from_hex(&text).map_err(|e| SheetError::Key(format!("{}: {e}", path.display())))
    }

    fn tag(&self, nu: &str, kind: &str) -> String {
        let tag = hmac::sign(&self.0, format!("{VERSION}:{nu}:{kind}").as_bytes());
        hex::encode(&tag.as_ref()[..16])
    }

    /// The text a sheet's QR code carries. `nu` and `kind` must have been
    /// validated by the caller.
    pub fn payload(&self, nu: &str, kind: &str) -> String {
        format!("{VERSION}:{nu}:{kind}:{}", self.tag(nu, kind))
    }

    /// Reads a QR text back: the dossier and kind if, and only if, it is a
    /// sheet and its tag is this key's.
    pub fn verify(&self, payload: &str) -> Result<SheetRef, SheetError> {
        let payload = payload.trim();
        if !payload.starts_with(VERSION) {
            return Err(SheetError::NotASheet);
        }
        let mut parts = payload.split(':');
        let (Some(VERSION), Some(nu), Some(kind), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SheetError::Forged);
        };
        if crate::numero_unique::check(nu).is_err() || !kind_syntax_ok(kind) {
            return Err(SheetError::Forged);
        }
        constant_time::verify_slices_are_equal(self.tag(nu, kind).as_bytes(), tag.as_bytes())
            .map_err(|_| SheetError::Forged)?;
        Ok(SheetRef { numero_unique: nu.to_owned(), kind: kind.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: char) -> SheetKey {
        SheetKey::from_hex(&byte.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn a_payload_verifies_under_its_key_only() {
        let k = key('a');
        let p = k.payload("1111023517879GDPUB", "identite");
        let r = k.verify(&p).unwrap();
        assert_eq!((r.numero_unique.as_str(), r.kind.as_str()), ("1111023517879GDPUB", "identite"));
        assert_eq!(key('b').verify(&p), Err(SheetError::Forged));
        // The same tag on another dossier or kind.
        let tag = p.rsplit(':').next().unwrap();
        assert_eq!(k.verify(&format!("DNU1:1111023517880GDPUB:identite:{tag}")), Err(SheetError::Forged));
        assert_eq!(k.verify(&format!("DNU1:1111023517879GDPUB:ressources:{tag}")), Err(SheetError::Forged));
        assert_eq!(k.verify(&format!("{p}:extra")), Err(SheetError::Forged));
        assert_eq!(k.verify("https://example.org/"), Err(SheetError::NotASheet));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SheetKey::from_hex("abcd").is_err());
        assert!(SheetKey::from_hex("zz").is_err());
    }
}
