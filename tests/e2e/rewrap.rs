//! `keys rotate` then `keys rewrap` killed with SIGKILL halfway: a second
//! run resumes and completes, and every object still reads back.

use std::io::{BufRead, BufReader};

use e2e::{Server, bytes_of, command, demo, multipart, multipart_content_type, run};

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
    let http = reqwest::Client::new();
    let mut docs = Vec::new();
    for i in 0..150u64 {
        let r = http
            .post(server.url("/api/v1/dossiers"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"communes": ["59183"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let nu = r.json::<serde_json::Value>().await.unwrap()["numero_unique"].as_str().unwrap().to_owned();
        if i % 30 == 0 {
            let up = http
                .post(server.url(&format!("/api/v1/dossiers/{nu}/pieces")))
                .bearer_auth(&token)
                .header("content-type", multipart_content_type())
                .body(multipart("identite", &bytes_of(100_000, i)))
                .send()
                .await
                .unwrap();
            assert_eq!(up.status(), 201);
            let piece = up.json::<serde_json::Value>().await.unwrap()["piece"]["id"].as_str().unwrap().to_owned();
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
        let got = http
            .get(server.url(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes_of(100_000, *seed));
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
    for (nu, piece, seed) in &docs {
        let got = http
            .get(server.url(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes_of(100_000, *seed));
    }
}
