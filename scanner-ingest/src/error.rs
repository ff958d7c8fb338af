//! The crate's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scan that cannot be read or processed.
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("image processing: {0}")]
    Image(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
