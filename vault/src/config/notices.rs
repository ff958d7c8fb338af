//! A demand's year, resolved: when `serve` runs the daily pass and in
//! which time zone, how long before expiry the renewal notice goes out,
//! and how e-mail leaves (SMTP).
//!
//! SMTP is `smtps://` (TLS from the first byte) or `smtp://` with STARTTLS
//! required; only a relay on a loopback address may be reached in clear.
//! Notices carry personal data and never cross a network in clear.

use secrecy::SecretString;

use super::{Settings, read_secret_file};
use crate::{clock::Zone, error::Error};

/// The law's floor: the notice goes out at least one month before expiry
/// (CCH R.441-2-7); 31 days covers every month.
pub const MIN_NOTICE_LEAD_DAYS: u32 = 31;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`, port 465).
    Tls,
    /// STARTTLS, required (`smtp://`, port 587).
    StartTls,
    /// In clear: only to a relay on a loopback address.
    LoopbackPlain,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, SecretString)>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct NoticeConfig {
    /// `serve` runs the daily pass (off: only `dnu-vault lifecycle run`).
    pub daily: bool,
    /// Local time of the pass, hours and minutes.
    pub run_at: (u8, u8),
    pub zone: Zone,
    /// The renewal notice goes out this many days before expiry.
    pub lead_days: u32,
    /// Without it e-mail notices wait in the outbox (letters still go to
    /// the guichets' queues).
    pub smtp: Option<SmtpConfig>,
    /// The daily digest of the relance list to each registering organisation.
    pub digest: bool,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        Self {
            daily: true,
            run_at: (3, 0),
            zone: Zone::Paris,
            lead_days: MIN_NOTICE_LEAD_DAYS,
            smtp: None,
            digest: true,
        }
    }
}

impl NoticeConfig {
    pub(super) fn resolve(s: &Settings) -> Result<Self, Error> {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let run_at = match given(&s.lifecycle_at) {
            None => (3, 0),
            Some(t) => parse_hhmm(t.trim())
                .ok_or_else(|| Error::Config(format!("VAULT_LIFECYCLE_AT {t:?} is not a time such as 03:00")))?,
        };
        let zone = match given(&s.lifecycle_time_zone) {
            None => Zone::Paris,
            Some(z) => Zone::parse(z.trim()).map_err(|e| Error::Config(format!("VAULT_LIFECYCLE_TIME_ZONE {e}")))?,
        };
        let lead_days = s.notice_lead_days.unwrap_or(MIN_NOTICE_LEAD_DAYS);
        if !(MIN_NOTICE_LEAD_DAYS..=92).contains(&lead_days) {
            return Err(Error::Config(format!(
                "VAULT_NOTICE_LEAD_DAYS {lead_days}: between {MIN_NOTICE_LEAD_DAYS} (one month, CCH R.441-2-7) and 92"
            )));
        }
        let smtp = match given(&s.smtp_url) {
            None => None,
            Some(url) => {
                let (host, port, security) = parse_smtp_url(url.trim())?;
                let from = given(&s.mail_from).ok_or_else(|| {
                    Error::Config(
                        "VAULT_MAIL_FROM is required with VAULT_SMTP_URL (e.g. DNU Vault <ne-pas-repondre@exemple.fr>)"
                            .into(),
                    )
                })?;
                // Compose and Kubernetes always mount the password file;
                // empty, it means no authentication.
                let password = match (&s.smtp_password_file, given(&s.smtp_username)) {
                    (Some(f), Some(user)) => Some((user, SecretString::from(read_secret_file(f, "SMTP password")?))),
                    (None, Some(_)) => {
                        return Err(Error::Config("VAULT_SMTP_USERNAME needs VAULT_SMTP_PASSWORD_FILE".into()));
                    }
                    (Some(f), None) if !read_secret_file(f, "SMTP password")?.is_empty() => {
                        return Err(Error::Config(
                            "VAULT_SMTP_PASSWORD_FILE holds a password but VAULT_SMTP_USERNAME is unset".into(),
                        ));
                    }
                    _ => None,
                };
                if password.is_some() && security == SmtpSecurity::LoopbackPlain {
                    return Err(Error::Config(
                        "VAULT_SMTP_URL: credentials are sent only over TLS; use smtps:// or a STARTTLS relay".into(),
                    ));
                }
                Some(SmtpConfig { host, port, security, credentials: password, from: from.trim().to_owned() })
            }
        };
        Ok(Self {
            daily: s.lifecycle_daily.unwrap_or(true),
            run_at,
            zone,
            lead_days,
            smtp,
            digest: s.notice_digest.unwrap_or(true),
        })
    }
}

fn parse_hhmm(t: &str) -> Option<(u8, u8)> {
    let (h, m) = t.split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && t.len() == 5).then_some((h, m))
}

fn parse_smtp_url(url: &str) -> Result<(String, u16, SmtpSecurity), Error> {
    let bad = || Error::Config(format!("VAULT_SMTP_URL {url:?}: expected smtps://host[:port] or smtp://host[:port]"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h.trim_start_matches('[').trim_end_matches(']').to_owned(), Some(p.parse::<u16>().map_err(|_| bad())?))
        }
        _ => (authority.to_owned(), None),
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "smtps" => Ok((host, port.unwrap_or(465), SmtpSecurity::Tls)),
        "smtp" if loopback => Ok((host, port.unwrap_or(25), SmtpSecurity::LoopbackPlain)),
        "smtp" => Ok((host, port.unwrap_or(587), SmtpSecurity::StartTls)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_say_how_mail_is_protected() {
        assert_eq!(
            parse_smtp_url("smtps://mail.exemple.fr").unwrap(),
            ("mail.exemple.fr".into(), 465, SmtpSecurity::Tls)
        );
        assert_eq!(
            parse_smtp_url("smtp://mail.exemple.fr").unwrap(),
            ("mail.exemple.fr".into(), 587, SmtpSecurity::StartTls)
        );
        assert_eq!(
            parse_smtp_url("smtp://127.0.0.1:2525").unwrap(),
            ("127.0.0.1".into(), 2525, SmtpSecurity::LoopbackPlain)
        );
        for bad in ["mail.exemple.fr", "http://x", "smtp://u:p@x", "smtp://x:port", "smtp://"] {
            assert!(parse_smtp_url(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_hhmm("03:00"), Some((3, 0)));
        assert_eq!(parse_hhmm("23:59"), Some((23, 59)));
        for bad in ["3:00", "24:00", "03:60", "0300"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }
}
