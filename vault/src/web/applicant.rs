//! The applicant's pages: sign in with the identifier and code of the
//! attestation, see the pieces with their state and validity, upload a
//! piece, see who consulted what and when, download everything.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    ApplicantSession, Deposited, MaybeSession, Session, completeness, fr, message_fr, page, session_cookie,
    shown_at_form, upload_form,
};
use crate::{
    access::{self, Opened},
    app::Vault,
    auth::{Action, ClientAddr, Principal},
    domain::journal::Recorded,
    error::Error,
    pieces::Content,
};

#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    identifier: String,
    code: String,
}

/// The sign-in form, with an error tied to its fields if any.
fn sign_in_page(vault: &Vault, error: Option<&str>, identifier: &str) -> Markup {
    html! {
        h1 { "Consulter mon dossier" }
        @if vault.config().signin.franceconnect.is_some() {
            (super::signin::provider_button(crate::config::ProviderKind::FranceConnect))
            h2 { "Ou avec votre attestation" }
        }
        p { "Saisissez l'identifiant et le code personnel figurant sur votre attestation d'enregistrement." }
        (super::attestation_form("/connexion", "erreur-connexion", error, identifier, "Se connecter"))
    }
}

pub async fn home(
    State(vault): State<Vault>,
    MaybeSession(session): MaybeSession,
    crate::query::Query(q): crate::query::Query<HomeQuery>,
) -> Response {
    if session.is_some() {
        return Redirect::to("/mon-dossier").into_response();
    }
    let expired = q.session.as_deref() == Some("expiree");
    page(
        &vault,
        "Connexion",
        None,
        sign_in_page(&vault, expired.then_some("Votre session a expiré : connectez-vous à nouveau."), ""),
    )
    .into_response()
}

pub async fn sign_in(
    State(vault): State<Vault>,
    source: ClientAddr,
    headers: axum::http::HeaderMap,
    super::PageForm(form): super::PageForm<SignInForm>,
) -> Result<Response, Error> {
    if !super::from_own_pages(&headers) {
        return Ok(super::foreign_form(&vault));
    }
    match crate::applicants::open_session(&vault, source, &form.identifier, &form.code).await {
        Ok(s) => {
            let mut resp = Redirect::to("/mon-dossier").into_response();
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie(Some(&s.token)));
            Ok(resp)
        }
        Err(Error::Unauthenticated(_)) => Ok((
            StatusCode::UNAUTHORIZED,
            page(
                &vault,
                "Connexion impossible",
                None,
                sign_in_page(&vault, Some("Identifiant ou code incorrect."), form.identifier.trim()),
            ),
        )
            .into_response()),
        Err(e @ (Error::Throttled { .. } | Error::Busy { .. })) => {
            let message = match e {
                Error::Throttled { retry_after_s } => {
                    format!("Trop d'essais depuis cet appareil : réessayez dans {retry_after_s} seconde(s).")
                }
                _ => "Le service est très sollicité : réessayez dans un instant.".to_owned(),
            };
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                page(
                    &vault,
                    "Connexion impossible pour le moment",
                    None,
                    sign_in_page(&vault, Some(&message), form.identifier.trim()),
                ),
            )
                .into_response();
            if let Error::Throttled { retry_after_s } | Error::Busy { retry_after_s } = e {
                resp.headers_mut().insert(header::RETRY_AFTER, retry_after_s.into());
            }
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

/// The numéro unique of the applicant's own dossier (their session names
/// it); the operation called with it decides as for anyone.
async fn own_nu(vault: &Vault, session: &Session) -> Result<String, Error> {
    let Principal::Applicant { dossier, .. } = &session.principal else {
        return Err(Error::Unauthenticated("this session has no dossier; sign in again"));
    };
    let dossier = vault.db().dossier_by_id(*dossier).await?;
    dossier
        .map(|d| d.numero_unique.to_string())
        .ok_or(Error::Unauthenticated("this session has no dossier; sign in again"))
}

/// The applicant's own dossier, opened for `action` (their session says which).
async fn own<'a>(vault: &'a Vault, session: &'a Session, action: Action) -> Result<Opened<'a>, Error> {
    access::open_own(vault, &session.principal, action)
        .await?
        .ok_or_else(|| Error::Unauthenticated("this session has no dossier; sign in again"))
}

/// What an event of the trace says, in French.
fn action_fr(action: &str) -> &str {
    use crate::auth::Action as A;
    match Recorded::parse(action) {
        Some(Recorded::Asked(a)) => match a {
            A::DossierRegister => "a enregistré la demande",
            A::DossierRead => "a consulté le dossier",
            A::DossierRenew => "a renouvelé la demande",
            A::DossierRadiate => "a radié la demande",
            A::DossierExport => "a extrait le dossier complet (PDF)",
            A::PieceUpload => "a déposé une pièce",
            A::PieceRead => "a consulté la description d'une pièce",
            A::PieceReadOriginal => "a téléchargé l'original d'une pièce",
            A::PieceReadRendition => "a consulté une pièce",
            A::AuditRead => "a consulté l'historique des accès",
            A::ApplicantExport => "a téléchargé toutes les données",
            A::GrantManage => "a géré les accès",
            A::PlatformManage => "a administré la plateforme",
        },
        Some(Recorded::PieceReadThumbnail) => "a vu l'aperçu d'une pièce",
        Some(Recorded::GrantCreate) => "a ouvert votre dossier en consultation",
        Some(Recorded::GrantRevoke) => "a retiré un accès à votre dossier",
        Some(Recorded::WorklistShown) => "a vu votre demande dans sa liste de dossiers",
        Some(Recorded::RadiationWarned) => "vous a averti d'une radiation possible dans un mois",
        Some(Recorded::Purged) => "a effacé le dossier, un an après sa radiation",
        Some(Recorded::ContactChanged) => "a modifié vos coordonnées",
        Some(Recorded::ExpectedChanged) => "a modifié la liste des pièces que votre situation demande",
        Some(Recorded::NoticeIssued) => "vous a adressé un avis (renouvellement ou radiation)",
        Some(Recorded::LetterPosted) => "a posté un courrier à votre adresse",
        Some(Recorded::VersionMarked) => "a signalé un problème sur une pièce (voir « Mes pièces »)",
        Some(Recorded::IntegrityFailure) => {
            "a constaté qu'une copie stockée d'une pièce est altérée ; le service la fait vérifier"
        }
        Some(Recorded::Merged) => "a réuni une autre de vos demandes à celle-ci (pièces et historique)",
        Some(Recorded::SignIn(crate::domain::journal::SignIn::ApplicantLinked)) => {
            "a lié son identité FranceConnect au dossier"
        }
        Some(Recorded::SignIn(crate::domain::journal::SignIn::ApplicantUnlinked)) => {
            "a retiré la liaison FranceConnect du dossier"
        }
        Some(Recorded::SignIn(_)) => "s'est connecté",
        None => action,
    }
}

pub async fn dossier(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    crate::query::Query(q): crate::query::Query<Deposited>,
) -> Result<Response, Error> {
    Ok(render_dossier(&vault, &session, q.flash(), Shown::default()).await?.into_response())
}

/// What a form sent back shows again: its error.
#[derive(Debug, Default, Clone, Copy)]
struct Shown<'a> {
    upload_error: Option<&'a str>,
    contact_error: Option<&'a str>,
}

