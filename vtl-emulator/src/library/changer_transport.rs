//! [`VtlChangerTransport`]: the in-process [`ScsiTransport`] to the
//! library's medium changer. Data goes straight between the caller's
//! buffer and the model.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::Shared;
use super::bay::LibraryBay;
use crate::drive::InitiatorId;

pub struct VtlChangerTransport {
    shared: Arc<Shared>,
    initiator: InitiatorId,
    max_transfer: usize,
    last_epoch: Option<u64>,
}

impl VtlChangerTransport {
    pub(crate) fn new(shared: Arc<Shared>) -> VtlChangerTransport {
        VtlChangerTransport {
            shared,
            initiator: 0,
            max_transfer: usize::MAX,
            last_epoch: None,
        }
    }

    /// Talks as initiator `id` (unit attentions are kept per initiator).
    pub fn with_initiator(mut self, id: InitiatorId) -> VtlChangerTransport {
        self.initiator = id;
        self
    }

    /// Emulates an HBA limit: larger transfers fail as SG_IO would.
    pub fn with_max_transfer(mut self, bytes: usize) -> VtlChangerTransport {
        self.max_transfer = bytes;
        self
    }
}

impl ScsiTransport for VtlChangerTransport {
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
            let mut ch = self.shared.lock_changer();
            let mut bay = LibraryBay {
                shared: &self.shared,
            };
            let resp = match data {
                DataDirection::None => ch.execute(self.initiator, cdb, &[], &mut [], &mut bay),
                DataDirection::ToDevice(out) => {
                    ch.execute(self.initiator, cdb, out, &mut [], &mut bay)
                }
                DataDirection::FromDevice(buf) => {
                    ch.execute(self.initiator, cdb, &[], buf, &mut bay)
                }
            };
            (resp, ch.state_epoch())
        };
        // Moves change the changer's epoch; READ ELEMENT STATUS does not.
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
        format!("vtl:{}#changer", self.shared.dir.display())
    }
}
