//! An agent's page of one dossier: who registered it, its completeness,
//! its pieces with their provenance, and what the agent may do there —
//! open a rendition or an original, download the complete watermarked PDF,
//! print a separator sheet, upload for the applicant, declare the pieces
//! the situation calls for. Each is the operation the API calls, decided
//! by the policy as there.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    AgentSession, Deposited, Session, agent::field, completeness, fr, message_fr, page, shown_at_form, upload_form,
};
use crate::{app::Vault, auth::Principal, domain::PieceKind, dossiers::show_dossier, error::Error};

pub async fn show(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    crate::query::Query(q): crate::query::Query<Deposited>,
) -> Result<Response, Error> {
    Ok(show_page(&vault, &session, &nu, q.flash(), None).await?.into_response())
}

async fn show_page(
    vault: &Vault,
    session: &Session,
    nu: &str,
    flash: Option<&str>,
    upload_error: Option<&str>,
) -> Result<Response, Error> {
    let view = match show_dossier(vault, &session.principal, nu).await {
        Ok(v) => v,
        Err(Error::Gone(_)) => {
            let on = match crate::domain::NumeroUnique::parse(nu) {
                Ok(n) => vault.db().dossier_by_nu(&n).await?.and_then(|d| d.purged_on),
                Err(_) => None,
            };
            let main = html! {
                (breadcrumb(nu))
                h1 { "Dossier " (nu) }
                div.fr-alert.fr-alert--info role="alert" {
                    p {
                        "Ce dossier a été effacé"
                        @if let Some(on) = on { " le " (fr::date(on)) }
                        ", un an après sa radiation, comme la loi le prévoit (décret n° 2017-917). Il n'en reste que le numéro et les dates."
                    }
                }
                p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
            };
            return Ok((StatusCode::GONE, page(vault, "Dossier effacé", Some(session), main)).into_response());
        }
        Err(e @ (Error::NotFound(_) | Error::Invalid(_) | Error::Forbidden(_) | Error::Refused { .. })) => {
            let status = e.status();
            let main = html! {
                (breadcrumb(nu))
                h1 { "Dossier " (nu) }
                (super::alert_error(None, &fr::sentence(&e)))
                p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
            };
            return Ok((status, page(vault, "Dossier inaccessible", Some(session), main)).into_response());
        }
        Err(e) => return Err(e),
    };
    let catalogue = crate::domain::catalogue::shipped().map_err(|e| Error::Config(e.to_owned()))?;
    let label = |kind: &str| catalogue.kind(kind).map_or_else(|| kind.to_owned(), |k| k.label.clone());
    let mut orgs = std::collections::HashMap::new();
    for p in &view.pieces {
        if let Some(o) = p.current.as_ref().and_then(|v| v.uploaded_by_organisation)
            && !orgs.contains_key(&o)
            && let Some(org) = vault.db().organisation(o).await?
        {
            orgs.insert(o, org.name);
        }
    }
    let zone = vault.config().notices.zone;
    let nu = &view.numero_unique;
    let registering = matches!(&session.principal, Principal::Agent(a) if a.organisation.registering);
    let main = html! {
        (breadcrumb(nu))
        h1 { "Dossier " (nu) }
        p { "Enregistré par " (view.registered_by.name) " le " (fr::date_str(&view.deposited_on)) " — valable jusqu'au " (fr::date_str(&view.valid_until))
            " — communes : " (view.communes.join(", ")) }
        @if let (Some(on), Some(reason)) = (&view.radiated_on, &view.radiation_reason) {
            div.fr-alert.fr-alert--info {
                p { strong { "Demande radiée le " (fr::date_str(on)) } " (motif : " (reason.replace('_', " ")) ")"
                    @if let Some(kept) = &view.merged_into {
                        " — réunie à la demande " a href=(format!("/dossiers/{kept}")) { (kept) } ", qui en garde les pièces et l'historique"
                    }
                    "." }
            }
        }
        @if let Some(f) = flash { (super::alert_success(f)) }
        p { a.fr-link href=(format!("/dossiers/{nu}/dossier.pdf")) { "Télécharger le dossier complet " (nu) " (PDF filigrané)" } }
        h2 { "Complétude" }
        (completeness::checklist(&view.completeness, false))
        @if registering && view.status == "active" {
            details {
                summary { "Modifier la liste des pièces que la situation demande" }
                @let declared: Vec<PieceKind> = view.completeness.expected.iter().skip(1).map(|e| e.kind).collect();
                (completeness::situation_form(&format!("/dossiers/{nu}/situation"), &session.csrf(), catalogue, &declared,
                    "Enregistrer la liste des pièces attendues"))
            }
        }
        h2 { "Pièces" }
        (super::table("pieces", "Pièces du dossier et leur provenance", &["Pièce", "Validité", "Pages", "Provenance", "Ouvrir"], html! {
            @for p in &view.pieces {
                @let name = label(&p.kind);
                tr {
                    td { (name) @if let Some(m) = &p.member { " (" (m) ")" } }
                    td {
                        (super::validity_words(p))
                        @if let Some(m) = p.current.as_ref().and_then(|v| v.mark.as_ref()) {
                            br; strong { "signalée " (m.label) } " : " (m.reason)
                        }
                    }
                    td { (p.current.as_ref().and_then(|v| v.pages).map(|n| n.to_string()).unwrap_or_default()) }
                    td {
                        @if let Some(v) = &p.current {
                            @let by = v.uploaded_by_organisation.and_then(|o| orgs.get(&o));
                            @if let Some(scan) = &v.scan {
                                "numérisée par " (by.map_or("?", |n| n.as_str()))
                                " le " (fr::moment(zone, scan.scanned_at)) " sur le poste " (scan.host)
                                " (" (scan.images_sha256.len()) " image(s) de scan, empreintes conservées), classée dans le dossier le "
                                (fr::moment(zone, v.uploaded_at))
                            } @else {
                                "déposée par "
                                @match by {
                                    Some(name) => { (name) }
                                    None => { "le demandeur" }
                                }
                                " le " (fr::moment(zone, v.uploaded_at))
                            }
                        }
                    }
                    td {
                        @let base = format!("/dossiers/{nu}/pieces/{}", p.id);
                        ul.dnu-actions {
                            li { a.fr-link href=(format!("{base}/rendu")) { "Rendu" span.fr-sr-only { " de la pièce « " (name) " »" } } }
                            li { a.fr-link href=(format!("{base}/original")) { "Original" span.fr-sr-only { " de la pièce « " (name) " »" } } }
                        }
                    }
                }
            }
        }))
        h2 { "Imprimer une feuille de séparation" }
        (scanned_here(&view, &session.principal, zone, &label))
        form.dnu-form method="get" action=(format!("/dossiers/{nu}/feuille.pdf")) {
            div.fr-select-group {
                label.fr-label for="sheet-kind" { "Type des pièces qui suivront la feuille" }
                select.fr-select id="sheet-kind" name="kind" required {
                    @for k in &catalogue.kinds { option value=(k.code) { (k.label) } }
                }
            }
            button.fr-btn.fr-btn--secondary type="submit" { "Imprimer la feuille de séparation" }
        }
        h2 { "Déposer une pièce pour le demandeur" }
        (upload_form(&format!("/dossiers/{nu}/pieces"), session, catalogue, upload_error))
        p { a.fr-link href="/dossiers" { "Retour aux dossiers" } }
    };
    Ok(page(vault, &format!("Dossier {nu}"), Some(session), main).into_response())
}

