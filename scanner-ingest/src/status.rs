//! `scanner-ingest status`: what waits, what was refused and why, what was
//! filed lately, and each batch of the last days with its outcome — read
//! from the spool, so it works with the watcher running or stopped. In
//! French for the agent, or `--json` for monitoring.

use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
    lots::Discarded,
    queue::{self, Done, Job},
    spool::Spool,
};

/// A batch as `watch` recorded it (`reports/<batch>.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchReport {
    pub batch: String,
    pub scanned_at_ms: i64,
    #[serde(default)]
    pub files: Vec<String>,
    /// `queued` (split into pieces, filed from the queue) or `quarantined`.
    pub outcome: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub groups: Vec<GroupReport>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct GroupReport {
    pub job: Option<String>,
    pub numero_unique: String,
    pub kind: String,
    pub pages: usize,
    #[serde(default)]
    pub blank_pages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Quarantined {
    pub lot: String,
    pub reason: String,
}

/// Everything `status` shows.
#[derive(Debug, Serialize)]
pub struct Status {
    pub waiting: Vec<Job>,
    pub in_progress: usize,
    pub quarantined: Vec<Quarantined>,
    pub filed: Vec<Done>,
    /// Batches scanned in the last `days`, newest first.
    pub batches: Vec<BatchReport>,
    pub discarded: Vec<Discarded>,
}

/// Reads the spool; batches and discarded lots of the last `days`.
pub fn collect(spool: &Spool, days: u64) -> Result<Status, Error> {
    let since = queue::now_ms() - i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX / 2);
    let mut quarantined = Vec::new();
    if let Ok(dir) = std::fs::read_dir(spool.quarantine_root()) {
        for e in dir.flatten() {
            let reason = std::fs::read_to_string(e.path().join("RAISON.txt")).unwrap_or_default();
            quarantined.push(Quarantined {
                lot: e.file_name().to_string_lossy().into_owned(),
                reason: reason.trim().to_owned(),
            });
        }
    }
    quarantined.sort_by(|a, b| a.lot.cmp(&b.lot));
    let (mut batches, mut discarded) = (Vec::new(), Vec::new());
    if let Ok(dir) = std::fs::read_dir(spool.reports_root()) {
        for e in dir.flatten() {
            let Ok(bytes) = std::fs::read(e.path()) else { continue };
            if e.file_name().to_string_lossy().ends_with(".abandon.json") {
                if let Ok(d) = serde_json::from_slice::<Discarded>(&bytes)
                    && d.discarded_at_ms >= since
                {
                    discarded.push(d);
                }
            } else if let Ok(r) = serde_json::from_slice::<BatchReport>(&bytes)
                && r.scanned_at_ms >= since
            {
                batches.push(r);
            }
        }
    }
    batches.sort_by(|a, b| b.scanned_at_ms.cmp(&a.scanned_at_ms).then_with(|| b.batch.cmp(&a.batch)));
    discarded.sort_by_key(|d| std::cmp::Reverse(d.discarded_at_ms));
    Ok(Status {
        waiting: queue::list(spool)?,
        in_progress: std::fs::read_dir(spool.incoming_root()).map(|d| d.count()).unwrap_or(0),
        quarantined,
        filed: queue::done(spool)?,
        batches,
        discarded,
    })
}

/// Day and time (UTC) of a Unix time in ms, for people.
fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_or_else(
        |_| "?".into(),
        |t| format!("{}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()),
    )
}

pub fn print(spool: &Spool, days: u64, json: bool) -> anyhow::Result<()> {
    if !spool.root().exists() {
        if json {
            println!("null");
        } else {
            println!("aucune file d'attente dans {} (le dossier n'a jamais été surveillé)", spool.root().display());
        }
        return Ok(());
    }
    let s = collect(spool, days)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let now = queue::now_ms();
    println!("En attente d'envoi au coffre : {}", s.waiting.len());
    for j in &s.waiting {
        let next = if j.next_attempt_ms <= now {
            "maintenant".to_owned()
        } else {
            format!("dans {} s", (j.next_attempt_ms - now) / 1000 + 1)
        };
        println!(
            "  {}  {} / {}  {} page(s)  essais : {}  prochain : {next}{}",
            j.id,
            j.numero_unique,
            j.kind,
            j.pages,
            j.attempts,
            j.last_error.as_ref().map(|e| format!("\n      dernière erreur : {e}")).unwrap_or_default()
        );
    }
    if s.in_progress > 0 {
        println!("Lots pris en charge, en cours de traitement : {}", s.in_progress);
    }
    println!("En quarantaine ({}) : {}", spool.quarantine_root().display(), s.quarantined.len());
    for q in &s.quarantined {
        println!("  {}: {}", q.lot, q.reason);
    }
    if !s.quarantined.is_empty() {
        println!(
            "  (une fois la cause corrigée : `scanner-ingest retry LOT` ; pour l'abandonner : `scanner-ingest discard LOT --reason …`)"
        );
    }
    println!("Déposées dans le coffre : {}", s.filed.len());
    for d in s.filed.iter().rev().take(10) {
        println!(
            "  {}  {} / {}  pièce {}  le {}{}",
            d.job,
            d.numero_unique,
            d.kind,
            d.piece,
            when(d.filed_at_ms),
            if d.duplicate { " (déjà reçue)" } else { "" }
        );
    }
    println!("Lots numérisés ces {days} derniers jours : {}", s.batches.len());
    for b in &s.batches {
        let outcome = match b.outcome.as_str() {
            "quarantined" => format!("mis en quarantaine — {}", b.reason.as_deref().unwrap_or("?")),
            _ => format!("découpé en {} pièce(s)", b.groups.len()),
        };
        println!("  {}  numérisé le {}  {} fichier(s) : {outcome}", b.batch, when(b.scanned_at_ms), b.files.len());
        for g in &b.groups {
            let filed = match &g.job {
                Some(job) => match s.filed.iter().find(|d| &d.job == job) {
                    Some(d) => format!("déposée le {}", when(d.filed_at_ms)),
                    None => "en attente d'envoi".into(),
                },
                None => "rien à déposer (pages blanches seulement)".into(),
            };
            println!(
                "      {} / {}  {} page(s), {} blanche(s) mise(s) de côté : {filed}",
                g.numero_unique,
                g.kind,
                g.pages,
                g.blank_pages.len()
            );
        }
    }
    if !s.discarded.is_empty() {
        println!("Lots abandonnés : {}", s.discarded.len());
        for d in &s.discarded {
            println!("  {}  le {} : {}", d.lot, when(d.discarded_at_ms), d.reason);
        }
    }
    Ok(())
}
