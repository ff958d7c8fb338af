//! Backup and restore on the embedded default (SQLite, local directory):
//! the restored vault serves the same bytes and its audit chain verifies;
//! a damaged backup is refused before any database is written. (The same
//! drill on PostgreSQL and Garage runs in `tests/e2e/cluster.rs`.)

use axum::http::StatusCode;
use vault::{
    Config, Vault,
    app::Schema,
    audit::{verify, write_checkpoint},
    jobs::backup,
};

use crate::common::{TestApp, doc_of};

#[tokio::test]
async fn a_backup_restores_the_embedded_vault_byte_for_byte() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let mut uploaded = Vec::new();
    for i in 0..3u8 {
        let doc = doc_of(20_000 + usize::from(i) * 1000, 40 + i);
        let piece = app.upload_ok(&nu, &doc).await;
        assert_eq!(app.original(&nu, &piece).await.body.unwrap().to_vec(), doc);
        uploaded.push((piece, doc));
    }
    write_checkpoint(&app.vault).await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("backup");
    let manifest = backup::backup(&app.vault, &dir, |_, _| {}).await.unwrap();
    assert_eq!(manifest.database, "sqlite");
    // Every object and every audit checkpoint (without them the restored
    // journal could not be verified), and the database file's SHA-256.
    let checkpoints = app.vault.store().list_checkpoints().await.unwrap().len();
    assert_eq!(checkpoints, 1);
    assert_eq!(manifest.objects.len(), app.vault.store().list().await.unwrap().len() + checkpoints);
    assert_eq!(manifest.database_sha256.as_ref().map(String::len), Some(64));
    assert!(backup::backup(&app.vault, &dir, |_, _| {}).await.unwrap_err().to_string().contains("not empty"));

    // Key files go elsewhere, never inside the backup.
    let target = work.path().join("restored");
    assert!(backup::copy_keys(app.vault.config(), &dir, &dir.join("keys")).is_err());
    backup::copy_keys(app.vault.config(), &dir, &target).unwrap();

    // A damaged object is refused, and no database is written.
    let damaged = work.path().join("damaged");
    copy_dir(&dir, &damaged);
    let victim = damaged.join("objects").join(&manifest.objects[0].key);
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let elsewhere = work.path().join("elsewhere");
    let err = backup::restore(&Config::for_tests(&elsewhere, None), &damaged, |_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(!elsewhere.join("vault.db").exists());
    // So is a damaged database file.
    let damaged_db = work.path().join("damaged-db");
    copy_dir(&dir, &damaged_db);
    let db_file = damaged_db.join("database.sqlite");
    let mut bytes = std::fs::read(&db_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&db_file, bytes).unwrap();
    let err = backup::restore(&Config::for_tests(&elsewhere, None), &damaged_db, |_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("database file of the backup is damaged"), "{err}");
    assert!(!elsewhere.join("vault.db").exists());

    // The real restore, then the vault opens on it with the same keys.
    let mut config = Config::for_tests(&target, None);
    config.intake.exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_dnu-vault"));
    let restored = backup::restore(&config, &dir, |_, _| {}).await.unwrap();
    assert_eq!(restored.objects.len(), manifest.objects.len());
    assert!(backup::restore(&config, &dir, |_, _| {}).await.unwrap_err().to_string().contains("exists"));
    let vault = Vault::open(config, Schema::RequireCurrent).await.unwrap();
    let report = verify(&vault).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.checkpoints, 1, "the checkpoint came back with the backup");
    let again = TestApp { vault: vault.clone(), router: vault::router::router(vault), ..app };
    for (piece, doc) in &uploaded {
        let r = again.original(&nu, piece).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.unwrap() == *doc, "piece {piece} differs after the restore");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
