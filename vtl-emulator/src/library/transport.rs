//! [`VtlTransport`]: the in-process [`ScsiTransport`] to one virtual drive.
//! Data moves straight between the caller's buffer and the drive model (the
//! WRITE path hands the caller's slice to the cartridge without a copy).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::Shared;
use crate::drive::InitiatorId;

pub struct VtlTransport {
    shared: Arc<Shared>,
    drive: usize,
    initiator: InitiatorId,
    max_transfer: usize,
    last_epoch: Option<u64>,
}

impl VtlTransport {
    pub(crate) fn new(shared: Arc<Shared>, drive: usize) -> VtlTransport {
        VtlTransport {
            shared,
            drive,
            initiator: 0,
            max_transfer: usize::MAX,
            last_epoch: None,
        }
    }

    /// Talks as initiator `id` (unit attentions are kept per initiator).
    pub fn with_initiator(mut self, id: InitiatorId) -> VtlTransport {
        self.initiator = id;
        self
    }

    /// Emulates an HBA limit: larger transfers fail as SG_IO would.
    pub fn with_max_transfer(mut self, bytes: usize) -> VtlTransport {
        self.max_transfer = bytes;
        self
    }

    pub fn drive_index(&self) -> usize {
        self.drive
    }
}

impl ScsiTransport for VtlTransport {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let requested = data.len();
        if requested > self.max_transfer {
            return Err(TransportError::TooLarge {
                requested,
                max: self.max_transfer,
            });
        }
        let start = Instant::now();
        let (resp, epoch) = {
            let mut d = self
                .shared
                .lock_drive(self.drive)
                .map_err(|e| TransportError::Other(e.to_string()))?;
            let resp = match data {
                DataDirection::None => d.execute(self.initiator, cdb, &[], &mut []),
                DataDirection::ToDevice(out) => d.execute(self.initiator, cdb, out, &mut []),
                DataDirection::FromDevice(buf) => d.execute(self.initiator, cdb, &[], buf),
            };
            (resp, d.state_epoch())
        };
        // Persist what matters (loads, positions after filemarks, modes):
        // not on every READ/WRITE, which do not change the epoch.
        if self.last_epoch != Some(epoch) {
            self.last_epoch = Some(epoch);
            self.shared
                .save(false)
                .map_err(|e| TransportError::Other(format!("saving VTL state: {e}")))?;
        }
        if start.elapsed() > timeout {
            return Err(TransportError::Timeout(timeout));
        }
        Ok(Completion {
            status: resp.status,
            sense: resp.sense,
            residual: resp.residual,
        })
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }

    fn describe(&self) -> String {
        format!("vtl:{}#drive{}", self.shared.dir.display(), self.drive)
    }
}
