//! The binary configured only through its environment for an S3 store (a
//! real S3-protocol server, s3s-fs, on a random loopback port) and
//! PostgreSQL when available: production wiring, not the embedded default.

use e2e::{Api, Server, demo, found_in_files, run};

async fn s3_server(root: &std::path::Path) -> String {
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single("e2e-key", "e2e-secret-0123456789"));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = service.clone();
            tokio::spawn(
                hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), svc),
            );
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_s3_configured_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let s3_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(s3_root.path().join("pieces")).unwrap(); // the bucket
    let endpoint = s3_server(s3_root.path()).await;
    let secret_file = dir.path().join("s3-secret");
    std::fs::write(&secret_file, "e2e-secret-0123456789\n").unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let mut env = vec![
        ("VAULT_OBJECT_STORE", "s3://pieces/dnu".to_owned()),
        ("VAULT_S3_ENDPOINT", endpoint),
        ("VAULT_S3_REGION", "eu-west-3".to_owned()),
        ("VAULT_S3_PATH_STYLE", "true".to_owned()),
        ("VAULT_S3_ACCESS_KEY_ID", "e2e-key".to_owned()),
        ("VAULT_S3_SECRET_ACCESS_KEY_FILE", secret_file.display().to_string()),
        ("VAULT_MASTER_KEY_FILE", key_file.display().to_string()),
    ];
    if let Ok(admin) = std::env::var("VAULT_TEST_DATABASE_URL") {
        let name = format!("vault_test_e2e_s3_{}", std::process::id());
        let ok = std::process::Command::new("psql")
            .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
            .status();
        assert!(matches!(ok, Ok(s) if s.success()));
        env.push(("VAULT_DATABASE_URL", format!("{}/{name}", admin.rsplit_once('/').unwrap().0)));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(run(dir.path(), &env, &["migrate"]).status.success());
    let d = demo(dir.path(), &env);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();

    let mut server = Server::start(dir.path(), &env);
    assert!(!server.log().contains("DEVELOPMENT MASTER KEY"), "a configured key is not a development key");
    let http = reqwest::Client::new();
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    const MARKER: &[u8] = b"MARKER-s3-e2e-91b2";
    let mut payload = MARKER.to_vec();
    payload.extend(intake::sample::pseudo_random(12 * 1024 * 1024, 4)); // a multipart upload on S3
    let doc = intake::sample::pdf_with_payload(&payload);
    let api = Api::new(&server, &token);
    let piece = api.upload_ok(&nu, "ressources", &doc).await;
    assert!(api.original(&nu, &piece).await == doc);
    assert!(found_in_files(s3_root.path(), MARKER).is_empty(), "plaintext in the bucket");
    assert!(std::fs::read_dir(s3_root.path().join("pieces/dnu/dossiers")).unwrap().count() == 1);
    assert!(server.terminate().success());
    // Nothing was written to the local object directory.
    assert!(
        !dir.path().join("objects/dossiers").exists()
            || std::fs::read_dir(dir.path().join("objects/dossiers")).unwrap().count() == 0
    );
}
