//! Master key rotation and rewrap, crypto-shredding, and no plaintext at rest.

use axum::http::StatusCode;
use vault::{
    crypto::DossierKey,
    domain::NumeroUnique,
    jobs::rewrap::rewrap_all,
    keys::{master_ring as load_master_keys, write_private_file},
};

use crate::common::{DbKind, S3Server, TestApp, databases, doc_of, multipart_named};

async fn dossier_id(app: &TestApp, nu: &str) -> uuid::Uuid {
    app.vault.db().dossier_by_nu(&NumeroUnique::parse(nu).unwrap()).await.unwrap().unwrap().id
}

fn rotate(app: &TestApp) -> u32 {
    let source = &app.vault.config().master_key;
    let mut ring = load_master_keys(source).unwrap();
    let v = ring.rotate().unwrap();
    write_private_file(&app.dir.path().join("dev-master.key"), ring.to_text().as_bytes()).unwrap();
    v
}

#[tokio::test]
async fn rotate_then_rewrap_keeps_every_object_readable_and_resumes_after_a_kill() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let mut docs = Vec::new();
        for i in 0..12u8 {
            let nu = app.register().await;
            let data = doc_of(70_000 + usize::from(i), i);
            let piece = app.upload_ok(&nu, &data).await;
            docs.push((nu, piece, data));
        }
        assert_eq!(app.vault.db().key_versions_in_use().await.unwrap(), vec![(1, 12)]);
        assert_eq!(rotate(&app), 2);

        // Kill the rewrap after its first batch: cancel the job at its next await.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut tx = Some(tx);
        tokio::select! {
            _ = rewrap_all(&app.vault, 1, |_| { if let Some(t) = tx.take() { let _ = t.send(()); } }) => panic!("rewrap finished before it was killed"),
            _ = rx => {}
        }
        let mid = app.vault.db().key_versions_in_use().await.unwrap();
        assert!(mid.iter().any(|(v, _)| *v == 1) && mid.iter().any(|(v, _)| *v == 2), "half-done state: {mid:?}");
        // Objects stay readable in the half-done state (old and new versions).
        for (nu, piece, data) in &docs {
            assert_eq!(app.original(nu, piece).await.body.unwrap().to_vec(), *data);
        }

        let report = rewrap_all(&app.vault, 5, |_| {}).await.unwrap();
        // The resumed run did only what was left (a statement already sent
        // when the job was killed may still have landed, so not an exact sum).
        assert!(report.rewrapped >= 1 && report.rewrapped < 12, "resumed run rewrapped {}", report.rewrapped);
        assert_eq!(app.vault.db().key_versions_in_use().await.unwrap(), vec![(2, 12)], "no key left on version 1");
        for (nu, piece, data) in &docs {
            assert_eq!(app.original(nu, piece).await.body.unwrap().to_vec(), *data);
        }
        // New dossiers are wrapped with the new version.
        let nu = app.register().await;
        let w = app.vault.db().wrapped_key(dossier_id(&app, &nu).await).await.unwrap().unwrap();
        assert_eq!(w.kek_version, 2);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

