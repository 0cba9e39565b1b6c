//! Devices as the scheduler sees them: an id, a kind, a health and how many
//! jobs they run at once. The device registry fills these in.

/// Kind of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    TapeDrive,
    Changer,
    DiskStorage,
    DedupStore,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 4] = [
        DeviceKind::TapeDrive,
        DeviceKind::Changer,
        DeviceKind::DiskStorage,
        DeviceKind::DedupStore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::TapeDrive => "tape_drive",
            DeviceKind::Changer => "changer",
            DeviceKind::DiskStorage => "disk_storage",
            DeviceKind::DedupStore => "dedup_store",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Plural noun for messages ("all 2 drives of pool lto8 busy").
    pub fn plural(self) -> &'static str {
        match self {
            DeviceKind::TapeDrive => "drives",
            DeviceKind::Changer => "changers",
            DeviceKind::DiskStorage => "disk storages",
            DeviceKind::DedupStore => "dedup stores",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            DeviceKind::TapeDrive => "drive",
            DeviceKind::Changer => "changer",
            DeviceKind::DiskStorage => "disk storage",
            DeviceKind::DedupStore => "dedup store",
        }
    }
}

/// Health of a device as the registry last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Usable.
    Online,
    /// Not reachable (unplugged, powered off, path lost).
    Offline,
    /// Taken out of service by the operator ("drive down").
    Down,
    /// Failed a job (hardware TapeAlert, I/O errors) until an operator or
    /// a successful test brings it back.
    Failed,
}

impl Health {
    pub const ALL: [Health; 4] = [
        Health::Online,
        Health::Offline,
        Health::Down,
        Health::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Online => "online",
            Health::Offline => "offline",
            Health::Down => "down",
            Health::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Health> {
        Health::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// One device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    /// Stable id chosen by the registry, e.g. `lib1/drive0`, `disk0`.
    pub id: String,
    pub kind: DeviceKind,
    /// LTO generation of a tape drive.
    pub generation: Option<u8>,
    /// Changer device id a drive belongs to (where its cartridges are).
    pub library: Option<String>,
    pub health: Health,
    /// Jobs the device runs at once: 1 for tape drives, more for disks.
    pub max_jobs: u32,
}

impl Device {
    /// A tape drive of `library` with one job at a time.
    pub fn tape_drive(id: &str, library: &str, generation: u8) -> Device {
        Device {
            id: id.into(),
            kind: DeviceKind::TapeDrive,
            generation: Some(generation),
            library: Some(library.into()),
            health: Health::Online,
            max_jobs: 1,
        }
    }

    /// A disk storage or dedup store running up to `max_jobs` streams.
    pub fn store(id: &str, kind: DeviceKind, max_jobs: u32) -> Device {
        Device {
            id: id.into(),
            kind,
            generation: None,
            library: None,
            health: Health::Online,
            max_jobs,
        }
    }
}
