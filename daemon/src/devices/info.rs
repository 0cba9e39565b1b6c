//! What the registry shows: a snapshot of each device, its state, and the
//! events it sends when something changes.

use std::fmt;

use crate::scheduler::device::{Device, DeviceKind, Health};

use super::alerts::Alert;

/// The state of a device as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Answering and idle (or waiting for a job).
    Online,
    /// Not answering, or answering with a hardware failure.
    Offline,
    /// Taken out of service by the operator; it keeps its last health.
    Down,
    /// Running (or about to run) a job's operation; not polled meanwhile.
    Busy,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Online => "online",
            DeviceState::Offline => "offline",
            DeviceState::Down => "down",
            DeviceState::Busy => "busy",
        }
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One device as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// Stable id: `lib1`, `lib1/drive0`, `drive-SERIAL`, `disk0`.
    pub id: String,
    pub kind: DeviceKind,
    /// How it is reached: `/dev/sg3`, `vtl:DIR#drive0`, `iscsi://...`, or
    /// the directory of a disk storage or dedup store.
    pub address: String,
    pub vendor: String,
    pub model: String,
    pub serial: Option<String>,
    /// LTO generation of a tape drive.
    pub generation: Option<u8>,
    /// Id of the library (changer) a drive belongs to.
    pub library: Option<String>,
    /// The drive's data transfer element address in that library.
    pub element: Option<u16>,
    /// The drive's number in that library (from 0).
    pub drive_number: Option<usize>,
    pub state: DeviceState,
    /// The job whose operation keeps the device busy.
    pub busy_job: Option<String>,
    /// Health last observed, whatever the operator did: online or offline.
    pub online: bool,
    /// Why the device is offline, or the last passing condition.
    pub detail: Option<String>,
    /// Barcode of the cartridge in a drive.
    pub loaded: Option<String>,
    /// Unix seconds of the last completed poll.
    pub last_poll: Option<u64>,
    pub alerts: Vec<Alert>,
    /// Concurrent jobs: 1 for tape devices.
    pub max_jobs: u32,
}

impl DeviceInfo {
    /// The one-line status an operator reads: "online", "busy (job 42)",
    /// "offline: ...", "down (was online)".
    pub fn status_text(&self) -> String {
        match self.state {
            DeviceState::Busy => format!(
                "busy (job {})",
                self.busy_job.as_deref().unwrap_or("unknown")
            ),
            DeviceState::Offline => match &self.detail {
                Some(d) => format!("offline: {d}"),
                None => "offline".into(),
            },
            DeviceState::Down => format!(
                "down (was {})",
                if self.online { "online" } else { "offline" }
            ),
            DeviceState::Online => "online".into(),
        }
    }

    /// The scheduler's health of this device.
    pub fn health(&self) -> Health {
        match self.state {
            DeviceState::Online | DeviceState::Busy => Health::Online,
            DeviceState::Offline => Health::Offline,
            DeviceState::Down => Health::Down,
        }
    }

    /// The device as the scheduler registers it.
    pub fn sched_device(&self) -> Device {
        Device {
            id: self.id.clone(),
            kind: self.kind,
            generation: self.generation,
            library: self.library.clone(),
            health: self.health(),
            max_jobs: self.max_jobs,
        }
    }
}

/// Something changed; sent to every [`super::Registry::subscribe`]r.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryEvent {
    /// The scheduler's health of a device changed (feed it to
    /// `Scheduler::set_health`).
    Health {
        device: String,
        health: Health,
    },
    AlertRaised(Alert),
    AlertCleared(Alert),
    /// A rescan found a new device.
    Added(String),
}

/// What one poll round did to a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollOutcome {
    /// Polled; the snapshot holds the result.
    Polled,
    /// Skipped: a job's operation holds the device.
    Busy { job: String },
    /// Skipped: taken down by the operator.
    Down,
    /// Skipped: a sysfs device the last scan did not find.
    Missing,
    /// Queued but not answered in time (the previous poll still runs).
    Pending,
}
