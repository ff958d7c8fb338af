//! Agents sign in with ProConnect, against a real OpenID Provider (npm's
//! `oidc-provider`, configured like ProConnect: ES256 id_token and
//! userinfo JWT, `client_secret_post`, ProConnect's claims and levels).
//! The vault is driven through its real router; the provider's pages
//! through a small browser. Every refusal shows its page and leaves no
//! session cookie.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;
use vault::{config::ProviderKind, domain::EmailAddress};

use crate::{
    common::{Resp, TestApp},
    idp::{self, Browser, PUBLIC_URL, Provider, agent_account, query},
};

/// The guichet's SIREN (see `TestApp`) and a SIRET of one of its sites.
const GUICHET_SIRET: &str = "21590183600017";

struct Setup {
    app: TestApp,
    provider: Provider,
}

async fn setup(accounts: serde_json::Value, extra: serde_json::Value) -> Setup {
    let provider = idp::provider(ProviderKind::ProConnect, accounts, extra);
    let app = TestApp::builder().signin(idp::signin(&provider, ProviderKind::ProConnect)).build().await;
    Setup { app, provider }
}

async fn invite(app: &TestApp, email: &str) -> uuid::Uuid {
    let guichet = app.vault.db().agent(app.guichet_agent).await.unwrap().unwrap().organisation_id;
    app.vault.db().invite_agent(guichet, "Marie", &EmailAddress::parse(email).unwrap()).await.unwrap()
}

/// `GET /agent/proconnect`: the provider's authorize URL and the attempt cookie.
async fn start(app: &TestApp) -> (String, String) {
    let resp = app.send(Request::get("/agent/proconnect").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{:?}", resp.body);
    let set_cookie = resp.headers["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["__Host-dnu_connexion=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    (resp.headers["location"].to_str().unwrap().to_owned(), cookie)
}

/// The provider's redirect back, delivered to the vault with the cookie.
async fn arrive(app: &TestApp, back: &str, cookie: &str) -> Resp {
    let path = back.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("redirect to {back}"));
    app.send(Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap()).await
}

/// A whole sign-in as `login`.
async fn sign_in(s: &Setup, login: &str) -> Resp {
    let (authorize, cookie) = start(&s.app).await;
    let back = Browser::new().sign_in_at_provider(&authorize, Some(login)).await;
    arrive(&s.app, &back, &cookie).await
}

fn session_of(resp: &Resp) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-dnu_session=dnus_"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

fn text(resp: &Resp) -> String {
    String::from_utf8_lossy(resp.body.as_ref().unwrap()).into_owned()
}

/// A refusal: its status, its page's words, no session, the attempt
/// cookie cleared.
fn refused(resp: &Resp, status: StatusCode, words: &str) {
    let page = text(resp);
    assert_eq!(resp.status, status, "{page}");
    assert!(page.contains(words), "expected {words:?} in {page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    assert_eq!(session_of(resp), None, "a refusal leaves no session");
    assert!(
        resp.headers.get_all("set-cookie").iter().any(|v| v.to_str().unwrap().starts_with("__Host-dnu_connexion=;")),
        "the attempt's cookie is cleared"
    );
}

/// The sign-in events of the journal, in order (field 2 is the action).
async fn journal_names(app: &TestApp) -> Vec<String> {
    let events = app.vault.db().audit_events_after(0, 1000).await.unwrap();
    events.into_iter().filter_map(|e| e.fields[2].clone()).filter(|a| a.starts_with("signin.")).collect()
}

#[tokio::test]
async fn an_invited_agent_signs_in_and_later_by_subject_alone() {
    let marie = agent_account("Marie.Dupont@ville-dunkerque.fr", GUICHET_SIRET, "eidas1");
    let s = setup(json!({ "marie": marie }), json!({})).await;
    let agent = invite(&s.app, "marie.dupont@VILLE-DUNKERQUE.fr").await;

    let home = s.app.send(Request::get("/agent").body(Body::empty()).unwrap()).await;
    let home = text(&home);
    assert!(
        home.contains("S&#39;identifier avec ProConnect") || home.contains("S'identifier avec ProConnect"),
        "{home}"
    );
    assert!(home.contains("Qu&#39;est-ce que ProConnect ?") || home.contains("Qu'est-ce que ProConnect ?"));

    // What the vault asks the provider for.
    let (first, _) = start(&s.app).await;
    let (second, _) = start(&s.app).await;
    let (q1, q2) = (query(&first), query(&second));
    assert!(first.starts_with(&format!("{}/auth?", s.provider.issuer)), "{first}");
    for q in [&q1, &q2] {
        assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32, "{q:?}");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43);
        assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}/agent/proconnect/retour"));
        assert_eq!(q["response_type"], "code");
        let claims: serde_json::Value = serde_json::from_str(&q["claims"]).unwrap();
        assert_eq!(claims["id_token"]["acr"]["values"][0], "eidas1");
    }
    assert_ne!(q1["state"], q2["state"]);
    assert_ne!(q1["nonce"], q2["nonce"]);

    let resp = sign_in(&s, "marie").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", text(&resp));
    assert_eq!(resp.headers["location"], "/dossiers");
    let cookie = session_of(&resp).expect("a page session");
    let worklist = s.app.send(Request::get("/dossiers").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(worklist.status, StatusCode::OK);
    assert!(text(&worklist).contains("org 215901836"), "the guichet's worklist");

    // Bound now: a changed e-mail at the provider changes nothing.
    let renamed = agent_account("m.dupont@autre.fr", GUICHET_SIRET, "eidas1");
    s.app.vault.db().agent(agent).await.unwrap().expect("the invited agent");
    let provider = idp::provider(ProviderKind::ProConnect, json!({ "marie": renamed }), json!({}));
    let s2 = Setup { app: rebuilt_with(s.app, &provider).await, provider };
    let again = sign_in(&s2, "marie").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", text(&again));
    assert!(session_of(&again).is_some());
    assert_eq!(journal_names(&s2.app).await, ["signin.agent", "signin.agent"]);
}

