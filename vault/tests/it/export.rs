//! The complete dossier for a partner, checked with tools we did not write:
//! a 10-piece, 40-page dossier exports as one PDF that passes
//! `qpdf --check`, has one bookmark per piece (qpdf's JSON), renders with
//! poppler's `pdftoppm`, and carries the recipient's watermark in the
//! pixels of every page: the page images alone, taken out of the PDF by
//! poppler's `pdfimages` (every other content stream and object left
//! behind), still show it, on text pages kept bitonal and photo pages
//! kept as JPEG alike.

use std::process::Command;

use axum::http::StatusCode;
use intake::compose::Watermark;

use crate::common::{TestApp, doc_of};

/// A text document of `pages` pages, each saying which piece and page it is.
pub fn text_document(piece: usize, pages: usize) -> Vec<u8> {
    document(piece, pages, "")
}

/// The same with a grey box under the text of every page (a form's shaded
/// area): grey levels a bitonal page would lose.
pub fn shaded_document(piece: usize, pages: usize) -> Vec<u8> {
    document(piece, pages, "0.75 g 60 380 470 260 re f 0 g ")
}

fn document(piece: usize, pages: usize, under: &str) -> Vec<u8> {
    let mut objects = vec![b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()];
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")).into_bytes());
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    for i in 0..pages {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let text = format!(
            "{under}BT /F1 28 Tf 72 720 Td (Piece {piece} page {}) Tj ET 0 0 0 RG 4 w 72 690 m 520 690 l S",
            i + 1
        );
        objects.push(intake::sample::stream("", text.as_bytes()));
    }
    intake::sample::pdf(&objects)
}

fn qpdf(args: &[&str], file: &std::path::Path) -> std::process::Output {
    Command::new("qpdf").args(args).arg(file).output().expect("qpdf is installed (.ci/run)")
}

#[tokio::test]
async fn a_forty_page_dossier_exports_as_one_watermarked_pdf() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let kinds = [
        "identite",
        "avis_imposition_n1",
        "avis_imposition_n2",
        "ressources",
        "ressources",
        "ressources",
        "situation_familiale",
        "situation_professionnelle",
        "logement_actuel",
        "autre",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        // The last piece's pages are shaded: JPEG pages, the others bitonal.
        let doc = if i == 9 { shaded_document(i + 1, 4) } else { text_document(i + 1, 4) };
        let r = app.upload(&nu, kind, &doc).await;
        assert_eq!(r.status, StatusCode::CREATED, "{kind}: {:?}", r.body);
        assert_eq!(r.json()["version"]["pages"], 4);
    }

    let r = app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), &app.bailleur_token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let pdf = r.body.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, &pdf).unwrap();

    let check = qpdf(&["--check"], &path);
    assert!(check.status.success(), "qpdf --check: {}", String::from_utf8_lossy(&check.stdout));
    let pages = qpdf(&["--show-npages"], &path);
    assert_eq!(String::from_utf8_lossy(&pages.stdout).trim(), "41", "a cover page and 40 rendition pages");
    // The cover and nine pieces' 36 text pages bitonal; the shaded piece's
    // 4 pages JPEGs.
    let list = Command::new("pdfimages").arg("-list").arg(&path).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    let count = |enc: &str| list.lines().filter(|l| l.split_whitespace().nth(8) == Some(enc)).count();
    assert_eq!((count("ccitt"), count("jpeg")), (37, 4), "{list}");
    // One bookmark per piece, after the cover's.
    let json = qpdf(&["--json=2", "--json-key=outlines"], &path);
    let outlines: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let titles: Vec<&str> =
        outlines["outlines"].as_array().unwrap().iter().map(|o| o["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 11, "{titles:?}");
    assert_eq!(titles[0], "Page de garde");
    let catalogue = vault::domain::catalogue::shipped().unwrap();
    for (title, kind) in titles[1..].iter().zip(kinds) {
        assert_eq!(*title, catalogue.kind(kind).unwrap().label, "bookmarks follow the pieces");
    }
    // Each piece's bookmark opens its first page: 2, 6, 10…
    let dests: Vec<i64> =
        outlines["outlines"].as_array().unwrap().iter().map(|o| o["destpageposfrom1"].as_i64().unwrap()).collect();
    assert_eq!(dests, [1, 2, 6, 10, 14, 18, 22, 26, 30, 34, 38]);

    // Every page, as poppler draws it, is inked where the recipient's
    // watermark is and nowhere else in the same way.
    let org = app
        .vault
        .db()
        .organisation_by_siren(&vault::domain::Siren::parse("590000014").unwrap())
        .await
        .unwrap()
        .unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let date = format!("{:02}/{:02}/{}", today.day(), u8::from(today.month()), today.year());
    let text = format!("{} (SIREN {}) — {date} — usage exclusif : instruction de la demande {nu}", org.name, org.siren);
    let render = Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-png"])
        .arg(&path)
        .arg(dir.path().join("p"))
        .output()
        .unwrap();
    assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
    assert_marked(&pngs(dir.path(), "p-"), &text);
    // The page images alone: nothing but the pixels carries the mark.
    let images = Command::new("pdfimages").arg("-png").arg(&path).arg(dir.path().join("i")).output().unwrap();
    assert!(images.status.success(), "{}", String::from_utf8_lossy(&images.stderr));
    assert_marked(&pngs(dir.path(), "i-"), &text);

    // The export was traced; the guichet may export too, an unknown caller not.
    let id = app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
    assert_eq!(app.vault.db().audit_count(id, "dossier.export").await.unwrap(), 1);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), &app.guichet_token).await.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), "dnuv_nobody").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// The PNG files in `dir` whose names start with `prefix`, in order.
