//! How people sign in, resolved: the public URL providers send browsers
//! back to, ProConnect for agents, FranceConnect for applicants, and
//! whether agents may still paste a token on the pages.
//!
//! An issuer must be `https://`, except on a loopback address (a provider
//! started beside the vault for tests or a demonstration): tokens and
//! codes never cross a network in clear.

use secrecy::SecretString;

use super::{Settings, read_secret_file};
use crate::error::Error;

/// Which federation a sign-in goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Agents of communes, bailleurs and State services.
    ProConnect,
    /// Applicants.
    FranceConnect,
}

impl ProviderKind {
    pub const ALL: [Self; 2] = [Self::ProConnect, Self::FranceConnect];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProConnect => "proconnect",
            Self::FranceConnect => "franceconnect",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name people know.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ProConnect => "ProConnect",
            Self::FranceConnect => "FranceConnect",
        }
    }

    /// Where the sign-in starts on the pages.
    pub const fn start_path(self) -> &'static str {
        match self {
            Self::ProConnect => "/agent/proconnect",
            Self::FranceConnect => "/franceconnect",
        }
    }

    /// The redirect URI's path, to register with the provider.
    pub const fn callback_path(self) -> &'static str {
        match self {
            Self::ProConnect => "/agent/proconnect/retour",
            Self::FranceConnect => "/franceconnect/retour",
        }
    }

    /// The post-logout redirect URI's path, to register with the provider.
    pub const fn logout_path(self) -> &'static str {
        match self {
            Self::ProConnect => "/agent/proconnect/deconnecte",
            Self::FranceConnect => "/franceconnect/deconnecte",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Self::ProConnect => "VAULT_PROCONNECT",
            Self::FranceConnect => "VAULT_FRANCECONNECT",
        }
    }

    /// The acr values accepted when the operator names none, weakest first.
    fn default_acr(self) -> &'static [&'static str] {
        match self {
            Self::ProConnect => &["eidas1", "eidas1-mfa", "eidas2", "eidas3"],
            Self::FranceConnect => &["eidas1", "eidas2", "eidas3"],
        }
    }
}

/// One provider, as registered.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Without a trailing slash; discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The acr values accepted, weakest first; any other is refused.
    pub acr: Vec<String>,
    /// Where the provider sends the browser back (`VAULT_PUBLIC_URL` and
    /// the kind's path).
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
}

/// The sign-in settings.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    pub public_url: Option<String>,
    pub proconnect: Option<ProviderConfig>,
    pub franceconnect: Option<ProviderConfig>,
    /// Agents may paste their access token on `/agent`.
    pub agent_token_signin: bool,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self { public_url: None, proconnect: None, franceconnect: None, agent_token_signin: true }
    }
}

impl SignInConfig {
    pub fn provider(&self, kind: ProviderKind) -> Option<&ProviderConfig> {
        match kind {
            ProviderKind::ProConnect => self.proconnect.as_ref(),
            ProviderKind::FranceConnect => self.franceconnect.as_ref(),
        }
    }

    pub(super) fn resolve(s: &Settings) -> Result<Self, Error> {
        // An empty variable is an unset one (deployment files pass
        // `${PROCONNECT_ISSUER:-}` through).
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let s = &Settings {
            public_url: given(&s.public_url),
            proconnect_issuer: given(&s.proconnect_issuer),
            proconnect_client_id: given(&s.proconnect_client_id),
            proconnect_client_secret: given(&s.proconnect_client_secret),
            proconnect_acr: given(&s.proconnect_acr),
            franceconnect_issuer: given(&s.franceconnect_issuer),
            franceconnect_client_id: given(&s.franceconnect_client_id),
            franceconnect_client_secret: given(&s.franceconnect_client_secret),
            franceconnect_acr: given(&s.franceconnect_acr),
            ..s.clone()
        };
        let public_url = s.public_url.as_deref().map(|u| checked_url("VAULT_PUBLIC_URL", u)).transpose()?;
        let provider = |kind: ProviderKind,
                        issuer: &Option<String>,
                        id: &Option<String>,
                        secret: &Option<String>,
                        secret_file: &Option<std::path::PathBuf>,
                        acr: &Option<String>|
         -> Result<Option<ProviderConfig>, Error> {
            let env = kind.env();
            let Some(issuer) = issuer else {
                if id.is_some() || secret.is_some() || secret_file.is_some() {
                    return Err(Error::Config(format!("{env}_CLIENT_ID or _SECRET is set without {env}_ISSUER")));
                }
                return Ok(None);
            };
            let issuer = checked_url(&format!("{env}_ISSUER"), issuer)?;
            let Some(public) = &public_url else {
                return Err(Error::Config(format!(
                    "{env}_ISSUER needs VAULT_PUBLIC_URL: the address browsers reach this vault at, \
                     from which the redirect URI registered with {} is built",
                    kind.label()
                )));
            };
            let client_id = id
                .clone()
                .filter(|i| !i.trim().is_empty())
                .ok_or_else(|| Error::Config(format!("{env}_ISSUER is set: {env}_CLIENT_ID is needed too")))?;
            let secret = match (secret, secret_file) {
                (Some(_), Some(_)) => {
                    return Err(Error::Config(format!(
                        "set {env}_CLIENT_SECRET or {env}_CLIENT_SECRET_FILE, not both"
                    )));
                }
                (Some(s), None) => s.clone(),
                (None, Some(f)) => read_secret_file(f, &format!("{} client secret", kind.label()))?,
                (None, None) => {
                    return Err(Error::Config(format!(
                        "{env}_ISSUER is set: {env}_CLIENT_SECRET(_FILE) is needed too"
                    )));
                }
            };
            if secret.is_empty() {
                return Err(Error::Config(format!("{env}_CLIENT_SECRET is empty")));
            }
            let acr: Vec<String> = match acr {
                Some(a) => a.split_whitespace().map(str::to_owned).collect(),
                None => kind.default_acr().iter().map(|a| (*a).to_owned()).collect(),
            };
            if acr.is_empty() {
                return Err(Error::Config(format!("{env}_ACR names no value")));
            }
            Ok(Some(ProviderConfig {
                kind,
                issuer,
                client_id,
                client_secret: SecretString::from(secret),
                acr,
                redirect_uri: format!("{public}{}", kind.callback_path()),
                post_logout_redirect_uri: format!("{public}{}", kind.logout_path()),
            }))
        };
        Ok(Self {
            proconnect: provider(
                ProviderKind::ProConnect,
                &s.proconnect_issuer,
                &s.proconnect_client_id,
                &s.proconnect_client_secret,
                &s.proconnect_client_secret_file,
                &s.proconnect_acr,
            )?,
            franceconnect: provider(
                ProviderKind::FranceConnect,
                &s.franceconnect_issuer,
                &s.franceconnect_client_id,
                &s.franceconnect_client_secret,
                &s.franceconnect_client_secret_file,
                &s.franceconnect_acr,
            )?,
            public_url,
            agent_token_signin: s.agent_token_signin.unwrap_or(true),
        })
    }
}

