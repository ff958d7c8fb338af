//! Test harness: a vault on a temporary directory, SQLite or a fresh
//! PostgreSQL database, the local store or a real S3-protocol server
//! (s3s-fs) started in-process on a random port; requests go through the
//! real router with `oneshot`.
#![allow(dead_code)]

use std::{net::SocketAddr, path::PathBuf};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;
use vault::{
    Config, Vault,
    app::Schema,
    auth::new_token,
    config::{ObjectStoreConfig, S3Settings},
    db::orgs::NewOrganisation,
    domain::{GuichetCode, OrgKind, Siren, TerritoryCode},
};

/// Which metadata databases the store tests run on: SQLite always,
/// PostgreSQL when `VAULT_TEST_DATABASE_URL` is set (CI sets it and fails
/// if it is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

pub fn databases() -> Vec<DbKind> {
    let mut v = vec![DbKind::Sqlite];
    match std::env::var("VAULT_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => v.push(DbKind::Postgres),
        _ => assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but VAULT_TEST_DATABASE_URL is not set: the PostgreSQL store tests must run in CI"
        ),
    }
    v
}

/// A fresh, empty PostgreSQL database for one test.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("VAULT_TEST_DATABASE_URL").expect("VAULT_TEST_DATABASE_URL");
    sqlx::any::install_default_drivers();
    let name = format!("vault_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(&admin).await.expect("PostgreSQL reachable at VAULT_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create test database");
    pool.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
    format!("{base}/{name}")
}

/// An S3-protocol server on random loopback ports: s3s-fs in-process, or a
/// single-node Garage (a production S3 store) as a child process.
pub struct S3Server {
    pub endpoint: String,
    /// s3s-fs keeps objects as plain files here (empty for Garage).
    pub root: PathBuf,
    pub name: &'static str,
    region: &'static str,
    key_id: String,
    secret: String,
    _dir: TempDir,
    _task: Option<tokio::task::JoinHandle<()>>,
    _garage: Option<GarageProcess>,
}

/// The S3 servers the S3 suite runs on: s3s-fs always, Garage when its
/// binary is found (`garage` on PATH or in cargo's bin directory, or
/// `VAULT_TEST_GARAGE`). CI installs it and fails here if it is missing.
pub async fn s3_servers() -> Vec<S3Server> {
    let mut v = vec![S3Server::start().await];
    match garage_binary() {
        Some(bin) => v.push(S3Server::garage(&bin).await),
        None => assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no garage binary: the S3 suite must run on Garage in CI (cargo install garage --locked)"
        ),
    }
    eprintln!("S3 suite on: {}", v.iter().map(|s| s.name).collect::<Vec<_>>().join(", "));
    v
}

fn garage_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("VAULT_TEST_GARAGE") {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join("garage")).find(|p| p.is_file())
}

/// A Garage server killed when dropped.
struct GarageProcess(std::process::Child);

impl Drop for GarageProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub const S3_KEY: &str = "test-access-key";
pub const S3_SECRET: &str = "test-secret-key-0123456789";

