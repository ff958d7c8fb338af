//! The structure of a *numéro unique*: 18 characters, territory code (3) ·
//! month and year of deposit `MMAA` (4) · sequence (6) · code of the first
//! guichet (5), e.g. `1111023517879GDPUB`. Checked at every door (the
//! vault's API, a separator sheet printed by `scanner-ingest`) so that a
//! typo is caught there rather than creating a ghost dossier.

/// The expected format, quoted in every refusal.
pub const FORMAT: &str = "18 characters: territory code (3 letters or digits), month and year of \
deposit MMAA (4 digits), sequence (6 digits), guichet code (5 letters or digits), \
e.g. 1111023517879GDPUB";

/// Checks the structure of `s` (already trimmed); the error says what is
/// wrong, without the format (callers quote [`FORMAT`]).
pub fn check(s: &str) -> Result<(), String> {
    let count = s.chars().count();
    if count != 18 {
        return Err(format!("{count} characters"));
    }
    let b = s.as_bytes();
    if !b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
        return Err("only digits and capital letters are allowed".into());
    }
    if !b[3..13].iter().all(u8::is_ascii_digit) {
        return Err("characters 4 to 13 must be digits".into());
    }
    let month = (b[3] - b'0') * 10 + (b[4] - b'0');
    if !(1..=12).contains(&month) {
        return Err("the month of deposit must be 01 to 12".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn structure() {
        assert!(check("1111023517879GDPUB").is_ok());
        assert!(check("1111323517879GDPUB").unwrap_err().contains("month"));
        assert!(check("111102351787GDPUB").unwrap_err().contains("17"));
        assert!(check("1111023517879gdpub").unwrap_err().contains("capital"));
        assert!(check("111A023517879GDPUB").unwrap_err().contains("digits"));
    }
}
