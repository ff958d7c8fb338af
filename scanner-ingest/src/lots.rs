//! What an agent does with a quarantined lot once its cause is fixed:
//! `retry` sends it through again, `discard` removes it with a recorded
//! reason. Never by deleting files by hand: both leave a trace the status
//! shows, and neither loses a scan (a retried lot is claimed whole, as a
//! new batch from the folder is).
//!
//! A lot is either a batch of raw scans (refused before filing: a sheet, a
//! file) or one piece the vault refused (`job.json` and `piece.pdf`).

use serde::Serialize;

use crate::{
    error::Error,
    queue::{self, Job},
    spool::{self, Spool},
};

/// What `retry` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Retried {
    /// The raw scans are back in the spool as this batch, processed by the
    /// running `watch` (or at its next start).
    Batch(String),
    /// The piece is back in the upload queue.
    Piece(String),
}

/// A lot removed by an agent, kept in the reports as long as the others.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Discarded {
    pub lot: String,
    pub discarded_at_ms: i64,
    pub reason: String,
    pub files: Vec<String>,
}

fn lot_dir(spool: &Spool, lot: &str) -> Result<std::path::PathBuf, Error> {
    // A name, not a path: nothing outside the quarantine is touched.
    let plain = !lot.is_empty() && lot.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let dir = spool.quarantined(lot);
    if !plain || !dir.is_dir() {
        return Err(Error::Config(format!(
            "aucun lot en quarantaine nommé {lot:?} dans {} (voir `scanner-ingest status`)",
            spool.quarantine_root().display()
        )));
    }
    Ok(dir)
}

/// Sends a quarantined lot through again.
pub fn retry(spool: &Spool, lot: &str) -> Result<Retried, Error> {
    let dir = lot_dir(spool, lot)?;
    let job_file = dir.join("job.json");
    if job_file.exists() {
        let bytes = std::fs::read(&job_file).map_err(Error::io(format!("reading {}", job_file.display())))?;
        let mut job: Job =
            serde_json::from_slice(&bytes).map_err(|e| Error::Config(format!("{lot}: job.json: {e}")))?;
        let pdf_file = dir.join("piece.pdf");
        let pdf = std::fs::read(&pdf_file).map_err(Error::io(format!("reading {}", pdf_file.display())))?;
        (job.attempts, job.next_attempt_ms, job.last_error) = (0, 0, None);
        if !queue::known(spool, &job.id) {
            queue::enqueue(spool, &job, &pdf)?;
        }
        std::fs::remove_dir_all(&dir).map_err(Error::io(format!("removing {}", dir.display())))?;
        spool::sync_dir(spool.quarantine_root())?;
        return Ok(Retried::Piece(job.id));
    }
    // A new batch id keeps the scan time (its prefix) and says it is a retry.
    let batch = format!("{lot}-r{}", queue::now_ms());
    let claiming = spool.claiming(&batch);
    std::fs::create_dir_all(&claiming).map_err(Error::io(format!("creating {}", claiming.display())))?;
    for f in spool::files_in(&dir)? {
        if f.file_name().is_some_and(|n| n == "RAISON.txt") {
            continue;
        }
        spool::move_file(&f, &claiming.join(f.file_name().unwrap_or_default()))?;
    }
    spool::sync_dir(&claiming)?;
    std::fs::rename(&claiming, spool.incoming(&batch)).map_err(Error::io("claiming the retried lot"))?;
    spool::sync_dir(&spool.incoming_root())?;
    std::fs::remove_dir_all(&dir).map_err(Error::io(format!("removing {}", dir.display())))?;
    spool::sync_dir(spool.quarantine_root())?;
    Ok(Retried::Batch(batch))
}

/// Removes a quarantined lot, recording the agent's reason (required)
/// beside the batch reports.
pub fn discard(spool: &Spool, lot: &str, reason: &str) -> Result<Discarded, Error> {
    let reason = reason.trim();
    if reason.chars().count() < 3 {
        return Err(Error::Config("--reason : dites en quelques mots pourquoi ce lot est abandonné".into()));
    }
    let dir = lot_dir(spool, lot)?;
    let files = spool::files_in(&dir)?
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n != "RAISON.txt")
        .collect();
    let record = Discarded { lot: lot.to_owned(), discarded_at_ms: queue::now_ms(), reason: reason.to_owned(), files };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::Config(e.to_string()))?;
    std::fs::create_dir_all(spool.reports_root()).map_err(Error::io("creating the reports folder"))?;
    spool::write_atomic(&spool.reports_root().join(format!("{lot}.abandon.json")), &json)?;
    std::fs::remove_dir_all(&dir).map_err(Error::io(format!("removing {}", dir.display())))?;
    spool::sync_dir(spool.quarantine_root())?;
    Ok(record)
}
