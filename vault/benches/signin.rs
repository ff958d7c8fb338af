//! The cost of a ProConnect sign-in's callback, against the provider's own
//! round trips in the same run.
//!
//! Each of `BENCH_SIGNINS` (default 200) sign-ins walks the provider's
//! pages to get a code (not timed), then either hands it to the vault's
//! callback through the real router (attempt taken once, code exchanged,
//! id_token and userinfo JWT verified, agent found, session opened and
//! traced), or — the baseline, every other sign-in — exchanges it with a
//! plain HTTP client that does only the two round trips any relying party
//! must make (token endpoint, then userinfo) and checks nothing. What the
//! vault adds is the difference of the medians.
//!
//! `cargo bench -p vault --bench signin` (needs `npm ci --prefix tests/oidc`,
//! which `tests/run.sh` runs). Against npm's `oidc-provider` on 127.0.0.1,
//! SQLite on the temporary directory.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/it/idp.rs"]
#[allow(dead_code)]
mod idp;

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use serde_json::json;
use tower::ServiceExt;
use vault::{
    Config, Vault,
    app::Schema,
    config::ProviderKind,
    db::orgs::NewOrganisation,
    domain::{EmailAddress, OrgKind, Siren, TerritoryCode},
};

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::var("BENCH_SIGNINS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let account =
            json!({"claims": {"email": "bench@ville.fr", "siret": "21590183600017"}, "acr": "eidas1", "amr": ["pwd"]});
        let provider = idp::provider(ProviderKind::ProConnect, json!({ "bench": account }), json!({}));
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path(), None);
        config.signin = idp::signin(&provider, ProviderKind::ProConnect);
        let vault = Vault::open(config, Schema::Migrate).await.unwrap();
        let org = vault
            .db()
            .insert_organisation(&NewOrganisation {
                siren: Siren::parse("215901836").unwrap(),
                name: "Mairie".into(),
                kind: OrgKind::Guichet,
                registering: true,
                guichet_code: None,
                territory: vec![TerritoryCode::parse("59183").unwrap()],
            })
            .await
            .unwrap();
        vault.db().invite_agent(org.id, "bench", &EmailAddress::parse("bench@ville.fr").unwrap()).await.unwrap();
        let router = vault::router::router(vault.clone());
        let http = reqwest::Client::new();
        let mut browser = idp::Browser::new();
        let (mut vault_times, mut plain_times) = (Vec::new(), Vec::new());
        for i in 0..2 * n + 10 {
            let warmup = i < 10;
            if i % 2 == 0 {
                // A code for the vault's own attempt (its PKCE, state, nonce).
                let start = router
                    .clone()
                    .oneshot(Request::get("/agent/proconnect").body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let cookie = start.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
                let authorize = start.headers()["location"].to_str().unwrap().to_owned();
                let back = browser.sign_in_at_provider(&authorize, Some("bench")).await;
                let path = back.strip_prefix(idp::PUBLIC_URL).unwrap().to_owned();
                let t = Instant::now();
                let resp = router
                    .clone()
                    .oneshot(Request::get(path).header("cookie", &cookie).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let took = t.elapsed();
                assert_eq!(resp.status(), 303, "the callback signs in");
                if !warmup {
                    vault_times.push(took);
                }
            } else {
                // A code for a plain client's request (no PKCE), the same
                // scopes and claims.
                let redirect = format!("{}/agent/proconnect/retour", idp::PUBLIC_URL);
                let q = [
                    ("response_type", "code"),
                    ("client_id", idp::CLIENT_ID),
                    ("redirect_uri", redirect.as_str()),
                    ("scope", "openid email given_name usual_name siret uid idp_id organization_label"),
                    ("state", "s-0123456789012345678901234567890123456789"),
                    ("nonce", "n-0123456789012345678901234567890123456789"),
                ]
                .iter()
                .map(|(k, v)| format!("{k}={}", idp::urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
                let back = browser.sign_in_at_provider(&format!("{}/auth?{q}", provider.issuer), Some("bench")).await;
                let code = idp::query(&back)["code"].clone();
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("client_id", idp::CLIENT_ID),
                    ("client_secret", idp::CLIENT_SECRET),
                ]
                .iter()
                .map(|(k, v)| format!("{k}={}", idp::urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
                let t = Instant::now();
                let token: serde_json::Value = http
                    .post(format!("{}/token", provider.issuer))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let access = token["access_token"].as_str().expect("a token").to_owned();
                let info = http.get(format!("{}/me", provider.issuer)).bearer_auth(access).send().await.unwrap();
                assert!(info.status().is_success());
                let _ = info.bytes().await.unwrap();
                let took = t.elapsed();
                if !warmup {
                    plain_times.push(took);
                }
            }
        }
        let (v50, v99) = (percentile(&mut vault_times, 0.5), percentile(&mut vault_times, 0.99));
        let (p50, p99) = (percentile(&mut plain_times, 0.5), percentile(&mut plain_times, 0.99));
        println!("sign-in callback, {} sign-ins each, oidc-provider on 127.0.0.1, SQLite", vault_times.len());
        println!(
            "  vault callback (exchange, 2 signature checks, userinfo, session): p50 {:.2} ms  p99 {:.2} ms",
            ms(v50),
            ms(v99)
        );
        println!(
            "  provider round trips only (token + userinfo, no checks):      p50 {:.2} ms  p99 {:.2} ms",
            ms(p50),
            ms(p99)
        );
        println!("  the vault adds at p50: {:.2} ms", ms(v50) - ms(p50));
    });
}
