//! `POST /api/v1/dossiers/{nu}/pieces`: multipart upload of a piece.
//!
//! Fields: `kind` (catalogue kind), optional `member`, `valid_until`
//! (`YYYY-MM-DD`), `piece` (id of an existing piece to add a version to),
//! `scan` (JSON provenance from `scanner-ingest`, agents only), and one
//! `file`, or several `file`s that are the pages of one document (photos
//! taken page by page, in the order sent) with an optional `rotate`
//! (degrees clockwise per file: `0,90,0`); header `Idempotency-Key` makes a
//! retried upload file at most one version. Text fields may come before or
//! after the files; each file is streamed to the store (and to the intake
//! worker, which types it by content and rebuilds it) as it arrives, never
//! buffered whole.

use axum::{
    Json,
    extract::{Multipart, Path, State, multipart::Field},
    http::{HeaderMap, StatusCode, header},
};
use dnu_api::scan::ScanProvenance;
use serde::Serialize;
use uuid::Uuid;

use super::{
    SealedMeta, VersionView,
    body::{MULTIPART_OVERHEAD, UploadBody},
    commit::{Uploader, commit},
    piece_fields,
};
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    db::pieces::{Committed, PieceTarget},
    domain::PieceKind,
    error::{Error, Saturable},
    gate::{Full, Slot},
    sealed,
};

/// Longest accepted text field.
const MAX_TEXT_FIELD: usize = 256;
/// Longest accepted `scan` field (JSON provenance with one hash a page).
const MAX_SCAN_FIELD: usize = 96 * 1024;
/// Most fields in one upload form (a body of endless small fields must not
/// keep a connection busy forever): the text fields and the files.
const MAX_FIELDS: usize = 16 + intake::MAX_FILES;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PieceRef {
    pub id: Uuid,
    pub kind: String,
    pub member: Option<String>,
    pub valid_until: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UploadView {
    pub piece: PieceRef,
    pub version: VersionView,
    /// True when the dossier already held these exact bytes: nothing new
    /// was stored and this is the existing version.
    pub duplicate: bool,
}

#[derive(Default)]
struct Form {
    kind: Option<PieceKind>,
    member: Option<String>,
    valid_until: Option<time::Date>,
    piece: Option<Uuid>,
    /// The files staged so far, with each one's name and declared type.
    upload: Option<sealed::Upload>,
    filenames: Vec<String>,
    declared: Vec<Option<String>>,
    turns: Vec<intake::Turns>,
    scan: Option<ScanProvenance>,
    /// Whether the form's `csrf` field matched (web pages only).
    csrf_ok: bool,
}

pub async fn upload(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
    headers: HeaderMap,
    multipart: Result<UploadBody, Error>,
) -> Result<(StatusCode, Json<UploadView>), Error> {
    let (status, view) = store_upload(&vault, &principal, &nu, &headers, multipart, None).await?;
    Ok((status, Json(view)))
}

/// Everything decided before a byte of the body is read: the key, access,
/// a slot, the dossier's quota.
async fn admit<'a>(
    vault: &'a Vault,
    principal: &'a Principal,
    nu: &str,
    headers: &HeaderMap,
    caller: &str,
) -> Result<(Option<String>, access::Opened<'a>, Slot), Error> {
    let idempotency_key = idempotency_key(headers)?.map(|k| format!("{caller}:{k}"));
    let opened = access::open(vault, principal, nu, Action::PieceUpload).await?;
    // Slow or stalled uploads hold a connection and an intake worker each:
    // a bounded number, and no caller takes them all. The server's bound is
    // its capacity (503); the caller's share is the caller's doing (429).
    let slot = vault.uploads().enter(caller).map_err(|full| match full {
        Full::Everyone => Error::Saturated { what: Saturable::Uploads, retry_after_s: 5 },
        Full::Caller => Error::Busy { retry_after_s: 5 },
    })?;
    within_quota(vault, opened.dossier().id).await?;
    Ok((idempotency_key, opened, slot))
}

