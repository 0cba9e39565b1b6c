//! Fault injection, programmable per drive: what a test bench needs to
//! reproduce medium errors, hardware failures, unit attentions, TapeAlert,
//! slow mechanics and HBAs that misreport the residual (field note A8).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

// TapeAlert flag numbers (SSC-4 annex, TapeAlert log page parameters).
pub const TA_HARD_ERROR: u8 = 3;
pub const TA_READ_FAILURE: u8 = 5;
pub const TA_WRITE_FAILURE: u8 = 6;
pub const TA_WRITE_PROTECT: u8 = 9;
pub const TA_NO_REMOVAL: u8 = 10;
pub const TA_UNSUPPORTED_FORMAT: u8 = 12;
pub const TA_HARDWARE_A: u8 = 30;

/// How the residual is misreported (the transport's view; the data itself
/// is correct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResidualLie {
    /// Always reports residual 0 (the common ATTO/MegaRAID symptom).
    Zero,
    /// Reports that nothing was transferred.
    Full,
    /// Adds this many bytes to the true residual.
    Plus(usize),
}

impl ResidualLie {
    pub(crate) fn apply(self, true_residual: usize, requested: usize) -> usize {
        match self {
            ResidualLie::Zero => 0,
            ResidualLie::Full => requested,
            ResidualLie::Plus(n) => true_residual.saturating_add(n),
        }
    }
}

/// Faults armed on one drive. All default to off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Reading the record at these logical object numbers fails with
    /// MEDIUM ERROR 11/00 (unrecovered read error).
    #[serde(default)]
    pub read_error_at: BTreeSet<u64>,
    /// Writing at these logical object numbers fails with MEDIUM ERROR
    /// 0C/00 (write error).
    #[serde(default)]
    pub write_error_at: BTreeSet<u64>,
    /// Every medium command fails with HARDWARE ERROR and this ASC/ASCQ
    /// (e.g. 44/00 internal target failure, 3B/08 reposition error).
    #[serde(default)]
    pub hardware_error: Option<(u8, u8)>,
    /// Every medium command fails with NOT READY and this ASC/ASCQ.
    #[serde(default)]
    pub not_ready: Option<(u8, u8)>,
    /// The residual the transport reports is falsified.
    #[serde(default)]
    pub misreport_residual: Option<ResidualLie>,
    /// Mechanical delays (really slept, or run in the background with IMMED).
    #[serde(default, with = "millis")]
    pub load_delay: Duration,
    #[serde(default, with = "millis")]
    pub rewind_delay: Duration,
    #[serde(default, with = "millis")]
    pub locate_delay: Duration,
    #[serde(default, with = "millis")]
    pub space_delay: Duration,
    #[serde(default, with = "millis")]
    pub erase_delay: Duration,
    #[serde(default, with = "millis")]
    pub unload_delay: Duration,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
