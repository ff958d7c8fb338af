//! An e-mail address, as an agent is invited with it and as ProConnect
//! gives it: compared in lower case (providers and people change the case
//! of the same address).

use std::fmt;

use super::ParseError;

/// A plausible address: one `@`, a local part, a domain with a dot, no
/// spaces or controls, at most 254 characters; stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let bad = || ParseError::new(format!("{s:?} is not an e-mail address (name@domain.fr)"));
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(bad());
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_compared_in_lower_case() {
        assert_eq!(
            EmailAddress::parse(" Marie.Dupont@Ville-Dunkerque.FR ").unwrap().as_str(),
            "marie.dupont@ville-dunkerque.fr"
        );
        for bad in ["", "marie", "@x.fr", "marie@", "marie@fr", "marie@.fr", "ma rie@x.fr", "a@b@c.fr", "m@x.fr."] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
