//! Local-directory backend: `<root>/dossiers/<dossier>/<object>.dnuv`.
//!
//! An object is written to `<root>/tmp/<random>.part`, flushed and fsynced,
//! then hard-linked to its final name (a link never replaces an existing
//! file) and the directory fsynced: after a crash a name either holds the
//! complete object or does not exist.

use std::{
    collections::VecDeque,
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use uuid::Uuid;

use super::{Listed, ObjectKey, ObjectReader};
use crate::error::Error;

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

fn store_err(op: &str, e: io::Error) -> Error {
    if crate::error::is_disk_full(&e) {
        return Error::StorageFull { what: "the local object store", source: e };
    }
    Error::Store(format!("local store: {op}: {e}"))
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        for sub in ["tmp", "dossiers"] {
            tokio::fs::create_dir_all(root.join(sub)).await.map_err(|e| store_err("create directory", e))?;
        }
        Ok(Self { root })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.path())
    }

    pub(super) async fn writer(&self, key: &ObjectKey) -> Result<LocalWriter, Error> {
        let tmp = self.root.join("tmp").join(format!("{}.part", Uuid::new_v4()));
        let path = tmp.clone();
        let (file, direct) = tokio::task::spawn_blocking(move || create(&path))
            .await
            .map_err(|e| Error::Store(format!("local store: create: {e}")))?
            .map_err(|e| store_err("create temporary file", e))?;
        Ok(LocalWriter {
            file: Arc::new(file),
            direct,
            cur: AlignedBuf::new(),
            spare: Vec::new(),
            in_flight: VecDeque::new(),
            written: 0,
            failed: false,
            tmp,
            dest: self.path(key),
        })
    }

    pub(super) async fn reader(&self, key: &ObjectKey) -> Result<ObjectReader, Error> {
        let path = self.path(key);
        let (file, len) = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            let len = file.metadata()?.len();
            Ok::<_, io::Error>((file, len))
        })
        .await
        .map_err(|e| store_err("open object", io::Error::other(e)))?
        .map_err(|e| store_err("open object", e))?;
        Ok(Box::new(super::read_ahead::ReadAhead::start(file, len)))
    }

    pub(super) async fn len(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(store_err("stat object", e)),
        }
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), Error> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(store_err("delete object", e)),
        }
    }

    pub(super) async fn list(&self) -> Result<Vec<Listed>, Error> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || list_blocking(&root))
            .await
            .map_err(|e| Error::Store(format!("local store: list: {e}")))?
    }

    pub(super) async fn list_checkpoints(&self) -> Result<Vec<ObjectKey>, Error> {
        let dir = self.root.join(super::key::CHECKPOINTS);
        let mut out = Vec::new();
        let mut rd = match tokio::fs::read_dir(&dir).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(store_err("list checkpoints", e)),
        };
        while let Some(e) = rd.next_entry().await.map_err(|e| store_err("list checkpoints", e))? {
            let name = format!("{}{}", super::key::CHECKPOINTS, e.file_name().to_string_lossy());
            if let Some(k @ ObjectKey::AuditCheckpoint { .. }) = ObjectKey::parse(&name) {
                out.push(k);
            }
        }
        Ok(out)
    }

    pub(super) async fn check(&self) -> Result<(), Error> {
        let m = tokio::fs::metadata(self.root.join("dossiers")).await.map_err(|e| store_err("check", e))?;
        if m.is_dir() { Ok(()) } else { Err(Error::Store("local store: dossiers is not a directory".into())) }
    }

    pub(super) async fn clean_incomplete(&self, before: SystemTime) -> Result<usize, Error> {
        let dir = self.root.join("tmp");
        tokio::task::spawn_blocking(move || {
            let mut n = 0;
            for entry in std::fs::read_dir(&dir).map_err(|e| store_err("list tmp", e))? {
                let entry = entry.map_err(|e| store_err("list tmp", e))?;
                let modified = entry.metadata().and_then(|m| m.modified()).map_err(|e| store_err("stat tmp", e))?;
                if modified < before {
                    std::fs::remove_file(entry.path()).map_err(|e| store_err("remove tmp", e))?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
        .map_err(|e| Error::Store(format!("local store: clean: {e}")))?
    }
}

fn list_blocking(root: &Path) -> Result<Vec<Listed>, Error> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(root.join("dossiers")).map_err(|e| store_err("list", e))? {
        let d = d.map_err(|e| store_err("list", e))?;
        if !d.file_type().map_err(|e| store_err("list", e))?.is_dir() {
            continue;
        }
        for o in std::fs::read_dir(d.path()).map_err(|e| store_err("list", e))? {
            let o = o.map_err(|e| store_err("list", e))?;
            let name = format!("dossiers/{}/{}", d.file_name().to_string_lossy(), o.file_name().to_string_lossy());
            if let Some(key) = ObjectKey::parse(&name) {
                let modified = o.metadata().and_then(|m| m.modified()).map_err(|e| store_err("stat", e))?;
                out.push(Listed { key, modified });
            }
        }
    }
    Ok(out)
}

/// Writes go through `O_DIRECT` where the file system allows it: the
/// disk reads our buffer, so the kernel does not copy every byte into the
/// page cache first, a copy that competes with SHA-256 for the CPU. Chosen
/// by measurement (`benches/store.rs`, 1 GiB, 2026-12-03): buffered
/// writes with `sync_file_range` behind each one and `fsync` at the end
/// stored at 487–538 MB/s end to end, `O_DIRECT` at 1,020–1,240 MB/s, on
/// the plain disk and on a loop device alike (buffered writes alone were
/// faster on the loop device, 2.4 GB/s, but not beside hashing and
/// sealing). Buffers are 4 KiB-aligned slices of ordinary vectors.
const ALIGN: usize = 4096;
const BUF: usize = 1024 * 1024;

/// A 4 KiB-aligned buffer carved out of a `Vec` (no unsafe code).
struct AlignedBuf {
    raw: Vec<u8>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    fn new() -> Self {
        let raw = vec![0u8; BUF + ALIGN];
        let off = raw.as_ptr().align_offset(ALIGN);
        Self { raw, off, len: 0 }
    }

    /// Copies as much of `data` as fits; returns how much.
    fn fill(&mut self, data: &[u8]) -> usize {
        let n = (BUF - self.len).min(data.len());
        let at = self.off + self.len;
        self.raw[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    fn is_full(&self) -> bool {
        self.len == BUF
    }

    /// The bytes to write: with direct I/O, padded with zeros to a whole
    /// number of blocks (the file is cut back to its true length after).
    fn padded(&mut self, direct: bool) -> &[u8] {
        let end = if direct { self.len.div_ceil(ALIGN) * ALIGN } else { self.len };
        self.raw[self.off + self.len..self.off + end].fill(0);
        &self.raw[self.off..self.off + end]
    }
}

/// Writes in flight at once per object. With one, the pipeline waited on
/// every write's round trip to the device: 1.49 s for 1 GiB on a loop
/// device over a file (one more hop per write), 0.78× `cp`, which lets the
/// kernel queue as many writes as it likes; with eight of 1 MiB, 0.77–0.87
/// s (`benches/store.rs`, 2026-12-03; four of 2 MiB gave 1.24 s).
const IN_FLIGHT: usize = 8;

/// A positional write running on a blocking thread; gives its buffer back.
type InFlight = tokio::task::JoinHandle<io::Result<AlignedBuf>>;

/// An object being written: buffers are filled here and written at their
/// offsets by up to [`IN_FLIGHT`] blocking threads at once. Memory: at most
/// `IN_FLIGHT + 1` buffers of [`BUF`] (9 MiB) per object being written.
pub struct LocalWriter {
    file: Arc<std::fs::File>,
    direct: bool,
    /// The buffer being filled, and buffers back from finished writes.
    cur: AlignedBuf,
    spare: Vec<AlignedBuf>,
    /// Writes in flight, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Bytes handed to writes so far (the next write's offset).
    written: u64,
    /// A write failed: the object is lost, only `abort` is left.
    failed: bool,
    tmp: PathBuf,
    dest: PathBuf,
}

fn create(path: &Path) -> io::Result<(std::fs::File, bool)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut direct = opts.clone();
        direct.custom_flags(libc::O_DIRECT);
        match direct.open(path) {
            Ok(f) => return Ok((f, true)),
            // The file system does not do direct I/O (tmpfs…): buffered.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    opts.open(path).map(|f| (f, false))
}

/// Writes `buf` at `offset`; the final fsync makes it durable.
fn write_at(file: &std::fs::File, mut buf: AlignedBuf, offset: u64, direct: bool) -> io::Result<AlignedBuf> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(buf.padded(direct), offset)?;
    buf.len = 0;
    Ok(buf)
}

impl LocalWriter {
    /// Waits for the oldest write in flight and keeps its buffer.
    async fn settle_one(&mut self) -> Result<(), Error> {
        let Some(h) = self.in_flight.pop_front() else { return Ok(()) };
        match h.await {
            Ok(Ok(buf)) => {
                self.spare.push(buf);
                Ok(())
            }
            Ok(Err(e)) => {
                self.failed = true;
                Err(store_err("write", e))
            }
            Err(e) => {
                self.failed = true;
                Err(Error::Store(format!("local store: write: {e}")))
            }
        }
    }

    /// Hands the current buffer to a writer thread, once fewer than
    /// [`IN_FLIGHT`] writes are under way.
    async fn flush_buf(&mut self) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Store("local store: writer already failed".into()));
        }
        while self.in_flight.len() >= IN_FLIGHT {
            self.settle_one().await?;
        }
        let next = self.spare.pop().unwrap_or_else(AlignedBuf::new);
        let buf = std::mem::replace(&mut self.cur, next);
        let offset = self.written;
        self.written += buf.len as u64;
        let (file, direct) = (Arc::clone(&self.file), self.direct);
        self.in_flight.push_back(tokio::task::spawn_blocking(move || write_at(&file, buf, offset, direct)));
        Ok(())
    }

    pub(super) async fn write(&mut self, data: Vec<u8>) -> Result<(), Error> {
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = self.cur.fill(rest);
            rest = &rest[n..];
            if self.cur.is_full() {
                self.flush_buf().await?;
            }
        }
        Ok(())
    }

    /// Makes the object durable under its name. On failure (a full disk,
    /// say) the temporary file goes at once: a store that ran out of space
    /// must not stay full of the attempts that found it so.
    pub(super) async fn finish(mut self) -> Result<u64, Error> {
        let tmp = self.tmp.clone();
        let done = self.publish().await;
        if done.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        done
    }

    async fn publish(&mut self) -> Result<u64, Error> {
        if self.cur.len > 0 {
            self.flush_buf().await?;
        }
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        let (file, tmp, dest, len, direct) =
            (Arc::clone(&self.file), self.tmp.clone(), self.dest.clone(), self.written, self.direct);
        tokio::task::spawn_blocking(move || {
            if direct {
                // Cut the zero padding of the last block.
                file.set_len(len).map_err(|e| store_err("truncate", e))?;
            }
            file.sync_all().map_err(|e| store_err("fsync", e))?;
            drop(file);
            publish(&tmp, &dest)
        })
        .await
        .map_err(|e| Error::Store(format!("local store: publish: {e}")))?
    }

    pub(super) async fn abort(mut self) {
        while !self.in_flight.is_empty() {
            let _ = self.settle_one().await;
        }
        // Best effort: a leftover temporary file is removed by `dnu-vault gc`.
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

fn publish(tmp: &Path, dest: &Path) -> Result<u64, Error> {
    let dir = dest.parent().ok_or_else(|| Error::Store("local store: object path has no parent".into()))?;
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| store_err("create dossier directory", e))?;
        if let Some(parent) = dir.parent() {
            std::fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| store_err("fsync directory", e))?;
        }
    }
    // `hard_link` fails if `dest` exists: an object is never replaced.
    std::fs::hard_link(tmp, dest).map_err(|e| store_err("publish object", e))?;
    std::fs::remove_file(tmp).map_err(|e| store_err("remove temporary file", e))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| store_err("fsync directory", e))?;
    Ok(std::fs::metadata(dest).map_err(|e| store_err("stat object", e))?.len())
}
