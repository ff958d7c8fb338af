//! Scale-out over the local cluster (`deploy/local-cluster.sh`): two
//! replicas of the real binary behind nginx, on PostgreSQL and Garage.
//! One replica is SIGKILLed mid-traffic and restarted.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use e2e::{Api, cluster::Cluster, contains, multipart, multipart_content_type};
use serde_json::Value;

const PER_WRITER: u64 = 30;
const TOTAL: usize = 2 * PER_WRITER as usize;
const MARKER: &[u8] = b"MARQUEUR-CLUSTER-5e1d-AVIS-IMPOSITION";

/// A document holding the marker in clear, different for each `i`.
fn document(i: u64) -> Vec<u8> {
    let mut payload = MARKER.to_vec();
    payload.extend(intake::sample::pseudo_random(60_000, 1000 + i));
    payload.extend_from_slice(MARKER);
    intake::sample::pdf_with_payload(&payload)
}

/// An upload the vault acknowledged: its key, piece, bytes and who served it.
#[derive(Debug, Clone)]
struct Acked {
    key: String,
    piece: String,
    version: String,
    bytes: Vec<u8>,
}

/// Uploads until acknowledged, retrying with the same Idempotency-Key, as
/// scanner-ingest does: a replica killed mid-request makes nginx answer 502
/// (a POST already sent is not replayed) or the connection fail.
async fn upload_until_acked(http: &reqwest::Client, base: &str, token: &str, nu: &str, key: &str, doc: &[u8]) -> Acked {
    for attempt in 0..60 {
        let r = http
            .post(format!("{base}/api/v1/dossiers/{nu}/pieces"))
            .bearer_auth(token)
            .header("content-type", multipart_content_type())
            .header("idempotency-key", key)
            .body(multipart("ressources", doc))
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 201 || r.status() == 200 => {
                let v: Value = r.json().await.expect("JSON answer");
                return Acked {
                    key: key.to_owned(),
                    piece: v["piece"]["id"].as_str().expect("piece").to_owned(),
                    version: v["version"]["id"].as_str().expect("version").to_owned(),
                    bytes: doc.to_vec(),
                };
            }
            Ok(r) if r.status().is_server_error() => {}
            Ok(r) => panic!("upload refused: {} {:?}", r.status(), r.text().await),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1).min(10))).await;
    }
    panic!("upload {key} never acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_everything_and_a_killed_one_loses_nothing() {
    let cluster = Cluster::up(2);
    let seed = cluster.demo();
    let guichet = seed["organisations"].as_array().unwrap().iter().position(|o| o["kind"] == "guichet").unwrap();
    let token = seed["agents"][guichet]["token"].as_str().unwrap().to_owned();
    let nu = seed["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let base = cluster.balancer().to_owned();
    let p2 = cluster.replica_port(2);

    // Two writers upload PER_WRITER documents each through the balancer.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let (acked, base, token, nu) = (acked.clone(), base.clone(), token.clone(), nu.clone());
        writers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..PER_WRITER {
                let n = w * 100 + i;
                let a =
                    upload_until_acked(&http, &base, &token, &nu, &format!("cluster-test-{n:04}"), &document(n)).await;
                acked.lock().unwrap().push(a);
            }
        }));
    }
    // Kill replica 1 with SIGKILL once a few uploads are in.
    while acked.lock().unwrap().len() < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill(1);
    let acked_at_kill = acked.lock().unwrap().len();

    // Reads after the kill: every acknowledged document, byte for byte,
    // served by replica 2 (nginx skips the dead one).
    let http = reqwest::Client::new();
    let mut reads_after_kill = 0;
    loop {
        // One last full pass once every writer is done.
        let writers_done = writers.iter().all(tokio::task::JoinHandle::is_finished);
        let snapshot = acked.lock().unwrap().clone();
        for a in &snapshot {
            let r = http
                .get(format!("{base}/api/v1/dossiers/{nu}/pieces/{}/original", a.piece))
                .bearer_auth(&token)
                .send()
                .await
                .expect("read through the balancer");
            assert_eq!(r.status(), 200, "read of {} after the kill", a.key);
            let upstream = r.headers().get("x-upstream").and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
            assert!(
                upstream.rsplit(", ").next() == Some(&format!("127.0.0.1:{p2}")),
                "read after the kill served by {upstream:?}, not by replica 2 (:{p2})"
            );
            assert!(r.bytes().await.unwrap() == a.bytes, "{} read back different", a.key);
            reads_after_kill += 1;
        }
        if writers_done {
            break;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), TOTAL);
    assert!(
        acked_at_kill < TOTAL,
        "the kill must happen while uploads are still coming ({acked_at_kill} of {TOTAL} were in when it returned)"
    );
    eprintln!("replica 1 killed after {acked_at_kill} of {TOTAL} uploads; {reads_after_kill} reads after the kill");

    // Replica 1 comes back; what either wrote, each reads directly.
    cluster.start(1);
    for n in [1, 2] {
        let api = Api::at(&cluster.replica_url(n), &token);
        for a in &acked {
            assert!(api.original(&nu, &a.piece).await == a.bytes, "replica {n} reads {} back different", a.key);
        }
    }

    // 0 acknowledged uploads lost, none twice: the dossier holds exactly
    // one piece per acknowledged key, each with its one version.
    let dossier: Value =
        Api::at(&base, &token).get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().json().await.unwrap();
    let pieces: HashSet<String> = dossier["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "ressources")
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let acked_pieces: HashSet<String> = acked.iter().map(|a| a.piece.clone()).collect();
    assert_eq!(acked_pieces.len(), TOTAL, "each key filed one piece");
    assert_eq!(pieces, acked_pieces, "the dossier holds exactly the acknowledged pieces");
    assert_eq!(acked.iter().map(|a| a.version.clone()).collect::<HashSet<_>>().len(), TOTAL);

    // Nothing half-stored: every registered object is whole in Garage and
    // decrypts to its recorded SHA-256; the audit chain verifies.
    let check = cluster.vault(&["check", "--deep"]);
    assert!(check.status.success(), "check --deep: {}", String::from_utf8_lossy(&check.stderr));
    let verify = cluster.vault(&["audit", "verify"]);
    assert!(verify.status.success(), "audit verify: {}", String::from_utf8_lossy(&verify.stderr));

    // Garage holds ciphertext, as a client we did not write sees it.
    assert!(contains(&acked[0].bytes, MARKER), "the documents carry the marker in clear");
    let tmp = tempfile::tempdir().unwrap();
    let bucket = format!("s3://{}/", cluster.get("S3_BUCKET"));
    let cp = cluster.aws(&["s3", "cp", "--recursive", "--only-show-errors", &bucket, tmp.path().to_str().unwrap()]);
    assert!(cp.status.success(), "aws s3 cp: {}", String::from_utf8_lossy(&cp.stderr));
    let objects: Vec<_> =
        e2e::files_under(tmp.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "dnuv")).collect();
    assert!(objects.len() >= TOTAL * 2, "originals and renditions are in Garage: {} objects", objects.len());
    assert_eq!(e2e::found_in_files(tmp.path(), MARKER), Vec::<std::path::PathBuf>::new(), "plaintext marker in Garage");
    // The logs never carry the numéro unique or a token.
    for n in [1, 2] {
        let log = cluster.replica_log(n);
        assert!(!log.contains(&nu) && !log.contains(&token), "replica {n} logged personal data or a token");
    }
}

