//! The embedded default from a user's point of view: start, use, stop.

use std::time::Duration;

use e2e::{Api, BOUNDARY, Server, demo, doc_of, found_in_files, multipart, run};
use serde_json::Value;

fn token(d: &Value, i: usize) -> String {
    d["agents"][i]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn embedded_default_serves_stores_encrypted_logs_nothing_personal_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    assert_eq!(d["organisations"].as_array().unwrap().len(), 3);
    assert_eq!(d["organisations"][0]["kind"], "guichet");
    assert_eq!(d["organisations"][1]["kind"], "bailleur");
    assert_ne!(d["organisations"][1]["territory"], d["organisations"][2]["territory"]);
    let (guichet, bailleur) = (token(&d, 0), token(&d, 1));
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let applicant = d["dossiers"][0]["applicant"].clone();

    let mut server = Server::start(dir.path(), &[]);
    assert!(server.log().contains("DEVELOPMENT MASTER KEY"), "the development key is announced loudly");
    // The seeded applicant signs in and sees their dossier.
    let session = reqwest::Client::new().post(server.url("/api/v1/session")).json(&applicant).send().await.unwrap();
    assert_eq!(session.status(), 200);
    let session: Value = session.json().await.unwrap();
    let me = Api::new(&server, session["token"].as_str().unwrap());
    assert_eq!(me.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().status(), 200);
    let http = reqwest::Client::new();
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap(), serde_json::json!({"database": "ok", "object_store": "ok"}));

    const MARKER: &[u8] = b"MARKER-e2e-5d1c-NOM-DU-DEMANDEUR";
    let mut payload = MARKER.to_vec();
    payload.extend(intake::sample::pseudo_random(300_000, 1));
    let doc = intake::sample::pdf_with_payload(&payload);
    let api = Api::new(&server, &guichet);
    let resp = api.upload(&nu, "identite", &doc).await.unwrap();
    assert_eq!(resp.status(), 201);
    let up: Value = resp.json().await.unwrap();
    assert_eq!(up["version"]["media_type"], "application/pdf");
    let piece = up["piece"]["id"].as_str().unwrap();
    assert_eq!(api.original(&nu, piece).await, doc);
    // The Nord landlord sees the Dunkerque dossier, not its originals; the
    // Artois landlord (another territory) sees nothing.
    let nord = Api::new(&server, &bailleur);
    assert_eq!(nord.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().status(), 200);
    let r = nord.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original")).await.unwrap();
    assert_eq!(r.status(), 403);
    let artois = token(&d, 2);
    let denied = http.get(server.url(&format!("/api/v1/dossiers/{nu}"))).bearer_auth(&artois).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    let status = server.terminate();
    assert!(status.success(), "SIGTERM must end the server cleanly: {status:?}");
    let log = server.log();
    assert!(log.contains("shutting down"), "{log}");
    let code = applicant["code"].as_str().unwrap().to_owned();
    for secret in [MARKER, guichet.as_bytes(), bailleur.as_bytes(), nu.as_bytes(), code.as_bytes()] {
        assert!(!e2e::contains(log.as_bytes(), secret), "the log holds {:?}", String::from_utf8_lossy(secret));
    }
    assert!(found_in_files(dir.path(), MARKER).is_empty(), "plaintext at rest");
    // The server signed the chain head when it started (the demo's events)
    // and its last events on the way out.
    let v = run(dir.path(), &[], &["audit", "verify"]);
    let out = String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success() && out.contains("2 checkpoints, 0 problems"), "{out}");
}

#[tokio::test]
async fn sigterm_lets_an_upload_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let guichet = token(&d, 0);
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let mut server = Server::start(dir.path(), &[]);
    let data = doc_of(4 * 1024 * 1024, 9);
    let body = multipart("ressources", &data);
    let parts: Vec<bytes::Bytes> = body.chunks(256 * 1024).map(bytes::Bytes::copy_from_slice).collect();
    // A slow client: 17 parts, 100 ms apart.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut tx = Some(tx);
    let stream = futures_util::stream::iter(parts.into_iter().enumerate()).then(move |(i, p)| {
        if i == 2
            && let Some(t) = tx.take()
        {
            let _ = t.send(());
        }
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, std::io::Error>(p)
        }
    });
    let url = server.url(&format!("/api/v1/dossiers/{nu}/pieces"));
    let upload = tokio::spawn(
        reqwest::Client::new()
            .post(url)
            .bearer_auth(&guichet)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    rx.await.unwrap();
    e2e::signal(server.pid(), "TERM");
    let resp = upload.await.unwrap().expect("the upload in flight completes");
    assert_eq!(resp.status(), 201);
    let piece = resp.json::<Value>().await.unwrap()["piece"]["id"].as_str().unwrap().to_owned();
    let status = server.terminate();
    assert!(status.success());

    let server = Server::start(dir.path(), &[]);
    assert_eq!(Api::new(&server, &guichet).original(&nu, &piece).await, data);
}