impl S3Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let fs = s3s_fs::FileSystem::new(&root).unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
        let service = b.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                let svc = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            root,
            name: "s3s-fs",
            region: "us-east-1",
            key_id: S3_KEY.into(),
            secret: S3_SECRET.into(),
            _dir: dir,
            _task: Some(task),
            _garage: None,
        }
    }

    /// Starts a single-node Garage on fresh directories and ports, lays
    /// out its one node and creates a key allowed to create buckets.
    pub async fn garage(bin: &std::path::Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (rpc, s3) = (free_port(), free_port());
        let conf = dir.path().join("garage.toml");
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        std::fs::write(
            &conf,
            format!(
                "metadata_dir = \"{d}/meta\"\ndata_dir = \"{d}/data\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
                 rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{s}\"\n\
                 [s3_api]\napi_bind_addr = \"127.0.0.1:{s3}\"\ns3_region = \"garage\"\n",
                d = dir.path().display(),
                s = secret
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("garage.log")).unwrap();
        let child = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .arg("server")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("garage starts");
        let process = GarageProcess(child);
        let garage = |args: &[&str]| -> Result<String, String> {
            let out = std::process::Command::new(bin).arg("-c").arg(&conf).args(args).output().unwrap();
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).into_owned())
            }
        };
        // `node id` only reads the key on disk: wait for the RPC side to answer.
        let mut up = false;
        for _ in 0..300 {
            if garage(&["status"]).is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            up,
            "garage did not start: {}",
            std::fs::read_to_string(dir.path().join("garage.log")).unwrap_or_default()
        );
        let id = garage(&["node", "id", "-q"]).unwrap();
        let node = id.split('@').next().map(|s| s.trim().to_owned()).unwrap_or_default();
        garage(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]).unwrap();
        garage(&["layout", "apply", "--version", "1"]).unwrap();
        let key = garage(&["key", "create", "vault-tests"]).unwrap();
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().trim_start_matches(':').trim().to_owned()))
                .unwrap_or_else(|| panic!("no {name} in `garage key create` output: {key}"))
        };
        let (key_id, secret) = (field("Key ID"), field("Secret key"));
        garage(&["key", "allow", "--create-bucket", &key_id]).unwrap();
        let server = Self {
            endpoint: format!("http://127.0.0.1:{s3}"),
            root: PathBuf::new(),
            name: "garage",
            region: "garage",
            key_id,
            secret,
            _dir: dir,
            _task: None,
            _garage: Some(process),
        };
        // The S3 side may take a moment more after the layout is applied.
        for _ in 0..100 {
            if server.client().list_buckets().send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("garage's S3 API did not answer on {}", server.endpoint);
    }

    fn client(&self) -> aws_sdk_s3::Client {
        let creds = aws_sdk_s3::config::Credentials::new(&self.key_id, &self.secret, None, None, "test");
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_s3::config::Region::new(self.region))
            .credentials_provider(creds)
            .force_path_style(true)
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Settings for a new bucket on this server (created here).
    pub async fn bucket(&self) -> S3Settings {
        let bucket = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let settings = S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: Some(self.region.into()),
            path_style: true,
            access_key_id: Some(self.key_id.clone()),
            secret_access_key: Some(self.secret.clone().into()),
            ..S3Settings::from_url(&format!("s3://{bucket}/vault")).unwrap()
        };
        self.client().create_bucket().bucket(&bucket).send().await.unwrap();
        settings
    }
}

pub struct TestApp {
    pub vault: Vault,
    pub router: Router,
    pub dir: TempDir,
    /// Token of an agent of a registering guichet (Dunkerque, 59183).
    pub guichet_token: String,
    /// Token of an agent of a non-registering bailleur (Nord).
    pub bailleur_token: String,
    pub guichet_agent: uuid::Uuid,
    /// The same guichet's scanner (an agent added with `--scanner`).
    pub scanner_token: String,
}

#[derive(Default)]
pub struct TestAppBuilder {
    db: Option<DbKind>,
    s3: Option<S3Settings>,
    max_upload: Option<u64>,
    policy_dir: Option<std::path::PathBuf>,
    intake_exe: Option<std::path::PathBuf>,
    tune: Option<fn(&mut Config)>,
    signin: Option<vault::config::SignInConfig>,
}

impl TestAppBuilder {
    /// Any other setting, changed on the test configuration.
    pub fn tune(mut self, f: fn(&mut Config)) -> Self {
        self.tune = Some(f);
        self
    }
    /// Sign-in through identity providers (the tests' own).
    pub fn signin(mut self, s: vault::config::SignInConfig) -> Self {
        self.signin = Some(s);
        self
    }
    pub fn db(mut self, db: DbKind) -> Self {
        self.db = Some(db);
        self
    }
    pub fn s3(mut self, s: S3Settings) -> Self {
        self.s3 = Some(s);
        self
    }
    pub fn policy_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.policy_dir = Some(dir);
        self
    }
    pub fn intake_exe(mut self, exe: std::path::PathBuf) -> Self {
        self.intake_exe = Some(exe);
        self
    }
    pub fn max_upload(mut self, n: u64) -> Self {
        self.max_upload = Some(n);
        self
    }

    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = match self.db.unwrap_or(DbKind::Sqlite) {
            DbKind::Sqlite => None,
            DbKind::Postgres => Some(fresh_postgres().await),
        };
        let mut config = Config::for_tests(dir.path(), url);
        // The server re-runs itself as the intake worker; in these tests
        // "itself" is the test binary, so point it at the real one.
        config.intake.exe =
            self.intake_exe.unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_dnu-vault")));
        if let Some(s) = self.s3 {
            config.object_store = ObjectStoreConfig::S3(s);
        }
        config.policy_dir = self.policy_dir;
        if let Some(n) = self.max_upload {
            config.max_upload_bytes = n;
        }
        if let Some(s) = self.signin {
            config.signin = s;
        }
        if let Some(f) = self.tune {
            f(&mut config);
        }
        let vault = Vault::open(config, Schema::Migrate).await.unwrap();
        let (guichet_token, guichet_agent) =
            add_org_agent(&vault, "215901836", OrgKind::Guichet, true, Some("DKMAI"), &["59183"]).await;
        // The guichet's scanning workstation (scanner-ingest).
        let guichet = vault.db().organisation_by_siren(&Siren::parse("215901836").unwrap()).await.unwrap().unwrap();
        let (scanner_token, hash) = new_token().unwrap();
        vault.db().insert_agent(guichet.id, "scanner", &hash, true).await.unwrap();
        let (bailleur_token, _) = add_org_agent(&vault, "590000014", OrgKind::Bailleur, false, None, &["59"]).await;
        let router = vault::router::router(vault.clone());
        TestApp { vault, router, dir, guichet_token, bailleur_token, guichet_agent, scanner_token }
    }
}