/// The same vault (same database and keys) pointed at another provider
/// process: the subject stays `marie`, the e-mail changed.
async fn rebuilt_with(app: TestApp, provider: &Provider) -> TestApp {
    let mut config = app.vault.config().clone();
    config.signin = idp::signin(provider, ProviderKind::ProConnect);
    let vault = vault::Vault::open(config, vault::app::Schema::Migrate).await.unwrap();
    TestApp { router: vault::router::router(vault.clone()), vault, ..app }
}

#[tokio::test]
async fn a_callback_is_good_once_and_only_in_its_browser() {
    let s = setup(json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") }), json!({})).await;
    invite(&s.app, "marie@ville.fr").await;
    let (authorize, cookie) = start(&s.app).await;
    let back = Browser::new().sign_in_at_provider(&authorize, Some("marie")).await;

    // Another browser (another attempt's cookie) brings this callback.
    let (_, other_cookie) = start(&s.app).await;
    refused(&arrive(&s.app, &back, &other_cookie).await, StatusCode::BAD_REQUEST, "Connexion refusée");
    // No cookie at all.
    refused(&arrive(&s.app, &back, "").await, StatusCode::BAD_REQUEST, "Connexion refusée");

    // A wrong state with the right cookie (and the attempt is then spent).
    let (authorize, cookie2) = start(&s.app).await;
    let back2 = Browser::new().sign_in_at_provider(&authorize, Some("marie")).await;
    let forged = back2.replace("state=", "state=x");
    refused(&arrive(&s.app, &forged, &cookie2).await, StatusCode::BAD_REQUEST, "Connexion refusée");
    refused(&arrive(&s.app, &back2, &cookie2).await, StatusCode::BAD_REQUEST, "Connexion refusée");

    // The genuine one works once; replayed, it is refused.
    let ok = arrive(&s.app, &back, &cookie).await;
    assert!(session_of(&ok).is_some(), "{}", text(&ok));
    refused(&arrive(&s.app, &back, &cookie).await, StatusCode::BAD_REQUEST, "Connexion refusée");
}

#[tokio::test]
async fn a_replayed_code_and_a_foreign_nonce_are_refused() {
    let s = setup(json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") }), json!({})).await;
    invite(&s.app, "marie@ville.fr").await;

    // The code of a finished sign-in, brought with a fresh attempt whose
    // state is put in: the provider refuses the used code.
    let (authorize, cookie) = start(&s.app).await;
    let back = Browser::new().sign_in_at_provider(&authorize, Some("marie")).await;
    assert!(session_of(&arrive(&s.app, &back, &cookie).await).is_some());
    let (fresh, fresh_cookie) = start(&s.app).await;
    let replay = back.replace(&query(&back)["state"], &query(&fresh)["state"]);
    refused(&arrive(&s.app, &replay, &fresh_cookie).await, StatusCode::BAD_REQUEST, "Connexion refusée");

    // An authorize request whose nonce was swapped on the way: the
    // id_token carries a nonce that is not this attempt's.
    let (authorize, cookie) = start(&s.app).await;
    let swapped = authorize.replace(&query(&authorize)["nonce"], &"N".repeat(43));
    let back = Browser::new().sign_in_at_provider(&swapped, Some("marie")).await;
    refused(&arrive(&s.app, &back, &cookie).await, StatusCode::BAD_REQUEST, "Connexion refusée");
    let names = journal_names(&s.app).await;
    assert_eq!(names.iter().filter(|n| *n == "signin.refused.forged").count(), 2, "{names:?}");
}

#[tokio::test]
async fn who_may_not_sign_in_is_told_why() {
    let accounts = json!({
        "stranger": agent_account("stranger@ville.fr", GUICHET_SIRET, "eidas1"),
        "elsewhere": agent_account("elsewhere@ville.fr", "99999999900011", "eidas1"),
        "gone": agent_account("gone@ville.fr", GUICHET_SIRET, "eidas1"),
        "weak": agent_account("weak@ville.fr", GUICHET_SIRET, "eidas0"),
        "twin": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1"),
        "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1"),
    });
    let s = setup(accounts, json!({})).await;
    for email in ["elsewhere@ville.fr", "gone@ville.fr", "weak@ville.fr", "marie@ville.fr"] {
        invite(&s.app, email).await;
    }
    refused(&sign_in(&s, "stranger").await, StatusCode::FORBIDDEN, "de vous inviter");
    refused(&sign_in(&s, "elsewhere").await, StatusCode::FORBIDDEN, "Organisme non reconnu");
    // Disabled after its first sign-in.
    assert!(session_of(&sign_in(&s, "gone").await).is_some());
    let gone = s.app.vault.db().agent_by_proconnect_sub("gone").await.unwrap().unwrap();
    s.app.vault.db().disable_agent(gone).await.unwrap();
    refused(&sign_in(&s, "gone").await, StatusCode::FORBIDDEN, "désactivé");
    refused(&sign_in(&s, "weak").await, StatusCode::FORBIDDEN, "Niveau d'authentification insuffisant");
    // Marie binds her address; another ProConnect account with the same
    // address is refused.
    assert!(session_of(&sign_in(&s, "marie").await).is_some());
    refused(&sign_in(&s, "twin").await, StatusCode::FORBIDDEN, "déjà lié à un autre compte");

    // Cancelled at the provider.
    let (authorize, cookie) = start(&s.app).await;
    let back = Browser::new().sign_in_at_provider(&authorize, None).await;
    assert_eq!(query(&back)["error"], "access_denied");
    refused(&arrive(&s.app, &back, &cookie).await, StatusCode::UNAUTHORIZED, "Connexion annulée");

    assert_eq!(
        journal_names(&s.app).await,
        [
            "signin.refused.not_invited",
            "signin.refused.siren",
            "signin.agent",
            "signin.refused.disabled",
            "signin.refused.level",
            "signin.agent",
            "signin.refused.other_account",
            "signin.refused.cancelled",
        ]
    );
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused() {
    let marie = || json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") });
    // The provider publishes other keys than those it signs with.
    let forged = setup(marie(), json!({"forged_jwks": true})).await;
    invite(&forged.app, "marie@ville.fr").await;
    refused(&sign_in(&forged, "marie").await, StatusCode::BAD_REQUEST, "Connexion refusée");
    // The provider's clock is two hours behind: its id_tokens are expired.
    let expired = setup(marie(), json!({"token_clock_skew_s": -7200})).await;
    invite(&expired.app, "marie@ville.fr").await;
    refused(&sign_in(&expired, "marie").await, StatusCode::BAD_REQUEST, "Connexion refusée");
    // RS256 signatures verify as well as ES256 ones.
    let rsa = setup(marie(), json!({"alg": "RS256"})).await;
    invite(&rsa.app, "marie@ville.fr").await;
    assert!(session_of(&sign_in(&rsa, "marie").await).is_some());
}

#[tokio::test]
async fn a_provider_that_is_down_is_said_to_be_so_at_once() {
    let mut s = setup(json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") }), json!({})).await;
    s.provider.stop();
    let t = std::time::Instant::now();
    let resp = s.app.send(Request::get("/agent/proconnect").body(Body::empty()).unwrap()).await;
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(resp.status, StatusCode::BAD_GATEWAY);
    assert!(text(&resp).contains("injoignable"));
    assert_eq!(session_of(&resp), None);
    assert_eq!(journal_names(&s.app).await, ["signin.refused.unreachable"]);

    // Without a provider configured, there is no button and no sign-in.
    let plain = TestApp::builder().build().await;
    let home = text(&plain.send(Request::get("/agent").body(Body::empty()).unwrap()).await);
    assert!(!home.contains("ProConnect"), "{home}");
    let resp = plain.send(Request::get("/agent/proconnect").body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn originals_need_a_second_factor_after_proconnect() {
    let accounts = json!({
        "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1"),
        "paul": agent_account("paul@ville.fr", GUICHET_SIRET, "eidas1-mfa"),
    });
    let s = setup(accounts, json!({})).await;
    invite(&s.app, "marie@ville.fr").await;
    invite(&s.app, "paul@ville.fr").await;
    let nu = s.app.register().await;
    let piece = s.app.upload_ok(&nu, &crate::common::doc_of(2000, 7)).await;
    for (login, original) in [("marie", StatusCode::FORBIDDEN), ("paul", StatusCode::OK)] {
        let cookie = session_of(&sign_in(&s, login).await).expect("signed in");
        let get = |what: &str| {
            Request::get(format!("/dossiers/{nu}/pieces/{piece}/{what}"))
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap()
        };
        let rendition = s.app.send(get("rendu")).await;
        assert_eq!(rendition.status, StatusCode::OK, "{login}: a rendition at any accepted level");
        assert_eq!(rendition.headers["content-type"], "application/pdf");
        let resp = s.app.send(get("original")).await;
        assert_eq!(resp.status, original, "{login}: {:?}", resp.body);
    }
    // The guichet's access token (a machine client) is not concerned.
    assert_eq!(s.app.original(&nu, &piece).await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_ends_the_session_here_then_at_proconnect() {
    let s = setup(json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") }), json!({})).await;
    invite(&s.app, "marie@ville.fr").await;
    let cookie = session_of(&sign_in(&s, "marie").await).unwrap();
    let page =
        text(&s.app.send(Request::get("/dossiers").header("cookie", &cookie).body(Body::empty()).unwrap()).await);
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    let out = s
        .app
        .send(
            Request::post("/deconnexion")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}")))
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let end = out.headers["location"].to_str().unwrap();
    assert!(end.starts_with(&format!("{}/session/end?", s.provider.issuer)), "{end}");
    let q = query(end);
    assert!(q["id_token_hint"].split('.').count() == 3 && q["state"].len() >= 32);
    assert_eq!(q["post_logout_redirect_uri"], format!("{PUBLIC_URL}/agent/proconnect/deconnecte"));
    let after = s.app.send(Request::get("/dossiers").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the local session ended first");
    assert_eq!(after.headers["location"], "/agent");
}

#[tokio::test]
async fn the_gestionnaire_invites_through_the_api_and_accepts_other_sirets() {
    let ccas_siret = "99999999900011";
    let s = setup(json!({ "paul": agent_account("Paul@ccas.fr", ccas_siret, "eidas1") }), json!({})).await;
    let (manager, _) =
        crate::common::add_org_agent(&s.app.vault, "130000003", vault::domain::OrgKind::Gestionnaire, false, None, &[])
            .await;
    let invite = |token: String, body: serde_json::Value| {
        let app = &s.app;
        async move { app.post_json("/api/v1/agents/invitations", &token, body).await }
    };
    let body = json!({"organisation": "215901836", "email": "paul@ccas.fr", "name": "Paul (CCAS)"});
    // Only who administers the shared file may invite.
    assert_eq!(invite(s.app.guichet_token.clone(), body.clone()).await.status, StatusCode::FORBIDDEN);
    let bad = invite(manager.clone(), json!({"organisation": "215901836", "email": "paul"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["message"].as_str().unwrap().starts_with("email:"), "{:?}", bad.json());
    let unknown = invite(manager.clone(), json!({"organisation": "130000011", "email": "x@y.fr"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "no such organisation");
    assert!(unknown.json()["error"]["message"].as_str().unwrap().contains("no organisation"));
    let created = invite(manager.clone(), body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.json()["email"], "paul@ccas.fr");
    assert_eq!(invite(manager.clone(), body).await.status, StatusCode::CONFLICT, "invited once");

    // The CCAS's agents sign in under a SIRET of another SIREN: refused
    // until the organisation accepts it.
    refused(&sign_in(&s, "paul").await, StatusCode::FORBIDDEN, "Organisme non reconnu");
    let guichet = s.app.vault.db().agent(s.app.guichet_agent).await.unwrap().unwrap().organisation_id;
    s.app.vault.db().accept_siret(guichet, ccas_siret).await.unwrap();
    assert!(session_of(&sign_in(&s, "paul").await).is_some());
}

#[tokio::test]
async fn sign_in_state_lives_in_the_database_of_every_kind() {
    for db in crate::common::databases() {
        let provider = idp::provider(
            ProviderKind::ProConnect,
            json!({ "marie": agent_account("marie@ville.fr", GUICHET_SIRET, "eidas1") }),
            json!({}),
        );
        let app = TestApp::builder().db(db).signin(idp::signin(&provider, ProviderKind::ProConnect)).build().await;
        let s = Setup { app, provider };
        invite(&s.app, "marie@ville.fr").await;
        let (authorize, cookie) = start(&s.app).await;
        let back = Browser::new().sign_in_at_provider(&authorize, Some("marie")).await;
        assert!(session_of(&arrive(&s.app, &back, &cookie).await).is_some(), "{db:?}");
        refused(&arrive(&s.app, &back, &cookie).await, StatusCode::BAD_REQUEST, "Connexion refusée");
        assert!(session_of(&sign_in(&s, "marie").await).is_some(), "{db:?}: bound by subject");
    }
}
