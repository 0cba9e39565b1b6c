//! The typed SCSI error every driver returns.

use std::fmt;

use super::sense::{Sense, SenseKey};
use super::transport::{ScsiStatus, TransportError};

/// What kind of failure, for callers that act on it (retry, change tape,
/// alert an operator). Stable across transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorClass {
    NotReady,
    MediumError,
    HardwareError,
    IllegalRequest,
    UnitAttention,
    DataProtect,
    BlankCheck,
    VolumeOverflow,
    Aborted,
    ReservationConflict,
    Busy,
    Transport,
    /// Sense keys with no better class (RECOVERED ERROR escalated,
    /// MISCOMPARE, vendor specific) and malformed responses.
    Other,
}

impl ErrorClass {
    pub fn from_sense(s: &Sense) -> ErrorClass {
        match s.key {
            SenseKey::NotReady => ErrorClass::NotReady,
            SenseKey::MediumError => ErrorClass::MediumError,
            SenseKey::HardwareError => ErrorClass::HardwareError,
            SenseKey::IllegalRequest => ErrorClass::IllegalRequest,
            SenseKey::UnitAttention => ErrorClass::UnitAttention,
            SenseKey::DataProtect => ErrorClass::DataProtect,
            SenseKey::BlankCheck => ErrorClass::BlankCheck,
            SenseKey::VolumeOverflow => ErrorClass::VolumeOverflow,
            SenseKey::AbortedCommand | SenseKey::CopyAborted => ErrorClass::Aborted,
            _ => ErrorClass::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::NotReady => "not ready",
            ErrorClass::MediumError => "medium error",
            ErrorClass::HardwareError => "hardware error",
            ErrorClass::IllegalRequest => "illegal request",
            ErrorClass::UnitAttention => "unit attention",
            ErrorClass::DataProtect => "data protect",
            ErrorClass::BlankCheck => "blank check",
            ErrorClass::VolumeOverflow => "volume overflow",
            ErrorClass::Aborted => "aborted command",
            ErrorClass::ReservationConflict => "reservation conflict",
            ErrorClass::Busy => "busy",
            ErrorClass::Transport => "transport error",
            ErrorClass::Other => "error",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed SCSI command. `op` names the command ("READ(6)", "LOCATE(16)").
#[derive(Debug, thiserror::Error)]
pub enum ScsiError {
    /// CHECK CONDITION with decodable sense data. `raw` keeps the bytes.
    #[error("{op}: {sense}")]
    Check {
        op: &'static str,
        sense: Sense,
        raw: Vec<u8>,
    },
    /// CHECK CONDITION whose sense could not be decoded.
    #[error("{op}: CHECK CONDITION with unreadable sense data {raw:02x?}")]
    BadSense { op: &'static str, raw: Vec<u8> },
    /// A status other than GOOD/CHECK CONDITION (BUSY, RESERVATION CONFLICT...).
    #[error("{op}: device returned {status}")]
    Status {
        op: &'static str,
        status: ScsiStatus,
    },
    #[error("{op}: {source}")]
    Transport {
        op: &'static str,
        #[source]
        source: TransportError,
    },
    /// The device answered GOOD but its data is not what the standard says.
    #[error("{op}: malformed response: {detail}")]
    Malformed { op: &'static str, detail: String },
    /// The caller asked for something the driver refuses before sending it.
    #[error("{op}: {detail}")]
    Invalid { op: &'static str, detail: String },
}

impl ScsiError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ScsiError::Check { sense, .. } => sense.class(),
            ScsiError::Status { status, .. } => match *status {
                ScsiStatus::RESERVATION_CONFLICT => ErrorClass::ReservationConflict,
                ScsiStatus::BUSY | ScsiStatus::TASK_SET_FULL | ScsiStatus::ACA_ACTIVE => {
                    ErrorClass::Busy
                }
                ScsiStatus::TASK_ABORTED => ErrorClass::Aborted,
                _ => ErrorClass::Other,
            },
            ScsiError::Transport { .. } => ErrorClass::Transport,
            ScsiError::BadSense { .. }
            | ScsiError::Malformed { .. }
            | ScsiError::Invalid { .. } => ErrorClass::Other,
        }
    }

    pub fn sense(&self) -> Option<&Sense> {
        match self {
            ScsiError::Check { sense, .. } => Some(sense),
            _ => None,
        }
    }

    /// Raw sense bytes, when the device sent any.
    pub fn raw_sense(&self) -> Option<&[u8]> {
        match self {
            ScsiError::Check { raw, .. } | ScsiError::BadSense { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// True for this ASC/ASCQ pair.
    pub fn is_asc(&self, asc: u8, ascq: u8) -> bool {
        self.sense().is_some_and(|s| s.is_asc(asc, ascq))
    }

    /// The adapter's residual contradicts the request or the sense data
    /// (field note A8): a transport error, never silently short data.
    pub fn residual_mismatch(
        op: &'static str,
        requested: usize,
        residual: usize,
        detail: impl Into<String>,
    ) -> ScsiError {
        ScsiError::Transport {
            op,
            source: TransportError::ResidualMismatch {
                requested,
                residual,
                detail: detail.into(),
            },
        }
    }

    pub fn malformed(op: &'static str, detail: impl Into<String>) -> ScsiError {
        ScsiError::Malformed {
            op,
            detail: detail.into(),
        }
    }
}

/// A pure decoder rejected bytes (too short, inconsistent lengths, bad
/// values). Decoders return this; command code wraps it in
/// [`ScsiError::Malformed`] with the command name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct DecodeError {
    pub what: &'static str,
    pub detail: String,
}

impl DecodeError {
    pub fn new(what: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            what,
            detail: detail.into(),
        }
    }

    /// "need N bytes, got M".
    pub fn short(what: &'static str, need: usize, got: usize) -> DecodeError {
        DecodeError::new(what, format!("need {need} bytes, got {got}"))
    }
}

impl ScsiError {
    pub fn from_decode(op: &'static str, e: DecodeError) -> ScsiError {
        ScsiError::Malformed {
            op,
            detail: e.to_string(),
        }
    }
}
