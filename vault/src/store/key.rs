//! The one place that builds object names.

use std::fmt;

use uuid::Uuid;

/// The name of an object in the store. Names carry only internal random ids:
/// never a numéro unique, a file name or anything personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKey {
    /// A dossier's object (an original, and later renditions, thumbnails,
    /// exports): all encrypted under keys derived from the dossier key.
    Dossier { dossier: Uuid, object: Uuid },
    /// A signed checkpoint of the audit chain (public, not encrypted).
    AuditCheckpoint { seq: u64 },
}

const SUFFIX: &str = ".dnuv";
/// Where audit checkpoints live.
pub const CHECKPOINTS: &str = "audit/checkpoints/";

impl ObjectKey {
    /// The relative path / S3 key.
    pub fn path(&self) -> String {
        match self {
            Self::Dossier { dossier, object } => format!("dossiers/{dossier}/{object}{SUFFIX}"),
            Self::AuditCheckpoint { seq } => format!("{CHECKPOINTS}{seq:020}.json"),
        }
    }

    /// Parses a name produced by [`ObjectKey::path`]; anything else is not ours.
    pub fn parse(path: &str) -> Option<Self> {
        if let Some(n) = path.strip_prefix(CHECKPOINTS).and_then(|r| r.strip_suffix(".json")) {
            return Some(Self::AuditCheckpoint { seq: n.parse().ok()? });
        }
        let rest = path.strip_prefix("dossiers/")?;
        let (d, o) = rest.split_once('/')?;
        let o = o.strip_suffix(SUFFIX)?;
        Some(Self::Dossier { dossier: Uuid::parse_str(d).ok()?, object: Uuid::parse_str(o).ok()? })
    }

    /// The object id of a dossier object; checkpoints have none (nil).
    pub fn object(&self) -> Uuid {
        match self {
            Self::Dossier { object, .. } => *object,
            Self::AuditCheckpoint { .. } => Uuid::nil(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let k = ObjectKey::Dossier { dossier: Uuid::new_v4(), object: Uuid::new_v4() };
        assert_eq!(ObjectKey::parse(&k.path()), Some(k));
        assert_eq!(ObjectKey::parse("dossiers/x/y.dnuv"), None);
        assert_eq!(ObjectKey::parse("../etc/passwd"), None);
        let c = ObjectKey::AuditCheckpoint { seq: 42 };
        assert_eq!(ObjectKey::parse(&c.path()), Some(c));
    }
}