async fn render_dossier(
    vault: &Vault,
    session: &Session,
    flash: Option<&str>,
    shown: Shown<'_>,
) -> Result<axum::response::Html<String>, Error> {
    let upload_error = shown.upload_error;
    let opened = own(vault, session, Action::DossierRead).await?;
    let dossier = opened.dossier();
    let pieces = crate::pieces::summaries(&opened).await?;
    let completeness = crate::dossiers::completeness_of(&opened, &pieces).await?;
    let trace = crate::audit::events_of(&opened.and(Action::AuditRead).await?).await?;
    let catalogue = crate::domain::catalogue::shipped().map_err(|e| Error::Config(e.to_owned()))?;
    let label = |kind: &str| catalogue.kind(kind).map_or_else(|| kind.to_owned(), |k| k.label.clone());
    let contact = match vault.db().contact_of(dossier.id).await? {
        Some(record) => crate::sealed::records::open_contact(&opened.key().await?, &record)?,
        None => crate::domain::Contact::default(),
    };
    let franceconnect_since = match &session.principal {
        Principal::Applicant { id, .. } => vault.db().franceconnect_linked_at(*id).await?,
        Principal::Agent(_) => None,
    };
    let zone = vault.config().notices.zone;
    let main = html! {
        h1 { "Mon dossier de demande de logement social" }
        p { "Numéro unique : " strong { (dossier.numero_unique) } " — demande valable jusqu'au " (fr::date(dossier.valid_until)) }
        @if let Some(f) = flash { (super::alert_success(f)) }
        @if dossier.status == crate::domain::DossierStatus::Active
            && dossier.valid_until <= crate::clock::today() + time::Duration::days(crate::dossiers::RENEWAL_NOTICE_DAYS)
        {
            h2 { "Renouveler ma demande" }
            p { "Votre demande arrive à échéance le " (fr::date(dossier.valid_until))
                ". Sans renouvellement à cette date, elle sera radiée. Renouvelez-la pour un an :" }
            form method="post" action="/mon-dossier/renouveler" {
                input type="hidden" name="csrf" value=(session.csrf());
                button.fr-btn type="submit" { "Renouveler ma demande pour un an" }
            }
        }
        h2 { "Ma demande est-elle complète ?" }
        (completeness::checklist(&completeness, true))
        @if dossier.status == crate::domain::DossierStatus::Active {
            details {
                summary { "Ma situation a changé : modifier la liste des pièces à fournir" }
                @let declared: Vec<crate::domain::PieceKind> = completeness.expected.iter().skip(1).map(|e| e.kind).collect();
                (completeness::situation_form("/mon-dossier/situation", &session.csrf(), catalogue, &declared,
                    "Enregistrer la liste des pièces à fournir"))
            }
        }
        h2 { "Mes pièces" }
        @if pieces.is_empty() {
            p { "Aucune pièce n'a encore été déposée." }
        } @else {
            (super::table("pieces", "Pièces du dossier", &["Pièce", "Déposée le", "Validité", "Pages", "Consulter"], html! {
                @for p in &pieces {
                    @let name = label(&p.kind);
                    tr {
                        td { (name) @if let Some(m) = &p.member { " (" (m) ")" } }
                        td { (p.current.as_ref().map(|v| fr::moment(zone, v.uploaded_at)).unwrap_or_default()) }
                        td {
                            (super::validity_words(p))
                            @if let Some(m) = p.current.as_ref().and_then(|v| v.mark.as_ref()) {
                                p.fr-message.fr-message--error { "Pièce signalée " (m.label) " : " (m.reason) ". Merci de déposer une nouvelle pièce." }
                            }
                        }
                        td { (p.current.as_ref().and_then(|v| v.pages).map(|n| n.to_string()).unwrap_or_default()) }
                        td {
                            @if p.current.as_ref().is_some_and(|v| v.rendition) {
                                a.fr-link href=(format!("/mon-dossier/pieces/{}/rendu", p.id)) {
                                    "Voir" span.fr-sr-only { " la pièce « " (name) " »" }
                                }
                            }
                        }
                    }
                }
            }))
        }
        h2 { "Déposer une pièce" }
        (upload_form("/mon-dossier/pieces", session, catalogue, upload_error))
        h2 { "Mes coordonnées" }
        p { "Les avis sur votre demande (renouvellement, radiation) vous sont adressés par courriel, "
            "et aussi par courrier si vous le demandez." }
        @if dossier.status == crate::domain::DossierStatus::Active {
            @let error = shown.contact_error;
            form.dnu-form method="post" action="/mon-dossier/coordonnees" {
                input type="hidden" name="csrf" value=(session.csrf());
                @if let Some(e) = error { (super::alert_error(Some("erreur-coordonnees"), e)) }
                div.fr-input-group {
                    label.fr-label for="email" { "Adresse électronique" span.fr-hint-text { "Par exemple prenom.nom@exemple.fr" } }
                    input.fr-input id="email" name="email" type="email" autocomplete="email"
                        value=(contact.email.as_ref().map(|e| e.as_str()).unwrap_or_default())
                        aria-describedby=[error.map(|_| "erreur-coordonnees")];
                }
                div.fr-input-group {
                    label.fr-label for="adresse" {
                        "Adresse postale"
                        span.fr-hint-text { "Une ligne par ligne d'adresse : nom, voie, code postal et commune." }
                    }
                    textarea.fr-input id="adresse" name="adresse" rows="4" autocomplete="street-address"
                        aria-describedby=[error.map(|_| "erreur-coordonnees")] { (contact.postal_address.join("\n")) }
                }
                div.fr-checkbox-group {
                    input id="courrier" name="courrier" type="checkbox" value="oui" checked[contact.wants_post];
                    label.fr-label for="courrier" { "Je souhaite recevoir aussi les avis par courrier" }
                }
                button.fr-btn type="submit" { "Enregistrer mes coordonnées" }
            }
        }
        h2 { "Qui a consulté mon dossier" }
        (super::table("historique", "Historique des accès, du plus ancien au plus récent", &["Date", "Qui", "Quoi", "Motif"], html! {
            @for e in &trace {
                tr {
                    td { (fr::moment_str(zone, &e.at)) }
                    td {
                        @match &e.organisation {
                            Some(o) => { (o.name) @if let Some(a) = &e.agent { " (agent " (a) ")" } }
                            None => { "vous" }
                        }
                    }
                    td {
                        (action_fr(&e.action))
                        @if let Some(g) = &e.grantee { " : " (g.name) }
                        @if e.outcome != "ok" { " — refusé" }
                    }
                    td { (e.purpose.clone().unwrap_or_default()) }
                }
            }
        }))
        @if vault.config().signin.franceconnect.is_some() {
            h2 { "FranceConnect" }
            @match franceconnect_since {
                Some(since) => {
                    p { "Votre identité FranceConnect est liée à ce dossier depuis le " (fr::date_str(&crate::clock::rfc3339(since / 1000)))
                        " : vous pouvez vous connecter avec FranceConnect, sans identifiant ni code." }
                    form method="post" action="/mon-dossier/franceconnect/retirer" {
                        input type="hidden" name="csrf" value=(session.csrf());
                        button.fr-btn.fr-btn--secondary type="submit" { "Retirer la liaison FranceConnect" }
                    }
                }
                None => { p { "Aucune identité FranceConnect n'est liée à ce dossier. À votre prochaine connexion avec FranceConnect, l'identifiant et le code de votre attestation vous seront demandés une fois." } }
            }
        }
        h2 { "Mes données" }
        p { a.fr-link href="/mon-dossier/donnees.zip" { "Télécharger toutes mes données (ZIP : pièces telles que déposées, liste, historique)" } }
    };
    Ok(page(vault, "Mon dossier", Some(session), main))
}

