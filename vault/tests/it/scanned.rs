//! What scanner-ingest relies on: an `Idempotency-Key` files at most one
//! version however often an upload is retried (both databases), scoped to
//! the uploader and refused when reused for other bytes; and a
//! scanned piece's provenance is kept (sealed) and shown to readers.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::json;

use crate::common::{BOUNDARY, Resp, TestApp, databases, doc_of, multipart};

async fn upload_with_key(app: &TestApp, nu: &str, key: &str, fields: &[(&str, &str)], doc: &[u8]) -> Resp {
    upload_as(app, &app.guichet_token, nu, key, fields, doc).await
}

async fn upload_as(app: &TestApp, token: &str, nu: &str, key: &str, fields: &[(&str, &str)], doc: &[u8]) -> Resp {
    let body = multipart(fields, Some(doc));
    app.send(
        Request::post(format!("/api/v1/dossiers/{nu}/pieces"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn an_idempotency_key_files_one_version_however_often_it_is_sent() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let first = upload_with_key(&app, &nu, "batch-7f3a-group-1", &[("kind", "ressources")], &doc_of(4000, 1)).await;
        assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
        let version = first.json()["version"]["id"].clone();
        // A retry answers with the version the first attempt filed, and
        // stores nothing new (scanner-ingest re-sends the spooled file).
        for _ in 0..2 {
            let again =
                upload_with_key(&app, &nu, "batch-7f3a-group-1", &[("kind", "ressources")], &doc_of(4000, 1)).await;
            assert_eq!(again.status, StatusCode::OK, "{db:?}");
            assert_eq!(again.json()["version"]["id"], version);
            assert_eq!(again.json()["duplicate"], true);
        }
        // The same key with other bytes is a reused key, refused (it used
        // to be dropped silently as a duplicate).
        let reused =
            upload_with_key(&app, &nu, "batch-7f3a-group-1", &[("kind", "ressources")], &doc_of(4100, 2)).await;
        assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY, "{db:?}");
        assert!(reused.json()["error"]["message"].as_str().unwrap().contains("different document"));
        // Another uploader's key is not this one: the applicant's upload
        // under the guichet's key is filed (it used to be dropped).
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, json!({"communes": ["59183"]})).await;
        let j = r.json();
        let own = j["numero_unique"].as_str().unwrap().to_owned();
        let token = app
            .post_json(
                "/api/v1/session",
                "",
                json!({"identifier": j["applicant"]["identifier"], "code": j["applicant"]["code"]}),
            )
            .await
            .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_guichet =
            upload_with_key(&app, &own, "shared-key-1234", &[("kind", "ressources")], &doc_of(4300, 5)).await;
        assert_eq!(by_guichet.status, StatusCode::CREATED);
        let by_applicant = app
            .send(
                Request::post(format!("/api/v1/dossiers/{own}/pieces"))
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                    .header("idempotency-key", "shared-key-1234")
                    .body(Body::from(multipart(&[("kind", "identite")], Some(&doc_of(4400, 6)))))
                    .unwrap(),
            )
            .await;
        assert_eq!(by_applicant.status, StatusCode::CREATED, "{db:?}: {:?}", by_applicant.body);
        assert_ne!(by_applicant.json()["version"]["id"], by_guichet.json()["version"]["id"]);
        let dossier = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.json();
        assert_eq!(dossier["pieces"].as_array().unwrap().len(), 1, "{db:?}: {dossier}");
        // Another key is another upload; the same key on another dossier too.
        let other = upload_with_key(&app, &nu, "batch-7f3a-group-2", &[("kind", "identite")], &doc_of(4200, 3)).await;
        assert_eq!(other.status, StatusCode::CREATED);
        let nu2 = app.register().await;
        let elsewhere =
            upload_with_key(&app, &nu2, "batch-7f3a-group-1", &[("kind", "ressources")], &doc_of(4000, 1)).await;
        assert_eq!(elsewhere.status, StatusCode::CREATED);
        // A malformed key is refused before anything is read.
        let bad = upload_with_key(&app, &nu, "short", &[("kind", "ressources")], &doc_of(4000, 4)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.json()["error"]["message"].as_str().unwrap().contains("Idempotency-Key"));
    }
}

