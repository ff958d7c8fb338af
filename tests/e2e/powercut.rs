//! A disk that lies about flushes, then a power cut (issue 21, row 10).
//!
//! The vault runs with a small `LD_PRELOAD` library (built here with the
//! machine's C compiler) that turns `fsync` and `fdatasync` into no-ops
//! and notes the inode of every file whose flush it dropped: a drive with
//! a volatile cache that acknowledges flushes it never does. After some
//! acknowledged uploads the vault is killed, and the test "loses" what a
//! power cut would have lost on such a drive: the objects whose flushes
//! were dropped, cut short or emptied. The vault cannot prevent that loss;
//! what it must do is notice it at the next `check`, never serve a wrong
//! byte, and say which pieces are affected.

use std::{collections::HashSet, os::unix::fs::MetadataExt, path::Path, process::Command};

use e2e::{Api, Server, demo, doc_of, files_under, run};

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The flush is dropped; the file's inode is noted in $NOFSYNC_LOG. */
static int dropped(int fd) {
    const char *log = getenv("NOFSYNC_LOG");
    struct stat st;
    if (log && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (out >= 0) {
            char line[32];
            int n = snprintf(line, sizeof line, "%lu\n", (unsigned long)st.st_ino);
            if (n > 0) { ssize_t w = write(out, line, (size_t)n); (void)w; }
            close(out);
        }
    }
    return 0;
}
int fsync(int fd) { return dropped(fd); }
int fdatasync(int fd) { return dropped(fd); }
"#;

/// Builds the shim with the machine's C compiler.
fn build_shim(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("nofsync.c");
    let lib = dir.join("libnofsync.so");
    std::fs::write(&src, SHIM).unwrap();
    let out = Command::new("cc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&lib).arg(&src).output();
    let out = out.expect("a C compiler (cc) to build the fsync-dropping library");
    assert!(out.status.success(), "cc failed: {}", String::from_utf8_lossy(&out.stderr));
    lib
}

#[tokio::test]
async fn flushes_a_lying_disk_dropped_are_found_missing_at_the_next_check() {
    let dir = tempfile::tempdir().unwrap();
    let tools = tempfile::tempdir().unwrap();
    let shim = build_shim(tools.path());
    let noted = tools.path().join("dropped.txt");
    let d = demo(dir.path(), &[]);
    let token = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let (shim_s, noted_s) = (shim.display().to_string(), noted.display().to_string());
    let env = [("LD_PRELOAD", shim_s.as_str()), ("NOFSYNC_LOG", noted_s.as_str())];
    let mut server = Server::start(dir.path(), &env);
    let api = Api::new(&server, &token);
    let mut pieces = Vec::new();
    for (seed, kind) in [(1, "identite"), (2, "ressources"), (3, "avis_imposition_n1"), (4, "handicap")] {
        pieces.push(api.upload_ok(&nu, kind, &doc_of(60_000, seed)).await);
    }
    // The power goes: no chance to flush anything.
    server.kill();

    // Every object of these uploads had its flush dropped…
    let dropped: HashSet<u64> =
        std::fs::read_to_string(&noted).unwrap().lines().filter_map(|l| l.trim().parse().ok()).collect();
    let objects: Vec<_> = files_under(&dir.path().join("objects/dossiers"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dnuv"))
        .collect();
    let unflushed: Vec<_> =
        objects.iter().filter(|p| dropped.contains(&std::fs::metadata(p).unwrap().ino())).cloned().collect();
    assert_eq!(objects.len(), 12, "4 versions × (original, rendition, thumbnail)");
    assert_eq!(unflushed.len(), 12, "the shim saw every object's flush");
    // …and on a lying drive, a power cut loses what was never written:
    // here half of them emptied, half cut in the middle.
    for (i, p) in unflushed.iter().enumerate() {
        let len = std::fs::metadata(p).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_len(if i % 2 == 0 { 0 } else { len / 2 }).unwrap();
    }

    // The next check finds every one, and fails.
    let check = run(dir.path(), &[], &["check"]);
    let err = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(!check.status.success(), "{err}");
    assert!(err.contains("12 objects: 0 missing, 12 with a wrong length"), "{err}");
    let deep = run(dir.path(), &[], &["check", "--deep"]);
    assert!(!deep.status.success());
    // Nothing wrong is ever served: the pieces answer 500 integrity_failure.
    let server = Server::start(dir.path(), &[]);
    let api = Api::new(&server, &token);
    for p in &pieces {
        let r = api.get(&format!("/api/v1/dossiers/{nu}/pieces/{p}/original")).await.unwrap();
        let status = r.status();
        let body = r.bytes().await;
        assert!(status == 500 || body.is_err(), "piece {p}: {status} with a complete body");
    }
    drop(server);
    // The scrubber names the pieces for the operator.
    let scrub = run(dir.path(), &[], &["scrub", "--all"]);
    let scrub_err = String::from_utf8_lossy(&scrub.stderr).into_owned();
    assert!(scrub_err.contains("12 failed verification"), "{scrub_err}");
    eprintln!(
        "power cut on a disk that drops flushes: {} flushes dropped ({} distinct files), 12 objects lost or cut; \
         check: {}; scrub: {}",
        std::fs::read_to_string(&noted).unwrap().lines().count(),
        dropped.len(),
        err.lines().find(|l| l.contains("objects:")).unwrap_or_default(),
        scrub_err.lines().find(|l| l.starts_with("scrubbed")).unwrap_or_default()
    );
}
