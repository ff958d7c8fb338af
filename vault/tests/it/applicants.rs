//! Applicants sign in with the identifier and code issued at registration,
//! see and complete their own dossier only, and are throttled after
//! repeated failures.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, databases, doc_of, multipart};

#[tokio::test]
async fn applicants_sign_in_and_reach_only_their_dossier() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let (nu, identifier, code) = {
            let j = r.json();
            (
                j["numero_unique"].as_str().unwrap().to_owned(),
                j["applicant"]["identifier"].as_str().unwrap().to_owned(),
                j["applicant"]["code"].as_str().unwrap().to_owned(),
            )
        };
        let other = app.register().await;
        let piece = app.upload_ok(&nu, &doc_of(5000, 1)).await;

        let wrong = app.post_json("/api/v1/session", "", json!({"identifier": identifier, "code": "WRONGCODE2"})).await;
        assert_eq!((wrong.status, wrong.error_code().as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
        let unknown = app.post_json("/api/v1/session", "", json!({"identifier": "DNU-ZZZZZZZZ", "code": code})).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        // Case and spaces as typed from paper do not matter.
        let r = app
            .post_json(
                "/api/v1/session",
                "",
                json!({"identifier": identifier.to_lowercase(), "code": format!(" {code} ")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let token = r.json()["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("dnua_"));

        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &token).await.status, StatusCode::OK);
        let own = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original"), &token).await;
        assert_eq!(own.body.unwrap().to_vec(), doc_of(5000, 1));
        let up = app
            .post_multipart(
                &format!("/api/v1/dossiers/{nu}/pieces"),
                &token,
                multipart(&[("kind", "ressources")], Some(&doc_of(1200, 2))),
            )
            .await;
        assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
        assert!(up.json()["version"]["uploaded_by_agent"].is_null(), "the applicant's own upload");
        assert_eq!(app.get(&format!("/api/v1/dossiers/{other}"), &token).await.status, StatusCode::FORBIDDEN);
        let list = app.get("/api/v1/dossiers", &token).await.json();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["numero_unique"], nu.as_str());
        let r = app.post_json("/api/v1/dossiers", &token, json!({"communes": ["59183"]})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "applicants do not register dossiers");
        let r = app
            .post_json(
                &format!("/api/v1/dossiers/{nu}/grants"),
                &token,
                json!({"organisation": "620000018", "purpose": "attribution", "expires_at": "2030-01-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), "dnua_forged").await.status, StatusCode::UNAUTHORIZED);

        // The applicant's access trace: who did what, by organisation and
        // agent pseudonym, never by agent name or id.
        assert_eq!(
            app.get(&format!("/api/v1/dossiers/{nu}/audit"), &app.bailleur_token).await.status,
            StatusCode::FORBIDDEN
        );
        let trace = app.get(&format!("/api/v1/dossiers/{nu}/audit"), &token).await;
        assert_eq!(trace.status, StatusCode::OK);
        let events = trace.json();
        let events = events.as_array().unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            ["dossier.register", "piece.upload", "piece.read_original", "piece.upload", "grant.manage", "audit.read"],
            "{events:?}"
        );
        assert_eq!(events[0]["organisation"]["siren"], "215901836");
        assert_eq!(events[1]["agent"], vault::audit::pseudonym(&app.guichet_agent.to_string()));
        assert!(events[3]["organisation"].is_null() && events[3]["agent"].is_null(), "the applicant's own upload");
        assert!(
            events[4]["outcome"] == "denied" && events[4]["organisation"].is_null(),
            "the applicant's refused grant attempt"
        );
        assert_eq!(
            (events[5]["outcome"].as_str(), events[5]["organisation"]["kind"].as_str()),
            (Some("denied"), Some("bailleur"))
        );
        let purposes: Vec<&str> = events.iter().map(|e| e["purpose"].as_str().unwrap_or("-")).collect();
        assert_eq!(
            purposes,
            ["enregistrement", "enregistrement", "demandeur", "demandeur", "demandeur", "instruction"],
            "{events:?}"
        );
        // An agent says why it opens a piece; the applicant sees it.
        let read = app
            .send(
                axum::http::Request::get(format!("/api/v1/dossiers/{nu}/pieces/{piece}/original"))
                    .header("authorization", format!("Bearer {}", app.guichet_token))
                    .header("x-vault-purpose", "attribution")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(read.status, StatusCode::OK);
        let bad = app
            .send(
                axum::http::Request::get(format!("/api/v1/dossiers/{nu}"))
                    .header("authorization", format!("Bearer {}", app.guichet_token))
                    .header("x-vault-purpose", "curiosite")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.json()["error"]["message"].as_str().unwrap().contains("attribution"));
        let trace = app.get(&format!("/api/v1/dossiers/{nu}/audit"), &token).await.json();
        let last = &trace.as_array().unwrap()[6];
        assert_eq!(
            (last["action"].as_str(), last["purpose"].as_str()),
            (Some("piece.read_original"), Some("attribution"))
        );
        let trace = app.get(&format!("/api/v1/dossiers/{nu}/audit"), &token).await;
        let text = trace.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap();
        assert!(!text.contains(&app.guichet_agent.to_string()), "agent ids stay internal");
    }
}

/// A sign-in from a given client address, as the server's connection info
/// would give it.
async fn sign_in_from(app: &TestApp, from: [u8; 4], identifier: &str, code: &str) -> crate::common::Resp {
    let mut req = axum::http::Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"identifier": identifier, "code": code}).to_string()))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((from, 40000))));
    app.send(req).await
}

#[tokio::test]
async fn guessing_is_throttled_per_source_and_never_locks_the_applicant_out() {
    let app = TestApp::builder().build().await;
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
    let (identifier, code) = {
        let j = r.json();
        (j["applicant"]["identifier"].as_str().unwrap().to_owned(), j["applicant"]["code"].as_str().unwrap().to_owned())
    };
    // An attacker who knows the identifier sends 30 wrong codes at once.
    let attacker = [203, 0, 113, 9];
    let burst = (0..30).map(|_| sign_in_from(&app, attacker, &identifier, "AAAAAAAAAA"));
    let answers = futures_util::future::join_all(burst).await;
    let evaluated = answers.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    let throttled: Vec<_> = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).collect();
    // The budget is taken before the check: no more guesses were evaluated
    // than the source's ten, whatever the concurrency.
    assert_eq!((evaluated, throttled.len()), (10, 20), "every attempt is either evaluated or throttled");
    assert!(throttled.iter().all(|r| r.error_code() == "throttled" && r.headers.contains_key("retry-after")));
    assert_eq!(app.vault.db().applicant_by_identifier(&identifier).await.unwrap().unwrap().failures, 10);
    // The applicant, from their own device, is not locked out.
    let r = sign_in_from(&app, [198, 51, 100, 20], &identifier, &code).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The attacker's source stays throttled, even with the right code.
    let r = sign_in_from(&app, attacker, &identifier, &code).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // From a fresh source, an unknown identifier and a known one with a
    // wrong code answer alike: nothing tells that the identifier exists.
    let unknown = sign_in_from(&app, [192, 0, 2, 1], "DNU-ZZZZZZZZ", "AAAAAAAAAA").await;
    let known = sign_in_from(&app, [192, 0, 2, 2], &identifier, "AAAAAAAAAA").await;
    assert_eq!((unknown.status, unknown.body.clone().unwrap()), (known.status, known.body.clone().unwrap()));
}
