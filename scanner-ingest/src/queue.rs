//! The durable upload queue. A job is a directory (`piece.pdf`,
//! `job.json`) that appears whole (written aside, synced, renamed) or not
//! at all; it leaves the queue only once the vault has answered, and the
//! answer is recorded first (`done/<job>.json`), so a crash at any point
//! either re-sends (the idempotency key makes that harmless) or finds the
//! job done — nothing lost, nothing filed twice.

use serde::{Deserialize, Serialize};

use dnu_api::scan::ScanProvenance;

use crate::{
    error::Error,
    spool::{Spool, move_file, sync_dir, write_atomic, write_synced},
};

/// One piece waiting to be filed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// `<batch>-g<n>`; also the upload's idempotency key.
    pub id: String,
    pub batch: String,
    pub numero_unique: String,
    pub kind: String,
    pub pages: usize,
    pub scan: ScanProvenance,
    #[serde(default)]
    pub attempts: u32,
    /// Unix ms before which the job is not retried.
    #[serde(default)]
    pub next_attempt_ms: i64,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What the vault answered for a filed job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Done {
    pub job: String,
    pub numero_unique: String,
    pub kind: String,
    pub piece: String,
    pub version: String,
    /// The vault already held it (a retry of an upload that had succeeded).
    pub duplicate: bool,
    pub filed_at_ms: i64,
}

pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whether a job is already queued or done (a batch processed again after
/// a crash must not queue it twice).
pub fn known(spool: &Spool, id: &str) -> bool {
    spool.job(id).exists() || spool.done(id).exists()
}

/// Queues a job with its PDF, atomically.
pub fn enqueue(spool: &Spool, job: &Job, pdf: &[u8]) -> Result<(), Error> {
    if known(spool, &job.id) {
        return Ok(());
    }
    let staging = spool.job_staging(&job.id);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(Error::io(format!("clearing {}", staging.display())))?;
    }
    std::fs::create_dir_all(&staging).map_err(Error::io(format!("creating {}", staging.display())))?;
    write_synced(&staging.join("piece.pdf"), pdf)?;
    write_synced(&staging.join("job.json"), &to_json(job)?)?;
    sync_dir(&staging)?;
    std::fs::rename(&staging, spool.job(&job.id)).map_err(Error::io(format!("queueing job {}", job.id)))?;
    sync_dir(&spool.queue_root())
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Config(format!("serialising: {e}")))
}

/// Every queued job, oldest first.
pub fn list(spool: &Spool) -> Result<Vec<Job>, Error> {
    let root = spool.queue_root();
    let mut jobs = Vec::new();
    for entry in std::fs::read_dir(&root).map_err(Error::io(format!("listing {}", root.display())))? {
        let entry = entry.map_err(Error::io(format!("listing {}", root.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path().join("job.json");
        let text = std::fs::read(&path).map_err(Error::io(format!("reading {}", path.display())))?;
        let job: Job =
            serde_json::from_slice(&text).map_err(|e| Error::Config(format!("{} is damaged: {e}", path.display())))?;
        jobs.push(job);
    }
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(jobs)
}

pub fn pdf(spool: &Spool, job: &Job) -> Result<Vec<u8>, Error> {
    let path = spool.job(&job.id).join("piece.pdf");
    std::fs::read(&path).map_err(Error::io(format!("reading {}", path.display())))
}

/// Records the vault's answer, then removes the job.
pub fn complete(spool: &Spool, done: &Done) -> Result<(), Error> {
    write_synced(&spool.done(&done.job), &to_json(done)?)?;
    sync_dir(&spool.done_root())?;
    let dir = spool.job(&done.job);
    std::fs::remove_dir_all(&dir).map_err(Error::io(format!("removing {}", dir.display())))?;
    sync_dir(&spool.queue_root())
}

/// Saves a failed attempt and when to try again.
pub fn reschedule(spool: &Spool, job: &mut Job, error: String, retry_max_secs: u64) -> Result<(), Error> {
    job.attempts += 1;
    // 2 s, 4 s, 8 s … up to the ceiling, with up to a quarter of jitter so
    // several scanners do not knock at the same instant.
    let base = 2u64.saturating_pow(job.attempts.min(20)).min(retry_max_secs.max(1)) * 1000;
    let jitter = (now_ms().unsigned_abs() ^ u64::from(job.attempts).wrapping_mul(0x9E37)) % (base / 4 + 1);
    job.next_attempt_ms = now_ms() + i64::try_from(base + jitter).unwrap_or(i64::MAX / 2);
    job.last_error = Some(error);
    write_atomic(&spool.job(&job.id).join("job.json"), &to_json(job)?)
}

/// Moves a job the vault refused for good to quarantine, with the reason.
pub fn quarantine(spool: &Spool, job: &Job, reason: &str) -> Result<(), Error> {
    let to = spool.quarantined(&job.id);
    std::fs::create_dir_all(&to).map_err(Error::io(format!("creating {}", to.display())))?;
    let from = spool.job(&job.id);
    move_file(&from.join("piece.pdf"), &to.join("piece.pdf"))?;
    write_synced(&to.join("job.json"), &to_json(job)?)?;
    write_synced(&to.join("RAISON.txt"), format!("{reason}\n").as_bytes())?;
    sync_dir(&to)?;
    std::fs::remove_dir_all(&from).map_err(Error::io(format!("removing {}", from.display())))?;
    sync_dir(&spool.queue_root())
}

/// Every answer recorded.
pub fn done(spool: &Spool) -> Result<Vec<Done>, Error> {
    let root = spool.done_root();
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&root).map_err(Error::io(format!("listing {}", root.display())))? {
        let path = entry.map_err(Error::io(format!("listing {}", root.display())))?.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Some(d) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Done>(&b).ok())
        {
            all.push(d);
        }
    }
    all.sort_by_key(|d| d.filed_at_ms);
    Ok(all)
}
