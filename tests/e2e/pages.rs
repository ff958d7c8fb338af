//! Page tests in a real headless Chromium (WebDriver), over the real binary:
//! one full journey per face, partly by keyboard alone, with axe-core
//! (WCAG 2.1 A/AA) run on every page visited and each face looked at on a
//! 360 px phone and a 1280 px screen. Screenshots are kept under
//! `target/page-tests/` as test artefacts, with axe's report (`axe.txt`).

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

/// Text as read, whatever the CSS does to its case (DSFR badges are
/// upper-case) and its lines.
fn seen(text: String) -> String {
    text.to_lowercase().replace('\n', " ")
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
    b.assert_accessible("demandeur, déconnecté").await;
    // Keyboard only: the skip link is the first thing Tab reaches, then
    // the fields; Enter sends the form.
    assert_eq!(b.tab(1).await, "Aller au contenu");
    // A wrong code is refused, the message tied to the fields.
    b.tab_to("#identifier").await;
    b.keys(&identifier).await;
    b.tab_to("#code").await;
    b.keys("MAUVAISCODE").await;
    b.enter().await;
    b.wait_path("/connexion").await;
    assert!(b.text("#erreur-connexion").await.contains("incorrect"));
    assert_eq!(b.attribute("#code", "aria-describedby").await.as_deref(), Some("erreur-connexion"));
    assert_eq!(b.attribute("#erreur-connexion", "role").await.as_deref(), Some("alert"));
    b.assert_accessible("demandeur, code erroné").await;
    b.screenshot("applicant-1-wrong-code").await;

    b.tab_to("#code").await;
    b.keys(&code).await;
    b.enter().await;
    b.wait_path("/mon-dossier").await;
    assert_eq!(b.text("h1").await, "Mon dossier de demande de logement social");
    assert!(b.text("main").await.contains(&nu));
    b.assert_accessible("demandeur, connecté").await;
    let reached = b.keyboard_walk().await;
    assert!(reached >= 10, "{reached} links, buttons and fields");

    // A file that is not a document: refused by the file field, announced.
    let bad = dir.path().join("note.txt");
    std::fs::write(&bad, "pas un document").unwrap();
    b.choose_file("#file", &bad).await;
    b.click("form[enctype] button[type=submit]").await;
    // The upload went through the page's script (its progress shown): the
    // refusal replaces the page's content, focus on the field.
    assert!(b.text("#erreur-fichier").await.contains("n'est pas un document accepté"));
    assert_eq!(b.execute("return document.activeElement.id").await, "file");
    assert_eq!(b.attribute("#file", "aria-describedby").await.as_deref(), Some("erreur-fichier"));
    b.assert_accessible("demandeur, dépôt refusé").await;

    // Upload a piece through the form (no JavaScript involved).
    b.choose_file("#file", &file).await;
    b.click("form[enctype] button[type=submit]").await;
    b.wait_path("/mon-dossier?depose=1").await;
    assert_eq!(b.text("[role=status]").await, "La pièce a été déposée.");
    assert_eq!(b.count("#pieces tbody tr").await, 1);
    // Its link says which piece it opens.
    assert_eq!(b.text("#pieces a").await.replace('\n', " "), "Voir la pièce « Pièce d'identité ou titre de séjour »");
    b.assert_accessible("demandeur, pièce déposée").await;
    b.screenshot("applicant-2-uploaded").await;
    // What is still missing: the demo's situation calls for a tax notice
    // and pay slips besides the identity piece, now present.
    let checklist = seen(b.text("#completude").await);
    assert!(seen(b.text("main").await).contains("le dossier est incomplet"));
    assert_eq!(checklist.matches("manquante").count(), 2, "{checklist}");
    assert!(checklist.contains("présente"), "{checklist}");
    // The situation changes: neither is called for any more; complete.
    b.click("details summary").await;
    b.click("label[for='attendue-avis_imposition_n2']").await;
    b.click("label[for='attendue-ressources']").await;
    b.click("form[action='/mon-dossier/situation'] button[type=submit]").await;
    b.wait_path("/mon-dossier?situation=1").await;
    assert!(!seen(b.text("#completude").await).contains("manquante"));
    assert!(seen(b.text("main").await).contains("le dossier est complet"));
    b.assert_accessible("demandeur, situation déclarée").await;

    // A bailleur of the territory reads it: the applicant sees who, when, why.
    let bailleur = d["agents"][1]["token"].as_str().unwrap();
    let api = Api::new(&server, bailleur);
    let show: serde_json::Value = api.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().json().await.unwrap();
    let piece = show["pieces"][0]["id"].as_str().unwrap();
    let r = api.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition")).await.unwrap();
    assert_eq!(r.status(), 200);
    b.goto(&server.url("/mon-dossier")).await;
    let trace = b.text("#historique").await;
    let org = d["organisations"][1]["name"].as_str().unwrap();
    assert!(trace.contains(org) && trace.contains("a consulté une pièce"), "{trace}");
    b.screenshot("applicant-3-trace").await;
    phone_and_desktop(&b, "applicant").await;
    b.goto(&server.url("/accessibilite")).await;
    assert_eq!(b.text("h1").await, "Accessibilité : partiellement conforme");
    b.assert_accessible("déclaration d'accessibilité").await;
    b.goto(&server.url("/mon-dossier")).await;

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
    b.assert_accessible("agent, déconnecté").await;
    b.type_into("#token", "dnuv_pas-un-vrai-jeton").await;
    b.click("button[type=submit]").await;
    b.wait_path("/agent/connexion").await;
    assert!(b.text("#erreur-jeton").await.contains("Jeton inconnu"));
    b.assert_accessible("agent, jeton refusé").await;
    // Keyboard only, from here to the registered demand.
    b.tab_to("#token").await;
    b.keys(guichet).await;
    b.enter().await;
    b.wait_path("/dossiers").await;
    assert!(b.text("h1").await.contains(guichet_name));
    b.assert_accessible("guichet, liste").await;
    let reached = b.keyboard_walk().await;
    assert!(reached >= 8, "{reached} links, buttons and fields");

    // Communes no one knows are refused in French, by what was typed, the
    // message tied to the field.
    b.type_into("#communes", "Dunkerk, 99999").await;
    b.click("form[action='/dossiers'][method=post] button").await;
    let refusal = b.text("#erreur-enregistrement").await;
    assert!(refusal.contains("« Dunkerk » n'est ni le nom ni le code d'une commune actuelle"), "{refusal}");
    assert!(refusal.contains("« 99999 »"), "{refusal}");
    assert_eq!(b.attribute("#communes", "aria-describedby").await.as_deref(), Some("erreur-enregistrement"));
    b.assert_accessible("guichet, enregistrement refusé").await;

    // Register a demand on its territory: the applicant's credentials are shown once.
    b.goto(&server.url("/dossiers")).await;
    // Picked by name, as agents know communes (the commune of the demo
    // guichet's territory: Dunkerque, 59183).
    assert_eq!(commune, "59183");
    b.tab_to("#communes").await;
    b.keys("Dunkerque").await;
    b.tab_to("form[action='/dossiers'][method=post] button").await;
    b.enter().await;
    let status = b.text("[role=status]").await;
    assert!(status.contains("Demande enregistrée"), "{status}");
    assert_eq!(b.text("#communes-enregistrees").await, "Communes souhaitées : Dunkerque (59183)");
    let identifier = b.text("#identifiant").await;
    assert!(identifier.starts_with("DNU-"), "{identifier}");
    b.assert_accessible("guichet, demande enregistrée").await;
    b.screenshot("guichet-1-registered").await;
    b.click("[role=status] a").await;
    let nu = b.text("h1").await.trim_start_matches("Dossier ").to_owned();
    b.wait_path(&format!("/dossiers/{nu}")).await;
    b.assert_accessible("guichet, dossier").await;
    let reached = b.keyboard_walk().await;
    assert!(reached >= 8, "{reached} links, buttons and fields");

    // Upload on the applicant's behalf; the provenance names the guichet.
    b.choose_file("#file", &file).await;
    b.click("form[enctype] button[type=submit]").await;
    b.wait_path(&format!("/dossiers/{nu}?depose=1")).await;
    assert_eq!(b.text("[role=status]").await, "La pièce a été déposée.");
    let pieces = b.text("#pieces").await;
    assert!(pieces.contains(&format!("déposée par {guichet_name}")), "{pieces}");
    b.assert_accessible("guichet, pièce déposée").await;
    b.screenshot("guichet-2-provenance").await;
    phone_and_desktop(&b, "guichet").await;

    // A separator sheet for the papers that will be scanned.
    assert!(b.count("select#sheet-kind option").await > 5);
    let sheet = as_session(&b, &server.url(&format!("/dossiers/{nu}/feuille.pdf?kind=ressources"))).await;
    assert_eq!(sheet.status(), 200);
    assert!(sheet.bytes().await.unwrap().starts_with(b"%PDF-"));

    // The list filtered on completeness: the new demand's situation calls
    // for the identity piece alone, now deposited.
    b.goto(&server.url("/dossiers?completude=complet")).await;
    assert!(b.text("#dossiers").await.contains(&nu));
    b.goto(&server.url("/dossiers?completude=incomplet")).await;
    assert!(!b.text("#dossiers").await.contains(&nu));
    b.assert_accessible("guichet, liste filtrée").await;

    // Finding a dossier by its number.
    b.goto(&server.url("/dossiers")).await;
    b.type_into("#nu", &nu.to_lowercase()).await;
    b.click("form[role=search] button").await;
    b.wait_path(&format!("/dossiers/{nu}")).await;
    // A malformed number is refused beside the search field.
    b.goto(&server.url("/dossiers?nu=pas-un-numero")).await;
    assert!(b.text("[role=alert]").await.contains("Numéro unique invalide"));
    b.assert_accessible("guichet, recherche en erreur").await;
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
    let list = b.text("#dossiers").await;
    assert!(list.contains(&nu), "{list}");
    // Its completeness at a glance: the demo's situation calls for pieces not sent yet.
    assert!(seen(list.clone()).contains("incomplet"), "{list}");
    b.assert_accessible("bailleur, liste").await;
    b.screenshot("bailleur-1-worklist").await;
    b.tab_to(&format!("a[href='/dossiers/{nu}']")).await;
    b.enter().await;
    b.wait_path(&format!("/dossiers/{nu}")).await;
    assert!(b.text("#pieces").await.contains("Pièce d'identité"));
    assert!(seen(b.text("#completude").await).contains("manquante"));
    b.assert_accessible("bailleur, dossier").await;
    let reached = b.keyboard_walk().await;
    assert!(reached >= 8, "{reached} links, buttons and fields");
    b.screenshot("bailleur-2-dossier").await;
    phone_and_desktop(&b, "bailleur").await;

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
    b.assert_accessible("bailleur, dossier hors de portée").await;
    b.quit().await;
}

