//! A small WebDriver client (the W3C protocol over HTTP) driving Debian's
//! headless Chromium through chromedriver, for the page tests. Each browser
//! gets its own chromedriver on an ephemeral port and a fresh profile.
//! Test support: a failure here is a test failure, hence the unwraps.
#![allow(clippy::unwrap_used)]

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Panics with what
    /// to install when they are missing (`.ci/run` installs them).
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian packages chromium and chromium-driver; .ci/run installs them)");
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{root}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags keep Chromium off the network it cannot reach here.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--window-size=1280,1600", "--lang=fr-FR", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r: Value = http.post(format!("{root}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}")).to_owned();
        let b = Self { http, base: format!("{root}/session/{session}"), driver, _profile: profile };
        // Elements are looked for up to 5 s (a page still loading).
        b.call(reqwest::Method::POST, "/timeouts", Some(json!({"implicit": 5000}))).await;
        b
    }

    /// A POST to this session's `path` (the accessibility checks' scripts).
    pub(crate) async fn send(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 5 s) until the page's path is `path` (after a form
    /// submission, whose navigation may still be under way).
    pub async fn wait_path(&self, path: &str) -> String {
        let mut url = String::new();
        // Up to 30 s: a throttled upload (`an_upload_shows_its_progress`,
        // 600 KB at 100 KB/s) takes about 6 s before its page comes.
        for _ in 0..300 {
            url = self.url().await;
            let p = url.splitn(4, '/').nth(3).map(|rest| format!("/{rest}")).unwrap_or_default();
            if p == path {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser is at {url}, not {path}");
    }

    /// A cookie's value (HttpOnly ones included: WebDriver sees them).
    pub async fn cookie(&self, name: &str) -> String {
        let v = self.call(reqwest::Method::GET, &format!("/cookie/{name}"), None).await;
        v["value"].as_str().unwrap_or_else(|| panic!("no cookie {name}: {v}")).to_owned()
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None).await.as_str().unwrap().to_owned()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let v =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    pub async fn count(&self, css: &str) -> usize {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().map_or(0, Vec::len)
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap().to_owned()
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/attribute/{name}"), None)
            .await
            .as_str()
            .map(str::to_owned)
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{e}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
    }

    /// A file input takes a path.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        self.choose_files(css, &[path]).await;
    }

    /// Several files in a `multiple` file field, in this order (WebDriver
    /// takes their paths one a line).
    pub async fn choose_files(&self, css: &str, paths: &[&Path]) {
        let e = self.find(css).await;
        let text: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.call(reqwest::Method::POST, &format!("/element/{e}/value"), Some(json!({"text": text.join("\n")}))).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
    }

    /// Presses Tab `n` times from the top of the page; returns the focused
    /// element's text (keyboard use).
    pub async fn tab(&self, n: usize) -> String {
        let keys: Vec<Value> = (0..n)
            .flat_map(|_| {
                [json!({"type": "keyDown", "value": "\u{E004}"}), json!({"type": "keyUp", "value": "\u{E004}"})]
            })
            .collect();
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": keys}]});
        self.call(reqwest::Method::POST, "/actions", Some(actions)).await;
        let e = self.call(reqwest::Method::GET, "/element/active", None).await;
        let id = e[ELEMENT].as_str().unwrap_or_else(|| panic!("active element: {e}")).to_owned();
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await.as_str().unwrap_or("").to_owned()
    }

    /// Saves a screenshot (a test artefact) under `target/page-tests/`.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/page-tests");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Browser {
    /// Ends the session (Chromium exits) before chromedriver is stopped.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