pub async fn upload(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    headers: HeaderMap,
    multipart: Result<crate::pieces::UploadBody, Error>,
) -> Result<Response, Error> {
    let nu = own_nu(&vault, &session).await?;
    let csrf = session.csrf();
    match crate::pieces::store_upload(&vault, &session.principal, &nu, &headers, multipart, Some(&csrf)).await {
        Ok(_) => Ok(Redirect::to("/mon-dossier?depose=1").into_response()),
        // What the applicant can fix is shown by the file field.
        Err(e) if shown_at_form(&e) => {
            let status = e.status();
            let error = message_fr(&e);
            let html = render_dossier(&vault, &session, None, Shown { upload_error: Some(&error), ..Shown::default() })
                .await?;
            Ok((status, html).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn rendition(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    Path(piece): Path<String>,
) -> Result<Response, Error> {
    // Parsed with the rest (a malformed id is refused like any other, in
    // the page's shape), not by the extractor's plain-text refusal.
    let nu = own_nu(&vault, &session).await?;
    crate::pieces::open_content(&vault, &session.principal, &nu, &piece, None, Content::Rendition).await
}

pub async fn data(State(vault): State<Vault>, ApplicantSession(session): ApplicantSession) -> Result<Response, Error> {
    let nu = own_nu(&vault, &session).await?;
    crate::export::export_zip(&vault, &session.principal, &nu).await
}

/// The applicant renews their own demand (CCH R.441-2-7), as the guichet
/// can: valid one year from today.
pub async fn renew(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    super::PageForm(form): super::PageForm<super::CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf())?;
    let nu = own_nu(&vault, &session).await?;
    crate::dossiers::renew_dossier(&vault, &session.principal, &nu).await?;
    Ok(Redirect::to("/mon-dossier?renouvelee=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct ContactForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    adresse: String,
    /// The checkbox: present when ticked.
    courrier: Option<String>,
}

/// The applicant keeps their contact details current. Sent from their
/// online space: registered online from then on (CCH R.441-2-7 channels).
pub async fn contact(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    super::PageForm(form): super::PageForm<ContactForm>,
) -> Result<Response, Error> {
    session.check_csrf(&form.csrf)?;
    let nu = own_nu(&vault, &session).await?;
    let fields = crate::domain::ContactFields {
        email: Some(form.email.trim().to_owned()).filter(|e| !e.is_empty()),
        postal_address: form.adresse.lines().map(str::to_owned).collect(),
        online: true,
        wants_post: form.courrier.is_some(),
    };
    match crate::dossiers::contact::put_contact(&vault, &session.principal, &nu, &fields).await {
        Ok(_) => Ok(Redirect::to("/mon-dossier?coordonnees=1").into_response()),
        Err(Error::Invalid(why)) => {
            let error = format!("Coordonnées non enregistrées : {}", contact_error_fr(&why));
            let shown = Shown { contact_error: Some(&error), ..Shown::default() };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render_dossier(&vault, &session, None, shown).await?).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The applicant declares what their situation calls for (the checklist
/// follows), as their guichet can.
pub async fn situation(
    State(vault): State<Vault>,
    ApplicantSession(session): ApplicantSession,
    super::PageForm(fields): super::PageForm<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    session.check_csrf(csrf)?;
    let nu = own_nu(&vault, &session).await?;
    crate::dossiers::put_expected(&vault, &session.principal, &nu, &completeness::ticked(&fields)).await?;
    Ok(Redirect::to("/mon-dossier?situation=1").into_response())
}

/// The field errors of `Contact::parse`, in French.
fn contact_error_fr(why: &str) -> &'static str {
    if why.starts_with("contact.email") {
        "l'adresse électronique n'est pas valable (exemple : prenom.nom@exemple.fr)."
    } else if why.contains("asked for post") {
        "pour recevoir les avis par courrier, indiquez votre adresse postale."
    } else {
        "l'adresse postale compte de 2 à 6 lignes de 100 caractères au plus."
    }
}
