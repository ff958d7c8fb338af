//! scanner-ingest end to end: a stack of three applicants' papers, split by
//! separator sheets, dropped into the folder of a running `scanner-ingest
//! watch` against a running vault, ends as the right pieces in the right
//! dossiers with their scan provenance; a forged sheet sends its batch to
//! quarantine; with the vault stopped (and scanner-ingest killed) during
//! the batch, everything is filed once both are back, and nothing twice;
//! the same kind of stack delivered as one duplex PDF (G4, JBIG2 and JPEG
//! pages, blank backs) is filed the same way, and a password-locked PDF and
//! a decompression bomb go to quarantine; a piece the vault refused is sent again by the agent, through
//! a vault outage, and filed once.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use dnu_api::sheet::SheetKey;
use e2e::{Api, Server, demo, free_port, scanner_bin};
use scanner_ingest::synth;
use serde_json::Value;

struct Scanner {
    child: Child,
    log: PathBuf,
}

impl Scanner {
    fn start(hot: &Path, vault: &str, key: &Path, token: &str, log: PathBuf) -> Self {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(scanner_bin())
            .arg("watch")
            .arg(hot)
            .args(["--vault-url", vault, "--settle-seconds", "1", "--retry-max-seconds", "2", "--host", "scan-e2e"])
            .arg("--sheet-key-file")
            .arg(key)
            .env("SCANNER_TOKEN", token)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", e2e::logs::LEVEL)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("spawn scanner-ingest");
        Self { child, log }
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.kill();
        e2e::logs::keep("scanner", &self.log());
    }
}

/// One applicant's papers: the sheet, then its pages.
struct Papers<'a> {
    nu: &'a str,
    kind: &'a str,
    pages: Vec<Page>,
}

enum Page {
    Text(u64, f32),
    Photo(u64),
    Blank(u64),
}

/// Writes the stack as a scanner would (`scan_0001.jpg`…), aside first,
/// then moved into the hot folder; returns the SHA-256 of each group's files.
fn scan_stack(hot: &Path, key: &SheetKey, stack: &[Papers<'_>], start: usize) -> Vec<Vec<String>> {
    let aside = hot.parent().unwrap().join(format!("writing-{start}"));
    std::fs::create_dir_all(&aside).unwrap();
    let mut n = start;
    let mut hashes = Vec::new();
    for p in stack {
        let today = time::OffsetDateTime::now_utc().date();
        let payload = key.payload(p.nu, p.kind, GUICHET, today).unwrap();
        let sheet = synth::sheet_scan(&payload, p.nu, p.kind);
        let sheet = synth::on_scanner(&synth::scanner_noise(&sheet, n as u64, 6.0, 10), 1.5, 0);
        let mut files = vec![synth::jpeg(&sheet, 300)];
        let mut group = Vec::new();
        for page in &p.pages {
            let bytes = match page {
                Page::Text(seed, angle) => {
                    let t = synth::scanner_noise(&synth::text_page_pixels(*seed), *seed, 8.0, 100);
                    synth::jpeg(&synth::on_scanner(&t, *angle, 30), 300)
                }
                Page::Photo(seed) => synth::jpeg_rgb(&synth::photo_page(*seed), 300),
                Page::Blank(seed) => synth::jpeg(&synth::blank_page(*seed), 300),
            };
            if !matches!(page, Page::Blank(_)) {
                group.push(scanner_ingest_sha(&bytes));
            }
            files.push(bytes);
        }
        hashes.push(group);
        for f in files {
            n += 1;
            std::fs::write(aside.join(format!("scan_{n:04}.jpg")), f).unwrap();
        }
    }
    for e in std::fs::read_dir(&aside).unwrap() {
        let p = e.unwrap().path();
        std::fs::rename(&p, hot.join(p.file_name().unwrap())).unwrap();
    }
    hashes
}

/// SHA-256 by coreutils' `sha256sum`, not by the code under test.
fn scanner_ingest_sha(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// qpdf finds nothing wrong and poppler renders `pages` pages.
fn accepted_by_others(pdf: &Path, pages: usize) {
    let check = Command::new("qpdf").arg("--check").arg(pdf).output().expect("qpdf is installed (tests/run.sh)");
    assert!(check.status.success(), "{}: {}", pdf.display(), String::from_utf8_lossy(&check.stdout));
    let out = tempfile::tempdir().unwrap();
    let render =
        Command::new("pdftoppm").args(["-r", "20", "-png"]).arg(pdf).arg(out.path().join("p")).output().unwrap();
    assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), pages, "{}", pdf.display());
}

