//! reel-drivers: the SCSI core, the transports and the SSC tape driver.
//!
//! Layout (one file per SCSI feature; pure builders/decoders apart from the
//! code that issues commands):
//! - [`scsi`]: CDB builders and decoders shared by every device type, sense
//!   decoding, the error type and the [`ScsiTransport`] trait.
//! - [`sg`]: the Linux SG_IO transport and sysfs device resolution.
//! - [`tape`]: the SSC tape driver (commands, positions, buffered I/O).
//! - [`address`]: the device addressing scheme shared by every tool.

pub mod address;
pub mod disk;
pub mod iscsi;
pub mod scsi;
pub mod sg;
pub mod tape;

pub use scsi::error::{ErrorClass, ScsiError};
pub use scsi::sense::{Sense, SenseKey};
pub use scsi::transport::{Completion, DataDirection, ScsiStatus, ScsiTransport, TransportError};
