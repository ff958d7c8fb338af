//! Accessibility checks the page journeys run in Chromium: axe-core (npm,
//! pinned by `web/package-lock.json`) with the WCAG 2.1 A and AA rules on
//! every page visited, keyboard-only walks, and phone-sized viewports.
//! Each axe run appends one line to `target/page-tests/axe.txt` (page,
//! rules run, violations), which `.ci/run` prints.
//! Test support: a failure here is a test failure, hence the unwraps.
#![allow(clippy::unwrap_used)]

use std::{io::Write as _, path::Path, sync::OnceLock};

use serde_json::{Value, json};

use crate::webdriver::Browser;

/// What axe found on one page.
#[derive(Debug)]
pub struct AxeReport {
    pub path: String,
    /// Rules that ran (passed, failed, incomplete or not applicable).
    pub rules: u64,
    /// One line per rule violated: its id, impact and first elements.
    pub violations: Vec<String>,
}

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; install it with `npm ci --prefix web --ignore-scripts` (tests/run.sh does)",
                path.display()
            )
        })
    })
}

/// Where the report lines go.
fn report_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/page-tests/axe.txt")
}

impl Browser {
    /// Runs axe-core on the current page with the WCAG 2.1 A/AA rule set.
    pub async fn axe(&self) -> AxeReport {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             if (!window.axe) {{ {} }}
             axe.run(document, {{ runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }},
                                  resultTypes: ['violations'] }})
               .then(r => done({{ path: location.pathname + location.search,
                                 rules: r.passes.length + r.violations.length + r.incomplete.length + r.inapplicable.length,
                                 violations: r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — '
                                   + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')) }}),
                     e => done({{ error: String(e) }}));",
            axe_source()
        );
        let v = self.execute_async(&script).await;
        assert!(v.get("error").is_none(), "axe failed to run: {v}");
        AxeReport {
            path: v["path"].as_str().unwrap().to_owned(),
            rules: v["rules"].as_u64().unwrap(),
            violations: v["violations"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        }
    }

    /// Runs axe on the current page, records the line, and fails the test
    /// on any violation. `label` names the page's state (signed in, form in
    /// error…).
    pub async fn assert_accessible(&self, label: &str) {
        let r = self.axe().await;
        let line = format!("axe {label}: {} — {} rules run, violations = {}", r.path, r.rules, r.violations.len());
        println!("{line}");
        let file = report_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&file).unwrap();
        writeln!(f, "{line}").unwrap();
        assert!(r.rules > 20, "axe ran too few rules on {}: {}", r.path, r.rules);
        assert!(r.violations.is_empty(), "{line}\n{}", r.violations.join("\n"));
    }

    /// Sets the viewport (CSS pixels) as a phone or a desktop shows it.
    pub async fn viewport(&self, width: u32, height: u32) {
        let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600});
        self.cdp("Emulation.setDeviceMetricsOverride", params).await;
        // The page lays itself out again at the next frames.
        self.execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
        )
        .await;
    }

    /// Slows the browser's uploads to `bytes_per_s` (a phone on a slow line).
    pub async fn throttle_uploads(&self, bytes_per_s: u32) {
        self.cdp("Network.enable", json!({})).await;
        let conditions =
            json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_s});
        self.cdp("Network.emulateNetworkConditions", conditions).await;
    }

    /// How far the page is wider than its viewport (0: no horizontal scroll).
    pub async fn horizontal_overflow(&self) -> i64 {
        let v =
            self.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;").await;
        v.as_i64().unwrap()
    }

    /// Presses Tab from the top of a freshly loaded page until focus leaves
    /// the page, and checks that every visible link, button and field was
    /// reached, each with a visible focus ring. Returns how many were.
    pub async fn keyboard_walk(&self) -> usize {
        let expected = self
            .execute(
                "const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex=\"-1\"])';
                 const els = [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0 && !e.disabled
                   && (e.tagName === 'SUMMARY' || !e.closest('details:not([open])')));
                 els.forEach((e, i) => e.dataset.kb = String(i));
                 return els.map(e => (e.innerText || e.value || e.id || e.name || e.tagName).trim().slice(0, 60));",
            )
            .await;
        let expected: Vec<String> =
            expected.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect();
        let mut reached = vec![false; expected.len()];
        for _ in 0..expected.len() + 5 {
            self.press("\u{E004}").await;
            let v = self
                .execute(
                    "const a = document.activeElement;
                     if (!a || a === document.body) return null;
                     if (a.dataset.kb === undefined) return { i: -1, shown: true, what: a.outerHTML.slice(0, 80) };
                     const ring = e => { const s = getComputedStyle(e);
                       return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; };
                     const lab = a.labels && a.labels[0];
                     const shown = ring(a) || (lab && (ring(lab) || (() => { const s = getComputedStyle(lab, '::before');
                       return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none'; })()));
                     return { i: Number(a.dataset.kb), shown };",
                )
                .await;
            if v.is_null() {
                break;
            }
            let Some(i) = v["i"].as_u64().map(|i| i as usize) else {
                panic!("Tab reaches {}, which the walk did not expect", v["what"]);
            };
            assert!(v["shown"].as_bool().unwrap(), "no visible focus on {:?}", expected[i]);
            reached[i] = true;
        }
        let missed: Vec<&String> = expected.iter().zip(&reached).filter(|(_, r)| !**r).map(|(e, _)| e).collect();
        assert!(missed.is_empty(), "Tab never reaches {missed:?}");
        expected.len()
    }

    /// Tabs until the element matching `css` has the focus (at most 60 presses).
    pub async fn tab_to(&self, css: &str) {
        for _ in 0..60 {
            self.press("\u{E004}").await;
            let v = self.execute(&format!("return document.activeElement.matches({});", json!(css))).await;
            if v.as_bool() == Some(true) {
                return;
            }
        }
        panic!("Tab never reaches {css}");
    }

    /// Types into the focused element, as a keyboard would.
    pub async fn keys(&self, text: &str) {
        for c in text.chars() {
            self.press(&c.to_string()).await;
        }
    }

    /// Presses Enter on the focused element.
    pub async fn enter(&self) {
        self.press("\u{E007}").await;
    }

    async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.send("/actions", actions).await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn execute(&self, script: &str) -> Value {
        self.send("/execute/sync", json!({"script": script, "args": []})).await
    }

    async fn execute_async(&self, script: &str) -> Value {
        self.send("/execute/async", json!({"script": script, "args": []})).await
    }

    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.send("/goog/cdp/execute", json!({"cmd": cmd, "params": params})).await
    }
}