/// What this guichet's scanner filed in the dossier, beside the sheet
/// that starts the next batch: the agent sees whether the morning's stack
/// arrived before printing another sheet for it. Only the current version
/// of each piece, and only what the agent's own organisation scanned.
fn scanned_here(
    view: &crate::dossiers::show::DossierView,
    principal: &Principal,
    zone: crate::clock::Zone,
    label: &dyn Fn(&str) -> String,
) -> Markup {
    let Principal::Agent(agent) = principal else { return html! {} };
    let here: Vec<_> = view
        .pieces
        .iter()
        .filter_map(|p| {
            let v = p.current.as_ref()?;
            let scan = v.scan.as_ref()?;
            (v.uploaded_by_organisation == Some(agent.organisation.id)).then_some((p, v, scan))
        })
        .collect();
    html! {
        @if here.is_empty() {
            p { "Aucune pièce de ce dossier n'a encore été numérisée à votre guichet." }
        } @else {
            (super::table("scanned-here", "Pièces numérisées à votre guichet", &["Pièce", "Numérisée le", "Classée dans le dossier le", "Poste"], html! {
                @for (p, v, scan) in &here {
                    tr {
                        td { (label(&p.kind)) @if let Some(m) = &p.member { " (" (m) ")" } }
                        td { (fr::moment(zone, scan.scanned_at)) }
                        td { (fr::moment(zone, v.uploaded_at)) }
                        td { (scan.host) }
                    }
                }
            }))
        }
    }
}

