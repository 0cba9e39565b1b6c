//! Security of reeld: the host CA and its certificates ([`ca`]), one-time
//! enrollment tokens ([`tokens`]), roles ([`roles`]) and the per-call check
//! of the caller's client certificate ([`peer`]).
//!
//! Trust model: every connection is TLS; the server presents a certificate
//! signed by the host CA, and every call except enrollment needs a client
//! certificate signed by the same CA. The roles a client holds are written
//! into its certificate at enrollment (bound to the token it enrolled
//! with), so the check needs no database and cannot be altered by the
//! client without breaking the CA's signature.

pub mod ca;
pub mod peer;
pub mod roles;
pub mod tokens;

pub use ca::{HostCa, fingerprint};
pub use peer::{Caller, authorize};
pub use roles::Role;
pub use tokens::TokenStore;

/// Errors of the security layer.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("certificate: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("{path}: {detail}")]
    BadFile {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("unknown role {0:?} (roles: audit, operate, write, read, configure, admin)")]
    UnknownRole(String),
    #[error("enrollment token unknown, used or expired")]
    BadToken,
    #[error("certificate signing request: {0}")]
    BadCsr(String),
    #[error("TLS: {0}")]
    Tls(String),
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AuthError + '_ {
    move |source| AuthError::Io {
        path: path.to_path_buf(),
        source,
    }
}
