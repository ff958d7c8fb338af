//! Signed tokens from a provider (id_tokens, userinfo JWTs): compact JWS
//! parsed by hand, verified with aws-lc-rs against the provider's JWKS.
//!
//! Written here rather than taken from a JWT crate because what the two
//! providers need is small and strict: ES256 (ProConnect's and
//! FranceConnect's default) and RS256, nothing else — no `none`, no HMAC
//! (a provider's public key used as an HMAC secret is the classic
//! confusion), no `crit` extensions. The key's type must match the
//! algorithm, so a header cannot choose how a key is used.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

use super::Failure;

/// Longest token accepted: real ones are 1–3 KiB.
const MAX_TOKEN: usize = 16 * 1024;

/// The algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Rs256,
}

impl Alg {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKey {
    /// Uncompressed point: 0x04 ‖ x ‖ y.
    P256(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Jwk {
    kid: Option<String>,
    key: PublicKey,
}

/// A provider's signing keys (its `jwks_uri`), encryption keys and key
/// types this vault does not use left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

impl JwkSet {
    pub fn parse(json: &[u8]) -> Result<Self, Failure> {
        let raw: RawSet = serde_json::from_slice(json).map_err(|_| Failure::Malformed("the provider's JWKS"))?;
        let keys = raw
            .keys
            .into_iter()
            .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
            .filter_map(|k| {
                let key = match (k.kty.as_str(), k.crv.as_deref()) {
                    ("EC", Some("P-256")) => {
                        let (x, y) = (b64(k.x.as_deref()?)?, b64(k.y.as_deref()?)?);
                        if x.len() != 32 || y.len() != 32 {
                            return None;
                        }
                        PublicKey::P256([&[4u8][..], &x, &y].concat())
                    }
                    ("RSA", _) => PublicKey::Rsa { n: b64(k.n.as_deref()?)?, e: b64(k.e.as_deref()?)? },
                    _ => return None,
                };
                Some(Jwk { kid: k.kid, key })
            })
            .collect();
        Ok(Self { keys })
    }

    /// The key a header names: by `kid`, or the only key of the right type
    /// when the header names none.
    fn find(&self, alg: Alg, kid: Option<&str>) -> Option<&PublicKey> {
        let fits =
            |k: &&Jwk| matches!((alg, &k.key), (Alg::Es256, PublicKey::P256(_)) | (Alg::Rs256, PublicKey::Rsa { .. }));
        match kid {
            Some(kid) => self.keys.iter().filter(fits).find(|k| k.kid.as_deref() == Some(kid)).map(|k| &k.key),
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                match (candidates.next(), candidates.next()) {
                    (Some(k), None) => Some(&k.key),
                    _ => None,
                }
            }
        }
    }
}

/// A compact JWS taken apart, not yet verified.
#[derive(Debug)]
pub struct Unverified<'a> {
    pub alg: Alg,
    pub kid: Option<String>,
    signing_input: &'a [u8],
    signature: Vec<u8>,
    payload: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Why a token was refused before its claims were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not a compact JWS of an accepted algorithm.
    Malformed,
    /// No key of the provider's set fits the header (refresh the set once).
    UnknownKey,
    /// A key fits and the signature does not verify.
    BadSignature,
}

impl<'a> Unverified<'a> {
    pub fn parse(token: &'a str) -> Result<Self, Rejected> {
        if token.len() > MAX_TOKEN {
            return Err(Rejected::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(Rejected::Malformed);
        };
        let header: Header = b64(h).and_then(|h| serde_json::from_slice(&h).ok()).ok_or(Rejected::Malformed)?;
        let alg = Alg::parse(&header.alg).ok_or(Rejected::Malformed)?;
        if header.crit.is_some() {
            return Err(Rejected::Malformed);
        }
        Ok(Self {
            alg,
            kid: header.kid,
            signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
            signature: b64(s).ok_or(Rejected::Malformed)?,
            payload: b64(p).ok_or(Rejected::Malformed)?,
        })
    }

    /// The payload, once the signature verifies under one of `keys`.
    pub fn verify(self, keys: &JwkSet) -> Result<Vec<u8>, Rejected> {
        let key = keys.find(self.alg, self.kid.as_deref()).ok_or(Rejected::UnknownKey)?;
        let ok = match key {
            PublicKey::P256(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(self.signing_input, &self.signature)
            }
            PublicKey::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, self.signing_input, &self.signature)
            }
        };
        ok.map(|()| self.payload).map_err(|_| Rejected::BadSignature)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_lc_rs::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
    };

    use super::*;

    /// A P-256 key pair and its public JWK, for tests that need a signer.
    pub(crate) struct Signer {
        pair: EcdsaKeyPair,
        pub kid: String,
    }

    impl Signer {
        pub(crate) fn new(kid: &str) -> Self {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
            Self { pair, kid: kid.into() }
        }

        pub(crate) fn jwks(&self) -> String {
            let point = self.pair.public_key().as_ref();
            serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}]})
            .to_string()
        }

        pub(crate) fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    #[test]
    fn only_a_signature_of_a_published_key_verifies() {
        let signer = Signer::new("k1");
        let keys = JwkSet::parse(signer.jwks().as_bytes()).unwrap();
        let claims = serde_json::json!({"sub": "x"});
        let good = signer.sign(&serde_json::json!({"alg": "ES256", "kid": "k1"}), &claims);
        assert_eq!(Unverified::parse(&good).unwrap().verify(&keys).unwrap(), claims.to_string().into_bytes());
        // Without a kid, the one EC key is used.
        let no_kid = signer.sign(&serde_json::json!({"alg": "ES256"}), &claims);
        assert!(Unverified::parse(&no_kid).unwrap().verify(&keys).is_ok());

        let other = Signer::new("k1").sign(&serde_json::json!({"alg": "ES256", "kid": "k1"}), &claims);
        assert_eq!(Unverified::parse(&other).unwrap().verify(&keys), Err(Rejected::BadSignature));
        let unknown = signer.sign(&serde_json::json!({"alg": "ES256", "kid": "k2"}), &claims);
        assert_eq!(Unverified::parse(&unknown).unwrap().verify(&keys), Err(Rejected::UnknownKey));
        // An EC key is never used for RS256, whatever the header says.
        let confused = signer.sign(&serde_json::json!({"alg": "RS256", "kid": "k1"}), &claims);
        assert_eq!(Unverified::parse(&confused).unwrap().verify(&keys), Err(Rejected::UnknownKey));
        // A payload changed after signing.
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"y"}"#);
        parts[1] = &forged_payload;
        assert_eq!(Unverified::parse(&parts.join(".")).unwrap().verify(&keys), Err(Rejected::BadSignature));
    }

    #[test]
    fn unaccepted_forms_are_refused_before_any_key() {
        let signer = Signer::new("k1");
        let claims = serde_json::json!({"sub": "x"});
        for header in [
            serde_json::json!({"alg": "none"}),
            serde_json::json!({"alg": "HS256"}),
            serde_json::json!({"alg": "ES256", "crit": ["exp"]}),
        ] {
            assert_eq!(Unverified::parse(&signer.sign(&header, &claims)).unwrap_err(), Rejected::Malformed);
        }
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.e30", &"a".repeat(MAX_TOKEN + 1)] {
            assert_eq!(Unverified::parse(bad).unwrap_err(), Rejected::Malformed, "{bad:.20}");
        }
        let enc = r#"{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","x":"AA"}]}"#;
        assert_eq!(JwkSet::parse(enc.as_bytes()).unwrap(), JwkSet::default());
        assert!(JwkSet::parse(b"[]").is_err());
    }
}
