//! Page tests in a real headless Chromium (WebDriver), over the real binary:
//! one full journey per face. Screenshots are kept under
//! `target/page-tests/` as test artefacts.

use e2e::{Api, Server, demo, webdriver::Browser};

/// A one-page text document, as an applicant would scan it.
fn scan() -> Vec<u8> {
    let text = b"BT /F1 28 Tf 72 720 Td (Bulletin de salaire octobre) Tj ET";
    intake::sample::pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        intake::sample::stream("", text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

/// Fetches `url` as this browser's page session would (its HttpOnly
/// cookie, which WebDriver can read), for what Chromium would download.
async fn as_session(b: &Browser, url: &str) -> reqwest::Response {
    let cookie = b.cookie("__Host-dnu_session").await;
    reqwest::Client::new().get(url).header("cookie", format!("__Host-dnu_session={cookie}")).send().await.unwrap()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn applicant_journey_sign_in_upload_trace_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let identifier = d["dossiers"][0]["applicant"]["identifier"].as_str().unwrap().to_owned();
    let code = d["dossiers"][0]["applicant"]["code"].as_str().unwrap().to_owned();
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let file = dir.path().join("bulletin.pdf");
    std::fs::write(&file, scan()).unwrap();

    let b = Browser::start().await;
    b.goto(&server.url("/")).await;
    assert_eq!(b.title().await, "Connexion — DNU Vault");
    // Keyboard first: the skip link is the first thing Tab reaches.
    assert_eq!(b.tab(1).await, "Aller au contenu");
    // A wrong code is refused, the message tied to the fields.
    b.type_into("#identifier", &identifier).await;
    b.type_into("#code", "MAUVAISCODE").await;
    b.click("button[type=submit]").await;
    b.wait_path("/connexion").await;
    assert!(b.text("#erreur-connexion").await.contains("incorrect"));
    assert_eq!(b.attribute("#code", "aria-describedby").await.as_deref(), Some("erreur-connexion"));
    b.screenshot("applicant-1-wrong-code").await;

    b.type_into("#code", &code).await;
    b.click("button[type=submit]").await;
    b.wait_path("/mon-dossier").await;
    assert_eq!(b.text("h1").await, "Mon dossier de demande de logement social");
    assert!(b.text("main").await.contains(&nu));

    // Upload a piece through the form (no JavaScript involved).
    b.choose_file("#file", &file).await;
    b.click("form[enctype] button[type=submit]").await;
    b.wait_path("/mon-dossier?depose=1").await;
    assert_eq!(b.text("[role=status]").await, "La pièce a été déposée.");
    assert_eq!(b.count("table:first-of-type tbody tr").await, 1);
    b.screenshot("applicant-2-uploaded").await;

    // A bailleur of the territory reads it: the applicant sees who, when, why.
    let bailleur = d["agents"][1]["token"].as_str().unwrap();
    let api = Api::new(&server, bailleur);
    let show: serde_json::Value = api.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().json().await.unwrap();
    let piece = show["pieces"][0]["id"].as_str().unwrap();
    let r = api.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition")).await.unwrap();
    assert_eq!(r.status(), 200);
    b.goto(&server.url("/mon-dossier")).await;
    let trace = b.text("main table:last-of-type").await;
    let org = d["organisations"][1]["name"].as_str().unwrap();
    assert!(trace.contains(org) && trace.contains("a consulté une pièce"), "{trace}");
    b.screenshot("applicant-3-trace").await;

    // The download link serves the ZIP to this session: the piece as
    // deposited, byte for byte.
    let href = b.attribute("a[href$='donnees.zip']", "href").await.unwrap();
    assert_eq!(href, "/mon-dossier/donnees.zip");
    let zip = as_session(&b, &server.url(&href)).await;
    assert_eq!(zip.status(), 200);
    let path = dir.path().join("donnees.zip");
    std::fs::write(&path, zip.bytes().await.unwrap()).unwrap();
    let listed = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(z.read('pieces/01-identite/version-1.pdf').hex())"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), hex_of(&scan()));

    // Signing out ends the session: the dossier page sends back to sign-in.
    b.click("header button").await;
    b.wait_path("/").await;
    b.goto(&server.url("/mon-dossier")).await;
    assert_eq!(b.title().await, "Connexion — DNU Vault");
    b.quit().await;
}

#[tokio::test]
async fn guichet_journey_register_upload_for_the_applicant_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let guichet = d["agents"][0]["token"].as_str().unwrap();
    let guichet_name = d["organisations"][0]["name"].as_str().unwrap();
    let commune = d["organisations"][0]["territory"][0].as_str().unwrap();
    let file = dir.path().join("avis.pdf");
    std::fs::write(&file, scan()).unwrap();

    let b = Browser::start().await;
    b.goto(&server.url("/agent")).await;
    assert_eq!(b.title().await, "Connexion agent — DNU Vault");
    b.type_into("#token", "dnuv_pas-un-vrai-jeton").await;
    b.click("button[type=submit]").await;
    b.wait_path("/agent/connexion").await;
    assert!(b.text("#erreur-jeton").await.contains("Jeton inconnu"));
    b.type_into("#token", guichet).await;
    b.click("button[type=submit]").await;
    b.wait_path("/dossiers").await;
    assert!(b.text("h1").await.contains(guichet_name));

    // Register a demand on its territory: the applicant's credentials are shown once.
    b.type_into("#communes", commune).await;
    b.click("form[action='/dossiers'][method=post] button").await;
    let status = b.text("[role=status]").await;
    assert!(status.contains("Demande enregistrée"), "{status}");
    let identifier = b.text("#identifiant").await;
    assert!(identifier.starts_with("DNU-"), "{identifier}");
    b.screenshot("guichet-1-registered").await;
    b.click("[role=status] a").await;
    let nu = b.text("h1").await.trim_start_matches("Dossier ").to_owned();
    b.wait_path(&format!("/dossiers/{nu}")).await;

    // Upload on the applicant's behalf; the provenance names the guichet.
    b.choose_file("#file", &file).await;
    b.click("form[enctype] button[type=submit]").await;
    b.wait_path(&format!("/dossiers/{nu}?depose=1")).await;
    assert_eq!(b.text("[role=status]").await, "La pièce a été déposée.");
    let pieces = b.text("main table").await;
    assert!(pieces.contains(&format!("déposée par {guichet_name}")), "{pieces}");
    b.screenshot("guichet-2-provenance").await;

    // A separator sheet for the papers that will be scanned.
    assert!(b.count("select#sheet-kind option").await > 5);
    let sheet = as_session(&b, &server.url(&format!("/dossiers/{nu}/feuille.pdf?kind=ressources"))).await;
    assert_eq!(sheet.status(), 200);
    assert!(sheet.bytes().await.unwrap().starts_with(b"%PDF-"));

    // Finding a dossier by its number.
    b.goto(&server.url("/dossiers")).await;
    b.type_into("#nu", &nu.to_lowercase()).await;
    b.click("form[role=search] button").await;
    b.wait_path(&format!("/dossiers/{nu}")).await;
    b.quit().await;
}

#[tokio::test]
async fn bailleur_journey_worklist_dossier_and_complete_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    let guichet = Api::new(&server, d["agents"][0]["token"].as_str().unwrap());
    guichet.upload_ok(&nu, "identite", &scan()).await;
    let bailleur = d["agents"][1]["token"].as_str().unwrap();
    let other = d["agents"][2]["token"].as_str().unwrap();

    let b = Browser::start().await;
    b.goto(&server.url("/agent")).await;
    b.type_into("#token", bailleur).await;
    b.click("button[type=submit]").await;
    b.wait_path("/dossiers").await;
    // The worklist of its territory holds the dossier; a page shows it.
    let list = b.text("main table").await;
    assert!(list.contains(&nu), "{list}");
    b.screenshot("bailleur-1-worklist").await;
    b.click(&format!("a[href='/dossiers/{nu}']")).await;
    b.wait_path(&format!("/dossiers/{nu}")).await;
    assert!(b.text("main table").await.contains("Pièce d'identité"));
    b.screenshot("bailleur-2-dossier").await;

    // The complete PDF, fetched as this browser's session would.
    let href = b.attribute("a[href$='dossier.pdf']", "href").await.unwrap();
    assert_eq!(href, format!("/dossiers/{nu}/dossier.pdf"));
    let pdf = as_session(&b, &server.url(&href)).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let path = dir.path().join("dossier.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let check = std::process::Command::new("qpdf").arg("--check").arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    b.quit().await;

    // A bailleur of another territory gets a refusal page, not the dossier.
    let b = Browser::start().await;
    b.goto(&server.url("/agent")).await;
    b.type_into("#token", other).await;
    b.click("button[type=submit]").await;
    b.wait_path("/dossiers").await;
    assert!(!b.text("main").await.contains(&nu));
    b.goto(&server.url(&format!("/dossiers/{nu}"))).await;
    assert_eq!(b.title().await, "Dossier inaccessible — DNU Vault");
    b.quit().await;
}
