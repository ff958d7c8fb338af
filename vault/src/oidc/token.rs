//! What the token and userinfo endpoints answer, and the checks on their
//! claims once the signatures verified.

use serde::Deserialize;

use super::{Failure, http::Answer};
use crate::config::ProviderConfig;

/// Clocks of the vault and the provider may disagree by this much.
const SKEW_S: i64 = 60;

/// Who signed in, as the provider vouched.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The provider's subject: ProConnect's is the same for every relying
    /// party, FranceConnect's is this vault's own.
    pub sub: String,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// Kept for the logout's `id_token_hint`.
    pub id_token: String,
    /// The userinfo claims (e-mail, SIRET… for ProConnect).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Identity {
    /// A string claim of the userinfo.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(serde_json::Value::as_str)
    }
}

#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    pub access_token: String,
    pub id_token: String,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl TokenAnswer {
    pub(super) fn read(answer: &Answer) -> Result<Self, Failure> {
        if answer.status.is_success() {
            return serde_json::from_slice(&answer.body).map_err(|_| Failure::Malformed("its token answer"));
        }
        match serde_json::from_slice::<TokenError>(&answer.body) {
            Ok(e) if e.error == "invalid_grant" => Err(Failure::CodeRefused),
            Ok(e) if answer.status.is_client_error() => Err(Failure::Provider(e.error)),
            _ => Err(Failure::Unreachable),
        }
    }
}

/// `aud` is a string or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: Audience,
    azp: Option<String>,
    exp: i64,
    iat: i64,
    nonce: Option<String>,
    acr: Option<String>,
    amr: Option<Vec<String>>,
}

fn for_us(aud: &Audience, azp: Option<&str>, client_id: &str) -> bool {
    let listed = match aud {
        Audience::One(a) => a == client_id,
        Audience::Many(all) => all.iter().any(|a| a == client_id) && (all.len() == 1 || azp == Some(client_id)),
    };
    listed && azp.is_none_or(|a| a == client_id)
}

fn valid_sub(sub: &str) -> bool {
    !sub.is_empty() && sub.len() <= 255 && !sub.chars().any(char::is_control)
}