/// An upload from the API or from a web page. A page's form must carry
/// `csrf` (the expected value given here) before its file.
pub async fn store_upload(
    vault: &Vault,
    principal: &Principal,
    nu: &str,
    headers: &HeaderMap,
    multipart: Result<UploadBody, Error>,
    csrf: Option<&str>,
) -> Result<(StatusCode, UploadView), Error> {
    let vault = vault.clone();
    let limit = vault.config().max_upload_bytes;
    // Refuse a declared oversize body before reading any of it.
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(Error::TooLarge { limit });
    }
    // Scoped to the uploader: another principal's key (a guichet's and an
    // applicant's may coincide) never makes this upload a duplicate.
    let caller = principal.caller_key();
    let (idempotency_key, opened, _slot) = match admit(&vault, principal, nu, headers, &caller).await {
        Ok(admitted) => admitted,
        Err(e) => {
            if let Ok(body) = multipart {
                body.drain().await;
            }
            return Err(e);
        }
    };
    let dossier = opened.dossier();
    let mut multipart = multipart?.open(&vault).await?;
    let dk = opened.key().await?;

    let mut form = Form::default();
    let read = read_form(&vault, &dk, &mut multipart, limit, csrf, &mut form).await;
    let result = match read {
        Ok(()) if form.scan.is_some() && !principal.as_agent().is_ok_and(|a| a.agent.scanner) => Err(Error::Forbidden(
            "scan provenance is recorded only for a guichet's scanner (an agent added with --scanner)".into(),
        )),
        Ok(()) => target(&form, &dk),
        Err(e) => Err(e),
    };
    let target = match result {
        Ok(t) => t,
        Err(e) => {
            if let Some(upload) = form.upload.take() {
                upload.discard(&vault).await;
            }
            return Err(e);
        }
    };
    let Some(upload) = form.upload.take() else {
        return Err(Error::BadRequest("the form has no `file` field".into()));
    };
    let accepted = upload.finish(&vault, &dk, &form.turns).await?;
    let (filename, declared_type) = names(form.filenames, form.declared);
    // An applicant's own upload has neither agent nor organisation.
    let by = Uploader { actor: principal.actor(Action::PieceUpload), idempotency_key, scan: form.scan.take() };
    let committed = commit(&vault, &dk, &accepted, &target, filename, declared_type, by).await?;
    if matches!(principal, Principal::Applicant { .. }) {
        // The applicant's upload answers a pending (c) radiation warning.
        vault.db().applicant_answered(dossier.id).await?;
    }
    let (status, piece, version, duplicate) = match committed {
        Committed::Created(p, v) => (StatusCode::CREATED, p, v, false),
        Committed::Duplicate(p, v) => (StatusCode::OK, p, v, true),
    };
    tracing::info!(
        dossier.id = %dossier.id, piece.id = %piece.id, version.id = %version.id,
        size_bytes = version.size_bytes, duplicate, "piece uploaded"
    );
    let meta = SealedMeta::open(&dk, &version)?;
    let (kind, member, valid_until) = piece_fields(&dk, &piece)?;
    Ok((
        status,
        UploadView {
            piece: PieceRef { id: piece.id, kind, member, valid_until },
            version: VersionView::new(&version, meta),
            duplicate,
        },
    ))
}

/// Refuses an upload to a dossier that holds all it may (checked before a
/// byte of the body is read; concurrent uploads may pass it together, at
/// most the per-caller limit of them).
async fn within_quota(vault: &Vault, dossier: Uuid) -> Result<(), Error> {
    let q = vault.config().quota;
    let u = vault.db().dossier_usage(dossier).await?;
    let full = if u.versions >= q.versions {
        Some(format!("{} versions of pieces", q.versions))
    } else if u.bytes >= q.bytes {
        Some(format!("{} MiB of documents", q.bytes >> 20))
    } else if u.pages >= q.pages {
        Some(format!("{} pages", q.pages))
    } else {
        None
    };
    match full {
        Some(what) => Err(Error::Unprocessable {
            code: intake::RefusalCode::DossierFull,
            message: format!(
                "this dossier holds the most it may ({what}); replace or remove outdated pieces with the guichet first"
            ),
        }),
        None => Ok(()),
    }
}

/// The `Idempotency-Key` header, checked.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(v) = headers.get(dnu_api::IDEMPOTENCY_KEY_HEADER) else { return Ok(None) };
    match v.to_str() {
        Ok(k) if dnu_api::valid_idempotency_key(k) => Ok(Some(k.to_owned())),
        _ => Err(Error::BadRequest(format!(
            "Idempotency-Key: expected 8 to {} visible ASCII characters",
            dnu_api::MAX_IDEMPOTENCY_KEY
        ))),
    }
}