/// The dossier's pieces, once `want` of them are there (or the deadline).
async fn pieces_when(api: &Api, nu: &str, want: usize, deadline: Instant, scanner: &Scanner) -> Vec<Value> {
    loop {
        if let Ok(r) = api.get(&format!("/api/v1/dossiers/{nu}")).await
            && r.status() == 200
        {
            let v: Value = r.json().await.unwrap();
            let pieces = v["pieces"].as_array().cloned().unwrap_or_default();
            if pieces.len() >= want {
                return pieces;
            }
        }
        assert!(Instant::now() < deadline, "dossier {nu} did not get {want} pieces; scanner log:\n{}", scanner.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn guichet_token(d: &Value) -> String {
    let orgs = d["organisations"].as_array().unwrap();
    let guichet = orgs.iter().find(|o| o["kind"] == "guichet").unwrap()["id"].clone();
    d["agents"].as_array().unwrap().iter().find(|a| a["organisation"] == guichet && a["scanner"] == true).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Seeds the demo territory; the guichet agent's token and the demo dossier.
/// The demo's registering guichet.
const GUICHET: &str = "DKMAI";

/// The guichet's own sheet key, written by the vault for its scanner.
fn guichet_key(dir: &Path) -> PathBuf {
    let file = dir.join("guichet-sheet.key");
    let out = e2e::run(
        &dir.join("vault"),
        &[],
        &["keys", "sheet-key", "--guichet", GUICHET, "--output", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    file
}

fn setup(dir: &Path) -> (String, String) {
    let d = demo(&dir.join("vault"), &[]);
    (guichet_token(&d), d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_mixed_stack_is_filed_in_the_right_dossiers_and_a_forged_sheet_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let (token, first) = setup(dir.path());
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start(&dir.path().join("vault"), &[("VAULT_LISTEN", &listen)]);
    let api = Api::new(&server, &token);
    let nus = [first, api.register_ok().await, api.register_ok().await];
    // The scanner holds its guichet's key only, never the territory's.
    let key_file = guichet_key(dir.path());
    let key = SheetKey::from_file(&key_file).unwrap();
    assert_eq!(key.guichet(), Some(GUICHET));
    let hot = dir.path().join("scans");
    std::fs::create_dir_all(&hot).unwrap();
    let mut scanner = Scanner::start(&hot, &server.base, &key_file, &token, dir.path().join("s.log"));

    let stack = [
        Papers { nu: &nus[0], kind: "ressources", pages: vec![Page::Text(1, 2.0), Page::Text(2, -1.0)] },
        Papers { nu: &nus[1], kind: "identite", pages: vec![Page::Photo(3), Page::Blank(4)] },
        Papers {
            nu: &nus[2],
            kind: "avis_imposition_n1",
            pages: vec![Page::Text(5, 0.0), Page::Blank(6), Page::Text(7, 3.0)],
        },
    ];
    let hashes = scan_stack(&hot, &key, &stack, 0);
    let deadline = Instant::now() + Duration::from_secs(240);
    for (i, p) in stack.iter().enumerate() {
        let pieces = pieces_when(&api, p.nu, 1, deadline, &scanner).await;
        assert_eq!(pieces.len(), 1, "{}: {pieces:?}", p.nu);
        let piece = &pieces[0];
        assert_eq!(piece["kind"], p.kind);
        let v = &piece["current"];
        let expected_pages = p.pages.iter().filter(|x| !matches!(x, Page::Blank(_))).count();
        assert_eq!(v["pages"], expected_pages as u64, "{}", p.kind);
        assert_eq!(v["scan"]["host"], "scan-e2e");
        let got: Vec<String> =
            v["scan"]["images_sha256"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_owned()).collect();
        assert_eq!(got, hashes[i], "raw scan hashes of {}", p.kind);
        // The original is the compact PDF scanner-ingest built.
        let pdf = api.original(p.nu, piece["id"].as_str().unwrap()).await;
        let file = dir.path().join(format!("filed-{i}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        accepted_by_others(&file, expected_pages);
        if p.kind != "identite" {
            assert!(pdf.len() < 200_000 * expected_pages, "{} bytes for {expected_pages} text pages", pdf.len());
        }
    }
    // The blank pages were kept aside, not filed.
    let blanks: Vec<_> = std::fs::read_dir(hot.join("pages-blanches")).unwrap().flatten().collect();
    assert_eq!(blanks.len(), 2, "one blank-page PDF per group that had blank pages");
    for b in &blanks {
        accepted_by_others(&b.path(), 1);
    }
    assert!(scanner.log().contains("piece filed"));

    // A sheet signed with another key: the whole batch is quarantined.
    let forger = SheetKey::from_hex(&"42".repeat(32)).unwrap();
    let forged = [Papers { nu: &nus[0], kind: "identite", pages: vec![Page::Text(8, 1.0)] }];
    scan_stack(&hot, &forger, &forged, 100);
    let q = hot.join("quarantaine");
    let reason = quarantine_reason(&q, &scanner).await;
    assert!(reason.contains("feuille de séparation refusée"), "{reason}");
    let pieces = pieces_when(&api, &nus[0], 1, Instant::now() + Duration::from_secs(5), &scanner).await;
    assert_eq!(pieces.len(), 1, "nothing from the forged batch was filed");
    let status = Command::new(scanner_bin()).arg("status").arg(&hot).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains("En attente d'envoi au coffre : 0") && status.contains("Déposées dans le coffre : 3"),
        "{status}"
    );
    // No numéro unique or token in the scanner's log.
    let log = scanner.log();
    for secret in nus.iter().chain([&token]) {
        assert!(!log.contains(secret.as_str()), "{secret} in the scanner log");
    }
    scanner.kill();
}

#[tokio::test]
async fn with_the_vault_down_and_the_scanner_killed_nothing_is_lost_or_filed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (token, first) = setup(dir.path());
    let listen = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("vault");
    let mut server = Server::start(&data, &[("VAULT_LISTEN", &listen)]);
    let base = server.base.clone();
    let api = Api::new(&server, &token);
    let nus = [first, api.register_ok().await, api.register_ok().await];
    let key_file = data.join("sheet-hmac.key");
    let key = SheetKey::from_file(&key_file).unwrap();
    let hot = dir.path().join("scans");
    std::fs::create_dir_all(&hot).unwrap();
    // The vault goes down before the batch arrives.
    server.kill();
    let mut scanner = Scanner::start(&hot, &base, &key_file, &token, dir.path().join("s.log"));
    let stack = [
        Papers { nu: &nus[0], kind: "situation_familiale", pages: vec![Page::Text(11, 1.0)] },
        Papers { nu: &nus[1], kind: "ressources", pages: vec![Page::Text(12, -2.0), Page::Text(13, 0.5)] },
        Papers { nu: &nus[2], kind: "logement_actuel", pages: vec![Page::Text(14, 0.0)] },
    ];
    scan_stack(&hot, &key, &stack, 0);
    // Wait until the jobs are queued and have failed at least once.
    let queue = hot.join(".scanner-ingest/queue");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let attempted = std::fs::read_dir(&queue).ok().is_some_and(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path().join("job.json")).is_ok_and(|j| j.contains("\"attempts\": 1"))
            })
        });
        let queued = std::fs::read_dir(&queue)
            .map(|d| d.flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count())
            .unwrap_or(0);
        if attempted && queued == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "jobs not queued; log:\n{}", scanner.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The scanner machine crashes too; the raw scans are gone from the folder.
    scanner.kill();
    assert!(scanner_ingest::spool::files_in(&hot).unwrap().is_empty());
    let status = Command::new(scanner_bin()).arg("status").arg(&hot).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.contains("En attente d'envoi au coffre : 3"), "{status}");
    assert!(status.contains("dernière erreur"), "{status}");

    // Both come back; everything is filed, once.
    let server = Server::start(&data, &[("VAULT_LISTEN", &listen)]);
    assert_eq!(server.base, base);
    let scanner = Scanner::start(&hot, &base, &key_file, &token, dir.path().join("s.log"));
    let deadline = Instant::now() + Duration::from_secs(120);
    for p in &stack {
        let pieces = pieces_when(&api, p.nu, 1, deadline, &scanner).await;
        assert_eq!(pieces.len(), 1, "{pieces:?}");
        assert_eq!(pieces[0]["kind"], p.kind);
        assert_eq!(pieces[0]["versions"], 1);
    }
    // Let the scanner run a little longer: nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for p in &stack {
        let pieces = pieces_when(&api, p.nu, 1, Instant::now() + Duration::from_secs(5), &scanner).await;
        assert_eq!(pieces.len(), 1);
    }
    assert_eq!(std::fs::read_dir(&queue).unwrap().count(), 0, "queue drained");
    drop(server);
}

/// The stack as a scan-to-folder scanner delivers it in duplex: one PDF,
/// sheets and grey pages in JPEG, text in bitonal G4 or JBIG2, photos in colour
/// JPEG, and behind every sheet and every single-sided page its blank back.
/// Returns the PDF's SHA-256 (every group's provenance names it).
fn scan_stack_as_pdf(hot: &Path, key: &SheetKey, stack: &[Papers<'_>], name: &str) -> String {
    use synth::PdfPage;
    let today = time::OffsetDateTime::now_utc().date();
    let mut pages = Vec::new();
    for (n, p) in stack.iter().enumerate() {
        let payload = key.payload(p.nu, p.kind, GUICHET, today).unwrap();
        let sheet = synth::sheet_scan(&payload, p.nu, p.kind);
        pages.push(PdfPage::Gray(synth::on_scanner(&synth::scanner_noise(&sheet, n as u64, 6.0, 10), 1.0, 0)));
        pages.push(PdfPage::Bitonal(synth::blank_page(900 + n as u64)));
        for page in &p.pages {
            match page {
                // A skewed page in grey, as scanners keep pages they cannot
                // tell are text; a straight one in G4.
                Page::Text(seed, angle) if *angle != 0.0 => {
                    let t = synth::scanner_noise(&synth::text_page_pixels(*seed), *seed, 8.0, 100);
                    pages.push(PdfPage::Gray(synth::on_scanner(&t, *angle, 30)));
                }
                // Straight ones bitonal: G4, or JBIG2 as some scanners
                // write (odd seeds).
                Page::Text(seed, _) if seed % 2 == 1 => pages.push(PdfPage::Jbig2(synth::text_page_pixels(*seed))),
                Page::Text(seed, _) => pages.push(PdfPage::Bitonal(synth::text_page_pixels(*seed))),
                Page::Photo(seed) => pages.push(PdfPage::Colour(synth::photo_page(*seed))),
                Page::Blank(seed) => pages.push(PdfPage::Bitonal(synth::blank_page(*seed))),
            }
            pages.push(PdfPage::Bitonal(synth::blank_page(700 + pages.len() as u64)));
        }
    }
    let pdf = synth::scanner_pdf(&pages, 300.0);
    let aside = hot.parent().unwrap().join(name);
    std::fs::write(&aside, &pdf).unwrap();
    std::fs::rename(&aside, hot.join(name)).unwrap();
    scanner_ingest_sha(&pdf)
}

#[tokio::test]
async fn a_scanners_duplex_pdf_is_filed_right_and_quarantined_lots_are_retried_or_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let (token, first) = setup(dir.path());
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start(&dir.path().join("vault"), &[("VAULT_LISTEN", &listen)]);
    let api = Api::new(&server, &token);
    let nus = [first, api.register_ok().await, api.register_ok().await];
    let key_file = guichet_key(dir.path());
    let key = SheetKey::from_file(&key_file).unwrap();
    let hot = dir.path().join("scans");
    std::fs::create_dir_all(&hot).unwrap();
    let mut scanner = Scanner::start(&hot, &server.base, &key_file, &token, dir.path().join("s.log"));

    let stack = [
        Papers { nu: &nus[0], kind: "ressources", pages: vec![Page::Text(51, 0.0), Page::Text(52, 2.5)] },
        Papers { nu: &nus[1], kind: "identite", pages: vec![Page::Photo(53)] },
        Papers { nu: &nus[2], kind: "avis_imposition_n1", pages: vec![Page::Text(54, 0.0), Page::Text(55, -1.5)] },
    ];
    let sha = scan_stack_as_pdf(&hot, &key, &stack, "SCAN_0001.pdf");
    let deadline = Instant::now() + Duration::from_secs(240);
    for (i, p) in stack.iter().enumerate() {
        let pieces = pieces_when(&api, p.nu, 1, deadline, &scanner).await;
        assert_eq!(pieces.len(), 1, "{}: {pieces:?}", p.nu);
        let piece = &pieces[0];
        assert_eq!(piece["kind"], p.kind);
        let v = &piece["current"];
        // Every blank back set aside, no page lost.
        assert_eq!(v["pages"], p.pages.len() as u64, "{}", p.kind);
        assert_eq!(v["scan"]["images_sha256"], serde_json::json!([sha]), "{}", p.kind);
        let pdf = api.original(p.nu, piece["id"].as_str().unwrap()).await;
        let file = dir.path().join(format!("filed-{i}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        accepted_by_others(&file, p.pages.len());
    }
    // The blank backs (one per sheet, one per page) kept aside and listed.
    let blanks: Vec<_> = std::fs::read_dir(hot.join("pages-blanches")).unwrap().flatten().collect();
    assert_eq!(blanks.len(), 3, "one blank-page PDF per group");
    let backs: usize = blanks
        .iter()
        .map(|b| {
            let out = Command::new("pdfinfo").arg(b.path()).output().unwrap();
            let info = String::from_utf8_lossy(&out.stdout).into_owned();
            info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(backs, stack.iter().map(|p| p.pages.len()).sum::<usize>() + stack.len());

    // A PDF locked with a password: its batch is quarantined, with the reason in French.
    let locked_src = dir.path().join("clear.pdf");
    std::fs::write(&locked_src, synth::scanner_pdf(&[synth::PdfPage::Bitonal(synth::text_page_pixels(60))], 300.0))
        .unwrap();
    let aside = dir.path().join("SCAN_0002.pdf");
    let qpdf = Command::new("qpdf")
        .args(["--encrypt", "code", "owner", "256", "--"])
        .arg(&locked_src)
        .arg(&aside)
        .output()
        .expect("qpdf is installed (tests/run.sh)");
    assert!(qpdf.status.success());
    std::fs::rename(&aside, hot.join("SCAN_0002.pdf")).unwrap();
    let q = hot.join("quarantaine");
    let reason = quarantine_reason(&q, &scanner).await;
    assert!(reason.contains("SCAN_0002.pdf") && reason.contains("protégé par un mot de passe"), "{reason}");
    let lot = only_lot(&q);
    // The agent removes it with a reason; the status keeps the trace.
    let bad = scanner_cmd(&hot, &["discard", &lot, "--reason", ""]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--reason"));
    let out = scanner_cmd(&hot, &["discard", &lot, "--reason", "PDF verrouillé, pile numérisée à nouveau"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!q.join(&lot).exists());

    // The intake corpus's worst case, a content stream inflating to 2 GiB:
    // the confined worker's limits end it, its batch goes to quarantine,
    // and `watch` carries on (the lots below are still taken).
    std::fs::write(dir.path().join("SCAN_0005.pdf"), synth::flate_bomb_pdf(2048)).unwrap();
    std::fs::rename(dir.path().join("SCAN_0005.pdf"), hot.join("SCAN_0005.pdf")).unwrap();
    let reason = quarantine_reason(&q, &scanner).await;
    assert!(reason.contains("SCAN_0005.pdf") && reason.contains("trop lourd à ouvrir"), "{reason}");
    assert!(matches!(scanner.child.try_wait(), Ok(None)), "watch is still running");
    let lot = only_lot(&q);
    let out = scanner_cmd(&hot, &["discard", &lot, "--reason", "PDF piégé, signalé au service informatique"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Pages with no sheet before them: quarantined; the agent scans the
    // missing sheet into the lot's folder and sends it again.
    let stray = synth::scanner_pdf(&[synth::PdfPage::Bitonal(synth::text_page_pixels(61))], 300.0);
    std::fs::write(dir.path().join("SCAN_0004.pdf"), stray).unwrap();
    std::fs::rename(dir.path().join("SCAN_0004.pdf"), hot.join("SCAN_0004.pdf")).unwrap();
    let reason = quarantine_reason(&q, &scanner).await;
    let lot = only_lot(&q);
    assert!(reason.contains("avant la première feuille"), "{reason}");
    let payload = key.payload(&nus[0], "situation_familiale", GUICHET, time::OffsetDateTime::now_utc().date()).unwrap();
    let sheet = synth::sheet_scan(&payload, &nus[0], "situation_familiale");
    std::fs::write(q.join(&lot).join("SCAN_0003.jpg"), synth::jpeg(&sheet, 300)).unwrap();
    let out = scanner_cmd(&hot, &["retry", &lot]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pieces = pieces_when(&api, &nus[0], 2, Instant::now() + Duration::from_secs(120), &scanner).await;
    assert!(pieces.iter().any(|p| p["kind"] == "situation_familiale" && p["current"]["pages"] == 1), "{pieces:?}");
    assert_eq!(std::fs::read_dir(&q).unwrap().count(), 0, "the retried lot left the quarantine");
    // What the guichet sees: every batch with its outcome, the discarded lot
    // with its reason.
    let status = scanner_cmd(&hot, &["status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let outcomes: Vec<&str> =
        status["batches"].as_array().unwrap().iter().map(|b| b["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "queued").count(), 2, "{status}");
    let reasons: Vec<&str> =
        status["discarded"].as_array().unwrap().iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"PDF verrouillé, pile numérisée à nouveau"), "{status}");
    assert!(reasons.contains(&"PDF piégé, signalé au service informatique"), "{status}");
    assert_eq!(status["filed"].as_array().unwrap().len(), 4);
    let text = String::from_utf8_lossy(&scanner_cmd(&hot, &["status"]).stdout).into_owned();
    assert!(text.contains("Lots abandonnés : 2") && text.contains("découpé en 3 pièce(s)"), "{text}");
    let log = scanner.log();
    for secret in nus.iter().chain([&token]) {
        assert!(!log.contains(secret.as_str()), "{secret} in the scanner log");
    }
    scanner.kill();
}

/// A piece the vault refused (here: larger than its upload limit) waits in
/// quarantine with the vault's reason; the operator raises the limit, and
/// the agent sends it again while the vault is still restarting: it waits
/// in the queue, not in quarantine, and is filed once the vault is back,
/// once, under the same idempotency key.
#[tokio::test]
async fn a_piece_the_vault_refused_is_sent_again_and_filed_once_the_vault_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (token, nu) = setup(dir.path());
    let listen = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("vault");
    let mut server = Server::start(&data, &[("VAULT_LISTEN", &listen), ("VAULT_MAX_UPLOAD_BYTES", "4096")]);
    let base = server.base.clone();
    let api = Api::new(&server, &token);
    let key_file = guichet_key(dir.path());
    let key = SheetKey::from_file(&key_file).unwrap();
    let hot = dir.path().join("scans");
    std::fs::create_dir_all(&hot).unwrap();
    let scanner = Scanner::start(&hot, &base, &key_file, &token, dir.path().join("s.log"));
    let stack = [Papers { nu: &nu, kind: "ressources", pages: vec![Page::Text(71, 0.0)] }];
    scan_stack(&hot, &key, &stack, 0);
    let q = hot.join("quarantaine");
    let reason = quarantine_reason(&q, &scanner).await;
    assert!(reason.starts_with("Le coffre a refusé cette pièce : 413"), "{reason}");
    let lot = only_lot(&q);
    assert!(q.join(&lot).join("piece.pdf").exists() && q.join(&lot).join("job.json").exists());
    let status = String::from_utf8_lossy(&scanner_cmd(&hot, &["status"]).stdout).into_owned();
    assert!(status.contains("413"), "the status says why: {status}");

    // The vault goes down for its new setting; the agent retries meanwhile.
    server.kill();
    let out = scanner_cmd(&hot, &["retry", &lot]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!q.join(&lot).exists(), "the lot left the quarantine");
    let queue = hot.join(".scanner-ingest/queue").join(&lot);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(queue.join("job.json")).is_ok_and(|j| j.contains("vault unreachable")) {
        assert!(Instant::now() < deadline, "the retried piece was not tried; log:\n{}", scanner.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!q.exists() || std::fs::read_dir(&q).unwrap().count() == 0, "a vault outage quarantines nothing");
    let status = String::from_utf8_lossy(&scanner_cmd(&hot, &["status"]).stdout).into_owned();
    assert!(status.contains("En attente d'envoi au coffre : 1"), "{status}");

    let server = Server::start(&data, &[("VAULT_LISTEN", &listen)]);
    assert_eq!(server.base, base);
    let pieces = pieces_when(&api, &nu, 1, Instant::now() + Duration::from_secs(120), &scanner).await;
    assert_eq!(pieces.len(), 1, "{pieces:?}");
    assert_eq!(pieces[0]["kind"], "ressources");
    assert_eq!(pieces[0]["versions"], 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while queue.exists() {
        assert!(Instant::now() < deadline, "the job stayed queued; log:\n{}", scanner.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status: Value = serde_json::from_slice(&scanner_cmd(&hot, &["status", "--json"]).stdout).unwrap();
    let filed = status["filed"].as_array().unwrap();
    assert_eq!(filed.len(), 1, "{status}");
    assert_eq!(filed[0]["piece"], pieces[0]["id"], "{status}");
    drop(server);
}

/// The one lot in quarantine.
fn only_lot(q: &Path) -> String {
    let lots: Vec<String> =
        std::fs::read_dir(q).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(lots.len(), 1, "{lots:?}");
    lots[0].clone()
}

/// `scanner-ingest ARGS HOT` (the spool's default place beside the folder).
fn scanner_cmd(hot: &Path, args: &[&str]) -> std::process::Output {
    let (verb, rest) = args.split_first().unwrap();
    Command::new(scanner_bin()).arg(verb).arg(hot).args(rest).output().unwrap()
}

/// The reason of the first lot found in quarantine, once one is there
/// (within two minutes).
async fn quarantine_reason(q: &Path, scanner: &Scanner) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let found = std::fs::read_dir(q)
            .ok()
            .and_then(|d| d.flatten().find_map(|e| std::fs::read_to_string(e.path().join("RAISON.txt")).ok()));
        if let Some(r) = found {
            return r;
        }
        assert!(Instant::now() < deadline, "no quarantine; log:\n{}", scanner.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
