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

async fn exec(app: &TestApp, sql: &str, binds: &[String]) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    q.execute(app.vault.db().pool()).await.unwrap();
}

/// Swaps two pieces' (single) versions' originals, through a placeholder
/// (object ids are unique and must name a registered object).
async fn swap_originals(app: &TestApp, a: &str, b: &str) {
    let of = |p: &str| format!("(SELECT object_id FROM piece_versions WHERE piece_id = '{p}')");
    let (oa, ob): (String, String) =
        sqlx::query_as(&format!("SELECT {}, {}", of(a), of(b))).fetch_one(app.vault.db().pool()).await.unwrap();
    let set = "UPDATE piece_versions SET object_id = $1 WHERE piece_id = $2";
    exec(app, "UPDATE piece_versions SET object_id = rendition_object_id WHERE piece_id = $1", &[a.to_owned()]).await;
    exec(app, set, &[oa, b.to_owned()]).await;
    exec(app, set, &[ob, a.to_owned()]).await;
}

/// Red-team finding 19: a household member's name was stored in clear and
/// outlived crypto-shredding; swapping two versions' objects in the
/// database went unnoticed on read.
#[tokio::test]
async fn rows_are_sealed_and_bound_to_their_objects() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let form = crate::common::multipart(&[("kind", "identite"), ("member", "Jeanne Martin")], Some(&doc_of(4096, 7)));
    let r = app.post_multipart(&format!("/api/v1/dossiers/{nu}/pieces"), &app.guichet_token, form).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["piece"]["member"], "Jeanne Martin");
    let piece_a = r.json()["piece"]["id"].as_str().unwrap().to_owned();
    let piece_b = app.upload_ok(&nu, &doc_of(4096, 8)).await;

    // The name is nowhere in the database in clear.
    let pool = app.vault.db().pool();
    let (clear, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT member, member_sealed FROM pieces WHERE id = $1")
            .bind(&piece_a)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(clear, None);
    let sealed = sealed.expect("sealed member");
    assert!(!sealed.windows(6).any(|w| w == b"Jeanne"), "sealed bytes carry the name");
    let shown = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece_a}"), &app.guichet_token).await;
    assert_eq!(shown.json()["member"], "Jeanne Martin");

    // Swapping the two versions' originals (or a version's rendition and
    // original) in the database is refused on read, and `check` says so.
    let a = app.original(&nu, &piece_a).await.body.unwrap();
    swap_originals(&app, &piece_a, &piece_b).await;
    for piece in [&piece_a, &piece_b] {
        let r = app.original(&nu, piece).await;
        assert!(integrity_status(&r), "swapped originals: {} {:?}", r.status, r.body.as_ref().map(|b| b.len()));
    }
    let report = vault::jobs::check::check(&app.vault, true, |_, _| {}).await.unwrap();
    assert_eq!(report.corrupt.len(), 2, "{report:?}");
    swap_originals(&app, &piece_a, &piece_b).await;
    assert_eq!(app.original(&nu, &piece_a).await.body.unwrap(), a, "swapped back, it reads again");
    exec(
        &app,
        "UPDATE piece_versions SET object_id = rendition_object_id WHERE piece_id = $1",
        std::slice::from_ref(&piece_a),
    )
    .await;
    assert!(integrity_status(&app.original(&nu, &piece_a).await), "rendition served as the original");
    let export = app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), &app.guichet_token).await;
    assert!(integrity_status(&export), "export of an altered dossier: {}", export.status);

    // A clear name left by an older vault is sealed by `keys reseal`, and
    // shredding clears any that is left.
    exec(
        &app,
        "UPDATE pieces SET member_sealed = NULL, member = 'Paul Martin' WHERE id = $1",
        std::slice::from_ref(&piece_b),
    )
    .await;
    let shown = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece_b}"), &app.guichet_token).await;
    assert_eq!(shown.json()["member"], "Paul Martin");
    // And version metadata sealed before it named its objects is bound.
    let d = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap();
    let dk = app.vault.dossier_key(d.id).await.unwrap();
    let version_of_b = || async {
        let all = app.vault.db().versions_of_dossier(d.id).await.unwrap();
        all.into_iter().find(|v| v.piece_id.to_string() == piece_b).unwrap()
    };
    let v = version_of_b().await;
    let mut meta = vault::pieces::SealedMeta::open(&dk, &v).unwrap();
    meta.bound = None;
    let unbound = meta.seal(&dk, v.id).unwrap();
    sqlx::query("UPDATE piece_versions SET sealed_meta = $1 WHERE id = $2")
        .bind(unbound)
        .bind(v.id.to_string())
        .execute(pool)
        .await
        .unwrap();
    let report = vault::jobs::reseal::reseal_all(&app.vault, |_| {}).await.unwrap();
    assert_eq!((report.members, report.versions), (1, 1), "{report:?}");
    let v = version_of_b().await;
    assert!(vault::pieces::SealedMeta::open(&dk, &v).unwrap().bound.is_some());
    let clear: Option<String> =
        sqlx::query_scalar("SELECT member FROM pieces WHERE id = $1").bind(&piece_b).fetch_one(pool).await.unwrap();
    assert_eq!(clear, None);
    let shown = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece_b}"), &app.guichet_token).await;
    assert_eq!(shown.json()["member"], "Paul Martin", "sealed by reseal, still readable");
    exec(
        &app,
        "UPDATE pieces SET member_sealed = NULL, member = 'Paul Martin' WHERE id = $1",
        std::slice::from_ref(&piece_b),
    )
    .await;
    assert!(app.vault.db().shred_dossier_key(d.id).await.unwrap());
    let left: Vec<Option<String>> = sqlx::query_scalar("SELECT member FROM pieces WHERE dossier_id = $1")
        .bind(d.id.to_string())
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(left.iter().all(Option::is_none), "{left:?}");
}
