//! The reeld process on top of the device registry ([`crate::devices`])
//! and the job executors ([`crate::jobs`]): configuration, the demo
//! host, the dispatcher and the job runners, and the serving of the gRPC
//! and HTTP endpoints.
//!
//! - [`config`] holds `reeld.toml`;
//! - [`daemon`] holds the shared state every service uses;
//! - [`dispatch`] hands dispatched jobs to their runners and runs the
//!   daemon's own jobs (inventory, label, ...);
//! - [`stream`] runs backups and restores whose data is a gRPC stream;
//! - [`setup`] registers the registry's devices, pools and media sets;
//! - [`run`] holds start-up, the banner, serving until a signal.

pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod run;
pub mod setup;
pub mod stream;

pub use daemon::Daemon;

/// Locks a mutex, recovering the data when a thread panicked holding it
/// (the scheduler's state lives in SQLite; the guard protects a handle).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
pub use run::{Options, init, run};

/// Errors of the daemon process.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("{0}")]
    Sched(#[from] crate::scheduler::SchedError),
    #[error("{0}")]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Media(#[from] crate::media::manager::MediaError),
    #[error("{0}")]
    Library(#[from] reel_vtl::library::LibraryError),
    #[error("{0}")]
    Changer(#[from] reel_changer::ChangerError),
    #[error("{0}")]
    Scsi(#[from] reel_drivers::ScsiError),
    #[error("{0}")]
    Device(#[from] crate::devices::DeviceError),
    #[error("{0}")]
    Exec(#[from] crate::jobs::ExecError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for DaemonError {
    fn from(e: rusqlite::Error) -> DaemonError {
        DaemonError::Db(e.into())
    }
}

impl From<DaemonError> for tonic::Status {
    fn from(e: DaemonError) -> tonic::Status {
        use crate::scheduler::SchedError;
        let msg = e.to_string();
        match &e {
            DaemonError::NotFound(_)
            | DaemonError::Db(crate::db::DbError::NotFound { .. })
            | DaemonError::Sched(SchedError::Db(crate::db::DbError::NotFound { .. })) => {
                tonic::Status::not_found(msg)
            }
            DaemonError::Device(crate::devices::DeviceError::NoSuchDevice(_)) => {
                tonic::Status::not_found(msg)
            }
            DaemonError::Exec(e) => exec_status(e),
            DaemonError::Refused(_)
            | DaemonError::Sched(SchedError::Transition { .. } | SchedError::Pool(_)) => {
                tonic::Status::failed_precondition(msg)
            }
            _ => tonic::Status::internal(msg),
        }
    }
}

/// The status of a failed job for its client.
pub fn exec_status(e: &crate::jobs::ExecError) -> tonic::Status {
    use crate::jobs::ExecError as E;
    let msg = e.to_string();
    match e {
        E::NotFound(_) | E::Db(crate::db::DbError::NotFound { .. }) => {
            tonic::Status::not_found(msg)
        }
        E::NotComplete { .. } | E::Refused { .. } => tonic::Status::failed_precondition(msg),
        E::Mismatch { .. } => tonic::Status::data_loss(msg),
        E::Job { detail, .. } if detail.contains("cancelled") => tonic::Status::cancelled(msg),
        E::Stream(_) => tonic::Status::aborted(msg),
        _ => tonic::Status::internal(msg),
    }
}
