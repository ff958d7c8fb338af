//! SIREN: the 9-digit identifier of a French organisation, with its Luhn key.

use std::fmt;

use super::ParseError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siren(String);

impl Siren {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() != 9 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(format!("invalid SIREN {s:?}: expected 9 digits")));
        }
        if !luhn_ok(&s) {
            return Err(ParseError::new(format!("invalid SIREN {s}: its check digit is wrong")));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl fmt::Display for Siren {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_luhn_key() {
        // SIREN of the Caisse des dépôts, a published number.
        assert!(Siren::parse("180020026").is_ok());
        assert!(Siren::parse("180 020 026").is_ok());
        assert!(Siren::parse("180020027").unwrap_err().0.contains("check digit"));
        assert!(Siren::parse("18002002").unwrap_err().0.contains("9 digits"));
    }
}
