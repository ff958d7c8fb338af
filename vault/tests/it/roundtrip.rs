//! Byte-identical round trips on both object stores and both databases,
//! de-duplication and versioning.

use axum::http::StatusCode;

use crate::common::{DbKind, TestApp, databases, doc_of, multipart, s3_servers};

// Around the 64 KiB chunk boundary and well past it (the empty and
// one-byte streams are covered by the crypto unit tests; they are not
// documents the intake would accept).
const SIZES: [usize; 5] = [intake::sample::MIN_PADDED_LEN, 65_535, 65_536, 65_537, 10 * 1024 * 1024];

async fn round_trips(app: &TestApp) {
    let nu = app.register().await;
    for (i, len) in SIZES.into_iter().enumerate() {
        let data = doc_of(len, i as u8);
        let r = app.upload(&nu, "ressources", &data).await;
        assert_eq!(r.status, StatusCode::CREATED, "upload of {len} bytes: {:?}", r.body);
        let j = r.json();
        assert_eq!(j["version"]["size_bytes"], len as u64);
        assert_eq!(j["version"]["sha256"], hex::encode(vault::crypto::sha256(&data)));
        let piece = j["piece"]["id"].as_str().unwrap();
        let got = app.original(&nu, piece).await;
        assert_eq!(got.status, StatusCode::OK);
        assert!(got.body.as_ref().unwrap()[..] == data[..], "{len} bytes did not round-trip");
    }
}

#[tokio::test]
async fn round_trips_on_local_store_and_every_database() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        round_trips(&app).await;
    }
}

#[tokio::test]
async fn round_trips_on_s3_and_every_database() {
    for s3 in s3_servers().await {
        for db in databases() {
            let app = TestApp::builder().db(db).s3(s3.bucket().await).build().await;
            round_trips(&app).await;
            // What the bucket holds is exactly what the registry knows: each
            // upload's original, rendition and thumbnail.
            let listed = app.vault.store().list().await.unwrap();
            assert_eq!(listed.len(), SIZES.len() * 3, "on {}", s3.name);
        }
    }
}

#[tokio::test]
async fn identical_bytes_are_stored_once_and_versions_accumulate() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let data = doc_of(100_000, 7);
        let first = app.upload(&nu, "identite", &data).await;
        assert_eq!(first.status, StatusCode::CREATED);
        let again = app.upload(&nu, "identite", &data).await;
        assert_eq!(again.status, StatusCode::OK, "a duplicate answers 200 with the existing version");
        assert_eq!(again.json()["duplicate"], true);
        assert_eq!(again.json()["version"]["id"], first.json()["version"]["id"]);
        assert_eq!(app.vault.store().list().await.unwrap().len(), 3, "the duplicate was not kept");

        // A new version of the same piece.
        let piece = first.json()["piece"]["id"].as_str().unwrap().to_owned();
        let v2 = doc_of(5_000, 8);
        let body = multipart(&[("piece", &piece)], Some(&v2));
        let r = app.post_multipart(&format!("/api/v1/dossiers/{nu}/pieces"), &app.guichet_token, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.json()["version"]["number"], 2);
        let show = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}"), &app.guichet_token).await.json();
        let versions = show["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0]["size_bytes"], 100_000);
        assert_eq!(versions[1]["size_bytes"], 5_000);
        // Version 1 is still there, unchanged; the latest is served by default.
        let v1 = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original?version=1"), &app.guichet_token).await;
        assert_eq!(v1.body.unwrap().to_vec(), data);
        assert_eq!(app.original(&nu, &piece).await.body.unwrap().to_vec(), v2);

        // The same bytes in another dossier are another object.
        let nu2 = app.register().await;
        assert_eq!(app.upload(&nu2, "identite", &data).await.status, StatusCode::CREATED);
        let d = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.json();
        assert_eq!(d["pieces"].as_array().unwrap().len(), 1);
        assert_eq!(d["pieces"][0]["versions"], 2);
        // Registration, each stored version and each read left an audit event.
        let id =
            app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        let count = |action: &'static str| {
            let db = app.vault.db().clone();
            async move { db.audit_count(id, action).await.unwrap() }
        };
        assert_eq!(count("dossier.register").await, 1);
        assert_eq!(count("piece.upload").await, 2, "the duplicate stored nothing and is not an upload");
        assert_eq!(count("piece.read_original").await, 2);
        if db == DbKind::Postgres {
            assert_eq!(app.vault.db().backend(), vault::db::Backend::Postgres);
        }
    }
}

#[tokio::test]
async fn issued_numbers_follow_the_structure_and_given_ones_are_kept() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let a = app.register().await;
        let b = app.register().await;
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("059") && a.ends_with("DKMAI"), "{a}");
        assert_ne!(a, b);
        assert_eq!(&a[..7], &b[..7]);
        let seq = |s: &str| s[7..13].parse::<u32>().unwrap();
        // Drawn at random among the month's free numbers, never 0 (see
        // access.rs for why they are not sequential).
        assert!((1..=999_999).contains(&seq(&a)) && (1..=999_999).contains(&seq(&b)));
        let r = app
            .post_json(
                "/api/v1/dossiers",
                &app.guichet_token,
                serde_json::json!({"numero_unique": "0591023517879GDPUB", "communes": ["59183", "59350"], "deposited_on": "2023-10-05"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.json()["valid_until"], "2024-10-05");
        let again = app
            .post_json(
                "/api/v1/dossiers",
                &app.guichet_token,
                serde_json::json!({"numero_unique": "0591023517879GDPUB", "communes": ["59183"], "deposited_on": "2023-10-20"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let d = app.get("/api/v1/dossiers/0591023517879GDPUB", &app.guichet_token).await;
        assert_eq!(d.status, StatusCode::OK);
        assert_eq!(d.json()["communes"], serde_json::json!(["59183", "59350"]));
    }
}