/// An absolute URL without a trailing slash, `https://` unless its host is
/// a loopback address.
pub(crate) fn checked_url(name: &str, url: &str) -> Result<String, Error> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error::Config(format!("{name} {url:?} is not an absolute URL (https://…)")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || rest.contains(['?', '#']) || authority.contains('@') {
        return Err(Error::Config(format!("{name} {url:?}: expected https://host[:port][/path], nothing more")));
    }
    match scheme {
        "https" => Ok(url.to_owned()),
        "http" if is_loopback(authority) => Ok(url.to_owned()),
        "http" => Err(Error::Config(format!(
            "{name} {url:?}: http:// is accepted only on a loopback address (127.0.0.1, [::1], localhost); \
             codes and tokens must not cross a network in clear"
        ))),
        _ => Err(Error::Config(format!("{name} {url:?}: expected an https:// URL"))),
    }
}

fn is_loopback(authority: &str) -> bool {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proconnect(issuer: &str) -> Settings {
        Settings {
            public_url: Some("https://vault.example.fr/".into()),
            proconnect_issuer: Some(issuer.into()),
            proconnect_client_id: Some("vault".into()),
            proconnect_client_secret: Some("secret".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn issuers_must_be_https_unless_loopback() {
        let c = SignInConfig::resolve(&proconnect("https://auth.agentconnect.gouv.fr/api/v2/")).unwrap();
        let p = c.proconnect.unwrap();
        assert_eq!(p.issuer, "https://auth.agentconnect.gouv.fr/api/v2");
        assert_eq!(p.redirect_uri, "https://vault.example.fr/agent/proconnect/retour");
        assert_eq!(p.acr, ["eidas1", "eidas1-mfa", "eidas2", "eidas3"]);
        for ok in ["http://127.0.0.1:4000/api/v2", "http://[::1]:4000", "http://localhost:1/x"] {
            assert!(SignInConfig::resolve(&proconnect(ok)).is_ok(), "{ok}");
        }
        for bad in
            ["http://idp.example.fr/api/v2", "http://10.0.0.1/x", "ftp://x", "idp", "https://u@x/", "https://x/?a"]
        {
            let e = SignInConfig::resolve(&proconnect(bad)).unwrap_err().to_string();
            assert!(e.contains("VAULT_PROCONNECT_ISSUER"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_provider_needs_its_client_and_the_public_url() {
        let e = |s: Settings| SignInConfig::resolve(&s).unwrap_err().to_string();
        let base = proconnect("https://idp.example.fr");
        assert!(e(Settings { public_url: None, ..base.clone() }).contains("VAULT_PUBLIC_URL"));
        assert!(e(Settings { proconnect_client_id: None, ..base.clone() }).contains("VAULT_PROCONNECT_CLIENT_ID"));
        assert!(
            e(Settings { proconnect_client_secret: None, ..base.clone() }).contains("VAULT_PROCONNECT_CLIENT_SECRET")
        );
        let blank_acr = SignInConfig::resolve(&Settings { proconnect_acr: Some(" ".into()), ..base.clone() }).unwrap();
        assert_eq!(blank_acr.proconnect.unwrap().acr[0], "eidas1", "a blank variable is an unset one");
        assert!(e(Settings { proconnect_issuer: Some("http://idp.example".into()), ..base }).contains("loopback"));
        let stray = Settings { franceconnect_client_id: Some("x".into()), ..Settings::default() };
        assert!(e(stray).contains("VAULT_FRANCECONNECT_ISSUER"));
        let none = SignInConfig::resolve(&Settings::default()).unwrap();
        assert!(none.proconnect.is_none() && none.franceconnect.is_none() && none.agent_token_signin);
    }
}
