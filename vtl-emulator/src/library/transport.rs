//! [`VtlTransport`]: the in-process [`ScsiTransport`] to one virtual drive.
//! Data moves straight between the caller's buffer and the drive model (the
//! WRITE path hands the caller's slice to the cartridge without a copy).

use std::sync::Arc;
use std::time::Duration;

use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::Shared;
use super::port::Port;
use crate::drive::InitiatorId;

pub struct VtlTransport {
    port: Port,
    drive: usize,
}

impl VtlTransport {
    pub(crate) fn new(shared: Arc<Shared>, drive: usize) -> VtlTransport {
        VtlTransport {
            port: Port::new(shared),
            drive,
        }
    }

    /// Talks as initiator `id` (unit attentions are kept per initiator).
    pub fn with_initiator(mut self, id: InitiatorId) -> VtlTransport {
        self.port.initiator = id;
        self
    }

    /// Emulates an HBA limit: larger transfers fail as SG_IO would.
    pub fn with_max_transfer(mut self, bytes: usize) -> VtlTransport {
        self.port.max_transfer = bytes;
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
        let n = self.drive;
        self.port.run(data, timeout, |shared, initiator, out, buf| {
            let mut d = shared
                .lock_drive(n)
                .map_err(|e| TransportError::Other(e.to_string()))?;
            let resp = d.execute(initiator, cdb, out, buf);
            Ok((resp, d.state_epoch()))
        })
    }

    fn max_transfer(&self) -> usize {
        self.port.max_transfer
    }

    fn describe(&self) -> String {
        format!("vtl:{}#drive{}", self.port.shared.dir.display(), self.drive)
    }
}
