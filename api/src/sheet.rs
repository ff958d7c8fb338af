//! Separator sheets: the page a guichet slips in front of an applicant's
//! papers so that a scanned batch is filed in the right dossier as the
//! right kind of piece.
//!
//! The QR code carries `DNU2:<numéro unique>:<kind>:<guichet>:<AAAAMMJJ>:<tag>`:
//! the guichet that printed it, the day it was printed, and the first 16
//! bytes (hex) of HMAC-SHA-256 over everything before the tag. The tag's
//! key is the guichet's own, derived from the territory's sheet key
//! (`VAULT_SHEET_KEY_FILE`): a scanner holding one guichet's key
//! (`dnu-vault keys sheet-key --guichet …`) reads that guichet's sheets
//! only, and a key taken from one workstation forges nobody else's. A sheet
//! is good for [`VALID_DAYS`] days: an old sheet found in a drawer, or
//! photocopied months later, files nothing. 128 bits of tag are plenty
//! against guessing (each guess costs a printed, scanned sheet) and keep
//! the QR code readable at 75 dpi.
//!
//! `DNU1` sheets (no guichet, no date, one key for all) are refused.

use aws_lc_rs::{constant_time, hmac};
use time::{Date, Month};

/// First field of every payload: lets a reader tell our sheets from any
/// other QR code on a page, and lets the format evolve.
pub const VERSION: &str = "DNU2";
/// The format before guichets and dates, no longer accepted.
const OLD_VERSION: &str = "DNU1";
/// How long a printed sheet files pages, in days from its printing.
pub const VALID_DAYS: i64 = 60;

/// Why a payload is not one of our sheets, or no longer files anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not a sheet at all (another QR code on a document).
    #[error("not a separator sheet")]
    NotASheet,
    /// Looks like a sheet, but is malformed or its tag is not this key's.
    #[error("separator sheet not issued with this key (forged, altered or from another vault)")]
    Forged,
    /// Issued by a guichet whose key this reader does not hold.
    #[error("separator sheet of guichet {0}, not of this scanner's guichet {1}")]
    OtherGuichet(String, String),
    #[error("separator sheet printed on {0}: older than {VALID_DAYS} days")]
    Expired(Date),
    #[error("separator sheet dated {0}, in the future")]
    Future(Date),
    #[error("separator sheet of the old format (no guichet, no date): print a new one")]
    OldFormat,
    #[error("sheet key: {0}")]
    Key(String),
}

/// Whose sheets a key makes and reads.
#[derive(Clone, PartialEq, Eq)]
enum Scope {
    /// The territory's key: every guichet's sheets (the vault holds it).
    Territory,
    /// One guichet's derived key (its scanner holds it).
    Guichet(String),
}

/// The key of separator sheets.
#[derive(Clone)]
pub struct SheetKey {
    scope: Scope,
    raw: Vec<u8>,
}

impl std::fmt::Debug for SheetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.scope {
            Scope::Territory => f.write_str("SheetKey(territory, …)"),
            Scope::Guichet(g) => write!(f, "SheetKey(guichet {g}, …)"),
        }
    }
}

/// What a verified sheet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRef {
    pub numero_unique: String,
    pub kind: String,
    /// The guichet that printed it.
    pub guichet: String,
    pub issued: Date,
}

