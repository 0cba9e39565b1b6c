//! Opening `vtl:PATH#driveN` and `vtl:PATH#changer`. Parsing is
//! [`reel_drivers::address::DeviceAddress`]'s, shared by every reel tool.

use std::time::Duration;

use reel_drivers::address::{DeviceAddress, VtlTarget};
use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

use super::{LibraryError, VirtualLibrary, VtlChangerTransport, VtlTransport};

/// A device of an in-process VTL.
pub enum VtlDevice {
    Drive(VtlTransport),
    Changer(VtlChangerTransport),
}

impl ScsiTransport for VtlDevice {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        match self {
            VtlDevice::Drive(t) => t.execute(cdb, data, timeout),
            VtlDevice::Changer(t) => t.execute(cdb, data, timeout),
        }
    }

    fn max_transfer(&self) -> usize {
        match self {
            VtlDevice::Drive(t) => t.max_transfer(),
            VtlDevice::Changer(t) => t.max_transfer(),
        }
    }

    fn describe(&self) -> String {
        match self {
            VtlDevice::Drive(t) => t.describe(),
            VtlDevice::Changer(t) => t.describe(),
        }
    }
}

/// Opens the library named by `addr` and returns the transport to its
/// drive or changer; the library stays open (and locked) while it lives.
pub fn open_device(addr: &str) -> Result<VtlDevice, LibraryError> {
    let bad = || LibraryError::BadAddress(addr.to_string());
    let Ok(DeviceAddress::Vtl { dir, target }) = addr.parse::<DeviceAddress>() else {
        return Err(bad());
    };
    let lib = VirtualLibrary::open(&dir)?;
    match target {
        VtlTarget::Drive(n) => {
            let n = usize::try_from(n).map_err(|_| bad())?;
            Ok(VtlDevice::Drive(lib.drive_transport(n)?))
        }
        VtlTarget::Changer => Ok(VtlDevice::Changer(lib.changer_transport())),
    }
}
