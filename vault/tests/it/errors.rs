//! Bad input answers the DESIGN §6 JSON error with the right status.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};

use crate::common::{BOUNDARY, TestApp, doc_of, multipart};

#[tokio::test]
async fn refusals_are_clear_json_errors() {
    let app = TestApp::builder().max_upload(100_000).build().await;
    let nu = app.register().await;

    // 401: no token, malformed header, unknown token.
    let r = app.send(Request::get(format!("/api/v1/dossiers/{nu}")).body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let r = app
        .send(
            Request::get(format!("/api/v1/dossiers/{nu}"))
                .header("authorization", "Basic x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get(&format!("/api/v1/dossiers/{nu}"), "dnuv_not-a-real-token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("unknown"));

    // 403: what the policy does not allow. A bailleur of the territory reads
    // the dossier but neither uploads nor reads originals.
    assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}"), &app.bailleur_token).await.status, StatusCode::OK);
    let piece = app.upload_ok(&nu, &doc_of(1000, 1)).await;
    let r = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original"), &app.bailleur_token).await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("piece.read_original"));
    let r = app
        .post_multipart(
            &format!("/api/v1/dossiers/{nu}/pieces"),
            &app.bailleur_token,
            multipart(&[("kind", "identite")], Some(b"x")),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A guichet registers only on its territory (Dunkerque, not Lille).
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["59350"]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // An unknown dossier is refused like one out of reach (no existence
    // oracle, `access.rs`); 404: unknown piece of a readable dossier,
    // unknown route.
    let r = app.get("/api/v1/dossiers/1111023517879GDPUB", &app.guichet_token).await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{}", uuid::Uuid::new_v4()), &app.guichet_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/nothing", &app.guichet_token).await.status, StatusCode::NOT_FOUND);

    // 422: malformed numéro unique names the expected format.
    let r = app.get("/api/v1/dossiers/12345", &app.guichet_token).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("18 characters"), "{}", r.json());
    let r = app
        .post_json(
            "/api/v1/dossiers",
            &app.guichet_token,
            serde_json::json!({"numero_unique": "x", "communes": ["59183"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["5918"]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("INSEE"));
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": []})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_json(
            "/api/v1/dossiers",
            &app.guichet_token,
            serde_json::json!({"communes": ["59183"], "deposited_on": "2999-01-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nor before numéros uniques existed (1901 was accepted), nor another
    // month than the one a given number carries.
    for (body, words) in [
        (serde_json::json!({"communes": ["59183"], "deposited_on": "1901-01-01"}), "exist since 1999-01-01"),
        (
            serde_json::json!({"communes": ["59183"], "numero_unique": "0591023517879GDPUB", "deposited_on": "2024-01-10"}),
            "month and year of deposit",
        ),
        // Nor a number of another territory's file.
        (
            serde_json::json!({"communes": ["59183"], "numero_unique": "1111023517879GDPUB", "deposited_on": "2023-10-05"}),
            "not of this shared file's (059)",
        ),
    ] {
        let r = app.post_json("/api/v1/dossiers", &app.guichet_token, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(words), "{:?}", r.body);
    }
    // A forbidden piece kind says why.
    let r = app.upload(&nu, "releve_bancaire", b"x").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("liste limitative"));

    // 400: broken JSON, missing file field, missing kind, unknown field.
    let r = app
        .send(
            Request::post("/api/v1/dossiers")
                .header("authorization", format!("Bearer {}", app.guichet_token))
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    let up = format!("/api/v1/dossiers/{nu}/pieces");
    let r = app.post_multipart(&up, &app.guichet_token, multipart(&[("kind", "identite")], None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("`file`"));
    let r = app.post_multipart(&up, &app.guichet_token, multipart(&[], Some(&doc_of(1000, 3)))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("`kind`"));
    let r = app.post_multipart(&up, &app.guichet_token, multipart(&[("colour", "red")], Some(b"abc"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let many: Vec<(&str, &str)> = std::iter::repeat_n(("member", "demandeur"), 40).collect();
    let r = app.post_multipart(&up, &app.guichet_token, multipart(&many, Some(b"abc"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("form fields"));
    // 415: not multipart.
    let r = app.post_json(&up, &app.guichet_token, serde_json::json!({})).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // 413: declared too large (refused before reading), and streamed too large.
    let r = app
        .send(
            Request::post(&up)
                .header("authorization", format!("Bearer {}", app.guichet_token))
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .header("content-length", "50000000")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.error_code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"));
    let big = multipart(&[("kind", "identite")], Some(&doc_of(100_001, 1)));
    let r = app
        .send(
            Request::post(&up)
                .header("authorization", format!("Bearer {}", app.guichet_token))
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                // No Content-Length: the limit is enforced while streaming.
                .body(Body::from_stream(futures_util::stream::iter(
                    big.chunks(8192).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    // Exactly at the limit is accepted.
    assert_eq!(app.upload(&nu, "identite", &doc_of(100_000, 2)).await.status, StatusCode::CREATED);

    // Nothing refused left anything in the store: the two accepted uploads
    // only, each an original, a rendition and a thumbnail.
    assert_eq!(app.vault.store().list().await.unwrap().len(), 2 * 3);
}

#[tokio::test]
async fn the_catalogue_is_served_and_decides_kinds_and_validity() {
    let app = TestApp::builder().build().await;
    let r = app.send(axum::http::Request::get("/api/v1/catalogue").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let c = r.json();
    let kinds: Vec<&str> = c["kind"].as_array().unwrap().iter().map(|k| k["code"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"avis_imposition_n2") && kinds.contains(&"identite"), "{kinds:?}");
    assert_eq!(c["kind"][0]["validity"]["rule"], "expiry_date");

    let nu = app.register().await;
    let refused = app.upload(&nu, "releve_bancaire", b"%PDF-1.4 releve").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("liste limitative"));
    // A recent document counts three months unless told otherwise.
    let r = app.upload(&nu, "ressources", &doc_of(1000, 9)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let today = time::OffsetDateTime::now_utc().date();
    let expected =
        vault::domain::catalogue::shipped().unwrap().kind("ressources").unwrap().default_valid_until(today).unwrap();
    assert_eq!(r.json()["piece"]["valid_until"], format!("{expected}"));
}

/// What scanner-ingest reads of the vault's answers (`dnu_api::wire`):
/// an upload's receipt and the error body.
#[tokio::test]
async fn answers_read_as_the_shared_contract() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let first = app.upload(&nu, "ressources", &doc_of(2000, 5)).await;
    let receipt: dnu_api::wire::UploadReceipt = serde_json::from_slice(first.body.as_ref().unwrap()).unwrap();
    assert!(!receipt.duplicate);
    assert_eq!(receipt.piece.id, first.json()["piece"]["id"].as_str().unwrap());
    let refused = app.upload(&nu, "carte_vitale", &doc_of(2000, 6)).await;
    let body: dnu_api::wire::ErrorBody = serde_json::from_slice(refused.body.as_ref().unwrap()).unwrap();
    assert_eq!(body.error.code, refused.error_code());
    assert!(body.error.message.contains("carte_vitale"), "{}", body.error.message);
}