/// The current page at 360×800 (a phone) and 1280×800: no horizontal
/// scroll on the phone; screenshots of both.
async fn phone_and_desktop(b: &Browser, face: &str) {
    b.viewport(360, 800).await;
    let overflow = b.horizontal_overflow().await;
    if overflow > 0 {
        let wide = b
            .execute(
                "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 361)
                   .filter(e => !e.closest('.fr-table__container') || getComputedStyle(e).position !== 'static')
                   .slice(0, 8).map(e => e.tagName + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right));",
            )
            .await;
        panic!("{face}: the page is {overflow} px wider than a 360 px phone; too wide: {wide}");
    }
    b.assert_accessible(&format!("{face}, téléphone 360 px")).await;
    b.screenshot(&format!("{face}-360")).await;
    b.viewport(1280, 800).await;
    b.screenshot(&format!("{face}-1280")).await;
}

/// A browser on the first demo applicant's dossier page, signed in with
/// the attestation.
async fn applicant_signed_in(server: &Server, d: &serde_json::Value) -> Browser {
    let b = Browser::start().await;
    b.goto(&server.url("/")).await;
    b.type_into("#identifier", d["dossiers"][0]["applicant"]["identifier"].as_str().unwrap()).await;
    b.type_into("#code", d["dossiers"][0]["applicant"]["code"].as_str().unwrap()).await;
    b.click("button[type=submit]").await;
    b.wait_path("/mon-dossier").await;
    b
}

