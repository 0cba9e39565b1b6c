//! The job executors: they turn jobs the scheduler dispatched into device
//! work and record what they did in the catalog.
//!
//! - [`access`]: how an executor reaches drives and changers: through the
//!   registry's worker threads ([`access::RegistryAccess`]) or straight
//!   over VTL transports ([`access::VtlAccess`], tests and benchmarks).
//! - [`source`]: the data stream of a backup (replayable for retries) and
//!   the whole-stream BLAKE3 digest.
//! - [`store`]: the executor's own catalog rows (set digests, job alerts).
//! - [`tape`]: one backup attempt to a tape pool (label at BOT checked
//!   against the medium, spanning at early warning) and the restore that
//!   crosses the same cartridge boundaries.
//! - [`run`]: a backup job to its end: dispatch, attempt, fail over to
//!   another pool member on a device failure.
//! - [`disk`]: the same for disk storage pools, [`dedup`] for dedup store
//!   pools; [`duplicate`]: a set to another pool (disk-to-tape staging,
//!   dedup-to-tape rehydration, disk-to-dedup, tape-to-disk).
//! - [`ops`]: inventory, label, erase, clean and verify jobs.
//! - [`recover`]: what a restarted daemon does before it runs jobs again.

pub mod access;
pub mod dedup;
pub mod disk;
pub mod duplicate;
pub mod ops;
pub mod recover;
pub mod run;
pub mod setup;
pub mod source;
pub mod store;
pub mod tape;

use reel_changer::ChangerError;
use reel_drivers::storage::DiskStorageError;
use reel_drivers::{ErrorClass, ScsiError};

use crate::db::DbError;
use crate::media::guard::WriteRefused;
use crate::media::manager::MediaError;
use crate::scheduler::SchedError;

pub use access::{DeviceAccess, RegistryAccess, VtlAccess};
pub use recover::{RestartReport, recover_after_restart};
pub use run::{BackupOutcome, ExecOptions, run_backup_job};
pub use source::{BackupSource, OneShot, StreamDigest};

/// Errors of the executors.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Sched(#[from] SchedError),
    #[error("{0}")]
    Media(#[from] MediaError),
    /// A SCSI command to a drive failed.
    #[error("drive {device}: {source}")]
    Drive { device: String, source: ScsiError },
    #[error("library {library}: {source}")]
    Changer {
        library: String,
        source: ChangerError,
    },
    /// The device could not be reached (worker stopped, down, not open).
    #[error("device {device}: {detail}")]
    Unreachable { device: String, detail: String },
    #[error("cartridge {barcode}: {refused}")]
    Refused {
        barcode: String,
        refused: WriteRefused,
    },
    #[error("data stream: {0}")]
    Stream(std::io::Error),
    #[error("disk storage {device}: {source}")]
    Storage {
        device: String,
        source: DiskStorageError,
    },
    #[error("dedup store {device}: {source}")]
    Dedup {
        device: String,
        source: crate::dedup::DedupError,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("backup set {set} is {state}; only a complete set is restored")]
    NotComplete { set: String, state: &'static str },
    #[error("restored data of set {set} does not match: {detail}")]
    Mismatch { set: String, detail: String },
    #[error("tape layout: {0}")]
    Layout(String),
    #[error("job {job}: {detail}")]
    Job { job: i64, detail: String },
}

impl From<rusqlite::Error> for ExecError {
    fn from(e: rusqlite::Error) -> ExecError {
        ExecError::Db(e.into())
    }
}

impl ExecError {
    /// The device itself failed (not the medium, not the stream): the
    /// attempt fails over to another member and the device is taken out.
    pub fn device_failed(&self) -> bool {
        match self {
            ExecError::Drive { source, .. } => matches!(
                source.class(),
                ErrorClass::HardwareError | ErrorClass::Transport
            ),
            ExecError::Unreachable { .. } => true,
            ExecError::Changer { .. } => false,
            _ => false,
        }
    }

    /// Another attempt could succeed: on another member (a device-side
    /// failure) or with another cartridge (this one was refused). Anything
    /// else (the data stream, the catalog) would fail every attempt alike.
    pub fn retryable(&self) -> bool {
        self.is_device_side() || matches!(self, ExecError::Refused { .. })
    }

    /// The failure belongs to the device the attempt ran on (retrying on
    /// another member may help), as opposed to the data stream or the
    /// catalog.
    pub fn is_device_side(&self) -> bool {
        matches!(
            self,
            ExecError::Drive { .. }
                | ExecError::Unreachable { .. }
                | ExecError::Storage { .. }
                | ExecError::Dedup { .. }
                | ExecError::Changer { .. }
        )
    }
}

pub type ExecResult<T> = Result<T, ExecError>;