pub async fn add_org_agent(
    vault: &Vault,
    siren: &str,
    kind: OrgKind,
    registering: bool,
    guichet: Option<&str>,
    territory: &[&str],
) -> (String, uuid::Uuid) {
    let org = vault
        .db()
        .insert_organisation(&NewOrganisation {
            siren: Siren::parse(siren).unwrap(),
            name: format!("org {siren}"),
            kind,
            registering,
            guichet_code: guichet.map(|g| GuichetCode::parse(g).unwrap()),
            territory: territory.iter().map(|t| TerritoryCode::parse(t).unwrap()).collect(),
        })
        .await
        .unwrap();
    let (token, hash) = new_token().unwrap();
    let agent = vault.db().insert_agent(org.id, "agent", &hash, false).await.unwrap();
    (token, agent.id)
}

/// A response: status, and the body or the error that cut it short.
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Result<Bytes, String>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(self.body.as_ref().expect("complete body")).expect("JSON body")
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
}

pub const BOUNDARY: &str = "dnuvaulttestboundary7MA4YWxkTrZu0gW";

/// A multipart body with text fields then, if given, one file.
pub fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> Vec<u8> {
    multipart_named(fields, "scan.pdf", file)
}

/// The same with a chosen file name.
pub fn multipart_named(fields: &[(&str, &str)], filename: &str, file: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some(f) = file {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        b.extend_from_slice(f);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.map_err(|e| e.to_string());
        Resp { status, headers, body }
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.send(Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.json(Request::post(uri), token, body).await
    }

    pub async fn put_json(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.json(Request::put(uri), token, body).await
    }

    async fn json(&self, req: axum::http::request::Builder, token: &str, body: Value) -> Resp {
        self.send(
            req.header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_multipart(&self, uri: &str, token: &str, body: Vec<u8>) -> Resp {
        self.send(
            Request::post(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .header("content-length", body.len())
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Registers a dossier (number issued by the vault) and returns its numéro unique.
    pub async fn register(&self) -> String {
        let r =
            self.post_json("/api/v1/dossiers", &self.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.json()["numero_unique"].as_str().unwrap().to_owned()
    }

    /// Registers a dossier and signs its applicant in: the numéro unique and
    /// the applicant's session token.
    pub async fn register_signed_in(&self) -> (String, String) {
        let r =
            self.post_json("/api/v1/dossiers", &self.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let j = r.json();
        let creds = serde_json::json!({"identifier": j["applicant"]["identifier"], "code": j["applicant"]["code"]});
        let s = self.post_json("/api/v1/session", "", creds).await;
        assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
        (j["numero_unique"].as_str().unwrap().to_owned(), s.json()["token"].as_str().unwrap().to_owned())
    }

    /// Uploads bytes as a new piece; returns the response.
    pub async fn upload(&self, nu: &str, kind: &str, data: &[u8]) -> Resp {
        self.post_multipart(
            &format!("/api/v1/dossiers/{nu}/pieces"),
            &self.guichet_token,
            multipart(&[("kind", kind)], Some(data)),
        )
        .await
    }

    /// Uploads and returns the piece id, asserting 201.
    pub async fn upload_ok(&self, nu: &str, data: &[u8]) -> String {
        let r = self.upload(nu, "ressources", data).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{:?}",
            r.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
        );
        r.json()["piece"]["id"].as_str().unwrap().to_owned()
    }

    /// The guichet agent acting for `organisation`, as the journal records it.
    pub fn guichet_actor(&self, organisation: uuid::Uuid) -> vault::domain::journal::Actor {
        vault::domain::journal::Actor {
            agent: Some(self.guichet_agent),
            organisation: Some(organisation),
            purpose: vault::domain::Purpose::Enregistrement,
        }
    }

    pub async fn original(&self, nu: &str, piece: &str) -> Resp {
        self.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original"), &self.guichet_token).await
    }
}

/// A well-formed one-page PDF of exactly `len` bytes (at least
/// [`intake::sample::MIN_PADDED_LEN`]), nearly all of it incompressible and
/// different for each seed: uploads are typed and parsed, so test documents
/// must be real documents.
pub fn doc_of(len: usize, seed: u8) -> Vec<u8> {
    intake::sample::padded_pdf(len, u64::from(seed))
}
