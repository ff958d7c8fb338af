//! The scanner's hot folder. Files are left alone until none has changed
//! for the settle time (the scanner has finished writing the batch), then
//! claimed into the spool in one move, cleaned, split at separator sheets,
//! queued as pieces, and filed through the vault as it can be reached.
//! Restarting after a crash resumes exactly where the spool says.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant, SystemTime},
};

use dnu_api::{scan::ScanProvenance, sheet::SheetKey};
use serde::Serialize;

use crate::{
    batch::{self, Plan},
    convert,
    error::Error,
    pdf_worker::PdfWorker,
    queue::{self, Done, Job},
    spool::{self, Spool},
    upload::{Outcome, Vault},
};

pub struct Watcher {
    pub dir: PathBuf,
    pub spool: Spool,
    pub key: SheetKey,
    pub vault: Vault,
    /// Scanning host recorded in provenance.
    pub host: String,
    pub settle: Duration,
    pub poll: Duration,
    pub retry_max_secs: u64,
    pub threads: usize,
    /// How scanners' PDFs are opened.
    pub pdf: PdfWorker,
    /// Each batch is two files, fronts then backs ([`convert::collate`]).
    pub recto_verso: bool,
}

/// The state of the hot folder at the last look.
#[derive(Default)]
struct Settling {
    seen: BTreeMap<PathBuf, (u64, Option<SystemTime>)>,
    since: Option<Instant>,
}

#[derive(Serialize)]
struct Report<'a> {
    batch: &'a str,
    scanned_at_ms: i64,
    files: Vec<String>,
    outcome: &'a str,
    reason: Option<&'a str>,
    groups: Vec<GroupReport>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct GroupReport {
    job: Option<String>,
    numero_unique: String,
    kind: String,
    pages: usize,
    blank_pages: Vec<String>,
}

impl Watcher {
    /// Runs until `stop` is set.
    pub fn run(&self, stop: &AtomicBool) -> Result<(), Error> {
        self.spool.create()?;
        self.recover()?;
        let mut settling = Settling::default();
        tracing::info!(dir = %self.dir.display(), spool = %self.spool.root().display(), "watching the scanner folder");
        while !stop.load(Ordering::Relaxed) {
            if let Some(files) = self.settled(&mut settling)? {
                let batch = self.claim(&files)?;
                settling = Settling::default();
                self.process(&batch)?;
            }
            self.retried()?;
            self.drain(stop)?;
            std::thread::sleep(self.poll);
        }
        Ok(())
    }

    /// Finishes what a crash interrupted: half-made claims go back to the
    /// folder (to be claimed again whole), claimed batches are processed.
    fn recover(&self) -> Result<(), Error> {
        let root = self.spool.incoming_root();
        let mut batches = Vec::new();
        for entry in std::fs::read_dir(&root).map_err(Error::io(format!("listing {}", root.display())))? {
            let path = entry.map_err(Error::io("listing incoming"))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(batch) = name.strip_suffix(".tmp") {
                for f in spool::files_in(&path)? {
                    let back = self.dir.join(f.file_name().unwrap_or_default());
                    spool::move_file(&f, &back)?;
                }
                std::fs::remove_dir_all(&path).map_err(Error::io("removing a half-made claim"))?;
                tracing::warn!(batch.id = batch, "an interrupted claim was put back in the folder");
            } else if path.is_dir() {
                batches.push(name);
            }
        }
        batches.sort();
        for b in batches {
            tracing::info!(batch.id = %b, "resuming a batch claimed before a restart");
            self.process(&b)?;
        }
        Ok(())
    }

