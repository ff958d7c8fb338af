//! The one place that builds paths on disk. Everything the watcher has
//! accepted lives under the spool until the vault has acknowledged it:
//!
//! ```text
//! <spool>/incoming/<batch>/      raw files claimed from the hot folder
//! <spool>/incoming/<batch>.tmp/  a claim in progress (undone on restart)
//! <spool>/queue/<job>/           piece.pdf + job.json, waiting for upload
//! <spool>/done/<job>.json        what the vault answered (never re-sent)
//! <spool>/reports/<batch>.json   what a batch became
//! <quarantine>/<batch or job>/   what must not be filed, with RAISON.txt
//! <blank>/<batch>-…pdf           blank pages kept aside
//! ```
//!
//! The spool and the hot folder should be on one filesystem, so claiming a
//! file is a rename; across filesystems it is a synced copy, then a delete.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    quarantine: PathBuf,
    blank: PathBuf,
}

impl Spool {
    pub fn new(root: PathBuf, quarantine: PathBuf, blank: PathBuf) -> Self {
        Self { root, quarantine, blank }
    }

    /// Creates the directories (idempotent), readable by this user alone:
    /// they hold scans of identity papers and numéros uniques, on a
    /// workstation other people use.
    pub fn create(&self) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt;
        let dirs = [
            self.root.clone(),
            self.incoming_root(),
            self.queue_root(),
            self.done_root(),
            self.reports_root(),
            self.quarantine.clone(),
            self.blank.clone(),
        ];
        for d in &dirs {
            std::fs::create_dir_all(d).map_err(Error::io(format!("creating {}", d.display())))?;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(Error::io(format!("restricting {}", d.display())))?;
        }
        Ok(())
    }

    /// Deletes what the workstation no longer needs once `keep` has passed:
    /// quarantined batches, blank pages, the vault's answers and batch
    /// reports, by their last change. The queue and incoming work are never
    /// touched (they are not filed yet). Returns how many entries went.
    pub fn forget_older_than(&self, keep: std::time::Duration, now: std::time::SystemTime) -> Result<usize, Error> {
        let mut gone = 0;
        for dir in [self.quarantine.clone(), self.blank.clone(), self.done_root(), self.reports_root()] {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries {
                let e = e.map_err(Error::io(format!("reading {}", dir.display())))?;
                let meta = e.metadata().map_err(Error::io(format!("reading {}", e.path().display())))?;
                let old = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > keep);
                if !old {
                    continue;
                }
                let path = e.path();
                let removed = if meta.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                removed.map_err(Error::io(format!("removing {}", path.display())))?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn incoming_root(&self) -> PathBuf {
        self.root.join("incoming")
    }
    pub fn incoming(&self, batch: &str) -> PathBuf {
        self.incoming_root().join(batch)
    }
    pub fn claiming(&self, batch: &str) -> PathBuf {
        self.incoming_root().join(format!("{batch}.tmp"))
    }
    pub fn queue_root(&self) -> PathBuf {
        self.root.join("queue")
    }
    pub fn job(&self, job: &str) -> PathBuf {
        self.queue_root().join(job)
    }
    pub fn job_staging(&self, job: &str) -> PathBuf {
        self.queue_root().join(format!(".{job}.tmp"))
    }
    pub fn done_root(&self) -> PathBuf {
        self.root.join("done")
    }
    pub fn done(&self, job: &str) -> PathBuf {
        self.done_root().join(format!("{job}.json"))
    }
    pub fn reports_root(&self) -> PathBuf {
        self.root.join("reports")
    }
    pub fn report(&self, batch: &str) -> PathBuf {
        self.reports_root().join(format!("{batch}.json"))
    }
    pub fn quarantine_root(&self) -> &Path {
        &self.quarantine
    }
    pub fn quarantined(&self, name: &str) -> PathBuf {
        self.quarantine.join(name)
    }
    pub fn blank(&self, name: &str) -> PathBuf {
        self.blank.join(name)
    }
}

/// Makes what was written in `dir` durable (the entries themselves).
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(Error::io(format!("syncing {}", dir.display())))
}

