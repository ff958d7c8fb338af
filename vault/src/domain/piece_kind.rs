//! Kinds of *pièce justificative*: a code of the shipped catalogue
//! (`api/catalogue.toml`, arrêté du 22 décembre 2020). Kinds the rules
//! forbid asking for are refused with the catalogue's reason.

use std::fmt;

use super::ParseError;
use super::catalogue::{self, KindEntry};

/// A kind the catalogue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub struct PieceKind(&'static str);

impl PieceKind {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let c = catalogue::shipped().map_err(|e| ParseError::new(format!("the catalogue of pieces is broken: {e}")))?;
        if let Some(f) = c.forbidden(s) {
            return Err(ParseError::new(format!("piece kind {s:?} is refused: {}", f.reason)));
        }
        c.kind(s).map(|k| Self(k.code.as_str())).ok_or_else(|| {
            let names: Vec<&str> = c.kinds.iter().map(|k| k.code.as_str()).collect();
            ParseError::new(format!("unknown piece kind {s:?}: expected one of {}", names.join(", ")))
        })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The one kind required at registration (the identity piece, CCH
    /// R.441-2-3); `None` only if the catalogue is broken, which the vault
    /// refuses to open with.
    pub fn required() -> Option<Self> {
        let c = catalogue::shipped().ok()?;
        c.kinds.iter().find(|k| k.required_at_registration).map(|k| Self(k.code.as_str()))
    }

    /// The catalogue's label ("Pièce d'identité ou titre de séjour").
    pub fn label(self) -> &'static str {
        self.entry().map_or(self.0, |k| k.label.as_str())
    }

    /// The catalogue entry (label, validity rule).
    pub fn entry(self) -> Option<&'static KindEntry> {
        catalogue::shipped().ok()?.kind(self.0)
    }
}

impl fmt::Display for PieceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl serde::Serialize for PieceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_forbidden_kinds() {
        for k in &catalogue::shipped().unwrap().kinds {
            assert_eq!(PieceKind::parse(&k.code).unwrap().as_str(), k.code);
        }
        let refused = PieceKind::parse("carte_vitale").unwrap_err().0;
        assert!(refused.contains("ne peut pas être demandée") && refused.contains("arrêté"), "{refused}");
        assert!(PieceKind::parse("passeport").unwrap_err().0.contains("expected one of"));
    }
}