    /// Processes the batches `scanner-ingest retry` put back in the spool
    /// (claimed whole there, as `claim` does).
    fn retried(&self) -> Result<(), Error> {
        let root = self.spool.incoming_root();
        let Ok(entries) = std::fs::read_dir(&root) else { return Ok(()) };
        let mut batches: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".tmp"))
            .collect();
        batches.sort();
        for b in batches {
            tracing::info!(batch.id = %b, "processing a lot sent again from quarantine");
            self.process(&b)?;
        }
        Ok(())
    }

    /// The folder's files once nothing has changed for the settle time.
    fn settled(&self, s: &mut Settling) -> Result<Option<Vec<PathBuf>>, Error> {
        let files = spool::files_in(&self.dir)?;
        let now: BTreeMap<PathBuf, (u64, Option<SystemTime>)> = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok().map(|m| (f.clone(), (m.len(), m.modified().ok()))))
            .collect();
        if now.is_empty() {
            *s = Settling::default();
            return Ok(None);
        }
        if now != s.seen {
            s.seen = now;
            s.since = Some(Instant::now());
            return Ok(None);
        }
        let quiet = s.since.is_some_and(|t| t.elapsed() >= self.settle);
        Ok(quiet.then_some(files))
    }

    /// Moves the files into a new batch of the spool, all or none.
    fn claim(&self, files: &[PathBuf]) -> Result<String, Error> {
        let mut rnd = [0u8; 4];
        aws_lc_rs::rand::fill(&mut rnd).map_err(|_| Error::Config("no randomness".into()))?;
        let batch = format!("b{}-{}", queue::now_ms(), hex::encode(rnd));
        let tmp = self.spool.claiming(&batch);
        std::fs::create_dir_all(&tmp).map_err(Error::io(format!("creating {}", tmp.display())))?;
        for f in files {
            spool::move_file(f, &tmp.join(f.file_name().unwrap_or_default()))?;
        }
        spool::sync_dir(&tmp)?;
        std::fs::rename(&tmp, self.spool.incoming(&batch)).map_err(Error::io("claiming a batch"))?;
        spool::sync_dir(&self.spool.incoming_root())?;
        tracing::info!(batch.id = %batch, files = files.len(), "batch claimed");
        Ok(batch)
    }

    /// Cleans, splits and queues a claimed batch (or quarantines it), then
    /// drops its raw files.
    fn process(&self, batch: &str) -> Result<(), Error> {
        let dir = self.spool.incoming(batch);
        let files = spool::files_in(&dir)?;
        let scanned_at = batch
            .strip_prefix('b')
            .and_then(|s| s.split('-').next())
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_else(queue::now_ms);
        let started = Instant::now();
        let progress = |done: usize, all: usize| tracing::info!(batch.id = %batch, done, all, "cleaning scans");
        let names: Vec<String> =
            files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
        let (sources, pages) = match convert::clean_files(&files, &self.pdf, true, self.threads, &progress) {
            Ok(r) => r,
            Err(e) => return self.quarantine_batch(batch, scanned_at, names, &e.to_string()),
        };
        let pages = if self.recto_verso {
            match convert::collate(&sources, pages) {
                Ok(p) => p,
                Err(reason) => return self.quarantine_batch(batch, scanned_at, names, &reason),
            }
        } else {
            pages
        };
        let today = time::OffsetDateTime::now_utc().date();
        let (groups, notes) = match batch::plan(&self.key, &sources, &pages, today) {
            Plan::Quarantine { reason } => return self.quarantine_batch(batch, scanned_at, names, &reason),
            Plan::File { groups, notes } => (groups, notes),
        };
        let mut reports = Vec::new();
        for (n, g) in groups.iter().enumerate() {
            let id = format!("{batch}-g{}", n + 1);
            let mut blank_pages = Vec::new();
            if !g.blank.is_empty() {
                let blanks: Vec<_> = g.blank.iter().map(|&i| &pages[i].page).collect();
                spool::write_atomic(&self.spool.blank(&format!("{id}-pages-blanches.pdf")), &convert::pdf(&blanks)?)?;
                blank_pages = g.blank.iter().map(|&i| batch::page_name(&sources, &pages[i])).collect();
            }
            let job = (!g.pages.is_empty()).then(|| id.clone());
            if !g.pages.is_empty() && !queue::known(&self.spool, &id) {
                let chosen: Vec<_> = g.pages.iter().map(|&i| &pages[i].page).collect();
                let pdf = convert::pdf(&chosen)?;
                let scan = ScanProvenance {
                    host: self.host.clone(),
                    scanned_at,
                    images_sha256: batch::group_sources(&sources, &pages, g).iter().map(|s| s.sha256.clone()).collect(),
                };
                let job = Job {
                    id: id.clone(),
                    batch: batch.to_owned(),
                    numero_unique: g.sheet.numero_unique.clone(),
                    kind: g.sheet.kind.clone(),
                    pages: g.pages.len(),
                    scan,
                    attempts: 0,
                    next_attempt_ms: 0,
                    last_error: None,
                };
                queue::enqueue(&self.spool, &job, &pdf)?;
            }
            reports.push(GroupReport {
                job,
                numero_unique: g.sheet.numero_unique.clone(),
                kind: g.sheet.kind.clone(),
                pages: g.pages.len(),
                blank_pages,
            });
        }
        let report = Report {
            batch,
            scanned_at_ms: scanned_at,
            files: names,
            outcome: "queued",
            reason: None,
            groups: reports,
            notes: &notes,
        };
        self.write_report(batch, &report)?;
        std::fs::remove_dir_all(&dir).map_err(Error::io(format!("removing {}", dir.display())))?;
        spool::sync_dir(&self.spool.incoming_root())?;
        tracing::info!(
            batch.id = %batch, pages = pages.len(), groups = groups.len(), notes = notes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64, "batch queued"
        );
        Ok(())
    }

    fn quarantine_batch(&self, batch: &str, scanned_at: i64, files: Vec<String>, reason: &str) -> Result<(), Error> {
        let to = self.spool.quarantined(batch);
        std::fs::create_dir_all(&to).map_err(Error::io(format!("creating {}", to.display())))?;
        let from = self.spool.incoming(batch);
        for f in spool::files_in(&from)? {
            spool::move_file(&f, &to.join(f.file_name().unwrap_or_default()))?;
        }
        spool::write_synced(&to.join("RAISON.txt"), format!("{reason}\n").as_bytes())?;
        spool::sync_dir(&to)?;
        let report = Report {
            batch,
            scanned_at_ms: scanned_at,
            files,
            outcome: "quarantined",
            reason: Some(reason),
            groups: Vec::new(),
            notes: &[],
        };
        self.write_report(batch, &report)?;
        std::fs::remove_dir_all(&from).map_err(Error::io(format!("removing {}", from.display())))?;
        tracing::warn!(batch.id = %batch, quarantine = %to.display(), "batch quarantined (see RAISON.txt)");
        Ok(())
    }

    fn write_report(&self, batch: &str, report: &Report<'_>) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(report).map_err(|e| Error::Config(e.to_string()))?;
        spool::write_atomic(&self.spool.report(batch), &json)
    }

    /// Files every job that is due, stopping at the first the vault cannot
    /// take now (it is down: the others would fail the same way).
    fn drain(&self, stop: &AtomicBool) -> Result<(), Error> {
        for mut job in queue::list(&self.spool)? {
            if stop.load(Ordering::Relaxed) || job.next_attempt_ms > queue::now_ms() {
                continue;
            }
            let pdf = queue::pdf(&self.spool, &job)?;
            match self.vault.send(&job, pdf) {
                Outcome::Filed { piece, version, duplicate } => {
                    let done = Done {
                        job: job.id.clone(),
                        numero_unique: job.numero_unique.clone(),
                        kind: job.kind.clone(),
                        piece,
                        version,
                        duplicate,
                        filed_at_ms: queue::now_ms(),
                    };
                    queue::complete(&self.spool, &done)?;
                    tracing::info!(job.id = %job.id, pages = job.pages, duplicate, "piece filed");
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(job.id = %job.id, status = status_of(&reason), "the vault refused the piece: quarantined");
                    queue::quarantine(&self.spool, &job, &format!("Le coffre a refusé cette pièce : {reason}"))?;
                }
                Outcome::Retry(reason) => {
                    queue::reschedule(&self.spool, &mut job, reason.clone(), self.retry_max_secs)?;
                    tracing::warn!(
                        job.id = %job.id, attempts = job.attempts, status = status_of(&reason),
                        "upload failed; will retry"
                    );
                    break;
                }
            }
        }
        Ok(())
    }
}

/// The status part of a failure, for logs (the rest may name a dossier).
fn status_of(reason: &str) -> &str {
    reason.split([':', ' ']).next().unwrap_or_default()
}