/// An upload shows its progress where JavaScript runs: on a line of
/// 100 KB/s (Chromium's network emulation), the bar moves before the page
/// that says the piece was deposited.
#[tokio::test]
async fn an_upload_shows_its_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let file = dir.path().join("scan.pdf");
    std::fs::write(&file, intake::sample::padded_pdf(600_000, 7)).unwrap();
    let b = applicant_signed_in(&server, &d).await;
    b.throttle_uploads(100_000).await;
    b.choose_file("#file", &file).await;
    b.click("form[enctype] button[type=submit]").await;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let v = b
            .execute(
                "const p = document.querySelector('form progress');
                 return p && p.closest('[hidden]') === null ? p.value : null;",
            )
            .await;
        if let Some(value) = v.as_f64() {
            seen.push(value);
            if value > 0.0 && value < 100.0 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let said =
        b.execute("const p = document.querySelector('.dnu-progress [role=status]'); return p && p.textContent;").await;
    assert!(seen.iter().any(|v| *v > 0.0 && *v < 100.0), "the bar moved: {seen:?} ({said})");
    b.assert_accessible("demandeur, envoi en cours").await;
    b.wait_path("/mon-dossier?depose=1").await;
    assert_eq!(b.text("[role=status]").await, "La pièce a été déposée.");
    b.quit().await;
}

/// The check can fail: an input without a label, added to a page that
/// passes, is reported by axe.
#[tokio::test]
async fn axe_reports_a_deliberate_violation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let b = Browser::start().await;
    b.goto(&server.url("/")).await;
    assert!(b.axe().await.violations.is_empty());
    b.execute("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=\"text\">');").await;
    let report = b.axe().await;
    assert!(report.violations.iter().any(|v| v.starts_with("label ")), "{:?}", report.violations);
    b.quit().await;
}

