//! The reeld process: configuration, the demo host, the device threads,
//! the scheduler bridge, the job dispatcher and the data path, and the
//! serving of the gRPC and HTTP endpoints.
//!
//! - [`config`] holds `reeld.toml`;
//! - [`worker`] holds one thread per device;
//! - [`devices`] holds opening libraries and drives;
//! - [`daemon`] holds the shared state every service uses;
//! - [`dispatch`] holds hands dispatched jobs to whoever runs them;
//! - [`datapath`] holds backup and restore streams on a leased drive;
//! - [`disk`] holds the same on a disk storage device;
//! - [`alerts`] holds the alert list;
//! - [`run`] holds start-up, the banner, serving until a signal.

pub mod alerts;
pub mod config;
pub mod daemon;
pub mod datapath;
pub mod devices;
pub mod disk;
pub mod dispatch;
pub mod run;
pub mod worker;

pub use daemon::Daemon;
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
    Worker(#[from] worker::WorkerGone),
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
            DaemonError::Refused(_)
            | DaemonError::Sched(SchedError::Transition { .. } | SchedError::Pool(_)) => {
                tonic::Status::failed_precondition(msg)
            }
            _ => tonic::Status::internal(msg),
        }
    }
}
