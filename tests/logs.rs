//! The logs of every process the end-to-end tests run, kept, and the
//! values those logs must never hold (issue 21, row 9).
//!
//! The binaries run at `RUST_LOG=trace` (their own code and every library
//! they use) unless a test needs less; each process's log is written under
//! `target/test-logs/` when it ends. The tokens, codes, numéros uniques,
//! key files and document markers the tests create are listed in
//! `target/test-logs/values.tsv` as they appear. After `cargo test`,
//! `tests/check_logs.py` (run by `tests/run.sh`) looks for each of them,
//! and for anything shaped like an e-mail address, a token or a numéro
//! unique, in every log, and fails on the first hit.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

/// The level the binaries log at in the tests.
pub const LEVEL: &str = "trace";

/// `target/test-logs`, beside the binaries' `debug/`.
pub fn dir() -> PathBuf {
    static CONSTANTS: std::sync::Once = std::sync::Once::new();
    let d = crate::bin().parent().and_then(Path::parent).map(|t| t.join("test-logs")).expect("target directory");
    let _ = std::fs::create_dir_all(&d);
    // What every test's uploads carry, whoever sends them.
    CONSTANTS.call_once(|| append(&d, &format!("file name\tpiece.pdf\ndocument marker\t{DOCUMENT_MARKER}\n")));
    d
}

fn append(dir: &Path, lines: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("values.tsv")) {
        let _ = f.write_all(lines.as_bytes());
    }
}

/// Keeps a process's log (`kind`: `serve`, `command`, `scanner`).
pub fn keep(kind: &str, text: &str) {
    static N: AtomicU64 = AtomicU64::new(0);
    if text.is_empty() {
        return;
    }
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = dir().join(format!("{kind}-{}-{n}.log", std::process::id()));
    let _ = std::fs::write(path, text);
}

/// Records a value no log may hold. One line per value, appended (short
/// appends to one file from several threads do not interleave).
pub fn watch(kind: &str, value: &str) {
    let value = value.trim();
    // Too short to be told apart from anything else.
    if value.len() < 8 || value.contains(['\t', '\n']) {
        return;
    }
    append(&dir(), &format!("{kind}\t{value}\n"));
}

/// What every document of the tests carries in its bytes ([`crate::doc_of`]).
pub const DOCUMENT_MARKER: &str = "DNU-E2E-MARQUEUR-";

/// Records every string of an answer whose field names a secret or a
/// person's data (`token`, `numero_unique`, `identifier`, `code`).
pub fn watch_json(v: &serde_json::Value) {
    fn walk(v: &serde_json::Value, field: &str) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k)),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, field)),
            serde_json::Value::String(s) if matches!(field, "token" | "numero_unique" | "identifier" | "code") => {
                watch(field, s);
            }
            _ => {}
        }
    }
    walk(v, "");
}

/// Records every string in the output of `demo --json` whose field names a
/// secret or a person's data, and the key files of its data directory.
pub fn watch_demo(data: &Path, demo: &serde_json::Value) {
    watch_json(demo);
    for key in ["dev-master.key", "audit-signing.key", "sheet-hmac.key"] {
        if let Ok(text) = std::fs::read_to_string(data.join(key)) {
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                // A key ring's line is `version secret`: the secret is what matters.
                watch("key", line.split_whitespace().last().unwrap_or(line));
            }
        }
    }
}