/// A document photographed page by page, from the applicant's page: three
/// photos chosen at once (a HEIC among them), listed as pages, put in
/// order and one turned with the list's buttons, become one piece of three
/// upright pages in that order. A HEIC that is not one is refused in
/// French, tied to the field.
#[tokio::test]
async fn photos_of_a_document_become_one_piece_in_the_order_chosen() {
    use intake::sample::{jpeg_rgb, jpeg_with_exif_rotation_and_gps, photo};
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let nu = d["dossiers"][0]["numero_unique"].as_str().unwrap().to_owned();
    // Chosen in the wrong order: the sideways photo first, then the HEIC,
    // which the applicant moves up to be page 1. Widths tell pages apart.
    let sideways = dir.path().join("IMG_0002.jpg");
    std::fs::write(&sideways, jpeg_rgb(&image::imageops::rotate270(&photo(300, 400)))).unwrap();
    let heic = dir.path().join("IMG_0001.HEIC");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../intake/tests/fixtures/page.heic"), &heic).unwrap();
    let exif = dir.path().join("IMG_0003.jpg");
    std::fs::write(&exif, jpeg_with_exif_rotation_and_gps(&image::imageops::rotate270(&photo(450, 600)))).unwrap();

    let b = applicant_signed_in(&server, &d).await;
    b.choose_files("#file", &[&sideways, &heic, &exif]).await;
    assert_eq!(b.count(".dnu-pages li").await, 3);
    assert_eq!(b.execute("return document.querySelector('[data-turns]').hidden").await, true);
    // Keyboard: the button names the page it moves.
    b.tab_to("button[aria-label='Monter la page 2 (IMG_0001.HEIC)']").await;
    b.enter().await;
    assert!(b.text(".dnu-pages li:first-child").await.contains("IMG_0001.HEIC"));
    assert!(b.text("form [role=status]").await.contains("est maintenant la page 1"));
    b.click("button[aria-label^='Pivoter la page 2 (IMG_0002.jpg)']").await;
    assert!(b.text(".dnu-pages li:nth-child(2)").await.contains("pivotée de 90°"));
    b.assert_accessible("demandeur, photos d'un document").await;
    b.viewport(360, 800).await;
    assert_eq!(b.horizontal_overflow().await, 0, "the list of photos fits a phone");
    b.execute("document.querySelector('.dnu-pages').scrollIntoView({block: 'center'})").await;
    b.screenshot("applicant-photos-360").await;
    b.viewport(1280, 800).await;
    b.click("form[enctype] button[type=submit]").await;
    b.wait_path("/mon-dossier?depose=1").await;

    // One piece of three pages, upright, in the order chosen.
    let guichet = d["agents"][0]["token"].as_str().unwrap();
    let api = Api::new(&server, guichet);
    let show: serde_json::Value = api.get(&format!("/api/v1/dossiers/{nu}")).await.unwrap().json().await.unwrap();
    let pieces = show["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 1, "{show}");
    let piece = pieces[0]["id"].as_str().unwrap();
    let r = api.get(&format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition")).await.unwrap();
    assert_eq!(r.status(), 200);
    let pdf = dir.path().join("rendition.pdf");
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "30", "-gray", "-png"])
        .arg(&pdf)
        .arg(dir.path().join("p"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut widths = Vec::new();
    for n in 1..=3 {
        let page = image::open(dir.path().join(format!("p-{n}.png"))).unwrap().to_luma8();
        let (w, h) = page.dimensions();
        assert!(h > w && page.get_pixel(2, 2).0[0] < 70, "page {n} upright: {w}×{h}");
        assert!(page.get_pixel(w - 3, h - 3).0[0] >= 70, "page {n}: one dark corner only");
        widths.push(w);
    }
    assert!(
        widths[0] > widths[2] && widths[2] > widths[1],
        "HEIC, then the turned photo, then the EXIF one: {widths:?}"
    );

    // A "HEIC" that is not one: refused in French, the field says why.
    let fake = dir.path().join("IMG_0004.HEIC");
    let mut bytes = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    bytes.extend_from_slice(&jpeg_rgb(&photo(64, 64)));
    std::fs::write(&fake, bytes).unwrap();
    b.choose_file("#file", &fake).await;
    b.click("form[enctype] button[type=submit]").await;
    let said = b.text("#erreur-fichier").await;
    assert!(said.contains("ne peut pas être lue") && said.contains("HEIC"), "{said}");
    b.assert_accessible("demandeur, photo HEIC refusée").await;
    b.quit().await;
}