fn pngs(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    found.sort();
    found
}

/// Every page image is inked where the recipient's watermark is and
/// nowhere else in the same way: darker by more than 25 grey levels on
/// average where the mark covers than where it does not.
fn assert_marked(pages: &[std::path::PathBuf], text: &str) {
    assert_eq!(pages.len(), 41);
    let mut marks: std::collections::HashMap<(u32, u32), Watermark> = std::collections::HashMap::new();
    for page in pages {
        let img = image::open(page).unwrap().to_luma8();
        let m = marks
            .entry(img.dimensions())
            .or_insert_with(|| Watermark::new(text, img.width(), img.height(), 150.0).unwrap());
        let cov = m.coverage();
        let (mut on, mut n_on, mut off, mut n_off) = (0u64, 0u64, 0u64, 0u64);
        for (p, c) in img.as_raw().iter().zip(cov.as_raw()) {
            match c {
                201.. => (on, n_on) = (on + u64::from(*p), n_on + 1),
                0 => (off, n_off) = (off + u64::from(*p), n_off + 1),
                _ => {}
            }
        }
        let (on, off) = (on as f64 / n_on as f64, off as f64 / n_off as f64);
        assert!(n_on > 10_000, "{}: watermark covers {n_on} pixels", page.display());
        assert!(off - on > 25.0, "{}: watermark pixels {on:.0} vs the rest {off:.0}", page.display());
    }
}

#[tokio::test]
async fn an_empty_dossier_exports_its_cover() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let r = app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), &app.guichet_token).await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, r.body.unwrap()).unwrap();
    assert!(qpdf(&["--check"], &path).status.success());
    assert_eq!(String::from_utf8_lossy(&qpdf(&["--show-npages"], &path).stdout).trim(), "1");
    // And a piece added later appears.
    assert_eq!(app.upload(&nu, "identite", &doc_of(1000, 1)).await.status, StatusCode::CREATED);
    let r = app.get(&format!("/api/v1/dossiers/{nu}/export.pdf"), &app.guichet_token).await;
    std::fs::write(&path, r.body.unwrap()).unwrap();
    assert_eq!(String::from_utf8_lossy(&qpdf(&["--show-npages"], &path).stdout).trim(), "2");
}