/// Piece kind codes are short lowercase identifiers (`avis_imposition_n1`).
fn kind_syntax_ok(kind: &str) -> bool {
    (1..=64).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A guichet code: 5 capital letters or digits (the end of a numéro unique).
pub fn guichet_syntax_ok(g: &str) -> bool {
    g.len() == 5 && g.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn date_text(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month = Month::try_from(s[4..6].parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(s[..4].parse().ok()?, month, s[6..].parse().ok()?).ok()
}

/// The line a sheet prints for people about its issue: who, when, until
/// when.
pub fn issued_line(guichet: &str, issued: Date) -> String {
    let fr = |d: Date| format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year());
    let until = issued.saturating_add(time::Duration::days(VALID_DAYS));
    format!("Imprimée le {} par le guichet {guichet} — valable jusqu'au {}.", fr(issued), fr(until))
}

fn hmac_key(raw: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, raw)
}

impl SheetKey {
    /// The territory's key from its file's text: at least 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, SheetError> {
        let raw = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| SheetError::Key("expected at least 64 hex digits".into()))?;
        Ok(Self { scope: Scope::Territory, raw })
    }

    /// A key file's text: the territory's key (hex), or one guichet's
    /// (`<guichet>:<hex>`, as [`Self::to_text`] writes it).
    pub fn from_text(text: &str) -> Result<Self, SheetError> {
        match text.trim().split_once(':') {
            None => Self::from_hex(text),
            Some((g, hex)) if guichet_syntax_ok(g) => {
                Ok(Self { scope: Scope::Guichet(g.to_owned()), raw: Self::from_hex(hex)?.raw })
            }
            Some(_) => Err(SheetError::Key("expected <guichet code>:<hex> or hex digits".into())),
        }
    }

    /// The text of this key's file.
    pub fn to_text(&self) -> String {
        match &self.scope {
            Scope::Territory => format!("{}\n", hex::encode(&self.raw)),
            Scope::Guichet(g) => format!("{g}:{}\n", hex::encode(&self.raw)),
        }
    }

    /// Reads a key file (no key is ever generated here: only the vault
    /// creates one, and derives each guichet's).
    pub fn from_file(path: &std::path::Path) -> Result<Self, SheetError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SheetError::Key(format!("cannot read {}: {e}", path.display())))?;
        Self::from_text(&text).map_err(|e| SheetError::Key(format!("{}: {e}", path.display())))
    }

    /// The guichet this key belongs to (`None` for the territory's).
    pub fn guichet(&self) -> Option<&str> {
        match &self.scope {
            Scope::Territory => None,
            Scope::Guichet(g) => Some(g),
        }
    }

    /// The key of `guichet`: derived from the territory's key, or this key
    /// itself when it is that guichet's.
    pub fn for_guichet(&self, guichet: &str) -> Result<Self, SheetError> {
        if !guichet_syntax_ok(guichet) {
            return Err(SheetError::Key(format!("{guichet:?} is not a guichet code (5 capital letters or digits)")));
        }
        match &self.scope {
            Scope::Guichet(own) if own == guichet => Ok(self.clone()),
            Scope::Guichet(own) => Err(SheetError::OtherGuichet(guichet.to_owned(), own.clone())),
            Scope::Territory => {
                let tag = hmac::sign(&hmac_key(&self.raw), format!("{VERSION}/guichet-key:{guichet}").as_bytes());
                Ok(Self { scope: Scope::Guichet(guichet.to_owned()), raw: tag.as_ref().to_vec() })
            }
        }
    }

    fn tag(&self, signed: &str) -> String {
        hex::encode(&hmac::sign(&hmac_key(&self.raw), signed.as_bytes()).as_ref()[..16])
    }

    /// The text a sheet's QR code carries, for a sheet printed by `guichet`
    /// on `issued`. `nu` and `kind` must have been validated by the caller.
    pub fn payload(&self, nu: &str, kind: &str, guichet: &str, issued: Date) -> Result<String, SheetError> {
        let key = self.for_guichet(guichet)?;
        let signed = format!("{VERSION}:{nu}:{kind}:{guichet}:{}", date_text(issued));
        Ok(format!("{signed}:{}", key.tag(&signed)))
    }

    /// Reads a QR text back: what the sheet says if, and only if, it is a
    /// sheet, its tag is its guichet's under this key, and it is still
    /// good on `today`.
    pub fn verify(&self, payload: &str, today: Date) -> Result<SheetRef, SheetError> {
        let payload = payload.trim();
        if payload.starts_with(OLD_VERSION) {
            return Err(SheetError::OldFormat);
        }
        if !payload.starts_with(VERSION) {
            return Err(SheetError::NotASheet);
        }
        let Some((signed, tag)) = payload.rsplit_once(':') else { return Err(SheetError::Forged) };
        let mut parts = signed.split(':');
        let (Some(VERSION), Some(nu), Some(kind), Some(guichet), Some(issued), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SheetError::Forged);
        };
        let issued_on = parse_date(issued).ok_or(SheetError::Forged)?;
        if crate::numero_unique::check(nu).is_err() || !kind_syntax_ok(kind) || !guichet_syntax_ok(guichet) {
            return Err(SheetError::Forged);
        }
        let key = self.for_guichet(guichet)?;
        constant_time::verify_slices_are_equal(key.tag(signed).as_bytes(), tag.as_bytes())
            .map_err(|_| SheetError::Forged)?;
        // Only once the tag holds: an attacker's date says nothing.
        if issued_on > today.next_day().unwrap_or(today) {
            return Err(SheetError::Future(issued_on));
        }
        if (today - issued_on).whole_days() > VALID_DAYS {
            return Err(SheetError::Expired(issued_on));
        }
        Ok(SheetRef {
            numero_unique: nu.to_owned(),
            kind: kind.to_owned(),
            guichet: guichet.to_owned(),
            issued: issued_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const NU: &str = "1111023517879GDPUB";
    const DAY: Date = date!(2026 - 12 - 02);

    fn key(byte: char) -> SheetKey {
        SheetKey::from_hex(&byte.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn a_payload_verifies_under_its_key_only() {
        let k = key('a');
        let p = k.payload(NU, "identite", "GDPUB", DAY).unwrap();
        let r = k.verify(&p, DAY).unwrap();
        assert_eq!(
            (r.numero_unique.as_str(), r.kind.as_str(), r.guichet.as_str(), r.issued),
            (NU, "identite", "GDPUB", DAY)
        );
        assert_eq!(key('b').verify(&p, DAY), Err(SheetError::Forged));
        // Each field changed under the same tag.
        let tag = p.rsplit(':').next().unwrap();
        for forged in [
            format!("DNU2:1111023517880GDPUB:identite:GDPUB:20261202:{tag}"),
            format!("DNU2:{NU}:ressources:GDPUB:20261202:{tag}"),
            format!("DNU2:{NU}:identite:MAIRE:20261202:{tag}"),
            format!("DNU2:{NU}:identite:GDPUB:20261201:{tag}"),
            format!("{p}:extra"),
            format!("DNU2:{NU}:identite:GDPUB:20261302:{tag}"),
        ] {
            assert_eq!(k.verify(&forged, DAY), Err(SheetError::Forged), "{forged}");
        }
        assert_eq!(k.verify("https://example.org/", DAY), Err(SheetError::NotASheet));
        assert_eq!(k.verify(&format!("DNU1:{NU}:identite:{tag}"), DAY), Err(SheetError::OldFormat));
    }

    #[test]
    fn sheets_expire_and_cannot_come_from_the_future() {
        let k = key('a');
        let p = k.payload(NU, "identite", "GDPUB", DAY).unwrap();
        assert!(k.verify(&p, DAY.saturating_add(time::Duration::days(VALID_DAYS))).is_ok());
        let late = DAY.saturating_add(time::Duration::days(VALID_DAYS + 1));
        assert_eq!(k.verify(&p, late), Err(SheetError::Expired(DAY)));
        let early = DAY.saturating_sub(time::Duration::days(2));
        assert_eq!(k.verify(&p, early), Err(SheetError::Future(DAY)));
    }

    #[test]
    fn a_guichet_key_reads_its_own_sheets_only() {
        let territory = key('c');
        let own = SheetKey::from_text(&territory.for_guichet("GDPUB").unwrap().to_text()).unwrap();
        assert_eq!(own.guichet(), Some("GDPUB"));
        let mine = territory.payload(NU, "identite", "GDPUB", DAY).unwrap();
        let theirs = territory.payload(NU, "identite", "MAIRE", DAY).unwrap();
        assert!(own.verify(&mine, DAY).is_ok());
        assert_eq!(own.verify(&theirs, DAY), Err(SheetError::OtherGuichet("MAIRE".into(), "GDPUB".into())));
        // It prints for its guichet the very sheets the territory's key reads.
        assert_eq!(own.payload(NU, "identite", "GDPUB", DAY).unwrap(), mine);
        assert!(own.payload(NU, "identite", "MAIRE", DAY).is_err());
        // The guichet's key is not the territory's.
        assert_ne!(own.to_text(), territory.to_text());
        assert!(SheetKey::from_text(&territory.to_text()).unwrap().guichet().is_none());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(SheetKey::from_hex("abcd").is_err());
        assert!(SheetKey::from_hex("zz").is_err());
        assert!(SheetKey::from_text(&format!("gdpub:{}", "a".repeat(64))).is_err());
        assert!(key('a').for_guichet("GD").is_err());
    }
}
