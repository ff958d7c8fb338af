//! The object store's disk fills up (issue 21, row 3).
//!
//! The local store lives on a tmpfs of 8 MiB the test mounts (root is
//! needed to mount; the test says so if it is not); the database is
//! elsewhere. A file fills the disk but for a little, uploads are refused
//! with 507 saying the store is full, nothing of them stays (no object, no
//! temporary file, no row), and once the filler is removed the same
//! process accepts uploads again.

use std::{path::Path, process::Command, time::Duration};

use e2e::{Api, Server, demo, doc_of, files_under, run};
use serde_json::Value;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn free_bytes(&self) -> u64 {
        let out = Command::new("df").args(["--output=avail", "-B1"]).arg(self.path()).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[tokio::test]
async fn a_full_store_refuses_uploads_with_507_keeps_nothing_and_recovers_when_space_is_freed() {
    let disk = Tmpfs::mount("8m");
    let store = disk.path().join("objects");
    let dir = tempfile::tempdir().unwrap();
    let store_s = store.display().to_string();
    let env = [("VAULT_OBJECT_STORE", store_s.as_str())];
    let d = demo(dir.path(), &env);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let mut server = Server::start(dir.path(), &env);
    let api = Api::new(&server, &token);
    api.upload_ok(&nu, "identite", &doc_of(200_000, 1)).await;

    // Leave 256 KiB: less than one 600 KB document (and its rendition).
    let filler = disk.path().join("filler");
    let leave = 256 * 1024;
    let fill = disk.free_bytes().saturating_sub(leave);
    std::fs::write(&filler, vec![0u8; fill as usize]).unwrap();
    let objects_before = files_under(&store).len();

    let mut refused = 0;
    for seed in 10..15 {
        let r = api.upload(&nu, "ressources", &doc_of(600_000, seed)).await;
        // The vault may answer before it has read the whole body; a client
        // that is still sending can see the connection close instead.
        let Ok(r) = r else { continue };
        assert_eq!(r.status(), 507, "a full store must answer 507");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "storage_full", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("no space left") && message.contains("nothing was kept"), "{message}");
        refused += 1;
    }
    assert!(refused >= 3, "only {refused} of 5 uploads answered 507");
    // Nothing half-stored: no new object, no temporary file left.
    assert_eq!(files_under(&store).len(), objects_before, "objects or temporary files were left behind");
    assert!(files_under(&store.join("tmp")).is_empty());

    // Space comes back: the same process accepts uploads again.
    std::fs::remove_file(&filler).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let piece = api.upload_ok(&nu, "ressources", &doc_of(600_000, 20)).await;
    assert!(api.original(&nu, &piece).await == doc_of(600_000, 20));
    assert!(server.is_running());
    assert!(server.log().contains("storage full"), "{}", server.log());
    server.terminate();

    let check = run(dir.path(), &env, &["check", "--deep"]);
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success() && err.contains("0 missing") && err.contains("0 corrupt"), "{err}");
    eprintln!(
        "disk full: {refused} of 5 uploads of 600 KB answered 507 storage_full, 0 objects or temporary files left; next upload after freeing space: 201, read back identical"
    );
}
