//! The applicant's contact details, the daily pass's notices through the
//! router and the job: who sees and changes the contact, the relance list
//! naming the notice, the guichet's letter queue, and (c) radiated by the
//! pass a month after its warning.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, databases};

fn iso(d: time::Date) -> String {
    vault::clock::iso_date(d)
}

#[tokio::test]
async fn contact_details_are_sealed_shown_to_readers_and_kept_current_by_applicant_and_guichet() {
    let app = TestApp::builder().build().await;
    const EMAIL: &str = "contact.it-4e1d@exemple.fr";
    let bad = app
        .post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"], "contact": {"email": "x@"}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["message"].as_str().unwrap().starts_with("contact.email"), "{:?}", bad.body);
    let unknown = app
        .post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"], "contact": {"phone": "06"}}))
        .await;
    assert!(unknown.status.is_client_error(), "an unknown contact field is refused");

    let r = app
        .post_json(
            "/api/v1/dossiers",
            &app.guichet_token,
            json!({"communes": ["59183"], "contact": {"email": EMAIL, "online": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let j = r.json();
    let nu = j["numero_unique"].as_str().unwrap().to_owned();
    assert_eq!(j["contact"]["email"], EMAIL);
    // Readers see it; the landlord may read the dossier, so it sees it too.
    for token in [&app.guichet_token, &app.bailleur_token] {
        let seen = app.get(&format!("/api/v1/dossiers/{nu}"), token).await;
        assert_eq!(seen.json()["contact"]["email"], EMAIL);
    }
    // Sealed at rest: the address is nowhere in the database file.
    app.vault.db().settle_erasure().await.unwrap();
    let db = std::fs::read(app.dir.path().join("vault.db")).unwrap();
    assert!(!db.windows(EMAIL.len()).any(|w| w == EMAIL.as_bytes()), "the e-mail address is stored in clear");

    // The landlord may not change it; the guichet and the applicant may.
    let url = format!("/api/v1/dossiers/{nu}/contact");
    let new = json!({"email": "nouvelle.it@exemple.fr", "postal_address": ["Mme Martin", "59140 Dunkerque"], "online": true, "wants_post": true});
    assert_eq!(app.put_json(&url, &app.bailleur_token, new.clone()).await.status, StatusCode::FORBIDDEN);
    let r = app.put_json(&url, &app.guichet_token, new).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["wants_post"], true);
    let bad = app.put_json(&url, &app.guichet_token, json!({"wants_post": true})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("contact.postal_address"));
    let (own, session) = app.register_signed_in().await;
    let r = app
        .put_json(&format!("/api/v1/dossiers/{own}/contact"), &session, json!({"email": EMAIL, "online": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Another applicant's dossier is not theirs to change.
    assert_eq!(app.put_json(&url, &session, json!({"online": true})).await.status, StatusCode::FORBIDDEN);
    // The change is in the applicant's trace.
    let trace = app.get(&format!("/api/v1/dossiers/{own}/audit"), &session).await;
    assert!(trace.body.as_ref().unwrap().windows(15).any(|w| w == b"dossier.contact"), "{:?}", trace.body);
}

#[tokio::test]
async fn the_pass_issues_notices_fills_the_relance_list_and_the_letter_queue() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let today = vault::clock::today();
        // Valid for 20 more days: due for its notice today.
        let deposited = today - time::Duration::days(345);
        let r = app
            .post_json(
                "/api/v1/dossiers",
                &app.guichet_token,
                json!({"communes": ["59183"], "deposited_on": iso(deposited),
                       "contact": {"email": "relance.it@exemple.fr", "postal_address": ["M. Benali", "59140 Dunkerque"], "online": false}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let nu = r.json()["numero_unique"].as_str().unwrap().to_owned();

        let dry = vault::jobs::lifecycle::run_pass(&app.vault, today, true).await.unwrap();
        assert_eq!(dry.renewal_notices, 1);
        let list = app.get("/api/v1/dossiers?due=renewal", &app.guichet_token).await.json();
        assert!(list["items"][0].get("notice").is_none(), "a dry run issues nothing: {list}");

        let done = vault::jobs::lifecycle::run_pass(&app.vault, today, false).await.unwrap();
        assert_eq!((done.renewal_notices, done.messages), (1, 2), "not online: post and e-mail");
        let again = vault::jobs::lifecycle::run_pass(&app.vault, today, false).await.unwrap();
        assert_eq!(again.messages, 0);
        // No SMTP here: the e-mail waits in the outbox.
        let out = vault::notices::deliver(&app.vault, true, || false).await.unwrap();
        assert_eq!((out.sent, out.waiting), (0, 1));

        let list = app.get("/api/v1/dossiers?due=renewal", &app.guichet_token).await.json();
        let item = &list["items"][0];
        assert_eq!(item["numero_unique"], nu.as_str());
        assert_eq!(item["notice"]["issued_on"], iso(today));
        assert_eq!(item["notice"]["channels"], json!(["email", "post"]));

        // The letter: the guichet's, not the landlord's.
        let queue = app.get("/api/v1/letters", &app.guichet_token).await.json();
        let letter = queue["letters"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(queue["letters"][0]["kind"], "renewal");
        let pdf = app.get(&format!("/api/v1/letters/{letter}"), &app.guichet_token).await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert!(pdf.body.as_ref().unwrap().starts_with(b"%PDF"));
        assert_eq!(app.get("/api/v1/letters", &app.bailleur_token).await.json()["letters"], json!([]));
        let theirs = app.get(&format!("/api/v1/letters/{letter}"), &app.bailleur_token).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        let posted = app.post_json(&format!("/api/v1/letters/{letter}/posted"), &app.guichet_token, json!({})).await;
        assert_eq!(posted.json()["posted"], true);
        let twice = app.post_json(&format!("/api/v1/letters/{letter}/posted"), &app.guichet_token, json!({})).await;
        assert_eq!(twice.json()["posted"], false);
        assert_eq!(app.get("/api/v1/letters", &app.guichet_token).await.json()["letters"], json!([]));
        let all = app.get("/api/v1/letters?all=true", &app.guichet_token).await.json();
        assert!(all["letters"][0]["posted_at"].is_string(), "{all}");
    }
}

#[tokio::test]
async fn the_pass_radiates_for_no_answer_a_month_after_the_warning_not_before() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let w = app
            .post_json(
                &format!("/api/v1/dossiers/{nu}/radiation-warnings"),
                &app.guichet_token,
                json!({"reason": "sans_reponse"}),
            )
            .await;
        assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
        // The letter that proves delivery waits in the guichet's queue, once
        // however often the warning is given.
        let again = app
            .post_json(
                &format!("/api/v1/dossiers/{nu}/radiation-warnings"),
                &app.guichet_token,
                json!({"reason": "sans_reponse"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::OK);
        let queue = app.get("/api/v1/letters", &app.guichet_token).await.json();
        let letters = queue["letters"].as_array().unwrap();
        assert_eq!(letters.len(), 1, "{queue}");
        assert_eq!(
            (letters[0]["kind"].as_str(), letters[0]["numero_unique"].as_str()),
            (Some("warning"), Some(nu.as_str()))
        );
        let pdf = app.get(letters[0]["pdf"].as_str().unwrap(), &app.guichet_token).await;
        assert!(pdf.body.as_ref().unwrap().starts_with(b"%PDF"));
        let possible = time::Date::parse(
            w.json()["radiation_possible_on"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        let before =
            vault::jobs::lifecycle::run_pass(&app.vault, possible - time::Duration::days(1), false).await.unwrap();
        assert_eq!(before.radiated_after_warning, 0);
        let on = vault::jobs::lifecycle::run_pass(&app.vault, possible, false).await.unwrap();
        assert_eq!(on.radiated_after_warning, 1);
        let d = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.json();
        assert_eq!((d["status"].as_str(), d["radiation_reason"].as_str()), (Some("radiated"), Some("sans_reponse")));
        assert_eq!(d["radiated_on"], iso(possible));
    }
}

#[tokio::test]
async fn agents_mark_a_version_the_applicant_sees_it_and_nothing_is_deleted() {
    let app = TestApp::builder().build().await;
    let (nu, session) = app.register_signed_in().await;
    let piece = app.upload_ok(&nu, &crate::common::doc_of(2000, 7)).await;
    let url = format!("/api/v1/dossiers/{nu}/pieces/{piece}/versions/1/mark");
    const REASON: &str = "Scan flou-it-8c2e : le revenu fiscal est illisible";
    let r = app.post_json(&url, &app.guichet_token, json!({"mark": "illisible", "reason": REASON})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("inexploitable"));
    let r = app.post_json(&url, &app.guichet_token, json!({"mark": "inexploitable", "reason": " "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post_json(&url, &session, json!({"mark": "inexploitable", "reason": REASON})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the applicant does not mark their own pieces");
    let missing = format!("/api/v1/dossiers/{nu}/pieces/{piece}/versions/9/mark");
    let r = app.post_json(&missing, &app.guichet_token, json!({"mark": "obsolete", "reason": REASON})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.post_json(&url, &app.guichet_token, json!({"mark": "inexploitable", "reason": REASON})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // The applicant sees it on their dossier; the piece is still there.
    let d = app.get(&format!("/api/v1/dossiers/{nu}"), &session).await.json();
    let mark = &d["pieces"][0]["current"]["mark"];
    assert_eq!(mark["mark"], "inexploitable");
    assert_eq!(mark["reason"], REASON);
    assert_eq!(app.original(&nu, &piece).await.status, StatusCode::OK);
    let shown = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}"), &app.bailleur_token).await.json();
    assert_eq!(shown["versions"][0]["mark"]["mark"], "inexploitable");
    // Traced, and the reason is sealed at rest.
    let trace = app.get(&format!("/api/v1/dossiers/{nu}/audit"), &session).await;
    assert!(trace.body.as_ref().unwrap().windows(10).any(|w| w == b"piece.mark"));
    app.vault.db().settle_erasure().await.unwrap();
    let db = std::fs::read(app.dir.path().join("vault.db")).unwrap();
    assert!(!db.windows(12).any(|w| w == b"flou-it-8c2e"), "the reason is stored in clear");
}

#[tokio::test]
async fn the_applicant_keeps_their_contact_details_on_their_page() {
    let app = TestApp::builder().build().await;
    let (nu, token) = app.register_signed_in().await;
    let cookie = format!("__Host-dnu_session={token}");
    let get =
        || axum::http::Request::get("/mon-dossier").header("cookie", &cookie).body(axum::body::Body::empty()).unwrap();
    let page = String::from_utf8_lossy(app.send(get()).await.body.as_ref().unwrap()).into_owned();
    assert!(page.contains("Mes coordonnées"), "{page}");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let post = |body: String| {
        axum::http::Request::post("/mon-dossier/coordonnees")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    // Post asked for without an address: refused, said in French by the form.
    let bad = app.send(post(format!("csrf={csrf}&email=&adresse=&courrier=oui"))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = String::from_utf8_lossy(bad.body.as_ref().unwrap()).into_owned();
    assert!(text.contains("indiquez votre adresse postale"), "{text}");
    let ok = app
        .send(post(format!(
            "csrf={csrf}&email=moi.page%40exemple.fr&adresse=Mme+Martin%0D%0A59140+Dunkerque&courrier=oui"
        )))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{:?}", ok.body);
    let d = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.json();
    assert_eq!(
        d["contact"],
        json!({"email": "moi.page@exemple.fr", "postal_address": ["Mme Martin", "59140 Dunkerque"], "online": true, "wants_post": true})
    );
    let page = String::from_utf8_lossy(app.send(get()).await.body.as_ref().unwrap()).into_owned();
    assert!(page.contains("value=\"moi.page@exemple.fr\"") && page.contains("checked"), "the form shows them again");
}

#[tokio::test]
async fn the_renewal_notice_asks_again_for_a_marked_piece() {
    let app = TestApp::builder().build().await;
    let today = vault::clock::today();
    let r = app
        .post_json(
            "/api/v1/dossiers",
            &app.guichet_token,
            json!({"communes": ["59183"], "deposited_on": iso(today - time::Duration::days(345)),
                   "contact": {"email": "marque.it@exemple.fr", "online": true}}),
        )
        .await;
    let nu = r.json()["numero_unique"].as_str().unwrap().to_owned();
    let piece = app.upload_ok(&nu, &crate::common::doc_of(2000, 9)).await;
    let url = format!("/api/v1/dossiers/{nu}/pieces/{piece}/versions/1/mark");
    let m = app.post_json(&url, &app.guichet_token, json!({"mark": "inexploitable", "reason": "flou"})).await;
    assert_eq!(m.status, StatusCode::CREATED);
    let done = vault::jobs::lifecycle::run_pass(&app.vault, today, false).await.unwrap();
    assert_eq!(done.messages, 1);
    let id = app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
    let notice = app.vault.db().notices_of(id).await.unwrap().remove(0);
    let dk = app.vault.dossier_key(id).await.unwrap();
    let record = vault::db::contacts::SealedRecord { id: notice.id, sealed: notice.sealed };
    let message: vault::notices::compose::Message = vault::sealed::records::open(&dk, &record).unwrap();
    let text = message.text();
    assert!(text.contains("signalée inexploitable"), "{text}");
}
