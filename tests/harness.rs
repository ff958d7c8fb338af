//! Harness for end-to-end tests: runs the real `dnu-vault` binary on a
//! temporary data directory and an ephemeral port, and captures its logs.
//!
//! The binary is the one cargo built for this workspace (`cargo test
//! --workspace` builds it, since the `vault` package has integration tests).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use serde_json::Value;

pub mod a11y;
pub mod cluster;
pub mod logs;
pub mod oidc;
pub mod pg;
pub mod smtp;
pub mod webdriver;

/// Path of the `dnu-vault` binary next to this test executable.
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let p = dir.join(format!("dnu-vault{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} not found: run the tests with `cargo test --workspace` (or `cargo build --bin dnu-vault` first)",
        p.display()
    );
    p
}

/// Path of the `scanner-ingest` binary beside `dnu-vault`.
pub fn scanner_bin() -> PathBuf {
    let p = bin().with_file_name(format!("scanner-ingest{}", std::env::consts::EXE_SUFFIX));
    assert!(p.exists(), "{} not found: run `cargo test --workspace` (or `cargo build --bins`)", p.display());
    p
}

/// A loopback port free right now (for a server that must come back on
/// the same address after a restart).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// A `dnu-vault` command with a clean environment pointing at `data`.
pub fn command(data: &Path, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("VAULT_") || k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("VAULT_DATA_DIR", data).env("VAULT_LISTEN", "127.0.0.1:0").env("RUST_LOG", logs::LEVEL).env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs a command to completion.
pub fn run(data: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let out = command(data, env).args(args).stdin(Stdio::null()).output().expect("run dnu-vault");
    logs::keep("command", &String::from_utf8_lossy(&out.stderr));
    out
}

/// `dnu-vault demo --json`.
pub fn demo(data: &Path, env: &[(&str, &str)]) -> Value {
    let out = run(data, env, &["demo", "--json"]);
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let v = serde_json::from_slice(&out.stdout).expect("demo JSON");
    logs::watch_demo(data, &v);
    v
}

/// A running `dnu-vault serve`.
pub struct Server {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server and waits until it listens.
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        Self::try_start(data, env).unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Starts the server; `Err(log)` if it exits before listening.
    pub fn try_start(data: &Path, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut child = command(data, env)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dnu-vault serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // `listen=ADDR` in the text format, `"listen":"ADDR"` in JSON.
                if let Some(addr) = line.split("listen=").nth(1) {
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or_default().to_owned());
                } else if let Some(addr) = line.split("\"listen\":\"").nth(1) {
                    let _ = tx.send(addr.split('"').next().unwrap_or_default().to_owned());
                }
                let mut l = log2.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                l.push_str(&line);
                l.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Self { child, base: format!("http://{addr}"), log }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err(log.lock().map(|l| l.clone()).unwrap_or_default())
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        signal(self.pid(), "TERM");
        self.child.wait().expect("wait for dnu-vault")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        logs::keep("serve", &self.log());
    }
}

/// Sends a signal with kill(1) (the workspace forbids unsafe code).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().map(|s| s.success());
    assert!(matches!(ok, Ok(true)), "kill -{sig} {pid} failed");
}

/// A well-formed one-page PDF of exactly `len` bytes, nearly all of it
/// incompressible and different for each seed (uploads must be documents).
/// Its unread stream starts with [`logs::DOCUMENT_MARKER`] and the seed,
/// which no log may ever show.
pub fn doc_of(len: usize, seed: u64) -> Vec<u8> {
    let mut doc = intake::sample::padded_pdf(len, seed);
    let marker = format!("{}{seed:016x}", logs::DOCUMENT_MARKER);
    let at = find(&doc, b"stream\n").expect("the padded PDF's stream") + b"stream\n".len();
    doc[at..at + marker.len()].copy_from_slice(marker.as_bytes());
    doc
}

pub const BOUNDARY: &str = "e2eboundaryQ8xVnF4tL1";

/// A multipart body: `kind` then `file`.
pub fn multipart(kind: &str, data: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"piece.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(data);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Whether `needle` occurs anywhere in the files under `dir`.
pub fn found_in_files(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir).into_iter().filter(|p| std::fs::read(p).is_ok_and(|bytes| contains(&bytes, needle))).collect()
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files
}

/// The vault's HTTP API as one agent sees it.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(server: &Server, token: &str) -> Self {
        Self::at(&server.base, token)
    }

    /// The API at a base URL (a balancer, a replica).
    pub fn at(base: &str, token: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.to_owned(), token: token.to_owned() }
    }

    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await
    }

    /// Registers a dossier in Dunkerque; returns the response.
    pub async fn register(&self) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/api/v1/dossiers", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"communes": ["59183"]}))
            .send()
            .await
    }

    /// Registers a dossier and returns its numéro unique, asserting 201.
    pub async fn register_ok(&self) -> String {
        let r = self.register().await.expect("register");
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.expect("JSON");
        logs::watch_json(&v);
        v["numero_unique"].as_str().expect("numero_unique").to_owned()
    }

    pub async fn upload(&self, nu: &str, kind: &str, data: &[u8]) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/api/v1/dossiers/{nu}/pieces", self.base))
            .bearer_auth(&self.token)
            .header("content-type", multipart_content_type())
            .body(multipart(kind, data))
            .send()
            .await
    }

    /// Uploads and returns the piece id, asserting 201.
    pub async fn upload_ok(&self, nu: &str, kind: &str, data: &[u8]) -> String {
        let r = self.upload(nu, kind, data).await.expect("upload");
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.expect("JSON");
        v["piece"]["id"].as_str().expect("piece id").to_owned()
    }

    /// The original bytes of a piece, asserting 200 and a complete body.
    pub async fn original(&self, nu: &str, piece: &str) -> Vec<u8> {
        let r = self.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original")).await.expect("download");
        assert_eq!(r.status(), 200, "piece {piece}");
        r.bytes().await.expect("complete body").to_vec()
    }

    /// The original bytes of version `number` of a piece, asserting 200.
    pub async fn original_version(&self, nu: &str, piece: &str, number: i64) -> Vec<u8> {
        let r = self
            .get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/original?version={number}"))
            .await
            .expect("download");
        assert_eq!(r.status(), 200, "piece {piece} version {number}");
        r.bytes().await.expect("complete body").to_vec()
    }

    /// How many versions the dossier's pieces of `kind` have in all.
    pub async fn versions_of(&self, nu: &str, kind: &str) -> usize {
        let d: Value = self.get(&format!("/api/v1/dossiers/{nu}")).await.expect("dossier").json().await.expect("JSON");
        d["pieces"]
            .as_array()
            .expect("pieces")
            .iter()
            .filter(|p| p["kind"] == kind)
            .map(|p| p["versions"].as_u64().expect("versions") as usize)
            .sum()
    }
}

/// A small deterministic generator (xorshift), so a failing run replays
/// with the same draws.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In `lo..hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}
