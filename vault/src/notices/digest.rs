//! The daily digest of the relance list (the Dunkerque alert): to each
//! registering organisation with a contact address, when demands it
//! registered expire within the lead or have lapsed, one e-mail a day with
//! how many and where to see them. No number, name or address: the list
//! itself is behind the guichet's sign-in.

use time::Date;

use crate::{app::Vault, domain::EmailAddress, error::Error, mail::Outgoing};

/// Sends the day's digests; returns how many left. A digest that could not
/// be sent is given back, so a later pass that day sends it.
pub async fn send_digests(vault: &Vault, day: Date) -> Result<usize, Error> {
    let Some(mailer) = vault.mailer() else { return Ok(0) };
    let lead = i64::from(vault.config().notices.lead_days);
    let link = vault
        .config()
        .signin
        .public_url
        .as_ref()
        .map(|u| format!("{}/dossiers", u.trim_end_matches('/')))
        .unwrap_or_else(|| "la page « Dossiers » de la plateforme".into());
    let mut sent = 0;
    for t in vault.db().digest_targets(day + time::Duration::days(lead)).await? {
        let Ok(to) = EmailAddress::parse(&t.email) else { continue };
        if !vault.db().claim_digest(t.organisation, day, t.demands).await? {
            continue;
        }
        let subject = format!("{} demande(s) de logement social à relancer — {}", t.demands, t.name);
        let text = format!(
            "Bonjour,\n\n{} demande(s) enregistrée(s) par {} expire(nt) d'ici {lead} jours ou ont expiré sans \
             renouvellement. Sans renouvellement, elles seront radiées un mois après l'avis adressé au demandeur.\n\n\
             La liste, avec la date et le canal de chaque avis : {link}\n\n\
             Ce message est envoyé automatiquement chaque jour où la liste n'est pas vide.\n",
            t.demands, t.name
        );
        let html = maud::html! {
            (maud::DOCTYPE)
            html lang="fr" { head { meta charset="utf-8"; title { (subject) } } body {
                p { "Bonjour," }
                p { (t.demands) " demande(s) enregistrée(s) par " (t.name) " expire(nt) d'ici " (lead)
                    " jours ou ont expiré sans renouvellement. Sans renouvellement, elles seront radiées un mois après l'avis adressé au demandeur." }
                p { "La liste, avec la date et le canal de chaque avis : " (link) }
            } }
        }
        .into_string();
        let message_id = format!("<digest-{}-{}@{}>", t.organisation, crate::clock::iso_date(day), mailer.domain());
        let out = Outgoing { to: &to, subject: &subject, text: &text, html: &html, message_id };
        match mailer.send(&out).await {
            Ok(()) => sent += 1,
            Err(e) => {
                tracing::warn!(organisation.id = %t.organisation, error = %e, "relance digest not sent; tried again later");
                vault.db().release_digest(t.organisation, day).await?;
            }
        }
    }
    Ok(sent)
}