/// Backup, wipe, restore into a fresh PostgreSQL database and a fresh
/// Garage: every document reads back byte-identical, with the same tokens,
/// and `check --deep` and `audit verify` pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_an_empty_environment() {
    let work = tempfile::tempdir().unwrap();
    let (backup, keys) = (work.path().join("backup"), work.path().join("keys"));
    let (token, nu, uploaded) = {
        let cluster = Cluster::up(2);
        let seed = cluster.demo();
        let guichet = seed["organisations"].as_array().unwrap().iter().position(|o| o["kind"] == "guichet").unwrap();
        let token = seed["agents"][guichet]["token"].as_str().unwrap().to_owned();
        let nu = seed["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
        let api = Api::at(cluster.balancer(), &token);
        let mut uploaded = Vec::new();
        for i in 0..5 {
            let doc = document(500 + i);
            let piece = api.upload_ok(&nu, "ressources", &doc).await;
            uploaded.push((piece, doc));
        }
        // The trace holds consultations too.
        for (piece, _) in &uploaded {
            let _ = api.original(&nu, piece).await;
        }
        let out = cluster.vault(&["backup", backup.to_str().unwrap(), "--keys-to", keys.to_str().unwrap()]);
        assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
        // Keys kept with the data are refused.
        let b2 = work.path().join("b2");
        let out = cluster.vault(&["backup", b2.to_str().unwrap(), "--keys-to", b2.join("k").to_str().unwrap()]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("outside"));
        (token, nu, uploaded)
        // The cluster is torn down here: database dropped, Garage wiped.
    };
    assert!(!e2e::files_under(&backup).is_empty());
    assert!(e2e::found_in_files(&backup, MARKER).is_empty(), "the backup holds ciphertext only");

    let restored = Cluster::restored(2, &backup, &keys);
    let api = Api::at(restored.balancer(), &token);
    for (piece, doc) in &uploaded {
        assert!(api.original(&nu, piece).await == *doc, "piece {piece} differs after the restore");
    }
    let check = restored.vault(&["check", "--deep"]);
    assert!(check.status.success(), "check --deep: {}", String::from_utf8_lossy(&check.stderr));
    let verify = restored.vault(&["audit", "verify"]);
    assert!(verify.status.success(), "audit verify: {}", String::from_utf8_lossy(&verify.stderr));
    // A restore never writes over a vault: the restored database is not empty.
    let again = restored.vault(&["restore", backup.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