/// Writes a file and syncs it (the caller syncs the directory).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let go = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    go().map_err(Error::io(format!("writing {}", path.display())))
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or
/// the whole new one: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io { context: format!("writing {}", path.display()), source: e }
    })
}

/// Moves a file, by rename when it can, else by a synced copy then delete.
pub fn move_file(from: &Path, to: &Path) -> Result<(), Error> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(18) => {
            // EXDEV: another filesystem.
            let bytes = std::fs::read(from).map_err(Error::io(format!("reading {}", from.display())))?;
            write_synced(to, &bytes)?;
            std::fs::remove_file(from).map_err(Error::io(format!("removing {}", from.display())))
        }
        Err(e) => Err(Error::Io { context: format!("moving {} to {}", from.display(), to.display()), source: e }),
    }
}

/// Files (not directories, not hidden, not partial) in `dir`, in natural
/// order (`scan2` before `scan10`), as scanners number their pages.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(format!("listing {}", dir.display())))? {
        let entry = entry.map_err(Error::io(format!("listing {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let partial =
            name.starts_with('.') || name.starts_with('~') || name.ends_with(".tmp") || name.ends_with(".part");
        if !partial && entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(files)
}

/// Compares names with runs of digits taken as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut s = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        s.push(c);
                        it.next();
                    }
                    s
                };
                let (na, nb) = (take(&mut a), take(&mut b));
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| na.len().cmp(&nb.len()));
                if ord.is_ne() {
                    return ord;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn scanner_numbering_sorts_naturally() {
        let mut v = vec!["scan10.jpg", "scan2.jpg", "scan1.jpg", "scan002b.jpg", "a.jpg"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a.jpg", "scan1.jpg", "scan2.jpg", "scan002b.jpg", "scan10.jpg"]);
    }
}

#[cfg(test)]
mod retention_tests {
    use std::{os::unix::fs::PermissionsExt, time::Duration};

    use super::*;

    #[test]
    fn the_spool_is_private_and_old_papers_are_forgotten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let spool = Spool::new(dir.path().join("spool"), dir.path().join("q"), dir.path().join("b"));
        spool.create().unwrap_or_else(|e| panic!("{e}"));
        for d in [spool.root().to_owned(), spool.quarantine_root().to_owned(), spool.done_root()] {
            let mode = std::fs::metadata(&d).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        let write = |p: PathBuf, age_days: u64| {
            if let Some(parent) = p.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let f = std::fs::File::create(&p).unwrap_or_else(|e| panic!("{e}"));
            let when = std::time::SystemTime::now() - Duration::from_secs(age_days * 86_400);
            f.set_modified(when).unwrap_or_else(|e| panic!("{e}"));
        };
        write(spool.quarantined("old-batch").join("RAISON.txt"), 0);
        let _ = std::fs::File::open(spool.quarantined("old-batch"))
            .and_then(|d| d.set_modified(std::time::SystemTime::now() - Duration::from_secs(40 * 86_400)));
        write(spool.blank("old-blank.pdf"), 40);
        write(spool.blank("new-blank.pdf"), 1);
        write(spool.done("old-job"), 40);
        write(spool.job("waiting").join("piece.pdf"), 400);
        let gone = spool.forget_older_than(Duration::from_secs(30 * 86_400), std::time::SystemTime::now());
        assert_eq!(gone.ok(), Some(3));
        assert!(!spool.quarantined("old-batch").exists() && !spool.blank("old-blank.pdf").exists());
        assert!(spool.blank("new-blank.pdf").exists(), "recent pages are kept");
        assert!(spool.job("waiting").join("piece.pdf").exists(), "the queue is never touched");
    }
}
