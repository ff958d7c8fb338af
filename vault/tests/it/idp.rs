//! A real OpenID Provider for the sign-in tests (`e2e::oidc`: npm's
//! `oidc-provider`, one process per test), the vault's settings for it,
//! and a small browser
//! that walks its pages: cookies kept per host, redirects followed by hand
//! so each hop can be read (and, for a forgery, changed).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vault::config::{ProviderConfig, ProviderKind, SignInConfig};

/// Where the vault says it lives; the redirect URIs registered with the
/// provider are built from it. The tests call the router directly, so
/// nothing needs to listen there.
pub const PUBLIC_URL: &str = "http://127.0.0.1:9";
pub use e2e::oidc::{CLIENT_ID, CLIENT_SECRET, Provider};

/// Starts a provider of `kind` registered for [`PUBLIC_URL`], with
/// `accounts` ({login: {claims, acr, amr}}) and `extra` settings
/// (`forged_jwks`, `token_clock_skew_s`, `alg`).
pub fn provider(kind: ProviderKind, accounts: Value, extra: Value) -> Provider {
    Provider::start(kind.as_str(), PUBLIC_URL, kind.callback_path(), kind.logout_path(), accounts, extra)
}

/// The vault's settings for this provider.
pub fn signin(provider: &Provider, kind: ProviderKind) -> SignInConfig {
    let p = ProviderConfig {
        kind,
        issuer: provider.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.to_owned().into(),
        acr: match kind {
            ProviderKind::ProConnect => vec!["eidas1".into(), "eidas1-mfa".into(), "eidas2".into(), "eidas3".into()],
            ProviderKind::FranceConnect => vec!["eidas1".into(), "eidas2".into(), "eidas3".into()],
        },
        redirect_uri: format!("{PUBLIC_URL}{}", kind.callback_path()),
        post_logout_redirect_uri: format!("{PUBLIC_URL}{}", kind.logout_path()),
    };
    let mut s = SignInConfig { public_url: Some(PUBLIC_URL.into()), ..SignInConfig::default() };
    match kind {
        ProviderKind::ProConnect => s.proconnect = Some(p),
        ProviderKind::FranceConnect => s.franceconnect = Some(p),
    }
    s
}

/// A ProConnect account: its e-mail, SIRET and authentication level.
pub fn agent_account(email: &str, siret: &str, acr: &str) -> Value {
    json!({
        "claims": {"email": email, "given_name": "Marie", "usual_name": "Dupont", "siret": siret,
                   "uid": "42", "idp_id": "test-idp", "organization_label": "Test"},
        "acr": acr,
        "amr": if acr.ends_with("-mfa") { json!(["pwd", "mfa"]) } else { json!(["pwd"]) },
    })
}

/// Just enough of a browser for the provider's pages: cookies by name
/// (one provider per test, so one host), no automatic redirects.
pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookies: BTreeMap::new() }
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            if let Some((k, val)) = pair.split_once('=') {
                self.cookies.insert(k.trim().to_owned(), val.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, resp: reqwest::Response, base: &str) -> Page {
        self.keep(&resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|l| {
            let l = l.to_str().unwrap();
            if l.starts_with('/') {
                let origin: String = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
                format!("{origin}{l}")
            } else {
                l.to_owned()
            }
        });
        Page { status, location, body: resp.text().await.unwrap_or_default() }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let resp = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        self.read(resp, url).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(resp, url).await
    }

    /// From the provider's `/authorize` URL to the redirect back to the
    /// vault, signing in as `login` (or cancelling when `None`).
    pub async fn sign_in_at_provider(&mut self, authorize: &str, login: Option<&str>) -> String {
        let to_interaction = self.get(authorize).await;
        assert_eq!(to_interaction.status, 303, "authorize: {}", to_interaction.body);
        let interaction = to_interaction.location.unwrap();
        // Still signed in at the provider: straight back to the vault.
        if interaction.starts_with(PUBLIC_URL) {
            return interaction;
        }
        let form = self.get(&interaction).await;
        assert_eq!(form.status, 200);
        let done = match login {
            Some(l) => self.post(&format!("{interaction}/login"), &[("login", l)]).await,
            None => self.post(&format!("{interaction}/abort"), &[]).await,
        };
        assert_eq!(done.status, 303, "login: {}", done.body);
        let resume = self.get(&done.location.unwrap()).await;
        assert_eq!(resume.status, 303, "resume: {}", resume.body);
        resume.location.unwrap()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query parameters of a URL, decoded.
pub fn query(url: &str) -> BTreeMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}
