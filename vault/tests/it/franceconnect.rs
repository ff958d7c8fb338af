//! Applicants sign in with FranceConnect, against a real OpenID Provider
//! configured like FranceConnect: it refuses any `/authorize` parameter
//! outside FranceConnect's list (a stray PKCE parameter fails the test),
//! requires `acr_values` and a nonce of 22 characters or more, gives a
//! pairwise `sub` and signs the userinfo.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;
use vault::config::ProviderKind;

use crate::{
    common::{Resp, TestApp},
    idp::{self, Browser, PUBLIC_URL, query},
};

const WHITELIST: [&str; 11] = [
    "client_id",
    "acr_values",
    "claims",
    "response_type",
    "nonce",
    "state",
    "redirect_uri",
    "scope",
    "prompt",
    "idp_hint",
    "ui_locales",
];

fn citizen(acr: &str) -> serde_json::Value {
    json!({"claims": {"given_name": "Jeanne", "family_name": "Martin", "birthdate": "1980-01-01", "gender": "female"},
           "acr": acr, "amr": ["pwd"]})
}

fn text(resp: &Resp) -> String {
    String::from_utf8_lossy(resp.body.as_ref().unwrap()).into_owned()
}

fn cookie_named(resp: &Resp, name: &str) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")) && v.len() > name.len() + 1)
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> Resp {
    app.send(Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap()).await
}

async fn post_form(app: &TestApp, path: &str, cookie: &str, form: &str) -> Resp {
    app.send(
        Request::post(path)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(form.to_owned()))
            .unwrap(),
    )
    .await
}

/// `GET /franceconnect`, the provider's pages as `login`, and the return
/// delivered to the vault.
async fn via_franceconnect(app: &TestApp, browser: &mut Browser, login: &str) -> Resp {
    let start = app.send(Request::get("/franceconnect").body(Body::empty()).unwrap()).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", text(&start));
    let attempt = cookie_named(&start, "__Host-dnu_connexion").expect("attempt cookie");
    let back = browser.sign_in_at_provider(start.headers["location"].to_str().unwrap(), Some(login)).await;
    get(app, back.strip_prefix(PUBLIC_URL).unwrap(), &attempt).await
}

