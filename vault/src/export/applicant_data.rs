//! `GET /api/v1/dossiers/{nu}/export.zip`: all of the applicant's data, to
//! take elsewhere — every version of every piece exactly as deposited,
//! `manifest.json` (piece, kind, version, dates, SHA-256 of each original)
//! and `acces.csv`, the dossier's access trace.
//!
//! The archive streams: each original is decrypted and verified chunk by
//! chunk as it is sent, so memory does not grow with the dossier; an
//! integrity failure cuts the response short (as for single downloads).

use axum::{
    body::Body,
    extract::{Path, State},
    response::Response,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::zip::ZipWriter;
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    crypto::DossierKey,
    error::Error,
    pieces::SealedMeta,
    reply::content,
    sealed::open_object,
};

#[derive(Debug, Serialize)]
struct Manifest {
    numero_unique: String,
    exported_at: String,
    pieces: Vec<ManifestPiece>,
}

#[derive(Debug, Serialize)]
struct ManifestPiece {
    id: Uuid,
    kind: String,
    label: Option<String>,
    member: Option<String>,
    valid_until: Option<String>,
    versions: Vec<ManifestVersion>,
}

#[derive(Debug, Serialize)]
struct ManifestVersion {
    number: i64,
    /// Where the original is in this archive.
    file: String,
    /// The name it was uploaded under, if any.
    filename: Option<String>,
    media_type: String,
    size_bytes: u64,
    sha256: String,
    uploaded_at: String,
    uploaded_by: String,
}

fn extension(media_type: &str) -> &'static str {
    match intake::Format::from_media_type(media_type) {
        Some(f) => f.extension(),
        None if media_type == crate::sealed::BUNDLE_MEDIA_TYPE => "zip",
        None => "bin",
    }
}

/// A CSV field: quoted, inner quotes doubled, and a leading formula sign
/// neutralised (the file is meant to be opened in a spreadsheet).
fn csv(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_owned() };
    format!("\"{}\"", field.replace('"', "\"\""))
}

pub async fn export(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Response, Error> {
    export_zip(&vault, &principal, &nu).await
}

/// All of the applicant's data as a streamed ZIP, traced before it starts.
pub async fn export_zip(vault: &Vault, principal: &Principal, nu: &str) -> Result<Response, Error> {
    let opened = access::open(vault, principal, nu, Action::ApplicantExport).await?;
    let dossier = opened.dossier();
    let dk = opened.key().await?;
    // Everything but the originals' bytes is gathered first, so a failure
    // here is a clean error status rather than a cut archive.
    let mut manifest = Manifest {
        numero_unique: dossier.numero_unique.to_string(),
        exported_at: crate::clock::rfc3339(crate::clock::now_ms() / 1000),
        pieces: Vec::new(),
    };
    let mut files: Vec<(String, Uuid)> = Vec::new();
    for (n, piece) in vault.db().pieces_of(dossier.id).await?.into_iter().enumerate() {
        let mut versions = Vec::new();
        for v in vault.db().versions_of(piece.id).await? {
            let meta = SealedMeta::open(&dk, &v)?;
            let file = format!("pieces/{:02}-{}/version-{}.{}", n + 1, piece.kind, v.number, extension(&v.media_type));
            files.push((file.clone(), v.object_id));
            let uploaded_by = match v.uploaded_by_org {
                Some(org) => vault.db().organisation(org).await?.map_or_else(|| org.to_string(), |o| o.name),
                None => "le demandeur".to_owned(),
            };
            versions.push(ManifestVersion {
                number: v.number,
                file,
                filename: meta.filename,
                media_type: v.media_type.clone(),
                size_bytes: v.size_bytes,
                sha256: meta.sha256,
                uploaded_at: crate::clock::rfc3339(v.created_at / 1000),
                uploaded_by,
            });
        }
        let (kind, member, valid_until) = crate::pieces::piece_fields(&dk, &piece)?;
        manifest.pieces.push(ManifestPiece {
            id: piece.id,
            kind,
            label: piece.kind.entry().map(|e| e.label.clone()),
            member,
            valid_until,
            versions,
        });
    }
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::internal("writing the manifest", e))?;
    let mut trace = String::from("date,action,resultat,organisation,siren,agent,piece,motif\r\n");
    for e in crate::audit::events_of(&opened).await? {
        let (org, siren) = e.organisation.map_or((String::new(), String::new()), |o| (o.name, o.siren));
        let row = [
            e.at,
            e.action,
            e.outcome,
            org,
            siren,
            e.agent.unwrap_or_default(),
            e.piece.unwrap_or_default(),
            e.purpose.unwrap_or_default(),
        ];
        trace.push_str(&row.iter().map(|f| csv(f)).collect::<Vec<_>>().join(","));
        trace.push_str("\r\n");
    }
    // Traced before the first byte is sent.
    opened.record(Action::ApplicantExport, None).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, Error>>(4);
    let writer = ZipWriter::new(time::OffsetDateTime::now_utc());
    tokio::spawn(write_archive(vault.clone(), dk, writer, manifest, trace.into_bytes(), files, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(content(
        Body::from_stream(body),
        "application/zip",
        &format!("attachment; filename=\"mes-donnees-{}.zip\"", dossier.numero_unique),
        true,
    ))
}

/// Writes the archive into `tx`; an error ends the body early.
async fn write_archive(
    vault: Vault,
    dk: DossierKey,
    mut zip: ZipWriter,
    manifest: Vec<u8>,
    trace: Vec<u8>,
    files: Vec<(String, Uuid)>,
    tx: mpsc::Sender<Result<Bytes, Error>>,
) {
    let result: Result<(), Error> =
        async {
            let send = |b: Bytes| {
                let tx = tx.clone();
                async move {
                    tx.send(Ok(b)).await.map_err(|_| Error::internal("streaming the archive", "the client went away"))
                }
            };
            send(zip.entry("manifest.json", &manifest)?).await?;
            send(zip.entry("acces.csv", &trace)?).await?;
            for (name, object) in files {
                send(zip.start_entry(&name)?).await?;
                let mut stream = std::pin::pin!(open_object(&vault, &dk, object).await?);
                while let Some(part) = stream.next().await {
                    let part = part?;
                    zip.data(&part);
                    send(part).await?;
                }
                send(zip.end_entry()?).await?;
            }
            send(zip.finish()?).await
        }
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "applicant archive cut short");
        let _ = tx.send(Err(e)).await;
    }
}
