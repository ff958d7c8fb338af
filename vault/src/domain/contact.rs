//! How the applicant is reached (CCH R.441-2-7): an e-mail address, a
//! postal address, whether they registered or renewed online and whether
//! they asked for post. Personal data: sealed under the dossier key where
//! it is stored, never logged. The notice's channels follow from it.

use serde::{Deserialize, Serialize};

use super::{EmailAddress, ParseError};

/// A postal address block has at most six lines (norme AFNOR NF Z10-011).
const MAX_ADDRESS_LINES: usize = 6;
/// Generous beyond the norm's 38 characters: the guichet types what the
/// applicant wrote; the letter wraps nothing.
const MAX_LINE: usize = 100;

/// The applicant's contact details, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<EmailAddress>,
    /// The address block, one line per entry; empty when unknown.
    pub postal_address: Vec<String>,
    /// Registered or renewed online.
    pub online: bool,
    /// Asked to receive post too.
    pub wants_post: bool,
}

/// What the notices go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Post,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Post => "post",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "email" => Ok(Self::Email),
            "post" => Ok(Self::Post),
            other => Err(ParseError::new(format!("{other:?} is not a channel (email, post)"))),
        }
    }
}

/// What a notice tells the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// R.441-2-7: the demand expires on a date; renew it before.
    Renewal,
    /// The demand was radiated (and why).
    Radiation,
    /// R.441-2-8 (c) or (d): the demand will be radiated a month after this
    /// letter, sent by a means that proves delivery.
    Warning,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Renewal => "renewal",
            Self::Radiation => "radiation",
            Self::Warning => "warning",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "renewal" => Ok(Self::Renewal),
            "radiation" => Ok(Self::Radiation),
            "warning" => Ok(Self::Warning),
            other => Err(ParseError::new(format!("{other:?} is not a notice kind (renewal, radiation, warning)"))),
        }
    }
}

/// The stored form (inside the seal): plain strings, parsed again on the
/// way out so a change of rules cannot smuggle a bad value inward.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub postal_address: Vec<String>,
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub wants_post: bool,
}

impl Contact {
    /// Validates given fields; each error names its field.
    pub fn parse(fields: &ContactFields) -> Result<Self, ParseError> {
        let email = match fields.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(EmailAddress::parse(e).map_err(|e| ParseError::new(format!("contact.email: {e}")))?),
        };
        let lines: Vec<String> =
            fields.postal_address.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
        if lines.len() > MAX_ADDRESS_LINES {
            return Err(ParseError::new(format!(
                "contact.postal_address: at most {MAX_ADDRESS_LINES} lines, {} given",
                lines.len()
            )));
        }
        if let Some(bad) = lines.iter().position(|l| l.chars().count() > MAX_LINE || l.chars().any(char::is_control)) {
            return Err(ParseError::new(format!(
                "contact.postal_address: line {} is longer than {MAX_LINE} characters or holds a control character",
                bad + 1
            )));
        }
        if lines.len() == 1 {
            return Err(ParseError::new(
                "contact.postal_address: an address block has at least two lines (the name, then the street and town)",
            ));
        }
        if fields.wants_post && lines.is_empty() {
            return Err(ParseError::new("contact.postal_address: the applicant asked for post; give their address"));
        }
        Ok(Self { email, postal_address: lines, online: fields.online, wants_post: fields.wants_post })
    }

    pub fn fields(&self) -> ContactFields {
        ContactFields {
            email: self.email.as_ref().map(|e| e.as_str().to_owned()),
            postal_address: self.postal_address.clone(),
            online: self.online,
            wants_post: self.wants_post,
        }
    }

    /// The channels of a notice (R.441-2-7): by post, and by e-mail if
    /// known, when the applicant never registered or renewed online; by
    /// e-mail when they did; both when they did and asked for post. An
    /// online applicant without an e-mail address gets post (nothing else
    /// reaches them).
    pub fn channels(&self) -> Vec<Channel> {
        match (self.online, &self.email) {
            (false, None) => vec![Channel::Post],
            (false, Some(_)) => vec![Channel::Email, Channel::Post],
            (true, Some(_)) if self.wants_post => vec![Channel::Email, Channel::Post],
            (true, Some(_)) => vec![Channel::Email],
            (true, None) => vec![Channel::Post],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: Option<&str>, online: bool, wants_post: bool) -> Contact {
        Contact::parse(&ContactFields {
            email: email.map(str::to_owned),
            postal_address: vec!["Mme Marie Martin".into(), "3 rue des Dunes".into(), "59140 Dunkerque".into()],
            online,
            wants_post,
        })
        .unwrap()
    }

    #[test]
    fn the_channels_follow_r441_2_7() {
        use Channel::*;
        assert_eq!(contact(None, false, false).channels(), [Post]);
        assert_eq!(contact(Some("m@x.fr"), false, false).channels(), [Email, Post]);
        assert_eq!(contact(Some("m@x.fr"), true, false).channels(), [Email]);
        assert_eq!(contact(Some("m@x.fr"), true, true).channels(), [Email, Post]);
        assert_eq!(contact(None, true, false).channels(), [Post]);
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = |f: ContactFields| Contact::parse(&f).unwrap_err().0;
        assert!(bad(ContactFields { email: Some("marie@".into()), ..Default::default() }).starts_with("contact.email"));
        assert!(
            bad(ContactFields { postal_address: vec!["x".into(); 7], ..Default::default() })
                .starts_with("contact.postal_address")
        );
        assert!(bad(ContactFields { wants_post: true, ..Default::default() }).contains("asked for post"));
        assert!(
            bad(ContactFields { postal_address: vec!["a\u{7}".into(), "b".into()], ..Default::default() })
                .contains("line 1")
        );
        let ok = Contact::parse(&ContactFields { email: Some(" ".into()), ..Default::default() }).unwrap();
        assert_eq!(ok.email, None);
    }
}
