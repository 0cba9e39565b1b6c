//! SPC: what every SCSI device type shares.

pub mod asc;
pub mod attributes;
pub mod bytes;
pub mod command;
pub mod error;
pub mod inquiry;
pub mod log;
pub mod luns;
pub mod mode;
pub mod opcodes;
pub mod rsoc;
pub mod sense;
pub mod transport;
