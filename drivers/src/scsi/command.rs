//! Runs one CDB through a transport and turns the outcome into
//! `Result<_, ScsiError>`: the single place where status and sense are
//! classified, for every transport and every device type.

use std::time::Duration;

use super::error::ScsiError;
use super::sense::Sense;
use super::transport::{DataDirection, ScsiStatus, ScsiTransport};

/// A successful command: how many bytes moved, and any sense data the device
/// attached to a GOOD-equivalent outcome (none today; kept for RECOVERED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub transferred: usize,
}

/// Executes `cdb`; CHECK CONDITION becomes [`ScsiError::Check`]. Refuses
/// transfers above the transport's limit before sending anything.
pub fn run(
    t: &mut dyn ScsiTransport,
    op: &'static str,
    cdb: &[u8],
    data: DataDirection<'_>,
    timeout: Duration,
) -> Result<Outcome, ScsiError> {
    let requested = data.len();
    let max = t.max_transfer();
    if requested > max {
        return Err(ScsiError::Transport {
            op,
            source: super::transport::TransportError::TooLarge { requested, max },
        });
    }
    tracing::trace!(op, cdb = ?cdb, len = requested, "scsi command");
    let c = t
        .execute(cdb, data, timeout)
        .map_err(|source| ScsiError::Transport { op, source })?;
    match c.status {
        ScsiStatus::GOOD | ScsiStatus::CONDITION_MET => Ok(Outcome {
            transferred: requested.saturating_sub(c.residual),
        }),
        ScsiStatus::CHECK_CONDITION => match Sense::parse(&c.sense) {
            Ok(sense) => Err(ScsiError::Check {
                op,
                sense,
                raw: c.sense,
            }),
            Err(_) => Err(ScsiError::BadSense { op, raw: c.sense }),
        },
        status => Err(ScsiError::Status { op, status }),
    }
}
