//! `scanner-ingest status`: what waits, what was refused and why, what was
//! filed lately — read from the spool, so it works with the watcher running
//! or stopped.

use crate::{error::Error, queue, spool::Spool};

pub fn print(spool: &Spool) -> anyhow::Result<()> {
    if !spool.root().exists() {
        println!("aucune file d'attente dans {} (le dossier n'a jamais été surveillé)", spool.root().display());
        return Ok(());
    }
    let jobs = queue::list(spool)?;
    let now = queue::now_ms();
    println!("En attente d'envoi au coffre : {}", jobs.len());
    for j in &jobs {
        let when = if j.next_attempt_ms <= now {
            "maintenant".to_owned()
        } else {
            format!("dans {} s", (j.next_attempt_ms - now) / 1000 + 1)
        };
        println!(
            "  {}  {} / {}  {} page(s)  essais : {}  prochain : {when}{}",
            j.id,
            j.numero_unique,
            j.kind,
            j.pages,
            j.attempts,
            j.last_error.as_ref().map(|e| format!("\n      dernière erreur : {e}")).unwrap_or_default()
        );
    }
    let incoming = std::fs::read_dir(spool.incoming_root()).map(|d| d.count()).unwrap_or(0);
    if incoming > 0 {
        println!("Lots pris en charge, en cours de traitement : {incoming}");
    }
    let mut quarantined = Vec::new();
    if let Ok(dir) = std::fs::read_dir(spool.quarantine_root()) {
        for e in dir.flatten() {
            let reason = std::fs::read_to_string(e.path().join("RAISON.txt")).unwrap_or_default();
            quarantined.push((e.file_name().to_string_lossy().into_owned(), reason.trim().to_owned()));
        }
    }
    quarantined.sort();
    println!("En quarantaine ({}) : {}", spool.quarantine_root().display(), quarantined.len());
    for (name, reason) in &quarantined {
        println!("  {name}: {reason}");
    }
    let done = queue::done(spool).map_err(|e: Error| anyhow::anyhow!(e))?;
    println!("Déposées dans le coffre : {}", done.len());
    for d in done.iter().rev().take(10) {
        println!(
            "  {}  {} / {}  pièce {}{}",
            d.job,
            d.numero_unique,
            d.kind,
            d.piece,
            if d.duplicate { " (déjà reçue)" } else { "" }
        );
    }
    Ok(())
}
