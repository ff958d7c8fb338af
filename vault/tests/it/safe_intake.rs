//! Safe intake through the real router: every upload is typed and read by
//! the sandboxed worker; what it accepts is kept as deposited with a
//! sanitised rendition and a thumbnail (all sealed under the dossier key);
//! what it refuses leaves nothing behind.

use axum::http::StatusCode;

use crate::{
    common::{DbKind, TestApp, databases, doc_of},
    sandbox::hostile_pdf,
};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn partners_open_the_rendition_and_the_original_stays_as_deposited() {
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let doc = hostile_pdf();
        let r = app.upload(&nu, "identite", &doc).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let j = r.json();
        assert_eq!(j["version"]["media_type"], "application/pdf");
        assert_eq!(j["version"]["pages"], 1);
        assert_eq!(j["version"]["rendition"], true);
        let piece = j["piece"]["id"].as_str().unwrap().to_owned();
        let base = format!("/api/v1/dossiers/{nu}/pieces/{piece}");

        // The bailleur of the territory opens the rendition and the
        // thumbnail, never the original (default policy set).
        let rendition = app.get(&format!("{base}/rendition"), &app.bailleur_token).await;
        assert_eq!(rendition.status, StatusCode::OK);
        // What the intake worker made is sandboxed like the original: the
        // worker may have been under an attacker's control.
        let csp = |r: &crate::common::Resp| r.headers.get("content-security-policy").cloned();
        assert_eq!(csp(&rendition).unwrap(), "sandbox; default-src 'none'");
        let pdf = rendition.body.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        for word in ["JavaScript", "OpenAction", "/URI", "Annots", "DNU MARKER"] {
            assert!(!contains(&pdf, word.as_bytes()), "{word} survived in the rendition");
        }
        let thumb = app.get(&format!("{base}/thumbnail"), &app.bailleur_token).await;
        assert_eq!(thumb.status, StatusCode::OK);
        assert_eq!(csp(&thumb).unwrap(), "sandbox; default-src 'none'");
        assert!(thumb.body.unwrap().starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG thumbnail");
        let original = app.get(&format!("{base}/original"), &app.bailleur_token).await;
        assert_eq!(original.status, StatusCode::FORBIDDEN);

        // The guichet gets the original exactly as deposited (a signed PDF
        // must stay verifiable), active content included.
        let original = app.get(&format!("{base}/original"), &app.guichet_token).await;
        assert_eq!(original.body.unwrap().to_vec(), doc);

        // The piece lists its pages; every read was traced.
        let show = app.get(&base, &app.bailleur_token).await.json();
        assert_eq!(show["versions"][0]["pages"], 1);
        let id =
            app.vault.db().dossier_by_nu(&vault::domain::NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
        for action in ["piece.read_rendition", "piece.read_thumbnail", "piece.read_original"] {
            assert_eq!(app.vault.db().audit_count(id, action).await.unwrap(), 1, "{action}");
        }
        // Original, rendition and thumbnail are three registered objects,
        // all sealed: shredding the dossier makes every one unreadable.
        assert_eq!(app.vault.db().objects_of(id).await.unwrap().len(), 3);
        assert!(app.vault.shred_dossier(id).await.unwrap());
        assert!(app.vault.store().list().await.unwrap().is_empty(), "shredding removed every object");
        if db == DbKind::Postgres {
            assert_eq!(app.vault.db().backend(), vault::db::Backend::Postgres);
        }
    }
}

#[tokio::test]
async fn refused_uploads_say_why_and_leave_nothing_stored() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend(intake::sample::pseudo_random(5000, 1));
    // A PNG whose header (CRC and all correct) declares 65535×65535 pixels.
    let ihdr = [b"IHDR".as_slice(), &[0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 8, 2, 0, 0, 0]].concat();
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    let mut png_bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
    png_bomb.extend_from_slice(&ihdr);
    png_bomb.extend_from_slice(&crc.sum().to_be_bytes());
    let cases: [(&str, Vec<u8>, StatusCode, &str); 5] = [
        (
            "an executable",
            b"MZ\x90\0 not a document".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "PDF, JPEG, PNG, TIFF or HEIC",
        ),
        (
            "random bytes",
            intake::sample::pseudo_random(10_000, 2),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send one of those",
        ),
        ("a HEIC header over noise", heic, StatusCode::UNPROCESSABLE_ENTITY, "HEIC"),
        ("a PDF with nothing after its header", b"%PDF-1.7\n%%EOF\n".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, ""),
        ("a 65535x65535 PNG header", png_bomb, StatusCode::UNPROCESSABLE_ENTITY, "too large"),
    ];
    for (what, bytes, status, says) in cases {
        let r = app.upload(&nu, "identite", &bytes).await;
        assert_eq!(r.status, status, "{what}: {:?}", r.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()));
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{what}: {message}");
    }
    assert!(app.vault.store().list().await.unwrap().is_empty(), "a refused upload left an object");
    let d = app.get(&format!("/api/v1/dossiers/{nu}"), &app.guichet_token).await.json();
    assert_eq!(d["pieces"].as_array().unwrap().len(), 0);

    // And the next real document is accepted as usual.
    assert_eq!(app.upload(&nu, "identite", &doc_of(2000, 1)).await.status, StatusCode::CREATED);
}
