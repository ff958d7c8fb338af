//! The words of a notice, in French: the e-mail (text and HTML) and the
//! letter (lines of an A4 page with the address block where a window
//! envelope shows it). Composed once, when the notice is issued, and
//! sealed with it: what was sent is what was decided.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::domain::{Contact, NoticeKind, NumeroUnique, RadiationReason};

/// A notice as sealed in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    /// The e-mail recipient (e-mail notices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The postal address block (letters); empty when unknown.
    #[serde(default)]
    pub address: Vec<String>,
    pub subject: String,
    /// The body: the e-mail's text part and the letter's paragraphs.
    pub paragraphs: Vec<Paragraph>,
}

/// A paragraph, or a list of items.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Paragraph {
    Text(String),
    List(Vec<String>),
}

/// A piece the applicant should replace, worded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceToUpdate {
    pub label: String,
    /// Lapses (or lapsed) on this day.
    pub until: Option<Date>,
    /// An agent marked it (inexploitable, hors périmètre, obsolète).
    pub mark: Option<&'static str>,
}

/// What a notice is about.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub numero_unique: &'a NumeroUnique,
    pub kind: NoticeKind,
    /// The validity the notice is about.
    pub valid_until: Date,
    /// For a radiation: when, why, and when the data will be erased; for a
    /// warning: when it was given, why, and the first day of the radiation.
    pub radiated: Option<(Date, RadiationReason, Date)>,
    pub pieces: &'a [PieceToUpdate],
    /// The applicant's page (`VAULT_PUBLIC_URL/mon-dossier`), when known.
    pub applicant_page: Option<String>,
    /// The registering guichet's name.
    pub guichet: &'a str,
    /// The day the notice is issued.
    pub as_of: Date,
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `3 décembre 2027`.
pub fn french_date(d: Date) -> String {
    let month = MONTHS[usize::from(u8::from(d.month())) - 1];
    if d.day() == 1 { format!("1er {month} {}", d.year()) } else { format!("{} {month} {}", d.day(), d.year()) }
}

/// Composes the notice for one channel's recipient.
pub fn message(f: &Facts<'_>, contact: &Contact, to: Option<String>) -> Message {
    let nu = f.numero_unique.as_str();
    let until = french_date(f.valid_until);
    let (subject, mut paragraphs) = match (f.kind, f.radiated) {
        (NoticeKind::Renewal, _) => (
            format!("Votre demande de logement social n° {nu} expire le {until}"),
            vec![
                Paragraph::Text("Madame, Monsieur,".into()),
                Paragraph::Text(format!(
                    "Votre demande de logement social, numéro unique {nu}, est valable jusqu'au {until}. \
                     Sans renouvellement à cette date, elle sera radiée et ne pourra plus vous permettre \
                     d'obtenir un logement (articles R.441-2-7 et R.441-2-8 du code de la construction et \
                     de l'habitation)."
                )),
                Paragraph::Text("Pour la renouveler :".into()),
                Paragraph::List(
                    f.applicant_page
                        .iter()
                        .map(|url| format!("en ligne, sur votre espace {url}, bouton « Renouveler ma demande » ;"))
                        .chain([format!("ou auprès de votre guichet d'enregistrement : {}.", f.guichet)])
                        .collect(),
                ),
            ],
        ),
        (NoticeKind::Warning, warned) => {
            let (_, reason, possible) = warned.unwrap_or((f.as_of, RadiationReason::SansReponse, f.as_of));
            let why = match reason {
                RadiationReason::Irrecevabilite => {
                    "la commission d'attribution a déclaré votre demande irrecevable".to_owned()
                }
                _ => "vous n'avez pas répondu au courrier qui vous a été adressé à votre dernière adresse connue"
                    .to_owned(),
            };
            (
                format!("Votre demande de logement social n° {nu} : radiation envisagée"),
                vec![
                    Paragraph::Text("Madame, Monsieur,".into()),
                    Paragraph::Text(format!(
                        "Votre demande de logement social, numéro unique {nu}, pourra être radiée à compter du {} : \
                         {why} (article R.441-2-8 du code de la construction et de l'habitation).",
                        french_date(possible)
                    )),
                    Paragraph::Text(match reason {
                        RadiationReason::Irrecevabilite => "Vous pouvez présenter vos observations à votre guichet \
                             d'enregistrement avant cette date."
                            .to_owned(),
                        _ => "Pour que votre demande soit maintenue, répondez avant cette date : connectez-vous à \
                             votre espace, déposez une pièce ou renouvelez votre demande, ou adressez-vous à votre \
                             guichet d'enregistrement."
                            .to_owned(),
                    }),
                    Paragraph::Text(
                        "Ce courrier vous est adressé par lettre recommandée avec accusé de réception.".into(),
                    ),
                ],
            )
        }
        (NoticeKind::Radiation, radiated) => {
            let (on, reason, purge) =
                radiated.unwrap_or((f.valid_until, RadiationReason::NonRenouvellement, f.valid_until));
            (
                format!("Votre demande de logement social n° {nu} a été radiée"),
                vec![
                    Paragraph::Text("Madame, Monsieur,".into()),
                    Paragraph::Text(format!(
                        "Votre demande de logement social, numéro unique {nu}, a été radiée le {} : {} \
                         (article R.441-2-8 du code de la construction et de l'habitation).",
                        french_date(on),
                        reason_words(reason, f.valid_until)
                    )),
                    Paragraph::Text(format!(
                        "Les pièces et les informations de votre dossier seront effacées le {} \
                         (décret n° 2017-917, article 4). Pour obtenir un logement social, il vous faudra \
                         déposer une nouvelle demande auprès de votre guichet d'enregistrement : {}.",
                        french_date(purge),
                        f.guichet
                    )),
                ],
            )
        }
    };
    if f.kind == NoticeKind::Renewal {
        if f.pieces.is_empty() {
            paragraphs.push(Paragraph::Text("Aucune pièce de votre dossier n'est à mettre à jour.".into()));
        } else {
            paragraphs.push(Paragraph::Text("Pièces de votre dossier à mettre à jour :".into()));
            paragraphs.push(Paragraph::List(
                f.pieces
                    .iter()
                    .map(|p| match (p.mark, p.until) {
                        (Some(mark), _) => format!("{} (signalée {mark} : déposez-en une nouvelle)", p.label),
                        (None, Some(until)) if until < f.as_of => {
                            format!("{} (expirée le {})", p.label, french_date(until))
                        }
                        (None, Some(until)) => format!("{} (expire le {})", p.label, french_date(until)),
                        (None, None) => p.label.clone(),
                    })
                    .collect(),
            ));
        }
    }
    paragraphs.push(Paragraph::Text(format!("Votre guichet d'enregistrement : {}.", f.guichet)));
    Message { to, address: contact.postal_address.clone(), subject, paragraphs }
}

