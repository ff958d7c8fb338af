//! `keys rotate` then `keys rewrap` killed with SIGKILL halfway: a second
//! run resumes and completes, and every object still reads back.

use std::io::{BufRead, BufReader};

use e2e::{Api, Server, command, demo, doc_of, run};

fn status(dir: &std::path::Path) -> String {
    let out = run(dir, &[], &["keys", "status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn rewrap_killed_halfway_resumes_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let mut server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    let mut docs = Vec::new();
    for i in 0..150u64 {
        let nu = api.register_ok().await;
        if i % 30 == 0 {
            let piece = api.upload_ok(&nu, "identite", &doc_of(100_000, i)).await;
            docs.push((nu, piece, i));
        }
    }
    assert!(status(dir.path()).contains("version 1 (current): 151 dossier keys"), "{}", status(dir.path()));

    let rot = run(dir.path(), &[], &["keys", "rotate"]);
    assert!(rot.status.success(), "{}", String::from_utf8_lossy(&rot.stderr));

    // Kill the rewrap as soon as it reports progress.
    let mut child = command(dir.path(), &[])
        .args(["keys", "rewrap", "--batch", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().contains("rewrapped") {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let mid = status(dir.path());
    assert!(
        mid.contains("version 1:") && mid.contains("version 2 (current):") && !mid.contains("version 1: 0 "),
        "{mid}"
    );
    assert!(!mid.contains("version 2 (current): 0 "), "{mid}");

    // The server, still running with the old ring, reads dossiers now on version 2.
    for (nu, piece, seed) in &docs {
        assert_eq!(api.original(nu, piece).await, doc_of(100_000, *seed));
    }

    let again = run(dir.path(), &[], &["keys", "rewrap"]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let end = status(dir.path());
    assert!(
        end.contains("version 1: 0 dossier keys") && end.contains("version 2 (current): 151 dossier keys"),
        "{end}"
    );
    let retire = run(dir.path(), &[], &["keys", "retire", "1"]);
    assert!(retire.status.success(), "{}", String::from_utf8_lossy(&retire.stderr));
    assert!(!status(dir.path()).contains("version 1"));
    assert!(server.terminate().success());
    let server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    for (nu, piece, seed) in &docs {
        assert_eq!(api.original(nu, piece).await, doc_of(100_000, *seed));
    }
}
