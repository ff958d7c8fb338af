//! `GET /api/v1/dossiers/{nu}/export.pdf`: gathering the pieces' latest
//! renditions, composing the PDF off the async threads, tracing the export,
//! and sending it.
//!
//! Composition decodes and re-encodes every page to draw the watermark
//! into its pixels. It runs in the server process, not in the intake
//! worker: its input is the vault's own renditions (one JPEG per page,
//! written by the vault's encoder and authenticated when decrypted), not
//! uploaded bytes.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    body::Body,
    extract::{Path, State},
    response::Response,
};
use intake::{
    EncodedPage, PageImage,
    compose::{Bookmark, Group4Page, Rendition, RenditionPage, Watermark, text_page},
};
use uuid::Uuid;

use super::cover::{self, Cover, ExportPiece};
use crate::{
    access,
    app::Vault,
    auth::{Action, Principal},
    db::pieces::Version,
    error::Error,
    reply::content,
    sealed::read_object,
};

/// Resolution of cover pages (renditions keep their own).
const COVER_DPI: f32 = 150.0;

fn date_fr(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_ms / 1000)
        .map(|t| format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year()))
        .unwrap_or_default()
}

fn internal(e: intake::Refusal) -> Error {
    Error::internal("composing the export", e.to_string())
}

/// Composes the export: cover page(s), then every rendition page, each with
/// `watermark` drawn into it; one bookmark per piece. CPU-bound: call it
/// from a blocking thread.
pub fn compose(
    numero_unique: &str,
    recipient: &str,
    date: &str,
    completeness: &str,
    watermark: &str,
    pieces: &[ExportPiece],
) -> Result<Vec<u8>, Error> {
    let cover_pages = cover::pages_needed(pieces.len());
    let mut first_pages = Vec::with_capacity(pieces.len());
    let mut next = cover_pages + 1;
    for p in pieces {
        first_pages.push(p.rendition.as_ref().map(|_| next));
        if p.rendition.is_some() {
            next += p.pages;
        }
    }
    let cover = Cover { numero_unique, recipient, date, completeness, pieces, first_pages: &first_pages };
    let marks = Marks { text: watermark, made: Mutex::new(HashMap::new()) };
    let mut bookmarks = vec![Bookmark { title: "Page de garde".into(), page: 0 }];
    // The cover is drawn on one core while the other opens the renditions
    // and makes the watermark for their first page's size (usually the
    // cover's too): each is a whole-page rendering by hayro.
    let (mut pages, renditions) = std::thread::scope(|s| {
        let covers = s.spawn(|| {
            let mut pages = Vec::with_capacity(next);
            for lines in cover::layout(&cover) {
                // Black text on white: bitonal as the renditions' text
                // pages are (a tenth of the bytes, and no JPEG to encode).
                let image = text_page(&lines, COVER_DPI).map_err(internal)?;
                let bitonal = matches!(&image, PageImage::Gray { pixels, .. } if intake::bitonal::is_text(pixels));
                pages.push(marks.marked(RenditionPage { image, bitonal })?);
            }
            Ok::<_, Error>(pages)
        });
        let renditions: Vec<(&ExportPiece, Rendition)> = pieces
            .iter()
            .filter_map(|p| p.rendition.as_ref().map(|r| Rendition::open(r).map(|r| (p, r))))
            .collect::<Result<_, _>>()
            .map_err(internal)?;
        if let Some((_, r)) = renditions.first()
            && let Some(g4) = r.page_group4(0).map_err(internal)?
        {
            marks.mark(g4.width, g4.height, g4.dpi)?;
        }
        let pages = covers.join().map_err(|_| Error::internal("composing the export", "the cover's thread"))??;
        Ok::<_, Error>((pages, renditions))
    })?;
    // Every page to draw, in order: (rendition, page).
    let mut jobs = Vec::new();
    for (i, (piece, r)) in renditions.iter().enumerate() {
        bookmarks.push(Bookmark { title: piece.label.clone(), page: pages.len() + jobs.len() });
        jobs.extend((0..r.len()).map(|p| (i, p)));
    }
    // Decoding, watermarking and encoding pages is independent work: one
    // thread per core, each taking the next page; only pages in flight are
    // held decoded.
    let done: Vec<Mutex<Option<Result<EncodedPage, Error>>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next_job = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let j = next_job.fetch_add(1, Ordering::Relaxed);
                    let Some(&(r, p)) = jobs.get(j) else { break };
                    let rendition = &renditions[r].1;
                    // A bitonal page is marked run by run, never as pixels.
                    let result = match rendition.page_group4(p).map_err(internal) {
                        Ok(Some(g4)) => marks.marked_group4(&g4),
                        Ok(None) => rendition.page(p).map_err(internal).and_then(|page| marks.marked(page)),
                        Err(e) => Err(e),
                    };
                    if let Ok(mut slot) = done[j].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    for slot in done {
        let page = slot
            .into_inner()
            .ok()
            .flatten()
            .ok_or_else(|| Error::internal("composing the export", "a page was not drawn"))?;
        pages.push(page?);
    }
    intake::build_pdf_from(&pages, &bookmarks).map_err(internal)
}