/// The id_token's claims, checked: issued by the issuer for this client,
/// live, carrying this attempt's nonce, at an accepted level.
pub(super) fn check_id_token(
    payload: &[u8],
    config: &ProviderConfig,
    issuer: &str,
    nonce: &str,
) -> Result<Identity, Failure> {
    let bad = |why| Failure::Token { what: "id_token", why };
    let c: IdClaims = serde_json::from_slice(payload).map_err(|_| bad("its claims are not those of an id_token"))?;
    if c.iss != issuer {
        return Err(bad("issued by another issuer"));
    }
    if !for_us(&c.aud, c.azp.as_deref(), &config.client_id) {
        return Err(bad("issued for another client"));
    }
    let now = crate::clock::now_ms() / 1000;
    if c.exp + SKEW_S < now {
        return Err(bad("expired"));
    }
    if c.iat - SKEW_S > now {
        return Err(bad("issued in the future"));
    }
    let same_nonce =
        c.nonce.as_deref().is_some_and(|n| crate::crypto::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
    if !same_nonce {
        return Err(bad("its nonce is not this sign-in's"));
    }
    if !valid_sub(&c.sub) {
        return Err(bad("its subject is malformed"));
    }
    if !c.acr.as_ref().is_some_and(|a| config.acr.contains(a)) {
        return Err(Failure::WeakAcr(c.acr));
    }
    Ok(Identity {
        sub: c.sub,
        acr: c.acr,
        amr: c.amr.unwrap_or_default(),
        id_token: String::new(),
        claims: serde_json::Map::new(),
    })
}

#[derive(Deserialize)]
struct UserinfoClaims {
    sub: String,
    iss: Option<String>,
    aud: Option<Audience>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// Adds the userinfo's claims, once its subject, issuer and audience are
/// the id_token's.
pub(super) fn with_userinfo(
    mut identity: Identity,
    payload: &[u8],
    config: &ProviderConfig,
    issuer: &str,
    id_token: String,
) -> Result<Identity, Failure> {
    let bad = |why| Failure::Token { what: "userinfo", why };
    let u: UserinfoClaims = serde_json::from_slice(payload).map_err(|_| bad("its claims cannot be read"))?;
    if u.sub != identity.sub {
        return Err(bad("it is about another subject than the id_token"));
    }
    if u.iss.as_deref() != Some(issuer) {
        return Err(bad("issued by another issuer"));
    }
    if !u.aud.as_ref().is_some_and(|a| for_us(a, None, &config.client_id)) {
        return Err(bad("issued for another client"));
    }
    identity.claims = u.rest;
    identity.id_token = id_token;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::ProviderKind;

    fn config() -> ProviderConfig {
        ProviderConfig {
            kind: ProviderKind::ProConnect,
            issuer: "https://idp.example".into(),
            client_id: "vault".into(),
            client_secret: "s".to_owned().into(),
            acr: vec!["eidas1".into(), "eidas1-mfa".into()],
            redirect_uri: "https://v/cb".into(),
            post_logout_redirect_uri: "https://v/out".into(),
        }
    }

    fn claims(change: serde_json::Value) -> Vec<u8> {
        let now = crate::clock::now_ms() / 1000;
        let mut c = json!({"iss": "https://idp.example", "sub": "abc", "aud": "vault", "exp": now + 300,
            "iat": now, "nonce": "n".repeat(43), "acr": "eidas1", "amr": ["pwd"]});
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c.to_string().into_bytes()
    }

    fn check(change: serde_json::Value) -> Result<Identity, Failure> {
        check_id_token(&claims(change), &config(), "https://idp.example", &"n".repeat(43))
    }

    #[test]
    fn a_good_id_token_passes_and_each_flaw_is_named() {
        let ok = check(json!({})).unwrap();
        assert_eq!(
            (ok.sub.as_str(), ok.acr.as_deref(), ok.amr.as_slice()),
            ("abc", Some("eidas1"), &["pwd".to_owned()][..])
        );
        let now = crate::clock::now_ms() / 1000;
        // Within the minute's tolerance.
        assert!(check(json!({"exp": now - 30})).is_ok());
        assert!(check(json!({"aud": ["vault", "other"], "azp": "vault"})).is_ok());
        for (change, why) in [
            (json!({"iss": "https://other"}), "another issuer"),
            (json!({"aud": "other"}), "another client"),
            (json!({"aud": ["vault", "other"]}), "another client"),
            (json!({"azp": "other"}), "another client"),
            (json!({"exp": now - 120}), "expired"),
            (json!({"iat": now + 120}), "future"),
            (json!({"nonce": "m".repeat(43)}), "nonce"),
            (json!({"nonce": null}), "nonce"),
            (json!({"sub": ""}), "subject"),
            (json!({"exp": "soon"}), "claims"),
        ] {
            let e = check(change.clone()).unwrap_err().to_string();
            assert!(e.contains(why), "{change}: {e}");
        }
        for acr in [json!("eidas0"), json!(null)] {
            assert!(matches!(check(json!({"acr": acr})), Err(Failure::WeakAcr(_))), "{acr}");
        }
    }

    #[test]
    fn the_userinfo_must_be_about_the_same_subject_for_us() {
        let id = || check(json!({})).unwrap();
        let info = |v: serde_json::Value| v.to_string().into_bytes();
        let c = config();
        let good = info(json!({"sub": "abc", "iss": "https://idp.example", "aud": "vault", "email": "a@b.fr"}));
        let ok = with_userinfo(id(), &good, &c, "https://idp.example", "tok".into()).unwrap();
        assert_eq!((ok.claim("email"), ok.id_token.as_str()), (Some("a@b.fr"), "tok"));
        for bad in [
            json!({"sub": "xyz", "iss": "https://idp.example", "aud": "vault"}),
            json!({"sub": "abc", "aud": "vault"}),
            json!({"sub": "abc", "iss": "https://idp.example", "aud": "other"}),
        ] {
            assert!(
                with_userinfo(id(), &info(bad.clone()), &c, "https://idp.example", String::new()).is_err(),
                "{bad}"
            );
        }
    }
}
