//! A local production-shaped cluster for end-to-end tests: drives
//! `deploy/local-cluster.sh` (PostgreSQL, Garage, replicas of the real
//! `dnu-vault` binary, nginx), and tears it down when dropped.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh")
}

/// Runs the script with this workspace's `dnu-vault`.
fn script_run(args: &[&str]) -> Output {
    script_command(args).output().expect("run deploy/local-cluster.sh")
}

fn script_command(args: &[&str]) -> Command {
    let mut c = Command::new("bash");
    c.arg(script())
        .args(args)
        .env("DNU_VAULT_BIN", crate::bin())
        .env_remove("RESTORE_FROM")
        .env_remove("KEYS_FROM")
        .env_remove("S3_PROXY_ADDON")
        .env_remove("CLUSTER_SETTINGS");
    c
}

impl Cluster {
    /// Starts PostgreSQL's database, Garage, `replicas` vaults and nginx.
    pub fn up(replicas: usize) -> Self {
        Self::up_with(replicas, &[])
    }

    /// Starts a fresh cluster from a backup and its key files.
    pub fn restored(replicas: usize, backup: &Path, keys: &Path) -> Self {
        let (backup, keys) = (backup.display().to_string(), keys.display().to_string());
        Self::up_with(replicas, &[("RESTORE_FROM", &backup), ("KEYS_FROM", &keys)])
    }

    /// Starts a cluster whose replicas reach Garage through `mitmdump`
    /// running `addon` (which sees `addon_env`), with more replica
    /// `settings` (`VAULT_S3_TIMEOUT_SECONDS=2 VAULT_S3_MAX_ATTEMPTS=3`).
    pub fn behind_s3_proxy(replicas: usize, addon: &Path, addon_env: &[(&str, &str)], settings: &str) -> Self {
        let addon = addon.display().to_string();
        let mut env = vec![("S3_PROXY_ADDON", addon.as_str()), ("CLUSTER_SETTINGS", settings)];
        env.extend_from_slice(addon_env);
        Self::up_with(replicas, &env)
    }

    fn up_with(replicas: usize, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cdir = dir.path().join("c").display().to_string();
        let mut c = script_command(&["up", &cdir, &replicas.to_string()]);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("run deploy/local-cluster.sh");
        assert!(
            out.status.success(),
            "local-cluster.sh up failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("c/cluster.env")).expect("cluster.env");
        let env = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { dir, env }
    }

    fn cdir(&self) -> String {
        self.dir.path().join("c").display().to_string()
    }

    /// A setting of the cluster (`BALANCER_URL`, `S3_ENDPOINT`, …).
    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).map_or("", String::as_str)
    }

    pub fn balancer(&self) -> &str {
        self.get("BALANCER_URL")
    }

    /// The port replica `n` (from 1) listens on.
    pub fn replica_port(&self, n: usize) -> u16 {
        self.get(&format!("REPLICA_{n}_PORT")).parse().expect("replica port")
    }

    pub fn replica_url(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.replica_port(n))
    }

    /// SIGKILLs replica `n`.
    pub fn kill(&self, n: usize) {
        let out = script_run(&["kill", &self.cdir(), &n.to_string()]);
        assert!(out.status.success(), "kill: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts replica `n` again and waits until it is ready.
    pub fn start(&self, n: usize) {
        let out = script_run(&["start", &self.cdir(), &n.to_string()]);
        assert!(out.status.success(), "start: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `dnu-vault ARGS…` with the cluster's configuration.
    pub fn vault(&self, args: &[&str]) -> Output {
        let cdir = self.cdir();
        let mut a = vec!["vault", cdir.as_str()];
        a.extend_from_slice(args);
        script_run(&a)
    }

    /// `dnu-vault demo --json` on the cluster.
    pub fn demo(&self) -> Value {
        let out = self.vault(&["demo", "--json"]);
        assert!(out.status.success(), "demo: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("demo JSON")
    }

    /// The log of replica `n`.
    pub fn replica_log(&self, n: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("c/replica-{n}.log"))).unwrap_or_default()
    }

    /// Runs the `aws` CLI (PyPI) against the cluster's Garage.
    pub fn aws(&self, args: &[&str]) -> Output {
        let secret = std::fs::read_to_string(self.dir.path().join("c/secrets/s3-secret")).expect("S3 secret");
        Command::new("aws")
            .args(args)
            .args(["--endpoint-url", self.get("S3_ENDPOINT"), "--region", "garage"])
            .env("AWS_ACCESS_KEY_ID", self.get("AWS_ACCESS_KEY_ID"))
            .env("AWS_SECRET_ACCESS_KEY", secret.trim())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("the aws CLI runs (pip install awscli; tests/run.sh does)")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = script_run(&["down", &self.cdir()]);
    }
}