#[tokio::test]
async fn the_applicant_takes_all_of_their_data_as_a_zip() {
    let app = TestApp::builder().build().await;
    let r = app.post_json("/api/v1/dossiers", &app.guichet_token, serde_json::json!({"communes": ["59183"]})).await;
    let j = r.json();
    let nu = j["numero_unique"].as_str().unwrap().to_owned();
    let (identifier, code) = (j["applicant"]["identifier"].clone(), j["applicant"]["code"].clone());
    let session =
        app.post_json("/api/v1/session", "", serde_json::json!({"identifier": identifier, "code": code})).await;
    let token = session.json()["token"].as_str().unwrap().to_owned();
    // Two pieces, the second with two versions; one larger than a chunk.
    let (a, b1, b2) = (doc_of(200_000, 1), doc_of(3000, 2), doc_of(4000, 3));
    let piece_a = app.upload_ok(&nu, &a).await;
    let piece_b = app.upload_ok(&nu, &b1).await;
    let body = crate::common::multipart(&[("piece", &piece_b)], Some(&b2));
    let r = app.post_multipart(&format!("/api/v1/dossiers/{nu}/pieces"), &app.guichet_token, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    // A partner reads the rendition: the applicant's trace will show it.
    let _ = app.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece_a}/rendition"), &app.bailleur_token).await;

    // Partners do not take the applicant's data.
    let r = app.get(&format!("/api/v1/dossiers/{nu}/export.zip"), &app.bailleur_token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get(&format!("/api/v1/dossiers/{nu}/export.zip"), &token).await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.zip");
    std::fs::write(&path, r.body.unwrap()).unwrap();

    // Read back by Python's zipfile (a reader we did not write): CRCs
    // checked, every original byte-identical, the manifest's SHA-256 right.
    let script = r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
m = json.loads(z.read("manifest.json"))
out = {"numero_unique": m["numero_unique"], "files": {}, "trace": z.read("acces.csv").decode()}
for p in m["pieces"]:
    for v in p["versions"]:
        data = z.read(v["file"])
        assert hashlib.sha256(data).hexdigest() == v["sha256"], v["file"]
        out["files"][v["file"]] = data.hex()
print(json.dumps(out))
"#;
    let run = Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(out["numero_unique"], nu);
    let files = out["files"].as_object().unwrap();
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "pieces/01-ressources/version-1.pdf",
            "pieces/02-ressources/version-1.pdf",
            "pieces/02-ressources/version-2.pdf"
        ]
    );
    let bytes = |n: &str| hex::decode(files[n].as_str().unwrap()).unwrap();
    assert_eq!(bytes("pieces/01-ressources/version-1.pdf"), a);
    assert_eq!(bytes("pieces/02-ressources/version-1.pdf"), b1);
    assert_eq!(bytes("pieces/02-ressources/version-2.pdf"), b2);
    let trace = out["trace"].as_str().unwrap();
    assert!(trace.starts_with("date,action,"), "{trace}");
    assert!(trace.contains("\"piece.read_rendition\""), "{trace}");
    let id = app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
    assert_eq!(app.vault.db().audit_count(id, "applicant.export").await.unwrap(), 1);
}

/// Exports are composed a few at a time (`VAULT_MAX_EXPORTS`), a few more
/// wait their turn (`VAULT_EXPORT_QUEUE`), and beyond that the vault answers
/// 503 with `Retry-After` at once instead of piling every export on the
/// cores; a caller the policy refuses is refused as ever, whatever the load.
#[tokio::test]
async fn exports_wait_their_turn_and_a_full_line_answers_503_with_retry_after() {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;
    let app = TestApp::builder()
        .tune(|c| {
            c.max_exports = 1;
            c.export_queue = 1;
        })
        .build()
        .await;
    let nu = app.register().await;
    assert_eq!(app.upload(&nu, "identite", &doc_of(1000, 2)).await.status, StatusCode::CREATED);
    let uri = format!("/api/v1/dossiers/{nu}/export.pdf");
    let held = app.vault.exports().enter().await.unwrap();

    let request = || Request::get(&uri).header("authorization", format!("Bearer {}", app.guichet_token));
    let waiting = tokio::spawn(app.router.clone().oneshot(request().body(Body::empty()).unwrap()));
    while app.vault.exports().waiting() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let full = app.get(&uri, &app.guichet_token).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.headers["retry-after"], "5");
    let body = full.json();
    assert_eq!(body["error"]["code"], "saturated", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("dossier exports"), "{body}");
    // Refused by the policy (a number that names no dossier): 403 as ever, not 503.
    let other = app.get("/api/v1/dossiers/0591125999999DKMAI/export.pdf", &app.bailleur_token).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    drop(held);
    let done = waiting.await.unwrap().unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let pdf = axum::body::to_bytes(done.into_body(), usize::MAX).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.pdf"), &pdf).unwrap();
    assert!(qpdf(&["--check"], &dir.path().join("e.pdf")).status.success());
    assert_eq!(app.vault.exports().waiting(), 0);
}