pub async fn upload(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    headers: HeaderMap,
    multipart: Result<crate::pieces::UploadBody, Error>,
) -> Result<Response, Error> {
    let csrf = session.csrf();
    match crate::pieces::store_upload(&vault, &session.principal, &nu, &headers, multipart, Some(&csrf)).await {
        Ok(_) => Ok(Redirect::to(&format!("/dossiers/{nu}?depose=1")).into_response()),
        Err(e) if shown_at_form(&e) => {
            let status = e.status();
            let resp = show_page(&vault, &session, &nu, None, Some(&message_fr(&e))).await?;
            Ok((status, resp).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SheetForm {
    kind: String,
}

pub async fn sheet(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    crate::query::Query(q): crate::query::Query<SheetForm>,
) -> Result<Response, Error> {
    let kind = PieceKind::parse(&q.kind).map_err(|e| Error::Invalid(format!("kind: {e}")))?;
    crate::sheets::sheet_pdf(&vault, &session.principal, &nu, kind).await
}

pub async fn export(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
) -> Result<Response, Error> {
    crate::export::export_pdf(&vault, &session.principal, &nu).await
}

/// The guichet declares what the applicant's situation calls for.
pub async fn situation(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path(nu): Path<String>,
    super::PageForm(fields): super::PageForm<Vec<(String, String)>>,
) -> Result<Response, Error> {
    session.check_csrf(field(&fields, "csrf"))?;
    crate::dossiers::put_expected(&vault, &session.principal, &nu, &completeness::ticked(&fields)).await?;
    Ok(Redirect::to(&format!("/dossiers/{nu}?situation=1")).into_response())
}

/// Where a dossier's page sits: under the list of dossiers.
fn breadcrumb(nu: &str) -> Markup {
    html! {
        nav.fr-breadcrumb aria-label="Vous êtes ici :" {
            ol.fr-breadcrumb__list {
                li { a.fr-breadcrumb__link href="/dossiers" { "Dossiers" } }
                li { a.fr-breadcrumb__link aria-current="page" { "Dossier " (nu) } }
            }
        }
    }
}

/// A piece's sanitised rendition, as the API serves it.
pub async fn rendition(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Response, Error> {
    crate::pieces::open_content(&vault, &session.principal, &nu, &piece, None, crate::pieces::Content::Rendition).await
}

/// A piece's original as deposited, under the same policy as the API's
/// (after a ProConnect sign-in, the default set asks for a second factor).
pub async fn original(
    State(vault): State<Vault>,
    AgentSession(session): AgentSession,
    Path((nu, piece)): Path<(String, String)>,
) -> Result<Response, Error> {
    crate::pieces::open_content(&vault, &session.principal, &nu, &piece, None, crate::pieces::Content::Original).await
}
