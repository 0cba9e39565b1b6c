//! The device layer of reeld: discovery, one worker thread per tape drive
//! and changer, health polling, alerts and operator down/up.
//!
//! - [`config`]: the `[devices]`, `[[library]]`, `[[device]]` and
//!   `[[storage]]` configuration.
//! - [`discovery`]: sysfs scan and configuration entries into plans.
//! - [`worker`]: the thread that owns a device's transport, and
//!   [`DeviceHandle`] to run operations on it (blocking or async).
//! - [`poll`]: one health poll (TEST UNIT READY, TapeAlert, element status).
//! - [`health`], [`alerts`]: the pure rules (what an answer means; flags
//!   into de-duplicated alerts).
//! - [`info`]: the snapshot types callers see.
//! - [`registry`]: [`Registry`], which ties it together.

pub mod alerts;
pub mod config;
pub mod discovery;
pub mod health;
pub mod info;
pub(crate) mod poll;
pub mod registry;
pub mod worker;

pub use alerts::{Alert, AlertCategory, AlertKey};
pub use config::DevicesConfig;
pub use discovery::{InquirySerial, NoSerial, SerialReader};
pub use info::{DeviceInfo, DeviceState, PollOutcome, RegistryEvent};
pub use registry::{Registry, RegistryOptions, RescanReport};
pub use worker::{Changer, DeviceHandle, Drive, Transport};

use crate::scheduler::device::DeviceKind;

/// Errors of the device registry.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no device {0:?}")]
    NoSuchDevice(String),
    #[error("{id} is a {}; it has no such operation", kind.singular())]
    WrongKind { id: String, kind: DeviceKind },
    #[error("{0} is down (taken out of service by the operator)")]
    Down(String),
    #[error("cannot open the device: {0}")]
    Open(String),
    #[error("the device is not open")]
    NotOpen,
    #[error("the worker of {0} has stopped")]
    Stopped(String),
    #[error("the operation on {0} did not finish (it panicked or the worker stopped)")]
    Aborted(String),
    #[error("cannot start a thread: {0}")]
    Spawn(String),
    #[error("{0}")]
    Config(#[from] config::ConfigError),
}
