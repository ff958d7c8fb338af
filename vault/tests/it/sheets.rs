//! Separator sheets: the QR code, read back by a decoder we did not write
//! (zbarimg), carries the dossier and kind under the vault's HMAC; forged or
//! altered payloads do not verify; only those who may upload print one.

use std::process::Command;

use axum::http::StatusCode;
use vault::domain::{GuichetCode, NumeroUnique, PieceKind};

use crate::common::TestApp;

/// The test guichet's code (`TestApp`).
const GUICHET: &str = "DKMAI";

#[tokio::test]
async fn a_sheet_reads_back_as_its_dossier_and_kind_and_forgeries_fail() {
    let app = TestApp::builder().build().await;
    let nu = app.register().await;
    let r = app.get(&format!("/api/v1/dossiers/{nu}/sheet.pdf?kind=ressources"), &app.guichet_token).await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("sheet.pdf");
    std::fs::write(&pdf, r.body.unwrap()).unwrap();
    let check = Command::new("qpdf").arg("--check").arg(&pdf).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let png = dir.path().join("sheet");
    let render =
        Command::new("pdftoppm").args(["-r", "150", "-png", "-singlefile"]).arg(&pdf).arg(&png).output().unwrap();
    assert!(render.status.success());
    let read = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(dir.path().join("sheet.png"))
        .output()
        .expect("zbarimg is installed (tests/run.sh)");
    assert!(read.status.success(), "no QR code found: {}", String::from_utf8_lossy(&read.stderr));
    let payload = String::from_utf8(read.stdout).unwrap();
    let key = app.vault.sheet_key();
    let today = time::OffsetDateTime::now_utc().date();
    let (got_nu, kind, guichet) = key.verify(&payload, today).unwrap();
    assert_eq!((got_nu.to_string(), kind.as_str(), guichet.as_str()), (nu.clone(), "ressources", GUICHET));
    // Dated: two months on, it files nothing.
    assert!(key.verify(&payload, today + time::Duration::days(61)).is_err());

    // Another dossier or kind with the same tag, or a changed tag: refused.
    let other = app.register().await;
    let payload = payload.trim();
    for forged in [
        payload.replace(&nu, &other),
        payload.replace(":ressources:", ":identite:"),
        // The tag's last digit changed (whatever it was).
        format!("{}{}", &payload[..payload.len() - 1], if payload.ends_with('0') { '1' } else { '0' }),
        payload.replace(&format!(":{GUICHET}:"), ":MAIRE:"),
        format!("DNU1:{nu}:ressources"),
        "https://example.org/".to_owned(),
    ] {
        assert!(key.verify(&forged, today).is_err(), "{forged} verified");
    }
    let guichet = GuichetCode::parse(GUICHET).unwrap();
    let genuine = key
        .payload(&NumeroUnique::parse(&other).unwrap(), PieceKind::parse("identite").unwrap(), &guichet, today)
        .unwrap();
    assert!(key.verify(&genuine, today).is_ok());

    // Red-team finding 18: an applicant prints no sheet (their session may
    // upload to their dossier, but a sheet files whatever follows it).
    let (own, applicant) = app.register_signed_in().await;
    let up = app
        .post_multipart(
            &format!("/api/v1/dossiers/{own}/pieces"),
            &applicant,
            crate::common::multipart(&[("kind", "ressources")], Some(&crate::common::doc_of(4096, 3))),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "the applicant may upload");
    let r = app.get(&format!("/api/v1/dossiers/{own}/sheet.pdf?kind=ressources"), &applicant).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A bailleur may not upload, so prints no sheet; a forbidden kind has none.
    let r = app.get(&format!("/api/v1/dossiers/{nu}/sheet.pdf?kind=ressources"), &app.bailleur_token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get(&format!("/api/v1/dossiers/{nu}/sheet.pdf?kind=releve_bancaire"), &app.guichet_token).await;
    assert!(r.status.is_client_error(), "{}", r.status);
}
