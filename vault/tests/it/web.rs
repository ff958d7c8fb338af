//! The web pages' protections, through the real router: the session cookie
//! is Secure, HttpOnly and SameSite=Strict; a form without this session's
//! CSRF token changes nothing; a page without a session sends to sign-in.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use tower::ServiceExt;

use crate::common::{BOUNDARY, TestApp, doc_of, multipart};

#[tokio::test]
async fn forms_need_the_session_and_its_csrf_token() {
    let app = TestApp::builder().build().await;
    let (_, form) = applicant_form(&app).await;
    let set_cookie = sign_in(&app, "/connexion", form).await;
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    // The page holds the form's token; without it or with another, 403.
    let page = app.send(Request::get("/mon-dossier").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8(page.body.unwrap().to_vec()).unwrap();
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let upload = |fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Request::post("/mon-dossier/pieces")
            .header("cookie", &cookie)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(multipart(&fields, Some(&doc_of(1000, 1)))))
            .unwrap()
    };
    let r = app.send(upload(vec![("kind", "identite".into())])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    let r = app.send(upload(vec![("csrf", "0".repeat(32)), ("kind", "identite".into())])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another token");
    assert!(app.vault.store().list().await.unwrap().is_empty(), "nothing was stored");
    let r = app.send(upload(vec![("csrf", token.clone()), ("kind", "identite".into())])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    // A file that is not a document: the page says so in French, by the field.
    let not_a_document = Request::post("/mon-dossier/pieces")
        .header("cookie", &cookie)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(&[("csrf", &token), ("kind", "identite")], Some(b"MZ not a document"))))
        .unwrap();
    let r = app.send(not_a_document).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = String::from_utf8(r.body.unwrap().to_vec()).unwrap();
    assert!(html.contains("id=\"erreur-fichier\"") && html.contains("est pas un document accepté"), "{html}");
    assert!(html.contains("aria-describedby=\"erreur-fichier\""));

    // Signing out needs the token too.
    let out = |body: String| {
        Request::post("/deconnexion")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    assert_eq!(app.send(out("csrf=x".into())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.send(out(format!("csrf={token}"))).await.status, StatusCode::SEE_OTHER);
    // The session is over: the page sends back to sign-in.
    let page = app.send(Request::get("/mon-dossier").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

/// Posts a sign-in form; asserts the redirect and returns its `Set-Cookie`.
/// Registers a dossier; its numéro unique and the applicant's sign-in form.
async fn applicant_form(app: &TestApp) -> (String, String) {
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
    let j = r.json();
    let (identifier, code) = (j["applicant"]["identifier"].as_str().unwrap(), j["applicant"]["code"].as_str().unwrap());
    (j["numero_unique"].as_str().unwrap().to_owned(), format!("identifier={identifier}&code={code}"))
}

async fn sign_in(app: &TestApp, uri: &str, form: String) -> String {
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::post(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    resp.headers()["set-cookie"].to_str().unwrap().to_owned()
}

/// Signs the guichet agent in to the pages; returns the `Cookie` header.
pub(crate) async fn agent_cookie(app: &TestApp) -> String {
    let set_cookie = sign_in(app, "/agent/connexion", format!("token={}", app.guichet_token)).await;
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_agents_page_session_is_its_own_and_ends_at_sign_out() {
    let app = TestApp::builder().build().await;
    let cookie = agent_cookie(&app).await;
    let value = cookie.strip_prefix("__Host-dnu_session=").unwrap();
    assert!(value.starts_with("dnus_") && value != app.guichet_token, "the cookie never holds the access token");
    let get = |c: &str| Request::get("/dossiers").header("cookie", c).body(Body::empty()).unwrap();
    let page = app.send(get(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    // The access token itself in the cookie is not a page session.
    assert_eq!(app.send(get(&format!("__Host-dnu_session={}", app.guichet_token))).await.status, StatusCode::SEE_OTHER);
    let html = String::from_utf8(page.body.unwrap().to_vec()).unwrap();
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let out = Request::post("/deconnexion")
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={token}")))
        .unwrap();
    assert_eq!(app.send(out).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(get(&cookie)).await.status, StatusCode::SEE_OTHER, "the session ended");
    // The agent's access token still serves the API.
    assert_eq!(app.get("/api/v1/dossiers", &app.guichet_token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_dossier_search_redirects_only_to_a_well_formed_number() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let cookie = agent_cookie(&app).await;
    let get = |uri: String| Request::get(uri).header("cookie", &cookie).body(Body::empty()).unwrap();
    let r = app.router.clone().oneshot(get(format!("/dossiers?nu={}", nu.to_lowercase()))).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/dossiers/{nu}"));
    for hostile in ["%0D%0ALocation:%20http://evil", "//evil.example", "../../etc"] {
        let r = app.send(get(format!("/dossiers?nu={hostile}"))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{hostile}");
        assert!(String::from_utf8_lossy(&r.body.unwrap()).contains("Numéro unique invalide"));
    }
}

/// Every page carries the headers a shared guichet browser needs; before,
/// pages carried none (a page could be framed, cached, and leak its URL).
/// The look is the DSFR's, from the vault itself: one stylesheet and one
/// script of its own, nothing inline, no other site.
#[tokio::test]
async fn pages_are_not_cached_framed_or_leaked_and_use_only_the_vaults_own_stylesheet() {
    let app = TestApp::builder().build().await;
    let r = app.get("/", "").await;
    assert_eq!(r.status, StatusCode::OK);
    let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("x-content-type-options"), "nosniff");
    let csp = h("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'") && csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'self';") && csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    let body = String::from_utf8(r.body.unwrap().to_vec()).unwrap();
    assert!(!body.contains("<style") && !body.contains(" style="), "{body}");
    // One script, the vault's own file (an upload's progress); nothing inline.
    assert_eq!(body.matches("<script").count(), 1);
    assert!(body.contains("/upload.js\" defer></script>"), "{body}");
    assert!(body.contains("class=\"fr-header\"") && body.contains("class=\"fr-footer\""), "{body}");
    // Not a State body by default: no "République française" brand, no Marianne.
    assert!(!body.contains("fr-logo") && !body.contains("marianne.css"), "{body}");
    // The stylesheet is the vault's, cached a year under its digest, gzipped when asked.
    let href = body.split("<link rel=\"stylesheet\" href=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
    assert!(href.starts_with("/static/") && href.ends_with("/dsfr.css"), "{href}");
    let css = app.get(href, "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(css.headers["cache-control"], "public, max-age=31536000, immutable");
    let css_text = String::from_utf8(css.body.unwrap().to_vec()).unwrap();
    assert!(css_text.contains(".fr-btn{") && css_text.contains(".dnu-header-actions"));
    let gz = app.send(Request::get(href).header("accept-encoding", "gzip, br").body(Body::empty()).unwrap()).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    assert!(gz.body.unwrap().len() * 4 < css_text.len(), "gzip makes it at least four times smaller");
    // Another build's address is not this build's file.
    let stale = app.get("/static/0000000000000000/dsfr.css", "").await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    // No HSTS on plain HTTP; the API's JSON is left as it was.
    assert!(r.headers.get("strict-transport-security").is_none());
    let api = app.get("/api/v1/catalogue", "").await;
    assert!(api.headers.get("content-security-policy").is_none());
}

/// A State operator's pages carry the State's brand block and fonts; its
/// name is in the header either way.
#[tokio::test]
async fn the_states_brand_only_for_a_state_operator() {
    let app = TestApp::builder()
        .tune(|c| c.operator = vault::config::Operator { name: "Préfecture du Nord".into(), state: true })
        .build()
        .await;
    let body = String::from_utf8(app.get("/", "").await.body.unwrap().to_vec()).unwrap();
    assert!(body.contains("<p class=\"fr-logo\">République<br>française</p>"), "{body}");
    assert!(body.contains("/marianne.css") && body.contains("Préfecture du Nord"), "{body}");
}

/// A page session opens no other session and is no bearer token: posted to
/// the sign-in form it used to yield a fresh eight-hour session that
/// outlived the first one's sign-out, and it served the API.
#[tokio::test]
async fn a_page_session_mints_nothing_and_is_not_a_bearer_token() {
    let app = TestApp::builder().build().await;
    let cookie = agent_cookie(&app).await;
    let session = cookie.strip_prefix("__Host-dnu_session=").unwrap().to_owned();
    let form = Request::post("/agent/connexion")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={session}")))
        .unwrap();
    let again = app.send(form).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a page session signs nobody in");
    assert!(again.headers.get("set-cookie").is_none());
    let api = app.get("/api/v1/dossiers", &session).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "a page session is not a bearer token");
    // An applicant's session remains their API token.
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
    let j = r.json();
    let signed = app
        .post_json(
            "/api/v1/session",
            "",
            serde_json::json!({"identifier": j["applicant"]["identifier"], "code": j["applicant"]["code"]}),
        )
        .await;
    let token = signed.json()["token"].as_str().unwrap().to_owned();
    let nu = j["numero_unique"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &token).await.status, StatusCode::OK);
}

/// The applicant's page asks the policy what the API asks: under a set that
/// refuses the applicant `dossier.read`, both refuse (the page used to show
/// the pieces and the trace all the same).
#[tokio::test]
async fn the_applicants_page_asks_the_policy_like_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/default");
    for e in std::fs::read_dir(default).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let text = text.replace(r#"Vault::Action::"dossier.read", "#, "");
        std::fs::write(dir.path().join(p.file_name().unwrap()), text).unwrap();
    }
    let app = TestApp::builder().policy_dir(dir.path().to_owned()).build().await;
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
    let j = r.json();
    let nu = j["numero_unique"].as_str().unwrap();
    let (identifier, code) = (j["applicant"]["identifier"].as_str().unwrap(), j["applicant"]["code"].as_str().unwrap());
    app.upload_ok(nu, &doc_of(2000, 9)).await;
    let token =
        app.post_json("/api/v1/session", "", serde_json::json!({"identifier": identifier, "code": code})).await.json()
            ["token"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &token).await.status, StatusCode::FORBIDDEN);
    let cookie = sign_in(&app, "/connexion", format!("identifier={identifier}&code={code}")).await;
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = app.send(Request::get("/mon-dossier").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let html = String::from_utf8_lossy(page.body.as_ref().unwrap()).into_owned();
    assert!(!html.contains("Pièces du dossier") && !html.contains(nu), "the page showed the dossier: {html}");
}

/// Login CSRF: a sign-in form posted from another site is refused (it used
/// to sign the victim's browser into the attacker's dossier); the cookie
/// is a `__Host-` cookie no sibling domain can plant.
#[tokio::test]
async fn sign_in_forms_posted_from_another_site_are_refused() {
    let app = TestApp::builder().build().await;
    let (_, form) = applicant_form(&app).await;
    let post = |uri: &str, body: String, headers: &[(&str, &str)]| {
        let mut b = Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "vault.example");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::from(body)).unwrap()
    };
    for (uri, body) in [("/connexion", form.clone()), ("/agent/connexion", format!("token={}", app.guichet_token))] {
        for attack in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")][..],
            &[("origin", "https://attacker.example")][..],
        ] {
            let r = app.send(post(uri, body.clone(), attack)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri} {attack:?}");
            assert!(r.headers.get("set-cookie").is_none(), "{uri} {attack:?}: a session was opened");
        }
        for own in [&[("sec-fetch-site", "same-origin")][..], &[("origin", "https://vault.example")][..], &[][..]] {
            let r = app.send(post(uri, body.clone(), own)).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri} {own:?}");
            let cookie = r.headers["set-cookie"].to_str().unwrap();
            assert!(cookie.starts_with("__Host-dnu_session=") && cookie.contains("; Path=/; Secure;"), "{cookie}");
        }
    }
}
