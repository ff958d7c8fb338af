//! The object store: immutable, uniquely named, already-encrypted objects.
//!
//! Two backends, a local directory (the embedded default) and any
//! S3-compatible store. Nothing here sees plaintext: callers hand in sealed
//! chunks from [`crate::crypto::stream`]. Objects are never overwritten: a
//! name is a fresh random id, and each backend also refuses to replace an
//! existing name.

pub(crate) mod key;
mod local;
mod read_ahead;
mod s3;

use std::time::SystemTime;

pub use key::ObjectKey;
pub use local::LocalStore;
pub use s3::S3Store;
use tokio::io::AsyncRead;

use crate::error::Error;

/// A reader over a stored object's bytes.
pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// An object found by listing the store (for the garbage collector).
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: ObjectKey,
    pub modified: SystemTime,
}

/// The configured backend.
#[derive(Clone, Debug)]
pub enum ObjectStore {
    Local(LocalStore),
    S3(S3Store),
}

impl ObjectStore {
    /// Opens the configured backend.
    pub async fn open(config: &crate::config::ObjectStoreConfig) -> Result<Self, Error> {
        use crate::config::ObjectStoreConfig;
        Ok(match config {
            ObjectStoreConfig::Local(dir) => Self::Local(LocalStore::open(dir).await?),
            ObjectStoreConfig::S3(s) => Self::S3(S3Store::connect(s).await?),
        })
    }

    /// Starts writing a new object. Nothing is visible under `key` until
    /// [`ObjectWriter::finish`] succeeds.
    pub async fn writer(&self, key: &ObjectKey) -> Result<ObjectWriter, Error> {
        Ok(match self {
            Self::Local(s) => ObjectWriter::Local(s.writer(key).await?),
            Self::S3(s) => ObjectWriter::S3(s.writer(key)),
        })
    }

    pub async fn reader(&self, key: &ObjectKey) -> Result<ObjectReader, Error> {
        match self {
            Self::Local(s) => s.reader(key).await,
            Self::S3(s) => s.reader(key).await,
        }
    }

    /// The stored length of an object, `None` when it does not exist.
    pub async fn len(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        match self {
            Self::Local(s) => s.len(key).await,
            Self::S3(s) => s.len(key).await,
        }
    }

    pub async fn delete(&self, key: &ObjectKey) -> Result<(), Error> {
        match self {
            Self::Local(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }

    /// Every object of the store, with its modification time.
    pub async fn list(&self) -> Result<Vec<Listed>, Error> {
        match self {
            Self::Local(s) => s.list().await,
            Self::S3(s) => s.list().await,
        }
    }

    /// Every audit checkpoint, oldest first.
    pub async fn list_checkpoints(&self) -> Result<Vec<ObjectKey>, Error> {
        let mut keys = match self {
            Self::Local(s) => s.list_checkpoints().await?,
            Self::S3(s) => s.list_checkpoints().await?,
        };
        keys.sort_by_key(|k| match k {
            ObjectKey::AuditCheckpoint { seq } => *seq,
            ObjectKey::Dossier { .. } => 0,
        });
        Ok(keys)
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn check(&self) -> Result<(), Error> {
        match self {
            Self::Local(s) => s.check().await,
            Self::S3(s) => s.check().await,
        }
    }

    /// Removes unfinished uploads older than `before` (local temporary
    /// files; S3 multipart uploads never completed). Returns how many.
    pub async fn clean_incomplete(&self, before: SystemTime) -> Result<usize, Error> {
        match self {
            Self::Local(s) => s.clean_incomplete(before).await,
            Self::S3(s) => s.clean_incomplete(before).await,
        }
    }
}

/// An object being written.
pub enum ObjectWriter {
    Local(local::LocalWriter),
    S3(s3::S3Writer),
}

impl ObjectWriter {
    /// Appends bytes. The local backend writes them from writer threads
    /// while the caller goes on (a few writes in flight at once).
    pub async fn write(&mut self, data: Vec<u8>) -> Result<(), Error> {
        match self {
            Self::Local(w) => w.write(data).await,
            Self::S3(w) => w.write(&data).await,
        }
    }

    /// Makes the object durable and visible; returns its stored length as
    /// the store reports it, so the caller can check nothing was lost.
    pub async fn finish(self) -> Result<u64, Error> {
        match self {
            Self::Local(w) => w.finish().await,
            Self::S3(w) => w.finish().await,
        }
    }

    /// Gives up: nothing stays visible, temporary data is removed.
    pub async fn abort(self) {
        match self {
            Self::Local(w) => w.abort().await,
            Self::S3(w) => w.abort().await,
        }
    }
}