fn reason_words(r: RadiationReason, valid_until: Date) -> String {
    match r {
        RadiationReason::NonRenouvellement => {
            format!("elle n'a pas été renouvelée avant son expiration, le {}", french_date(valid_until))
        }
        RadiationReason::SansReponse => "vous n'avez pas répondu au courrier qui vous a été adressé".into(),
        RadiationReason::Irrecevabilite => "la commission d'attribution l'a déclarée irrecevable".into(),
        RadiationReason::Attribution => "un logement vous a été attribué et vous avez signé le bail".into(),
        RadiationReason::Renonciation => "vous avez renoncé à votre demande".into(),
        RadiationReason::Fusion => "elle a été fusionnée avec une autre demande".into(),
    }
}

impl Message {
    /// The e-mail's text part.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.paragraphs {
            match p {
                Paragraph::Text(t) => out.push_str(t),
                Paragraph::List(items) => {
                    out.push_str(&items.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n"));
                }
            }
            out.push_str("\n\n");
        }
        out.push_str("Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n");
        out
    }

    /// The e-mail's HTML part (every text escaped).
    pub fn html(&self) -> String {
        maud::html! {
            (maud::DOCTYPE)
            html lang="fr" {
                head { meta charset="utf-8"; title { (self.subject) } }
                body {
                    @for p in &self.paragraphs {
                        @match p {
                            Paragraph::Text(t) => p { (t) },
                            Paragraph::List(items) => ul { @for i in items { li { (i) } } },
                        }
                    }
                    p { small { "Ce message est envoyé automatiquement ; merci de ne pas y répondre." } }
                }
            }
        }
        .into_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_read_as_in_french() {
        assert_eq!(french_date(date!(2027 - 12 - 03)), "3 décembre 2027");
        assert_eq!(french_date(date!(2027 - 08 - 01)), "1er août 2027");
    }

    #[test]
    fn a_renewal_notice_names_the_number_the_date_and_the_pieces() {
        let nu = NumeroUnique::parse("1111023517879GDPUB").unwrap();
        let pieces = [
            PieceToUpdate { label: "Avis d'imposition N-1".into(), until: Some(date!(2027 - 12 - 31)), mark: None },
            PieceToUpdate { label: "Pièce d'identité".into(), until: None, mark: Some("inexploitable (illisible)") },
        ];
        let f = Facts {
            numero_unique: &nu,
            kind: NoticeKind::Renewal,
            valid_until: date!(2027 - 12 - 03),
            radiated: None,
            pieces: &pieces,
            applicant_page: Some("https://dnu.exemple.fr/mon-dossier".into()),
            guichet: "Mairie de Dunkerque",
            as_of: date!(2027 - 11 - 02),
        };
        let m = message(&f, &Contact::default(), Some("marie@exemple.fr".into()));
        assert!(m.subject.contains("1111023517879GDPUB") && m.subject.contains("3 décembre 2027"));
        let text = m.text();
        assert!(text.contains("Avis d'imposition N-1 (expire le 31 décembre 2027)"), "{text}");
        assert!(text.contains("https://dnu.exemple.fr/mon-dossier"));
        assert!(
            text.contains("Pièce d'identité (signalée inexploitable (illisible) : déposez-en une nouvelle)"),
            "{text}"
        );
        let html = m.html();
        assert!(html.contains("lang=\"fr\"") && html.contains("<li>Avis d"), "{html}");
    }

    #[test]
    fn a_warning_names_the_day_the_radiation_becomes_possible_and_how_to_answer() {
        let nu = NumeroUnique::parse("1111023517879GDPUB").unwrap();
        let f = Facts {
            numero_unique: &nu,
            kind: NoticeKind::Warning,
            valid_until: date!(2027 - 12 - 03),
            radiated: Some((date!(2027 - 01 - 31), RadiationReason::SansReponse, date!(2027 - 02 - 28))),
            pieces: &[],
            applicant_page: None,
            guichet: "Mairie de Dunkerque",
            as_of: date!(2027 - 01 - 31),
        };
        let m = message(&f, &Contact::default(), None);
        let text = m.text();
        assert!(m.subject.contains("radiation envisagée") && m.subject.contains("1111023517879GDPUB"));
        assert!(text.contains("à compter du 28 février 2027") && text.contains("répondez avant cette date"), "{text}");
        assert!(text.contains("recommandée avec accusé de réception"));
    }
}