fn hidden(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn an_applicant_links_once_then_signs_in_with_franceconnect_alone() {
    let provider = idp::provider(
        ProviderKind::FranceConnect,
        json!({"jeanne": citizen("eidas1"), "weak": citizen("eidas0")}),
        json!({}),
    );
    let app = TestApp::builder().signin(idp::signin(&provider, ProviderKind::FranceConnect)).build().await;
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
    let (identifier, code) = {
        let j = r.json();
        (j["applicant"]["identifier"].as_str().unwrap().to_owned(), j["applicant"]["code"].as_str().unwrap().to_owned())
    };

    let home = text(&app.send(Request::get("/").body(Body::empty()).unwrap()).await);
    assert!(home.contains("FranceConnect"), "{home}");

    // Exactly FranceConnect's parameters: no PKCE, a nonce and state of 32+.
    let start = app.send(Request::get("/franceconnect").body(Body::empty()).unwrap()).await;
    let url = start.headers["location"].to_str().unwrap().to_owned();
    let q = query(&url);
    assert!(q.keys().all(|k| WHITELIST.contains(&k.as_str())), "{q:?}");
    assert_eq!(q["acr_values"], "eidas1");
    assert!(q["nonce"].len() >= 32 && q["state"].len() >= 32);
    assert_eq!(q["scope"], "openid", "only the subject is asked for");

    // First time: the identity waits for the attestation.
    let mut browser = Browser::new();
    let arrived = via_franceconnect(&app, &mut browser, "jeanne").await;
    assert_eq!(arrived.status, StatusCode::SEE_OTHER, "{}", text(&arrived));
    assert_eq!(arrived.headers["location"], "/franceconnect/liaison");
    assert_eq!(cookie_named(&arrived, "__Host-dnu_session"), None, "no session before the link");
    let pending = cookie_named(&arrived, "__Host-dnu_liaison").expect("the waiting identity's cookie");
    assert_eq!(get(&app, "/franceconnect/liaison", &pending).await.status, StatusCode::OK);
    let wrong =
        post_form(&app, "/franceconnect/liaison", &pending, &format!("identifier={identifier}&code=WRONGCODE2")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(text(&wrong).contains("incorrect"));
    let linked =
        post_form(&app, "/franceconnect/liaison", &pending, &format!("identifier={identifier}&code={code}")).await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", text(&linked));
    let session = cookie_named(&linked, "__Host-dnu_session").expect("signed in");
    let mine = text(&get(&app, "/mon-dossier", &session).await);
    assert!(mine.contains("Votre identité FranceConnect est liée"), "{mine}");
    assert!(mine.contains("a lié son identité FranceConnect au dossier"), "the link is in the applicant's trace");

    // Signing out ends the session here, then at FranceConnect (state checked on return).
    let out = post_form(&app, "/deconnexion", &session, &format!("csrf={}", hidden(&mine, "csrf"))).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let end = out.headers["location"].to_str().unwrap().to_owned();
    let eq = query(&end);
    assert!(end.starts_with(&format!("{}/session/end?", provider.issuer)), "{end}");
    assert!(!eq["id_token_hint"].is_empty() && eq["state"].len() >= 32);
    assert_eq!(eq["post_logout_redirect_uri"], format!("{PUBLIC_URL}/franceconnect/deconnecte"));
    assert_eq!(get(&app, "/mon-dossier", &session).await.status, StatusCode::SEE_OTHER, "the session ended first");
    let logout_attempt = cookie_named(&out, "__Host-dnu_connexion").unwrap();
    let confirm = browser.get(&end).await;
    let origin = &provider.issuer[..provider.issuer.find("/api").unwrap()];
    let form = &confirm.body[confirm.body.find("action=\"").expect("the provider's logout form") + 8..];
    let action = &form[..form.find('"').unwrap()];
    let action = if action.starts_with('/') { format!("{origin}{action}") } else { action.to_owned() };
    let xsrf = hidden(&confirm.body, "xsrf");
    let done = browser.post(&action, &[("xsrf", &xsrf), ("logout", "yes")]).await;
    let back = done.location.expect("back to the vault");
    let page = text(&get(&app, back.strip_prefix(PUBLIC_URL).unwrap(), &logout_attempt).await);
    assert!(page.contains("Vous êtes aussi déconnecté de FranceConnect"), "{page}");

    // Afterwards FranceConnect alone signs her in.
    let again = via_franceconnect(&app, &mut browser, "jeanne").await;
    assert_eq!(again.headers["location"], "/mon-dossier", "{}", text(&again));
    let session = cookie_named(&again, "__Host-dnu_session").expect("signed in by sub alone");

    // Removing the link: the next FranceConnect sign-in asks again.
    let mine = text(&get(&app, "/mon-dossier", &session).await);
    let removed =
        post_form(&app, "/mon-dossier/franceconnect/retirer", &session, &format!("csrf={}", hidden(&mine, "csrf")))
            .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let after = via_franceconnect(&app, &mut browser, "jeanne").await;
    assert_eq!(after.headers["location"], "/franceconnect/liaison");

    // A level below eidas1 is refused.
    let weak = via_franceconnect(&app, &mut Browser::new(), "weak").await;
    assert_eq!(weak.status, StatusCode::FORBIDDEN);
    assert!(text(&weak).contains("Niveau d'authentification insuffisant"));
    assert_eq!(cookie_named(&weak, "__Host-dnu_session"), None);
}

#[tokio::test]
async fn the_guichet_removes_a_link_and_others_may_not() {
    let provider = idp::provider(ProviderKind::FranceConnect, json!({"jeanne": citizen("eidas1")}), json!({}));
    let app = TestApp::builder().signin(idp::signin(&provider, ProviderKind::FranceConnect)).build().await;
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
    let j = r.json();
    let nu = j["numero_unique"].as_str().unwrap().to_owned();
    let creds = format!(
        "identifier={}&code={}",
        j["applicant"]["identifier"].as_str().unwrap(),
        j["applicant"]["code"].as_str().unwrap()
    );
    let arrived = via_franceconnect(&app, &mut Browser::new(), "jeanne").await;
    let pending = cookie_named(&arrived, "__Host-dnu_liaison").unwrap();
    assert_eq!(post_form(&app, "/franceconnect/liaison", &pending, &creds).await.status, StatusCode::SEE_OTHER);

    let unlink = |token: String| {
        let (app, nu) = (&app, nu.clone());
        async move {
            app.send(
                Request::delete(format!("/api/v1/dossiers/{nu}/franceconnect"))
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(unlink(app.bailleur_token.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(unlink(app.guichet_token.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(unlink(app.guichet_token.clone()).await.status, StatusCode::NOT_FOUND, "no link left");
    let again = via_franceconnect(&app, &mut Browser::new(), "jeanne").await;
    assert_eq!(again.headers["location"], "/franceconnect/liaison", "the link is gone");
}
