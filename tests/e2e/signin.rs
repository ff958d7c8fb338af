//! Signing in as people do, in headless Chromium over the real binary and
//! a real OpenID Provider (npm's `oidc-provider`, configured like
//! ProConnect and like FranceConnect): an invited agent signs in with
//! ProConnect, opens a dossier and signs out through the provider; an
//! applicant links FranceConnect once with the attestation's code, signs
//! out, and signs in again with FranceConnect alone. No e-mail, subject,
//! code or token reaches the server's log.

use std::path::Path;

use e2e::{Server, demo, free_port, oidc::Provider, run, webdriver::Browser};
use serde_json::{Value, json};

/// The server's log holds none of these.
fn assert_log_clean(server: &Server, secrets: &[&str]) {
    let log = server.log();
    assert!(!log.is_empty());
    for s in secrets {
        assert!(!log.contains(s), "{s:?} in the log:\n{log}");
    }
    // No JWT (id_token, userinfo) and no authorization code either.
    assert!(!log.contains("eyJ"), "a JWT in the log:\n{log}");
    assert!(!log.contains("code="), "a code in the log:\n{log}");
}

/// The demo territory served with a provider of `kind`: `accounts` builds
/// the provider's accounts from the data directory and the demo's seed.
struct Journey {
    _dir: tempfile::TempDir,
    seed: Value,
    _provider: Provider,
    server: Server,
}

fn journey(kind: &str, extra_env: &[(&str, &str)], accounts: impl FnOnce(&Path, &Value) -> Value) -> Journey {
    let dir = tempfile::tempdir().unwrap();
    let seed = demo(dir.path(), &[]);
    let accounts = accounts(dir.path(), &seed);
    let port = free_port();
    let vault = format!("http://127.0.0.1:{port}");
    let (start, prefix) = match kind {
        "proconnect" => ("/agent/proconnect", "VAULT_PROCONNECT"),
        _ => ("/franceconnect", "VAULT_FRANCECONNECT"),
    };
    let provider =
        Provider::start(kind, &vault, &format!("{start}/retour"), &format!("{start}/deconnecte"), accounts, json!({}));
    let listen = format!("127.0.0.1:{port}");
    let names = [format!("{prefix}_ISSUER"), format!("{prefix}_CLIENT_ID"), format!("{prefix}_CLIENT_SECRET")];
    let mut env: Vec<(&str, &str)> = vec![
        ("VAULT_LISTEN", listen.as_str()),
        ("VAULT_PUBLIC_URL", vault.as_str()),
        (names[0].as_str(), provider.issuer.as_str()),
        (names[1].as_str(), e2e::oidc::CLIENT_ID),
        (names[2].as_str(), e2e::oidc::CLIENT_SECRET),
    ];
    env.extend_from_slice(extra_env);
    let server = Server::start(dir.path(), &env);
    Journey { _dir: dir, seed, _provider: provider, server }
}

/// Through the provider's own page, as `login`.
async fn at_provider(b: &Browser, button: &str, login: &str) {
    b.click(button).await;
    b.type_into("#login", login).await;
    b.click("button[type=submit]").await;
}

