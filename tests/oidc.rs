//! The test OpenID Provider (`tests/oidc/provider.mjs`, npm's
//! `oidc-provider`), for the vault's sign-in tests and the journeys over
//! the real binary: one process per test, on a port the system picks,
//! registered for a vault whose address is known before it starts.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use serde_json::{Value, json};

pub const CLIENT_ID: &str = "dnu-vault-test";
pub const CLIENT_SECRET: &str = "client-secret-for-the-tests-only-0123456789";

/// A running provider; stopped when dropped.
pub struct Provider {
    child: Child,
    pub issuer: String,
    _dir: tempfile::TempDir,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// `profile` is `proconnect` or `franceconnect`; `vault` the vault's
    /// public URL, from which the redirect URIs registered are built;
    /// `extra` adds settings of `provider.mjs` (`forged_jwks`…).
    pub fn start(profile: &str, vault: &str, callback: &str, logout: &str, accounts: Value, extra: Value) -> Self {
        let mut config = json!({
            "profile": profile,
            "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                         "redirect_uris": [format!("{vault}{callback}")],
                         "post_logout_redirect_uris": [format!("{vault}{logout}")]}],
            "accounts": accounts,
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            config[k] = v.clone();
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the test OpenID Provider is not installed: run tests/run.sh (it runs `npm ci` in tests/oidc)"
        );
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("provider.json");
        std::fs::write(&file, config.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test OpenID Provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("provider said {line:?}"));
        Self { child, issuer: v["issuer"].as_str().unwrap().to_owned(), _dir: tmp }
    }

    /// Stops the provider (the "provider down" tests).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