/// Which piece the upload goes to, from the text fields.
fn target(form: &Form, dk: &crate::crypto::DossierKey) -> Result<PieceTarget, Error> {
    if form.upload.is_none() {
        return Err(Error::BadRequest("the form has no `file` field".into()));
    }
    match (form.piece, form.kind) {
        (Some(id), _) => Ok(PieceTarget::Existing(id)),
        (None, Some(kind)) => {
            // Unless the uploader gave the date, the catalogue's rule for the kind.
            let today = time::OffsetDateTime::now_utc().date();
            let valid_until = form.valid_until.or_else(|| kind.entry()?.default_valid_until(today));
            let id = Uuid::new_v4();
            let member = form.member.as_deref().map(|m| super::seal_member(dk, id, m)).transpose()?;
            Ok(PieceTarget::New { id, kind, member, valid_until })
        }
        (None, None) => Err(Error::BadRequest("the form has no `kind` field (or `piece` to add a version)".into())),
    }
}

async fn read_form(
    vault: &Vault,
    dk: &crate::crypto::DossierKey,
    mp: &mut Multipart,
    limit: u64,
    csrf: Option<&str>,
    form: &mut Form,
) -> Result<(), Error> {
    let mut fields = 0;
    while let Some(field) = mp.next_field().await? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(Error::BadRequest(format!("more than {MAX_FIELDS} form fields")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => {
                let got = text(field).await?;
                form.csrf_ok =
                    csrf.is_some_and(|want| crate::crypto::constant_time_eq(want.as_bytes(), got.trim().as_bytes()));
            }
            "file" => {
                if csrf.is_some() && !form.csrf_ok {
                    return Err(Error::Forbidden("the form has expired: reload the page and send it again".into()));
                }
                // Kept as metadata only (sealed), never used as a path.
                let filename = field.file_name().map(|f| f.chars().take(255).collect::<String>());
                let declared = field.content_type().map(str::to_owned);
                let upload = form.upload.get_or_insert_with(|| sealed::Upload::new(vault, limit));
                upload.add_file(vault, dk, field).await?;
                form.filenames.push(filename.unwrap_or_default());
                form.declared.push(declared);
            }
            "rotate" => form.turns = parse_turns(&text(field).await?)?,
            "kind" => {
                form.kind =
                    Some(PieceKind::parse(&text(field).await?).map_err(|e| Error::Invalid(format!("kind: {e}")))?)
            }
            "member" => {
                let m = text(field).await?;
                form.member = (!m.trim().is_empty()).then(|| m.trim().to_owned());
            }
            "valid_until" => {
                let s = text(field).await?;
                form.valid_until = Some(
                    crate::clock::parse_iso_date(s.trim())
                        .map_err(|_| Error::Invalid(format!("valid_until: {s:?} is not a date YYYY-MM-DD")))?,
                );
            }
            "scan" => {
                let raw = text_up_to(field, MAX_SCAN_FIELD).await?;
                let scan: ScanProvenance = serde_json::from_str(&raw)
                    .map_err(|e| Error::Invalid(format!("scan: not valid provenance ({e})")))?;
                scan.validate().map_err(Error::Invalid)?;
                form.scan = Some(scan);
            }
            "piece" => {
                let s = text(field).await?;
                form.piece = Some(
                    Uuid::parse_str(s.trim()).map_err(|_| Error::Invalid(format!("piece: {s:?} is not a piece id")))?,
                );
            }
            other => return Err(Error::BadRequest(format!("unknown form field {other:?}"))),
        }
    }
    Ok(())
}

/// `rotate`: degrees clockwise for each file, in order (`0,90,0`).
fn parse_turns(s: &str) -> Result<Vec<intake::Turns>, Error> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|d| d.trim().parse::<u16>().ok().and_then(intake::Turns::from_degrees))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            Error::Invalid(format!("rotate: {s:?}: expected 0, 90, 180 or 270 for each file, separated by commas"))
        })
}

/// The name and declared type kept for an upload: the file's own, or for
/// several files their names together and no single type.
fn names(filenames: Vec<String>, declared: Vec<Option<String>>) -> (Option<String>, Option<String>) {
    match (filenames.as_slice(), declared.as_slice()) {
        ([name], [declared]) => ((!name.is_empty()).then(|| name.clone()), declared.clone()),
        _ => {
            let joined = filenames.iter().filter(|n| !n.is_empty()).cloned().collect::<Vec<_>>().join(" + ");
            ((!joined.is_empty()).then(|| joined.chars().take(255).collect()), None)
        }
    }
}

/// Reads a short text field, refusing anything longer than a label.
async fn text(field: Field<'_>) -> Result<String, Error> {
    text_up_to(field, MAX_TEXT_FIELD).await
}

async fn text_up_to(mut field: Field<'_>, max: usize) -> Result<String, Error> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() > max {
            return Err(Error::Invalid(format!("{name}: longer than {max} bytes")));
        }
    }
    String::from_utf8(buf).map_err(|_| Error::Invalid(format!("{name}: not UTF-8 text")))
}