/// The header's "Se déconnecter", then the provider's confirmation.
async fn sign_out_through_provider(b: &Browser, back: &str) -> String {
    b.click("header button[type=submit]").await;
    b.click("button[name=logout]").await;
    // The provider's redirect back carries the state: wait on the path alone.
    for _ in 0..50 {
        if b.url().await.split('?').next().is_some_and(|u| u.ends_with(back)) {
            return b.text("main").await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the browser is at {}, not {back}", b.url().await)
}

#[tokio::test]
async fn an_invited_agent_signs_in_with_proconnect_and_out_through_it() {
    let email = "Agent.Pages@ville-test.fr";
    let sub = "compte-pc-7c1f9a";
    let j = journey("proconnect", &[("VAULT_AGENT_TOKEN_SIGNIN", "false")], |data, seed| {
        let guichet = seed["organisations"].as_array().unwrap().iter().find(|o| o["kind"] == "guichet").unwrap();
        let siren = guichet["siren"].as_str().unwrap();
        let out =
            run(data, &[], &["admin", "agent", "invite", "--org", siren, "--email", email, "--name", "Agent pages"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json!({ sub: {"claims": {"email": email, "given_name": "Agent", "usual_name": "Pages",
                                 "siret": format!("{siren}00017"), "uid": "1", "idp_id": "x",
                                 "organization_label": "Mairie"},
                      "acr": "eidas1", "amr": ["pwd"]} })
    });
    let guichet = j.seed["organisations"].as_array().unwrap().iter().find(|o| o["kind"] == "guichet").unwrap();

    let b = Browser::start().await;
    b.goto(&j.server.url("/agent")).await;
    assert!(b.text("main").await.contains("Qu'est-ce que ProConnect ?"));
    assert_eq!(b.count("#token").await, 0, "token sign-in is off");
    b.screenshot("proconnect-1-agent-home").await;
    at_provider(&b, "button.proconnect-button", sub).await;
    b.wait_path("/dossiers").await;
    assert!(b.text("h1").await.contains(guichet["name"].as_str().unwrap()));
    b.click("tbody td a").await;
    let opened = b.url().await;
    assert!(opened.contains("/dossiers/"), "{opened}");
    assert!(b.text("h1").await.starts_with("Dossier "));
    b.screenshot("proconnect-2-dossier").await;
    // Signing out: here first, then at the provider, back with a checked state.
    let main = sign_out_through_provider(&b, "/agent/proconnect/deconnecte").await;
    assert!(main.contains("Vous êtes aussi déconnecté de ProConnect"), "{main}");
    b.screenshot("proconnect-3-signed-out").await;
    b.goto(&j.server.url("/dossiers")).await;
    b.wait_path("/agent").await;
    b.quit().await;
    assert_log_clean(&j.server, &[email, &email.to_lowercase(), sub]);
}

#[tokio::test]
async fn an_applicant_links_franceconnect_once_then_signs_in_with_it_alone() {
    let sub = "citoyen-fc-51d2e8";
    let j = journey("franceconnect", &[], |_, _| {
        json!({ sub: {"claims": {"given_name": "Jeanne", "family_name": "Martin", "email": "jeanne.martin@exemple.fr"},
                      "acr": "eidas1", "amr": ["pwd"]} })
    });
    let identifier = j.seed["dossiers"][0]["applicant"]["identifier"].as_str().unwrap().to_owned();
    let code = j.seed["dossiers"][0]["applicant"]["code"].as_str().unwrap().to_owned();

    let b = Browser::start().await;
    b.goto(&j.server.url("/")).await;
    at_provider(&b, "button.franceconnect-button", sub).await;
    b.wait_path("/franceconnect/liaison").await;
    assert_eq!(b.text("h1").await, "Première connexion avec FranceConnect");
    b.screenshot("franceconnect-1-link").await;
    b.type_into("#identifier", &identifier).await;
    b.type_into("#code", &code).await;
    b.click("main button[type=submit]").await;
    b.wait_path("/mon-dossier").await;
    assert!(b.text("main").await.contains("Votre identité FranceConnect est liée"));
    assert!(b.text("main").await.contains("a lié son identité FranceConnect au dossier"));
    b.screenshot("franceconnect-2-dossier").await;
    let main = sign_out_through_provider(&b, "/franceconnect/deconnecte").await;
    assert!(main.contains("Vous êtes aussi déconnecté de FranceConnect"), "{main}");

    // FranceConnect alone, this time.
    b.goto(&j.server.url("/")).await;
    at_provider(&b, "button.franceconnect-button", sub).await;
    b.wait_path("/mon-dossier").await;
    assert_eq!(b.text("h1").await, "Mon dossier de demande de logement social");
    b.screenshot("franceconnect-3-again").await;
    b.quit().await;
    assert_log_clean(&j.server, &[sub, "jeanne.martin@exemple.fr", &code]);
}
