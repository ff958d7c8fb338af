//! Every bearer secret the vault hands out, minted in one place, one kind
//! per prefix: an agent's access token (`dnuv_`), an agent's page session
//! (`dnus_`, what the pages' cookie holds, never the access token) and an
//! applicant's session (`dnua_`).
//!
//! A token is shown once and never stored in clear; 256 random bits make a
//! plain SHA-256 a sufficient hash (no password stretching needed).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    crypto::{random_bytes, sha256},
    error::Error,
};

/// What a token stands for, read from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An agent's long-lived access token (machine clients, the pages' sign-in).
    AgentAccess,
    /// An agent's page session (eight hours, ended by signing out).
    AgentSession,
    /// An applicant's session (one hour).
    ApplicantSession,
}

impl TokenKind {
    const ALL: [Self; 3] = [Self::AgentAccess, Self::AgentSession, Self::ApplicantSession];

    pub const fn prefix(self) -> &'static str {
        match self {
            Self::AgentAccess => "dnuv_",
            Self::AgentSession => "dnus_",
            Self::ApplicantSession => "dnua_",
        }
    }

    /// The kind a token claims by its prefix (not whether it is valid).
    pub fn of(token: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| token.starts_with(k.prefix()))
    }

    /// Whether a token of this kind is accepted the way it came. An agent's
    /// page session lives only in the pages' cookie: it is not a bearer
    /// token, and it cannot open another session (one posted to the
    /// sign-in form used to yield a fresh eight hours that outlived the
    /// first session's sign-out). An access token never rides in the
    /// cookie. An applicant's session is both their API token and their
    /// pages' cookie.
    pub fn accepted(self, carrier: Carrier) -> bool {
        match carrier {
            Carrier::Bearer => matches!(self, Self::AgentAccess | Self::ApplicantSession),
            Carrier::Cookie => matches!(self, Self::AgentSession | Self::ApplicantSession),
            Carrier::SignInForm => self == Self::AgentAccess,
        }
    }

    /// A new token of this kind and the hash under which it is stored.
    pub fn mint(self) -> Result<(String, [u8; 32]), Error> {
        let token = format!("{}{}", self.prefix(), URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
        let hash = sha256(token.as_bytes());
        Ok((token, hash))
    }
}

/// How a token reached the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// `Authorization: Bearer …`.
    Bearer,
    /// The pages' session cookie.
    Cookie,
    /// The agents' sign-in form (`/agent/connexion`).
    SignInForm,
}

/// A new agent access token and its stored hash.
pub fn new_token() -> Result<(String, [u8; 32]), Error> {
    TokenKind::AgentAccess.mint()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_from_its_prefix() {
        for kind in TokenKind::ALL {
            let (token, hash) = kind.mint().unwrap();
            assert_eq!(TokenKind::of(&token), Some(kind));
            assert_eq!(hash, sha256(token.as_bytes()));
            assert!(token.len() > 40);
        }
        assert_eq!(TokenKind::of("Bearer x"), None);
        assert!(!TokenKind::AgentAccess.accepted(Carrier::Cookie));
        assert!(!TokenKind::AgentSession.accepted(Carrier::Bearer));
        assert!(!TokenKind::AgentSession.accepted(Carrier::SignInForm));
    }
}
