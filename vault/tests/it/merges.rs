//! Two numbers of one applicant merged into one (CCH R.441-2-8 (f)):
//! the pieces and history of both under the kept number, the oldest
//! deposit date, the absorbed number radiated for `fusion` and pointing
//! to the kept one, nothing of it left in the store, and the checks clean.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, databases, doc_of, multipart};

#[tokio::test]
async fn a_merge_moves_pieces_marks_and_history_and_keeps_the_oldest_deposit() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let today = vault::clock::today();
        let older = vault::clock::iso_date(today - time::Duration::days(200));
        let register = |body: serde_json::Value| {
            let app = &app;
            async move {
                let r = app.post_json("/api/v1/dossiers", &app.guichet_token, body).await;
                assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
                r.json()["numero_unique"].as_str().unwrap().to_owned()
            }
        };
        let kept = register(json!({"communes": ["59183"]})).await;
        let absorbed = register(json!({"communes": ["59183"], "deposited_on": older,
                                       "contact": {"email": "fusion-it@exemple.fr", "online": true}}))
        .await;
        let (same, only_absorbed) = (doc_of(3000, 31), doc_of(3500, 32));
        app.upload_ok(&kept, &same).await;
        app.upload_ok(&absorbed, &same).await;
        let r = app
            .post_multipart(
                &format!("/api/v1/dossiers/{absorbed}/pieces"),
                &app.guichet_token,
                multipart(&[("kind", "identite"), ("member", "Léa Fusion-it")], Some(&only_absorbed)),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let moved_piece = r.json()["piece"]["id"].as_str().unwrap().to_owned();
        let mark = format!("/api/v1/dossiers/{absorbed}/pieces/{moved_piece}/versions/1/mark");
        let r =
            app.post_json(&mark, &app.guichet_token, json!({"mark": "obsolete", "reason": "ancienne adresse"})).await;
        assert!(r.status.is_success(), "{:?}", r.body);

        // A renewal notice about the absorbed demand waits in the outbox.
        let nu = vault::domain::NumeroUnique::parse(&absorbed).unwrap();
        let row = app.vault.db().dossier_by_nu(&nu).await.unwrap().unwrap();
        let issued = vault::notices::issue(
            &app.vault,
            std::slice::from_ref(&row),
            vault::domain::NoticeKind::Renewal,
            today,
            |_| vault::db::notices::Because::Expiring,
        )
        .await
        .unwrap();
        assert_eq!(issued, vec![Some(1)]);
        let waiting = || async { vault::notices::deliver(&app.vault, true, || false).await.unwrap().waiting };
        assert_eq!(waiting().await, 1);

        // Bad requests change nothing.
        let url = format!("/api/v1/dossiers/{kept}/merges");
        let r = app.post_json(&url, &app.guichet_token, json!({"absorb": kept})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        let r = app.post_json(&url, &app.guichet_token, json!({"numero": absorbed})).await;
        assert!(r.status.is_client_error());
        let r = app.post_json(&url, &app.bailleur_token, json!({"absorb": absorbed})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a landlord reads both but merges neither");

        let r = app.post_json(&url, &app.guichet_token, json!({"absorb": absorbed})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let m = r.json();
        assert_eq!((m["versions_moved"].as_u64(), m["versions_already_held"].as_u64()), (Some(1), Some(1)));
        assert_eq!(m["dossier"]["deposited_on"], older.as_str(), "the oldest deposit is kept");
        assert_eq!(m["dossier"]["status"], "active");

        // The kept dossier holds both pieces, the moved one readable, named
        // and marked as before, under its own key.
        let d = app.get(&format!("/api/v1/dossiers/{kept}"), &app.guichet_token).await.json();
        let pieces = d["pieces"].as_array().unwrap();
        assert_eq!(pieces.len(), 2, "{d}");
        let moved = pieces.iter().find(|p| p["id"] == moved_piece.as_str()).expect("the absorbed piece moved");
        assert_eq!(moved["member"], "Léa Fusion-it");
        assert_eq!(moved["current"]["mark"]["mark"], "obsolete", "{moved}");
        assert_eq!(moved["current"]["mark"]["reason"], "ancienne adresse");
        let got = app.original(&kept, &moved_piece).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body.unwrap().to_vec(), only_absorbed);

        // The absorbed number: radiated for fusion, pointing to the kept one.
        let a = app.get(&format!("/api/v1/dossiers/{absorbed}"), &app.guichet_token).await.json();
        assert_eq!((a["status"].as_str(), a["radiation_reason"].as_str()), (Some("radiated"), Some("fusion")));
        assert_eq!(a["merged_into"], kept.as_str());
        assert_eq!(a["pieces"].as_array().unwrap().len(), 0, "{a}");
        assert_eq!(waiting().await, 0, "the absorbed demand's renewal notice is withdrawn");
        let r = app.post_json(&url, &app.guichet_token, json!({"absorb": absorbed})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "merged twice");
        // The guichet's page of the absorbed number says where it went.
        let cookie = crate::web::agent_cookie(&app).await;
        let page = app
            .send(
                axum::http::Request::get(format!("/dossiers/{absorbed}"))
                    .header("cookie", cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let html = String::from_utf8(page.body.unwrap().to_vec()).unwrap();
        assert!(html.contains(&format!("réunie à la demande <a href=\"/dossiers/{kept}\">{kept}</a>")), "{html}");

        // One history: the absorbed number's uploads in the kept trace.
        let id_of = |nu: &str| {
            let nu = vault::domain::NumeroUnique::parse(nu).unwrap();
            let db = app.vault.db().clone();
            async move { db.dossier_by_nu(&nu).await.unwrap().unwrap().id }
        };
        let trace = app.vault.db().audit_of_dossier(id_of(&kept).await).await.unwrap();
        let count = |action: &str| trace.iter().filter(|e| e.fields[2].as_deref() == Some(action)).count();
        assert_eq!(count("piece.upload"), 3);
        assert_eq!(count("dossier.merge"), 1);

        // Nothing of the absorbed dossier is left in the store, and the
        // integrity checks and the journal are clean.
        let id = id_of(&absorbed).await;
        let left = app.vault.store().list().await.unwrap();
        assert!(
            !left.iter().any(|o| matches!(o.key, vault::store::ObjectKey::Dossier { dossier, .. } if dossier == id)),
            "an absorbed object is still stored"
        );
        assert!(vault::jobs::check::check(&app.vault, true, |_, _| {}).await.unwrap().is_clean());
        assert!(vault::audit::verify(&app.vault).await.unwrap().is_clean());
    }
}
