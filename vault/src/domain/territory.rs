//! INSEE commune codes, département codes and guichet codes.

use std::fmt;

use super::ParseError;

/// An INSEE commune code: 5 characters, département (2 digits, `2A`/`2B`, or
/// `97` for overseas) followed by digits, e.g. `59183` (Dunkerque).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommuneCode(String);

impl CommuneCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        // ASCII first: slicing a string of five bytes that holds a wider
        // character would panic (found by schemathesis).
        let ok = b.len() == 5
            && b.iter().all(u8::is_ascii_alphanumeric)
            && (b[..2].iter().all(u8::is_ascii_digit) || &s[..2] == "2A" || &s[..2] == "2B")
            && b[2..].iter().all(u8::is_ascii_digit)
            && &s[..2] != "00";
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(format!(
                "invalid INSEE commune code {s:?}: expected 5 characters such as 59183 or 2A004"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The département the commune lies in (`59`, `2A`, `974`).
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") { &self.0[..3] } else { &self.0[..2] }
    }
}

impl fmt::Display for CommuneCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of an organisation's territory: a whole département or one commune.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TerritoryCode {
    Departement(String),
    Commune(CommuneCode),
}

impl TerritoryCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        let dep2 =
            b.len() == 2 && (b.iter().all(u8::is_ascii_digit) && t != "00" && t != "20" || t == "2A" || t == "2B");
        let dep3 = b.len() == 3 && t.starts_with("97") && b[2].is_ascii_digit();
        if dep2 || dep3 {
            return Ok(Self::Departement(t));
        }
        CommuneCode::parse(&t).map(Self::Commune).map_err(|_| {
            ParseError::new(format!(
                "invalid territory code {t:?}: expected a département (59, 2A, 974) or an INSEE commune code (59183)"
            ))
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Departement(d) => d,
            Self::Commune(c) => c.as_str(),
        }
    }

    /// Whether the commune lies in this territory entry.
    pub fn covers(&self, commune: &CommuneCode) -> bool {
        match self {
            Self::Departement(d) => commune.departement() == d,
            Self::Commune(c) => c == commune,
        }
    }
}

impl fmt::Display for TerritoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 5-character code of a guichet enregistreur, the last part of the
/// numéros uniques it issues.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuichetCode(String);

impl GuichetCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.len() == 5 && s.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(format!("invalid guichet code {s:?}: expected 5 capital letters or digits")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GuichetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_and_departements() {
        let dk = CommuneCode::parse("59183").unwrap();
        assert_eq!(dk.departement(), "59");
        assert_eq!(CommuneCode::parse("97411").unwrap().departement(), "974");
        assert!(CommuneCode::parse("2a004").is_ok());
        assert!(CommuneCode::parse("5918").is_err());
        // Five bytes, but one wide character: refused, not a panic.
        assert!(CommuneCode::parse("0\u{10000}").is_err());
        assert!(TerritoryCode::parse("0\u{10000}").is_err());
        assert!(TerritoryCode::parse("59").unwrap().covers(&dk));
        assert!(!TerritoryCode::parse("62").unwrap().covers(&dk));
        assert!(TerritoryCode::parse("59183").unwrap().covers(&dk));
        assert!(TerritoryCode::parse("xx").is_err());
    }
}
