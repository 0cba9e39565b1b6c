//! The SSC tape driver: one file per feature, pure CDB builders and
//! decoders apart from the code that issues commands ([`drive`]) and the
//! buffered record I/O ([`blocked`]).

pub mod block_limits;
pub mod density;
pub mod media;
pub mod position;
pub mod rw;
pub mod tape_alert;
pub mod timeouts;

pub use block_limits::BlockLimits;
pub use density::DensityDescriptor;
pub use position::{Position, SpaceKind};
pub use rw::{ReadOutcome, WriteStatus};
pub use tape_alert::{Severity, TapeAlertFlag, TapeAlerts};
pub use timeouts::Timeouts;
pub mod device_config;
pub mod drive;
pub mod identify;
pub mod mam;
pub mod seq_access;
pub mod volume_stats;

pub use drive::{DriveIdentity, DriveStatus, SpaceOutcome, TapeDrive};
pub mod blocked;

pub use blocked::{ReaderStop, TapeReader, TapeWriter};