/// Watermarks made once per page geometry (most dossiers have one: A4 at
/// 150 dpi), shared by the threads drawing pages.
struct Marks<'a> {
    text: &'a str,
    made: Mutex<HashMap<(u32, u32, u32), Arc<Watermark>>>,
}

impl Marks<'_> {
    /// The watermark for pages of this size, made by the first page asking.
    fn mark(&self, w: u32, h: u32, dpi: f32) -> Result<Arc<Watermark>, Error> {
        let mut made =
            self.made.lock().map_err(|_| Error::internal("composing the export", "watermark cache poisoned"))?;
        Ok(match made.get(&(w, h, dpi.to_bits())) {
            Some(m) => Arc::clone(m),
            None => {
                let m = Arc::new(Watermark::new(self.text, w, h, dpi).map_err(internal)?);
                made.insert((w, h, dpi.to_bits()), Arc::clone(&m));
                m
            }
        })
    }

    /// A rendition's bitonal page with its hatched watermark, still Group 4.
    fn marked_group4(&self, page: &Group4Page<'_>) -> Result<EncodedPage, Error> {
        let mark = self.mark(page.width, page.height, page.dpi)?;
        let data = mark
            .apply_group4(page)
            .ok_or_else(|| Error::internal("composing the export", "a bitonal page does not decode whole"))?;
        Ok(EncodedPage::group4(data, page.width, page.height, page.dpi))
    }

    /// The page with its watermark, encoded as the rendition kept it: a
    /// bitonal page stays bitonal (hatched watermark, Group 4).
    fn marked(&self, page: RenditionPage) -> Result<EncodedPage, Error> {
        let RenditionPage { image: mut page, bitonal } = page;
        let (w, h) = page.dimensions();
        let mark = self.mark(w, h, page.dpi())?;
        match (&mut page, bitonal) {
            (PageImage::Gray { pixels, dpi }, true) => {
                mark.apply_bitonal(pixels);
                Ok(EncodedPage::group4(intake::bitonal::group4(pixels), w, h, *dpi))
            }
            _ => {
                mark.apply(&mut page);
                EncodedPage::new(&page).map_err(internal)
            }
        }
    }
}

pub async fn export(
    State(vault): State<Vault>,
    principal: Principal,
    Path(nu): Path<String>,
) -> Result<Response, Error> {
    export_pdf(&vault, &principal, &nu).await
}

/// The complete dossier as one PDF, watermarked for the caller, traced
/// before it is sent.
/// The cover's completeness line: the status and what is missing or stale.
fn completeness_words(c: &crate::domain::Completeness) -> String {
    use crate::domain::completeness::PieceState;
    let mut out = format!("Complétude : dossier {}", c.status.words());
    for (state, words) in [
        (PieceState::Missing, "manquante(s)"),
        (PieceState::Expired, "expirée(s)"),
        (PieceState::Flagged, "à remplacer"),
    ] {
        let kinds: Vec<&str> = c.expected.iter().filter(|e| e.state == state).map(|e| e.kind.label()).collect();
        if !kinds.is_empty() {
            out.push_str(&format!(" — {words} : {}", kinds.join(", ")));
        }
    }
    out
}

/// When a refused export may come back: about what a few exports take.
const EXPORT_RETRY_S: i64 = 5;

