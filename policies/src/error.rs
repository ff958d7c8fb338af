//! What can go wrong loading a policy set or building a request: one
//! error type, below every other module of the crate.

/// Why a policy set was refused. The message is what an operator needs to
/// fix the files.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy schema: {0}")]
    Schema(String),
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: every policy needs an @id(\"…\") annotation")]
    MissingId { file: String },
    #[error("policy id {0:?} is used twice")]
    DuplicateId(String),
    #[error("the policy set does not validate against the schema:\n{0}")]
    Invalid(String),
    #[error("cannot read policy directory {dir}: {message}")]
    Io { dir: String, message: String },
    #[error("no .cedar file in {0}")]
    Empty(String),
    #[error("unknown built-in policy set {0:?}: expected default or consult-only")]
    UnknownBuiltin(String),
    #[error("request: {0}")]
    Request(String),
    #[error("{0}")]
    Worklist(String),
}
