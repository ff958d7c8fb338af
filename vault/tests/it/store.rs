//! The object store contract on both backends: invisible until finished,
//! never overwritten, aborted writes leave nothing, the garbage collector
//! removes only unregistered old objects.

use std::time::{Duration, SystemTime};

use tokio::io::AsyncReadExt;
use uuid::Uuid;
use vault::{
    jobs::gc,
    store::{LocalStore, ObjectKey, ObjectStore, S3Store},
};

use crate::common::{S3Server, TestApp, doc_of, s3_servers};

/// The local store and a bucket on every S3 server of the suite (s3s-fs,
/// and Garage where installed: always in CI).
async fn backends() -> (Vec<ObjectStore>, Vec<S3Server>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let servers = s3_servers().await;
    let mut stores = vec![ObjectStore::Local(LocalStore::open(dir.path()).await.unwrap())];
    for s3 in &servers {
        stores.push(ObjectStore::S3(S3Store::connect(&s3.bucket().await).await.unwrap()));
    }
    (stores, servers, dir)
}

async fn read_all(store: &ObjectStore, key: &ObjectKey) -> Vec<u8> {
    let mut v = Vec::new();
    store.reader(key).await.unwrap().read_to_end(&mut v).await.unwrap();
    v
}

#[tokio::test]
async fn objects_appear_whole_or_not_at_all() {
    let (stores, _s3, _dir) = backends().await;
    for store in stores {
        let key = ObjectKey::Dossier { dossier: Uuid::new_v4(), object: Uuid::new_v4() };
        let data = doc_of(9 * 1024 * 1024 + 5, 3); // above one S3 part
        let mut w = store.writer(&key).await.unwrap();
        for part in data.chunks(1 << 20) {
            w.write(part.to_vec()).await.unwrap();
        }
        assert_eq!(store.len(&key).await.unwrap(), None, "{store:?}: visible before finish");
        assert_eq!(w.finish().await.unwrap(), data.len() as u64);
        assert_eq!(store.len(&key).await.unwrap(), Some(data.len() as u64));
        assert!(read_all(&store, &key).await == data);
        assert_eq!(store.list().await.unwrap().iter().map(|l| l.key).collect::<Vec<_>>(), vec![key]);

        // An aborted write leaves nothing under its name.
        let other = ObjectKey::Dossier { dossier: Uuid::new_v4(), object: Uuid::new_v4() };
        let mut w = store.writer(&other).await.unwrap();
        w.write(doc_of(9 * 1024 * 1024, 4)).await.unwrap();
        w.abort().await;
        assert_eq!(store.len(&other).await.unwrap(), None);
        assert_eq!(store.list().await.unwrap().len(), 1);

        store.delete(&key).await.unwrap();
        assert_eq!(store.len(&key).await.unwrap(), None);
        store.check().await.unwrap();
    }
}

/// The local store writes several buffers at their offsets at once and
/// reads ahead: parts of any size land in order, the last block is cut to
/// its true length, and a reader dropped half-way stops reading.
#[tokio::test]
async fn local_objects_written_in_uneven_parts_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::Local(LocalStore::open(dir.path()).await.unwrap());
    for (len, part) in [(20 * 1024 * 1024 + 7, 300_001), (4096, 4096), (1, 1), (3 * 1024 * 1024 - 1, 1 << 20)] {
        let key = ObjectKey::Dossier { dossier: Uuid::new_v4(), object: Uuid::new_v4() };
        // Any bytes will do here: the store never looks inside.
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4099) as u8).collect();
        let mut w = store.writer(&key).await.unwrap();
        for p in data.chunks(part) {
            w.write(p.to_vec()).await.unwrap();
        }
        assert_eq!(w.finish().await.unwrap(), len as u64);
        assert!(read_all(&store, &key).await == data, "{len} bytes in parts of {part}");
        let mut r = store.reader(&key).await.unwrap();
        let mut first = [0u8; 1];
        r.read_exact(&mut first).await.unwrap();
        assert_eq!(first[0], data[0]);
        drop(r);
        store.delete(&key).await.unwrap();
    }
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_local_store_never_replaces_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::Local(LocalStore::open(dir.path()).await.unwrap());
    let key = ObjectKey::Dossier { dossier: Uuid::new_v4(), object: Uuid::new_v4() };
    let mut w = store.writer(&key).await.unwrap();
    w.write(b"first".to_vec()).await.unwrap();
    w.finish().await.unwrap();
    let mut w = store.writer(&key).await.unwrap();
    w.write(b"second".to_vec()).await.unwrap();
    assert!(w.finish().await.is_err(), "publishing over an existing object must fail");
    assert_eq!(read_all(&store, &key).await, b"first");
    // The refused attempt's temporary file went with it (a full disk must
    // not stay full of the attempts that found it so).
    assert_eq!(store.clean_incomplete(SystemTime::now() + Duration::from_secs(1)).await.unwrap(), 0);
}

#[tokio::test]
async fn gc_removes_only_old_unregistered_objects() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let piece = app.upload_ok(&nu, &doc_of(1000, 1)).await;
    let dossier =
        app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap();
    // An orphan, as a crash between store and commit would leave.
    let orphan = ObjectKey::Dossier { dossier: dossier.id, object: Uuid::new_v4() };
    let mut w = app.vault.store().writer(&orphan).await.unwrap();
    w.write(b"ciphertext".to_vec()).await.unwrap();
    w.finish().await.unwrap();

    let r = gc::collect(&app.vault, Duration::from_secs(3600)).await.unwrap();
    // The upload registered three objects: original, rendition, thumbnail.
    assert_eq!((r.too_recent, r.deleted_orphans), (4, 0), "within the grace period nothing is touched");
    let r = gc::collect(&app.vault, Duration::ZERO).await.unwrap();
    assert_eq!((r.kept, r.deleted_orphans), (3, 1));
    assert_eq!(app.vault.store().len(&orphan).await.unwrap(), None);
    assert_eq!(app.original(&nu, &piece).await.body.unwrap().len(), 1000);
}
