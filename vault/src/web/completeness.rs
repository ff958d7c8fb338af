//! Completeness on the pages: the status badge (guichet list, bailleur
//! worklist, dossier pages), the checklist of pieces the situation calls
//! for (what to send, for the applicant), and the form that declares the
//! situation (applicant, registering guichet).

use maud::{Markup, html};

use crate::domain::{
    PieceKind,
    catalogue::Catalogue,
    completeness::{Completeness, PieceState, Status},
};

/// "complet" or "incomplet", as a DSFR badge (inline: it ends sentences).
pub fn badge(status: Status) -> Markup {
    html! {
        @match status {
            Status::Complete => span.fr-badge.fr-badge--sm.fr-badge--success { "complet" },
            Status::Incomplete => span.fr-badge.fr-badge--sm.fr-badge--warning { "incomplet" },
        }
    }
}

/// What the state of a piece called for means, and what to do about it:
/// `applicant` words it for the person who sends the pieces.
fn state_words(state: PieceState, until: Option<&str>, applicant: bool) -> (Markup, &'static str) {
    let on = until.map(super::fr::date_str).unwrap_or_default();
    let badge = match state {
        PieceState::Valid => html! { p.fr-badge.fr-badge--sm.fr-badge--success { "présente" } },
        PieceState::Expiring => html! { p.fr-badge.fr-badge--sm.fr-badge--info { "expire le " (on) } },
        PieceState::Expired => html! { p.fr-badge.fr-badge--sm.fr-badge--error { "expirée le " (on) } },
        PieceState::Flagged => html! { p.fr-badge.fr-badge--sm.fr-badge--error { "à remplacer" } },
        PieceState::Missing => html! { p.fr-badge.fr-badge--sm.fr-badge--warning { "manquante" } },
    };
    let todo = match (state, applicant) {
        (PieceState::Valid, _) => "",
        (PieceState::Expiring, true) => "Envoyez la nouvelle pièce dès que vous l'avez.",
        (PieceState::Expiring, false) => "À renouveler bientôt.",
        (PieceState::Expired, true) => "Envoyez une pièce à jour.",
        (PieceState::Expired, false) => "Une pièce à jour est à demander.",
        (PieceState::Flagged, true) => "Un agent l'a signalée : envoyez-la à nouveau, lisible et complète.",
        (PieceState::Flagged, false) => "Signalée par un agent : une nouvelle pièce est attendue.",
        (PieceState::Missing, true) => "À envoyer avec le formulaire « Déposer une pièce ».",
        (PieceState::Missing, false) => "Pas encore déposée.",
    };
    (badge, todo)
}

/// The status and each piece called for, as a table.
pub fn checklist(c: &Completeness, applicant: bool) -> Markup {
    let caption = if applicant { "Pièces que votre situation demande" } else { "Pièces que la situation demande" };
    html! {
        p { "Le dossier est " (badge(c.status)) }
        (super::table("completude", caption, &["Pièce", "État", "À faire"], html! {
            @for e in &c.expected {
                @let (state, todo) = state_words(e.state, e.valid_until.as_deref(), applicant);
                tr {
                    td { (e.kind.label()) }
                    td { (state) }
                    td { (todo) }
                }
            }
        }))
    }
}

/// The form declaring which pieces the situation calls for: one checkbox
/// per catalogue kind beyond identity (always called for). `declared`
/// comes ticked.
pub fn situation_form(action: &str, csrf: &str, catalogue: &Catalogue, declared: &[PieceKind], submit: &str) -> Markup {
    html! {
        form.dnu-form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            (kinds_fieldset(catalogue, declared))
            button.fr-btn.fr-btn--secondary type="submit" { (submit) }
        }
    }
}

/// The checkboxes alone (also in the registration form).
pub fn kinds_fieldset(catalogue: &Catalogue, declared: &[PieceKind]) -> Markup {
    html! {
        fieldset.fr-fieldset id="situation" aria-labelledby="situation-legend" {
            legend.fr-fieldset__legend id="situation-legend" {
                "Pièces que la situation du demandeur demande"
                span.fr-hint-text { "La pièce d'identité est toujours demandée. Cochez les autres pièces qui concernent le foyer." }
            }
            @for k in catalogue.kinds.iter().filter(|k| !k.required_at_registration) {
                div.fr-fieldset__element {
                    div.fr-checkbox-group {
                        input id=(format!("attendue-{}", k.code)) name=(format!("attendue_{}", k.code)) type="checkbox"
                            value="oui" checked[declared.iter().any(|d| d.as_str() == k.code)];
                        label.fr-label for=(format!("attendue-{}", k.code)) { (k.label) }
                    }
                }
            }
        }
    }
}

/// The kinds a posted form ticked (`attendue_<code>` fields).
pub fn ticked(fields: &[(String, String)]) -> Vec<String> {
    fields.iter().filter_map(|(k, _)| k.strip_prefix("attendue_").map(str::to_owned)).collect()
}