#[tokio::test]
async fn scan_provenance_is_kept_and_shown() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let hashes = ["a1".repeat(32), "b2".repeat(32)];
    let scan = json!({"host": "scan-mairie-01", "scanned_at": 1_764_064_800_000i64, "images_sha256": hashes});
    // Red-team finding 17: a person's upload cannot claim to be a scan.
    let fields = [("kind", "ressources"), ("scan", &*scan.to_string())];
    let r = upload_as(&app, &app.guichet_token, &nu, "batch-scan-0000", &fields, &doc_of(3000, 9)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("scanner"));
    let r = upload_as(
        &app,
        &app.scanner_token,
        &nu,
        "batch-scan-0001",
        &[("kind", "ressources"), ("scan", &scan.to_string())],
        &doc_of(3000, 9),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let piece = r.json()["piece"]["id"].as_str().unwrap().to_owned();
    let shown = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}"), &app.guichet_token).await.json();
    let v = &shown["versions"][0];
    assert_eq!(v["scan"], scan, "{shown}");
    assert!(v["uploaded_by_agent"].is_string() && v["uploaded_by_organisation"].is_string());
    // The database holds it sealed: the host name is nowhere in clear.
    let rows: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed_meta FROM piece_versions").fetch_all(app.vault.db().pool()).await.unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|m| !m.windows(14).any(|w| w == b"scan-mairie-01")));

    // Malformed provenance is refused, naming the field.
    for bad in [
        json!({"host": "bad host", "scanned_at": 1_764_064_800_000i64, "images_sha256": [hashes[0]]}),
        json!({"host": "h", "scanned_at": 1_764_064_800_000i64, "images_sha256": ["zz"]}),
        json!({"host": "h", "scanned_at": 5, "images_sha256": [hashes[0]]}),
        json!({"host": "h"}),
    ] {
        let r = app
            .post_multipart(
                &format!("/api/v1/dossiers/{nu}/pieces"),
                &app.scanner_token,
                multipart(&[("kind", "identite"), ("scan", &bad.to_string())], Some(&doc_of(3000, 10))),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("scan"), "{bad}");
    }
}

/// The guichet's dossier page says, beside the separator sheet, which pieces
/// its own scanner filed, when they were scanned and when the vault filed
/// them; a piece the agent uploaded by hand is not among them.
#[tokio::test]
async fn the_dossier_page_shows_what_this_guichet_scanned_and_when_it_was_filed() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let cookie = crate::web::agent_cookie(&app).await;
    let page = || async {
        let r = app
            .send(Request::get(format!("/dossiers/{nu}")).header("cookie", &cookie).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        String::from_utf8(r.body.unwrap().to_vec()).unwrap()
    };
    let sheet_section = |html: &str| html.split("Imprimer une feuille de séparation").nth(1).unwrap().to_owned();
    assert!(
        sheet_section(&page().await).contains("Aucune pièce de ce dossier n'a encore été numérisée à votre guichet")
    );

    let by_hand =
        upload_as(&app, &app.guichet_token, &nu, "hand-0001", &[("kind", "identite")], &doc_of(3000, 4)).await;
    assert_eq!(by_hand.status, StatusCode::CREATED, "{:?}", by_hand.body);
    // 2025-11-25 10:00 UTC: 11:00 in Paris, where the service's zone is.
    let scan =
        json!({"host": "scan-mairie-01", "scanned_at": 1_764_064_800_000i64, "images_sha256": ["c3".repeat(32)]});
    let r = upload_as(
        &app,
        &app.scanner_token,
        &nu,
        "batch-scan-0002",
        &[("kind", "ressources"), ("scan", &scan.to_string())],
        &doc_of(3000, 5),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let filed_at = r.json()["version"]["uploaded_at"].as_i64().expect("uploaded_at");
    let filed = vault::web::fr::moment(vault::clock::Zone::Paris, filed_at);

    let html = page().await;
    let section = sheet_section(&html);
    let table = section
        .split("id=\"scanned-here\"")
        .nth(1)
        .expect("the table of this guichet's scans")
        .split("</table>")
        .next()
        .unwrap();
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 1, "only the scanned piece: {table}");
    assert!(rows[0].contains("25/11/2025 à 11:00"), "scanned when: {}", rows[0]);
    assert!(rows[0].contains(&filed), "filed when ({filed}): {}", rows[0]);
    assert!(rows[0].contains("scan-mairie-01"));
    // The provenance column of the pieces' table says both as well.
    assert!(html.contains(&format!("classée dans le dossier le {filed}")), "{html}");
}
