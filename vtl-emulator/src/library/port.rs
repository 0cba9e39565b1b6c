//! What the drive and changer transports share: the initiator they speak
//! as, an emulated HBA transfer limit, and saving the library's state when
//! a command changed it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reel_drivers::scsi::transport::{Completion, DataDirection, TransportError};

use super::Shared;
use crate::drive::{InitiatorId, Response};

pub(crate) struct Port {
    pub(crate) shared: Arc<Shared>,
    pub(crate) initiator: InitiatorId,
    pub(crate) max_transfer: usize,
    last_epoch: Option<u64>,
}

impl Port {
    pub(crate) fn new(shared: Arc<Shared>) -> Port {
        Port {
            shared,
            initiator: 0,
            max_transfer: usize::MAX,
            last_epoch: None,
        }
    }

    /// Runs one command through `model` (the device model's execute, called
    /// with the data-out and data-in buffers, returning its response and
    /// its state epoch). Data moves straight from/to the caller's buffer.
    pub(crate) fn run(
        &mut self,
        data: DataDirection<'_>,
        timeout: Duration,
        model: impl FnOnce(
            &Shared,
            InitiatorId,
            &[u8],
            &mut [u8],
        ) -> Result<(Response, u64), TransportError>,
    ) -> Result<Completion, TransportError> {
        let requested = data.len();
        if requested > self.max_transfer {
            return Err(TransportError::TooLarge {
                requested,
                max: self.max_transfer,
            });
        }
        let start = Instant::now();
        let (resp, epoch) = match data {
            DataDirection::None => model(&self.shared, self.initiator, &[], &mut []),
            DataDirection::ToDevice(out) => model(&self.shared, self.initiator, out, &mut []),
            DataDirection::FromDevice(buf) => model(&self.shared, self.initiator, &[], buf),
        }?;
        // Persist what matters (loads, moves, positions after filemarks,
        // modes): not on every READ/WRITE, which leave the epoch alone.
        if self.last_epoch != Some(epoch) {
            self.last_epoch = Some(epoch);
            self.shared
                .save(false)
                .map_err(|e| TransportError::Other(format!("saving VTL state: {e}")))?;
        }
        // A model with mechanical delays can outlast the caller's timeout.
        if start.elapsed() > timeout {
            return Err(TransportError::Timeout(timeout));
        }
        Ok(Completion {
            status: resp.status,
            sense: resp.sense,
            residual: resp.residual,
        })
    }
}