#[tokio::test]
async fn shredding_a_dossier_makes_its_objects_unreadable_and_spares_the_others() {
    let app = TestApp::builder().build().await;
    let nu_a = app.register().await;
    let nu_b = app.register().await;
    let piece_a = app.upload_ok(&nu_a, &doc_of(200_000, 1)).await;
    let piece_b = app.upload_ok(&nu_b, &doc_of(200_000, 2)).await;
    let (a, b) = (dossier_id(&app, &nu_a).await, dossier_id(&app, &nu_b).await);
    let wrapped_a = app.vault.db().wrapped_key(a).await.unwrap().unwrap();
    let version_a = app.vault.db().versions_of_dossier(a).await.unwrap().pop().unwrap();
    let object_a =
        std::fs::read(app.dir.path().join(format!("objects/dossiers/{a}/{}.dnuv", version_a.object_id))).unwrap();

    assert!(app.vault.shred_dossier(a).await.unwrap());

    // The vault refuses, and says why.
    let r = app.original(&nu_a, &piece_a).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("erased"));
    // The key is gone from the database files, WAL included.
    assert!(app.vault.db().wrapped_key(a).await.unwrap().is_none());
    for f in files_under(app.dir.path()).iter().filter(|f| f.to_string_lossy().contains("vault.db")) {
        assert!(!contains(&std::fs::read(f).unwrap(), &wrapped_a.bytes), "wrapped key still in {}", f.display());
    }
    // The objects are gone from the store.
    assert!(!app.dir.path().join(format!("objects/dossiers/{a}/{}.dnuv", version_a.object_id)).exists());
    // With the master key and a copy of the object, none of the keys the
    // vault still holds opens it.
    let ring = app.vault.keys();
    for d in app.vault.db().dossier_ids().await.unwrap() {
        let Some(w) = app.vault.db().wrapped_key(d).await.unwrap() else { continue };
        assert!(DossierKey::unwrap(a, &w, &ring).is_err(), "dossier {d}'s wrapped key must not unwrap as {a}'s");
        let k = DossierKey::unwrap(d, &w, &ring).unwrap();
        assert!(
            vault::crypto::stream::Opener::new(&k, version_a.object_id, &object_a[..vault::crypto::stream::HEADER])
                .is_err()
        );
    }
    // The other dossier is intact.
    assert_eq!(app.original(&nu_b, &piece_b).await.body.unwrap().to_vec(), doc_of(200_000, 2));
    let _ = b;
}

#[tokio::test]
async fn no_plaintext_at_rest_on_either_store() {
    const MARKER: &[u8] = b"MARKER-7f3a9c-CONFIDENTIEL";
    let mut payload = MARKER.to_vec();
    payload.extend(intake::sample::pseudo_random(150_000, 5));
    payload.extend_from_slice(MARKER);
    let doc = intake::sample::pdf_with_payload(&payload);

    let s3 = S3Server::start().await;
    for db in databases() {
        for on_s3 in [false, true] {
            let builder = TestApp::builder().db(db);
            let app = if on_s3 { builder.s3(s3.bucket().await).build().await } else { builder.build().await };
            let nu = app.register().await;
            // The marker is in the file name too: names are personal data, sealed.
            let name = format!("avis-{}.pdf", String::from_utf8_lossy(MARKER));
            let body = multipart_named(&[("kind", "avis_imposition_n1")], &name, Some(&doc));
            let r = app.post_multipart(&format!("/api/v1/dossiers/{nu}/pieces"), &app.guichet_token, body).await;
            assert_eq!(r.status, StatusCode::CREATED);
            assert_eq!(r.json()["version"]["filename"], name.as_str(), "authorised readers see the name");
            let piece = r.json()["piece"]["id"].as_str().unwrap().to_owned();
            assert_eq!(app.original(&nu, &piece).await.body.unwrap().to_vec(), doc);
            if db == DbKind::Postgres {
                // PostgreSQL's files are not ours to read: look at every row instead.
                let hex_marker = hex::encode(MARKER);
                for table in [
                    "organisations",
                    "agents",
                    "dossiers",
                    "dossier_keys",
                    "objects",
                    "pieces",
                    "piece_versions",
                    "audit_events",
                ] {
                    let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS r FROM {table} t"))
                        .fetch_all(app.vault.db().pool())
                        .await
                        .unwrap();
                    for row in rows {
                        let text: String = sqlx::Row::try_get(&row, "r").unwrap();
                        assert!(
                            !text.contains(std::str::from_utf8(MARKER).unwrap()) && !text.contains(&hex_marker),
                            "marker in {table}"
                        );
                    }
                }
            }
            let mut files = files_under(app.dir.path());
            if on_s3 {
                files.extend(files_under(&s3.root));
            }
            assert!(!files.is_empty());
            for f in files {
                assert!(!contains(&std::fs::read(&f).unwrap(), MARKER), "plaintext marker found in {}", f.display());
            }
        }
    }
}
