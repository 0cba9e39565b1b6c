//! The one narrow interface every SCSI command goes through.
//!
//! A transport moves a CDB and its data to a device and brings back the SCSI
//! status, the sense bytes and the residual. It does not interpret sense data:
//! that is [`crate::scsi::command`]'s job, so every transport (SG_IO, iSCSI,
//! the in-process VTL) is classified the same way.

use std::fmt;
use std::time::Duration;

/// Data phase of one command, with the caller's buffer.
#[derive(Debug)]
pub enum DataDirection<'a> {
    None,
    ToDevice(&'a [u8]),
    FromDevice(&'a mut [u8]),
}

impl DataDirection<'_> {
    /// Number of bytes requested in the data phase.
    pub fn len(&self) -> usize {
        match self {
            DataDirection::None => 0,
            DataDirection::ToDevice(b) => b.len(),
            DataDirection::FromDevice(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// SCSI status byte (SAM-5 table 43).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScsiStatus(pub u8);

impl ScsiStatus {
    pub const GOOD: ScsiStatus = ScsiStatus(0x00);
    pub const CHECK_CONDITION: ScsiStatus = ScsiStatus(0x02);
    pub const CONDITION_MET: ScsiStatus = ScsiStatus(0x04);
    pub const BUSY: ScsiStatus = ScsiStatus(0x08);
    pub const RESERVATION_CONFLICT: ScsiStatus = ScsiStatus(0x18);
    pub const TASK_SET_FULL: ScsiStatus = ScsiStatus(0x28);
    pub const ACA_ACTIVE: ScsiStatus = ScsiStatus(0x30);
    pub const TASK_ABORTED: ScsiStatus = ScsiStatus(0x40);

    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "GOOD",
            0x02 => "CHECK CONDITION",
            0x04 => "CONDITION MET",
            0x08 => "BUSY",
            0x10 => "INTERMEDIATE",
            0x14 => "INTERMEDIATE-CONDITION MET",
            0x18 => "RESERVATION CONFLICT",
            0x22 => "COMMAND TERMINATED",
            0x28 => "TASK SET FULL",
            0x30 => "ACA ACTIVE",
            0x40 => "TASK ABORTED",
            _ => "reserved status",
        }
    }
}

impl fmt::Debug for ScsiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02x})", self.name(), self.0)
    }
}

impl fmt::Display for ScsiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What came back from the device for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub status: ScsiStatus,
    /// Raw sense bytes (empty unless the device returned some).
    pub sense: Vec<u8>,
    /// Requested data length minus the bytes actually transferred, as the
    /// transport reported it (some HBAs get this wrong; see field note A8).
    pub residual: usize,
}

impl Completion {
    pub fn good(residual: usize) -> Completion {
        Completion {
            status: ScsiStatus::GOOD,
            sense: Vec::new(),
            residual,
        }
    }

    pub fn check_condition(sense: Vec<u8>, residual: usize) -> Completion {
        Completion {
            status: ScsiStatus::CHECK_CONDITION,
            sense,
            residual,
        }
    }
}

/// The command did not complete with a SCSI status.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    #[error("host adapter error {name} (0x{code:02x})")]
    Host { code: u16, name: &'static str },
    #[error("driver error {name} (0x{code:02x})")]
    Driver { code: u16, name: &'static str },
    #[error("transfer of {requested} bytes exceeds the adapter limit of {max} bytes")]
    TooLarge { requested: usize, max: usize },
    #[error(
        "residual mismatch: requested {requested} bytes, adapter reported residual {residual}, {detail}"
    )]
    ResidualMismatch {
        requested: usize,
        residual: usize,
        detail: String,
    },
    #[error("connection lost: {0}")]
    Disconnected(String),
    #[error("{0}")]
    Other(String),
}

/// Anything that can execute a CDB against one logical unit.
///
/// Implementations: [`crate::sg::SgTransport`] (Linux `/dev/sgN`), the
/// in-process VTL (`reel-vtl`) and, later, the iSCSI initiator.
pub trait ScsiTransport: Send {
    /// Executes one command. `Ok` means the device returned a status (which
    /// may be CHECK CONDITION); `Err` means it never did.
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError>;

    /// Largest data transfer the path to the device accepts, in bytes.
    fn max_transfer(&self) -> usize {
        usize::MAX
    }

    /// Human-readable name of the device path, for messages.
    fn describe(&self) -> String;
}

impl<T: ScsiTransport + ?Sized> ScsiTransport for Box<T> {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        (**self).execute(cdb, data, timeout)
    }

    fn max_transfer(&self) -> usize {
        (**self).max_transfer()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