pub async fn export_pdf(vault: &Vault, principal: &Principal, nu: &str) -> Result<Response, Error> {
    let opened = access::open(vault, principal, nu, Action::DossierExport).await?;
    // Decided first (a refusal is a refusal, whatever the load), then in
    // line before any rendition is read into memory.
    let _turn = vault.exports().enter().await.map_err(|_| Error::Saturated {
        what: crate::error::Saturable::DossierExports,
        retry_after_s: EXPORT_RETRY_S,
    })?;
    let dossier = opened.dossier();
    let dk = opened.key().await?;
    let mut org_names: HashMap<Uuid, String> = HashMap::new();
    let mut pieces = Vec::new();
    for piece in vault.db().pieces_of(dossier.id).await? {
        let versions = vault.db().versions_of(piece.id).await?;
        let Some(v): Option<&Version> = versions.last() else { continue };
        // Checks the row still names the objects it was sealed with.
        crate::pieces::SealedMeta::open(&dk, v)?;
        let label = match (piece.kind.entry(), crate::pieces::member_of(&dk, &piece)?) {
            (Some(e), Some(m)) => format!("{} ({m})", e.label),
            (Some(e), None) => e.label.clone(),
            (None, _) => piece.kind.to_string(),
        };
        let provenance = match v.uploaded_by_org {
            Some(org) => {
                let name = match org_names.get(&org) {
                    Some(n) => n.clone(),
                    None => {
                        let n = vault.db().organisation(org).await?.map_or_else(|| "?".to_owned(), |o| o.name);
                        org_names.insert(org, n.clone());
                        n
                    }
                };
                let agent = v.uploaded_by_agent.map(|a| crate::audit::pseudonym(&a.to_string())).unwrap_or_default();
                format!("déposée par {name} {agent} le {}", date_fr(v.created_at))
            }
            None => format!("déposée par le demandeur le {}", date_fr(v.created_at)),
        };
        let rendition = match v.derived {
            Some(d) => Some(read_object(vault, &dk, d.rendition.object_id).await?),
            None => None,
        };
        pieces.push(ExportPiece {
            label,
            version: format!("version {}", v.number),
            validity: crate::domain::PieceValidity::words(piece.valid_until, crate::clock::today()),
            provenance,
            pages: v.derived.map_or(0, |d| usize::try_from(d.pages).unwrap_or(0)),
            rendition,
        });
    }
    let recipient = match principal {
        Principal::Agent(a) => format!("{} (SIREN {})", a.organisation.name, a.organisation.siren),
        Principal::Applicant { .. } => "le demandeur".to_owned(),
    };
    let date = date_fr(crate::clock::now_ms());
    let watermark = format!("{recipient} — {date} — usage exclusif : instruction de la demande {nu}");
    let numero = dossier.numero_unique.to_string();
    let started = std::time::Instant::now();
    let summaries = crate::pieces::summaries(&opened).await?;
    let completeness = completeness_words(&crate::dossiers::completeness_of(&opened, &summaries).await?);
    let pdf =
        tokio::task::spawn_blocking(move || compose(&numero, &recipient, &date, &completeness, &watermark, &pieces))
            .await
            .map_err(|e| Error::internal("export task", e))??;
    tracing::info!(dossier.id = %dossier.id, size_bytes = pdf.len(), elapsed_ms = started.elapsed().as_millis() as u64, "dossier exported");
    // Traced before the first byte is sent.
    opened.record(Action::DossierExport, None).await?;
    Ok(content(
        Body::from(pdf),
        "application/pdf",
        &format!("attachment; filename=\"dossier-{}.pdf\"", dossier.numero_unique),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        PieceKind,
        completeness::{Held, assess},
    };

    #[test]
    fn the_cover_says_whether_the_dossier_is_complete_and_what_is_missing() {
        let kind = |k| PieceKind::parse(k).unwrap();
        let today = crate::clock::today();
        let expected = [kind("identite"), kind("avis_imposition_n2"), kind("ressources")];
        let held =
            [Held { kind: kind("identite"), valid_until: Some(today - time::Duration::days(1)), flagged: false }];
        let words = completeness_words(&assess(&expected, &held, today));
        assert_eq!(
            words,
            "Complétude : dossier incomplet — manquante(s) : Avis d'impôt sur le revenu de l'année N-2, \
             Ressources mensuelles — expirée(s) : Pièce d'identité ou titre de séjour"
        );
        let cover = Cover {
            numero_unique: "0591126000001DKMAI",
            recipient: "Bailleur",
            date: "03/12/2026",
            completeness: &words,
            pieces: &[],
            first_pages: &[],
        };
        let page = &cover::layout(&cover)[0];
        assert!(page.iter().any(|l| l.text.starts_with("Complétude : dossier incomplet") && l.text.ends_with('…')));
    }
}