use futures_util::StreamExt;

#[test]
fn serve_refuses_an_unmigrated_database_and_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    // An existing but empty SQLite database is not created on the spot.
    std::fs::write(dir.path().join("vault.db"), b"").unwrap();
    let out = run(dir.path(), &[], &["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dnu-vault migrate"), "{err}");
    let m = run(dir.path(), &[], &["migrate"]);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let mut s = Server::start(dir.path(), &[]);
    assert!(s.terminate().success());

    // PostgreSQL: a fresh database is refused until migrated.
    let Ok(admin) = std::env::var("VAULT_TEST_DATABASE_URL") else { return };
    let name = format!("vault_test_e2e_{}", std::process::id());
    let created =
        std::process::Command::new("psql").args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")]).status();
    assert!(matches!(created, Ok(s) if s.success()), "cannot create {name}");
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let env = [("VAULT_DATABASE_URL", url.as_str())];
    let out = run(dir.path(), &env, &["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dnu-vault migrate"));
    assert!(run(dir.path(), &env, &["migrate"]).status.success());
    let mut s = Server::start(dir.path(), &env);
    assert!(s.terminate().success());
}

#[test]
fn help_lists_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[], &["serve", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "VAULT_LISTEN",
        "VAULT_DATA_DIR",
        "VAULT_DATABASE_URL",
        "VAULT_DATABASE_URL_FILE",
        "VAULT_OBJECT_STORE",
        "VAULT_S3_ENDPOINT",
        "VAULT_S3_REGION",
        "VAULT_S3_PATH_STYLE",
        "VAULT_MASTER_KEY_FILE",
        "VAULT_MAX_UPLOAD_BYTES",
        "VAULT_CONFIG",
        "VAULT_POLICY_DIR",
    ] {
        assert!(help.contains(var), "serve --help does not mention {var}");
    }
    let bad = run(dir.path(), &[("VAULT_MAX_UPLOAD_BYTES", "lots")], &["serve"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("max-upload-bytes"));
}

#[tokio::test]
async fn admin_commands_manage_organisations_and_agents() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| {
        let out = run(dir.path(), &[], args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).trim().to_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    ok(&["migrate"]);
    ok(&[
        "admin",
        "org",
        "add",
        "--siren",
        "215901836",
        "--name",
        "Mairie de Dunkerque",
        "--kind",
        "guichet",
        "--registering",
        "--guichet-code",
        "DKMAI",
        "--territory",
        "59183,59350",
    ]);
    let bad =
        run(dir.path(), &[], &["admin", "org", "add", "--siren", "215901837", "--name", "x", "--kind", "guichet"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("check digit"));
    let dup =
        run(dir.path(), &[], &["admin", "org", "add", "--siren", "215901836", "--name", "x", "--kind", "guichet"]);
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let (list, _) = ok(&["admin", "org", "list", "--json"]);
    let orgs: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(orgs[0]["territory"], serde_json::json!(["59183", "59350"]));
    let (token, err) = ok(&["admin", "agent", "add", "--org", "215901836", "--name", "Accueil"]);
    assert!(token.starts_with("dnuv_"));
    let agent_id = err
        .lines()
        .find_map(|l| l.strip_prefix("agent "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    let mut server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    let nu = api.register_ok().await;
    assert!(nu.ends_with("DKMAI"));
    ok(&["admin", "agent", "disable", &agent_id]);
    let r = api.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap();
    assert_eq!(r.status(), 401, "a disabled agent's token stops working from the next request on");
    assert!(server.terminate().success());
}

#[test]
fn an_invalid_policy_set_stops_start_up_with_the_validation_message() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("10-typo.cedar"),
        "@id(\"typo\")\npermit (principal is Vault::Agent, action, resource is Vault::Dossier)\nwhen { principal.organisation.territoire == \"59\" };\n",
    )
    .unwrap();
    let dir_s = policies.display().to_string();
    let out = run(dir.path(), &[("VAULT_POLICY_DIR", dir_s.as_str())], &["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid access policy set") && err.contains("territoire"), "{err}");
    // The shipped consult-only set loads.
    let consult = format!("{}/../policies/consult-only", env!("CARGO_MANIFEST_DIR"));
    let mut s = Server::start(dir.path(), &[("VAULT_POLICY_DIR", consult.as_str())]);
    assert!(s.log().contains("access policies loaded"));
    assert!(s.terminate().success());
}
