//! Tampering with stored objects or wrapped keys fails closed: either an
//! error status before any byte, or an aborted body — never a complete 200.

use std::path::PathBuf;

use axum::http::StatusCode;
use vault::{
    crypto::stream::{CHUNK, HEADER, TAG},
    domain::NumeroUnique,
};

use crate::common::{Resp, TestApp, doc_of};

fn failed_closed(r: &Resp) -> bool {
    !(r.status == StatusCode::OK && r.body.is_ok())
}

fn integrity_status(r: &Resp) -> bool {
    r.status == StatusCode::INTERNAL_SERVER_ERROR && r.error_code() == "integrity_failure"
}

async fn object_path(app: &TestApp, nu: &str) -> (uuid::Uuid, PathBuf) {
    let d = app.vault.db().dossier_by_nu(&NumeroUnique::parse(nu).unwrap()).await.unwrap().unwrap();
    let v = app.vault.db().versions_of_dossier(d.id).await.unwrap().pop().unwrap();
    (d.id, app.dir.path().join("objects").join(format!("dossiers/{}/{}.dnuv", d.id, v.object_id)))
}

#[tokio::test]
async fn tampering_fails_closed() {
    let app = TestApp::builder().build().await;
    let len = 3 * CHUNK + 100;
    let nu_a = app.register().await;
    let piece_a = app.upload_ok(&nu_a, &doc_of(len, 1)).await;
    let (dossier_a, path_a) = object_path(&app, &nu_a).await;
    let nu_b = app.register().await;
    let _ = app.upload_ok(&nu_b, &doc_of(len, 2)).await;
    let (dossier_b, path_b) = object_path(&app, &nu_b).await;
    let original = std::fs::read(&path_a).unwrap();
    assert_eq!(app.original(&nu_a, &piece_a).await.body.unwrap().len(), len);

    let chunk = |i: usize| HEADER + i * (CHUNK + TAG);
    let mut cases: Vec<(&str, Vec<u8>, bool)> = Vec::new();
    for (what, pos, early) in [
        ("header byte", 50, true),
        ("first chunk byte", chunk(0) + 10, true),
        ("third chunk byte", chunk(2) + 10, false),
        ("tag of the last chunk", original.len() - 1, false),
    ] {
        let mut t = original.clone();
        t[pos] ^= 0x01;
        cases.push((what, t, early));
    }
    cases.push(("truncated at a chunk boundary", original[..chunk(2)].to_vec(), false));
    cases.push(("truncated to the header", original[..HEADER].to_vec(), true));
    let mut swapped = original.clone();
    swapped[chunk(1)..chunk(2)].copy_from_slice(&original[chunk(2)..chunk(3)]);
    swapped[chunk(2)..chunk(3)].copy_from_slice(&original[chunk(1)..chunk(2)]);
    cases.push(("chunks 1 and 2 reordered", swapped, false));
    let mut swapped = original.clone();
    swapped[chunk(0)..chunk(1)].copy_from_slice(&original[chunk(1)..chunk(2)]);
    swapped[chunk(1)..chunk(2)].copy_from_slice(&original[chunk(0)..chunk(1)]);
    cases.push(("chunks 0 and 1 reordered", swapped, true));
    cases.push(("object of another dossier copied over", std::fs::read(&path_b).unwrap(), true));

    // Another piece of the same dossier.
    let _ = app.upload_ok(&nu_a, &doc_of(len, 3)).await;
    let d = app.vault.db().versions_of_dossier(dossier_a).await.unwrap();
    let other = app.dir.path().join("objects").join(format!("dossiers/{dossier_a}/{}.dnuv", d[1].object_id));
    cases.push(("object of another piece copied over", std::fs::read(&other).unwrap(), true));

    for (what, bytes, early) in cases {
        std::fs::write(&path_a, &bytes).unwrap();
        let r = app.original(&nu_a, &piece_a).await;
        assert!(failed_closed(&r), "{what}: served as complete");
        if early {
            assert!(integrity_status(&r), "{what}: expected an integrity error status, got {}", r.status);
        } else {
            assert_eq!(r.status, StatusCode::OK, "{what}");
            assert!(r.body.is_err(), "{what}: the body must be aborted");
        }
    }
    std::fs::write(&path_a, &original).unwrap();
    assert_eq!(app.original(&nu_a, &piece_a).await.body.unwrap().len(), len, "restored object reads again");

    // A wrapped key copied from another dossier does not unwrap.
    let key_b = app.vault.db().wrapped_key(dossier_b).await.unwrap().unwrap();
    sqlx::query("UPDATE dossier_keys SET wrapped = $1, kek_version = $2 WHERE dossier_id = $3")
        .bind(key_b.bytes.clone())
        .bind(i64::from(key_b.kek_version))
        .bind(dossier_a.to_string())
        .execute(app.vault.db().pool())
        .await
        .unwrap();
    let r = app.original(&nu_a, &piece_a).await;
    assert!(integrity_status(&r), "copied wrapped key: {}", r.status);
}
