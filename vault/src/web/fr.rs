//! What the pages say in French that the API says otherwise: dates and
//! times as French readers write them (01/12/2026 à 14:05, local time),
//! and refusals, chosen from the error's kind and code (the field an
//! `Invalid` names, a refusal's reason code), never the API's English
//! message inside a French sentence.

use time::{Date, OffsetDateTime};

use crate::{
    clock::Zone,
    error::{Error, Saturable},
};

/// A refusal the pages relay, in French.
pub fn refusal(e: &Error) -> String {
    let field = |m: &str| m.split(':').next().unwrap_or_default().trim().to_owned();
    match e {
        Error::Invalid(m) | Error::BadRequest(m) => match field(m).as_str() {
            "communes" => "les communes souhaitées sont à donner par leur code INSEE (5 caractères, par exemple \
                           59183), séparés par des virgules, et doivent être des communes actuelles."
                .into(),
            "contact.email" => "l'adresse électronique n'est pas valable (exemple : prenom.nom@exemple.fr).".into(),
            "contact.postal_address" => "l'adresse postale compte de 2 à 6 lignes de 100 caractères au plus \
                                         (le nom, puis la voie, le code postal et la commune)."
                .into(),
            "numero_unique" | "nu" => "le numéro unique n'est pas valable : 18 caractères, par exemple \
                                       059122600000001AB."
                .into(),
            "deposited_on" => "la date de dépôt n'est pas valable.".into(),
            "kind" => "le type de pièce n'est pas dans la liste des pièces justificatives.".into(),
            _ => "le formulaire contient une valeur invalide : vérifiez les champs et renvoyez-le.".into(),
        },
        Error::Refused { code: "grant_expired", .. } => {
            "l'accès temporaire de votre organisme à ce dossier a expiré.".into()
        }
        Error::Refused { code: "grant_revoked", .. } => {
            "l'accès temporaire de votre organisme à ce dossier a été retiré.".into()
        }
        Error::Refused { .. } | Error::Forbidden(_) => "votre organisme n'a pas accès à ce dossier ou à cette \
                                                         action (hors de son territoire, ou hors de son rôle)."
            .into(),
        Error::NotFound(_) => "aucun dossier ne porte ce numéro.".into(),
        Error::Gone(_) => "ce dossier a été effacé, un an après sa radiation.".into(),
        Error::Conflict(_) => "cette action vient d'être faite ou entre en conflit avec une autre : rechargez la \
                               page."
            .into(),
        Error::Unauthenticated(_) => "votre session a expiré : reconnectez-vous.".into(),
        Error::Throttled { retry_after_s } | Error::Busy { retry_after_s } => {
            format!("le service est très sollicité : réessayez dans {retry_after_s} seconde(s).")
        }
        Error::Saturated { what: Saturable::DossierExports, retry_after_s } => format!(
            "trop d'exports de dossiers sont en préparation en ce moment : réessayez dans {retry_after_s} seconde(s)."
        ),
        Error::Saturated { what: Saturable::Uploads, retry_after_s } => format!(
            "trop de pièces sont en cours de dépôt en ce moment : rien n'a été conservé de celle-ci, réessayez dans \
             {retry_after_s} seconde(s)."
        ),
        e if e.status() == axum::http::StatusCode::INSUFFICIENT_STORAGE => {
            "l'espace de stockage du service est plein : rien n'a été conservé. Les administrateurs sont \
             prévenus ; réessayez plus tard."
                .into()
        }
        e if e.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
            "le service est momentanément indisponible : réessayez dans quelques secondes.".into()
        }
        _ => "le service n'a pas pu traiter la demande : réessayez dans un instant.".into(),
    }
}

/// `refusal` as a sentence of its own (capital first letter).
pub fn sentence(e: &Error) -> String {
    let r = refusal(e);
    let mut c = r.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `2026-12-01` → `01/12/2026`.
pub fn date(d: Date) -> String {
    crate::clock::fr_date(d)
}

/// An ISO date (or the date part of an RFC 3339 time) in French; anything
/// else as given.
pub fn date_str(iso: &str) -> String {
    iso.get(..10).and_then(|d| crate::clock::parse_iso_date(d).ok()).map_or_else(|| iso.to_owned(), date)
}

/// A Unix-millisecond instant in the service's time zone: `01/12/2026 à 14:05`.
pub fn moment(zone: Zone, ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let local = zone.local(at);
    format!("{} à {:02}:{:02}", date(local.date()), local.hour(), local.minute())
}

/// An RFC 3339 time (as the audit trail keeps it) in the service's time zone.
pub fn moment_str(zone: Zone, rfc3339: &str) -> String {
    match OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
        Ok(at) => moment(zone, at.unix_timestamp() * 1000),
        Err(_) => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_as_in_france() {
        let d = Date::from_calendar_date(2026, time::Month::December, 1).unwrap();
        assert_eq!(date(d), "01/12/2026");
        assert_eq!(date_str("2026-12-01"), "01/12/2026");
        assert_eq!(date_str("2026-12-01T10:00:00Z"), "01/12/2026");
        assert_eq!(date_str("bientôt"), "bientôt");
        // 1 December 2026, 13:05 UTC: 14:05 in Paris (winter time).
        assert_eq!(moment(Zone::Paris, 1_796_130_300_000), "01/12/2026 à 14:05");
        assert_eq!(moment_str(Zone::Paris, "2026-07-01T10:00:00Z"), "01/07/2026 à 12:00");
    }

    #[test]
    fn refusals_are_french_whatever_the_api_says() {
        let cases = [
            Error::Invalid("communes: \"99999\" is not a commune".into()),
            Error::Invalid("contact.email: no @".into()),
            Error::Refused { code: "grant_expired", message: "the grant expired".into() },
            Error::Forbidden("outside your territory".into()),
            Error::NotFound("no such dossier".into()),
            Error::Invalid("something: new".into()),
        ];
        for e in &cases {
            let fr = sentence(e);
            assert!(fr.chars().next().unwrap().is_uppercase(), "{fr}");
            for english in ["the ", "is not", "no such", "outside", "expired", "no @"] {
                assert!(!fr.contains(english), "{fr:?} carries the API's words");
            }
        }
        assert!(refusal(&cases[2]).contains("a expiré"));
    }
}

/// A refusal the API shape carries (status, code, message), in French: for
/// the answers of pages whose handler let an API error through.
pub fn refusal_of(status: u16, code: &str, message: &str) -> String {
    let m = message.to_owned();
    let e = match (status, code) {
        (400, _) => Error::BadRequest(m),
        (401, _) => Error::Unauthenticated("a session is needed"),
        (403, "grant_expired") => Error::Refused { code: "grant_expired", message: m },
        (403, "grant_revoked") => Error::Refused { code: "grant_revoked", message: m },
        (403, _) => Error::Forbidden(m),
        (404, _) => Error::NotFound(m),
        (409, _) => Error::Conflict(m),
        (410, _) => Error::Gone(m),
        (422, "invalid") => Error::Invalid(m),
        (429, _) => Error::Throttled { retry_after_s: 5 },
        (503, _) => Error::Unavailable(m),
        (507, _) => Error::StorageFull { what: "the store", source: std::io::Error::other(m) },
        (500.., _) => Error::Io(std::io::Error::other(m)),
        _ => Error::Invalid(m),
    };
    refusal(&e)
}
