//! [`VtlChangerTransport`]: the in-process [`ScsiTransport`] to the
//! library's medium changer. Data goes straight between the caller's
//! buffer and the model.

use std::sync::Arc;
use std::time::Duration;

use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::Shared;
use super::bay::LibraryBay;
use super::port::Port;
use crate::drive::InitiatorId;

pub struct VtlChangerTransport {
    port: Port,
}

impl VtlChangerTransport {
    pub(crate) fn new(shared: Arc<Shared>) -> VtlChangerTransport {
        VtlChangerTransport {
            port: Port::new(shared),
        }
    }

    /// Talks as initiator `id` (unit attentions are kept per initiator).
    pub fn with_initiator(mut self, id: InitiatorId) -> VtlChangerTransport {
        self.port.initiator = id;
        self
    }

    /// Emulates an HBA limit: larger transfers fail as SG_IO would.
    pub fn with_max_transfer(mut self, bytes: usize) -> VtlChangerTransport {
        self.port.max_transfer = bytes;
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
        self.port.run(data, timeout, |shared, initiator, out, buf| {
            let mut ch = shared.lock_changer();
            // The robot reaches the drives through the library.
            let mut bay = LibraryBay { shared };
            let resp = ch.execute(initiator, cdb, out, buf, &mut bay);
            Ok((resp, ch.state_epoch()))
        })
    }

    fn max_transfer(&self) -> usize {
        self.port.max_transfer
    }

    fn describe(&self) -> String {
        format!("vtl:{}#changer", self.port.shared.dir.display())
    }
}
