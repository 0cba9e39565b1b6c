//! The devices part of the reeld configuration (TOML):
//!
//! ```toml
//! [devices]
//! sysfs = true                 # scan /sys for tape drives and changers
//! poll_interval_secs = 60
//!
//! [[library]]                  # a VTL directory: its changer and all drives
//! address = "vtl:/srv/reel/vtl"
//!
//! [[library]]                  # a changer and its drives over iSCSI
//! id = "lib2"
//! address = "iscsi://10.0.0.5/iqn.2025-01.org.example:lib/1"
//! drives = ["iscsi://10.0.0.5/iqn.2025-01.org.example:lib/2"]
//!
//! [[device]]                   # one drive; matched to a library by serial
//! address = "vtl:/srv/reel/vtl2#drive0"
//! library = "vtl:/srv/reel/vtl2"   # a library's id or address
//!
//! [[storage]]
//! id = "disk0"
//! kind = "disk"                # or "dedup"
//! path = "/srv/reel/disk0"
//! max_jobs = 4
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("device configuration: {0}")]
    Parse(#[from] toml::de::Error),
}

/// Global discovery and polling settings (`[devices]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesSection {
    /// Scan sysfs for SCSI tape drives and changers.
    #[serde(default = "yes")]
    pub sysfs: bool,
    /// Seconds between health polls of an idle device.
    #[serde(default = "default_interval")]
    pub poll_interval_secs: u64,
    /// Read TapeAlert from page 2Eh, which clears the flags on most drives,
    /// instead of 12h. Only for drives without page 12h (detected anyway).
    #[serde(default)]
    pub clearing_tape_alert: bool,
}

fn yes() -> bool {
    true
}

fn default_interval() -> u64 {
    60
}

impl Default for DevicesSection {
    fn default() -> Self {
        DevicesSection {
            sysfs: true,
            poll_interval_secs: default_interval(),
            clearing_tape_alert: false,
        }
    }
}

/// A library: a VTL directory (`vtl:DIR`), or a changer address with its
/// drives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryEntry {
    /// Registry id; `libN` in configuration order when absent.
    pub id: Option<String>,
    pub address: String,
    /// Drive addresses (not for `vtl:DIR`, whose drives are all taken).
    #[serde(default)]
    pub drives: Vec<String>,
}

/// One drive (or a changer, with `kind = "changer"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    pub id: Option<String>,
    pub address: String,
    #[serde(default)]
    pub kind: EntryKind,
    /// A library id or address: the drive is matched to its elements.
    pub library: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    #[default]
    TapeDrive,
    Changer,
}

/// A disk storage or dedup store (other modules implement them; the
/// registry lists them and watches their path).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageEntry {
    pub id: String,
    pub kind: StorageKind,
    pub path: PathBuf,
    /// Concurrent jobs; 4 when absent.
    pub max_jobs: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    Disk,
    Dedup,
}

/// Everything the registry reads from the configuration. Embeddable in a
/// larger configuration file (the keys are top-level tables).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DevicesConfig {
    #[serde(default)]
    pub devices: DevicesSection,
    #[serde(default, rename = "library")]
    pub libraries: Vec<LibraryEntry>,
    #[serde(default, rename = "device")]
    pub device_entries: Vec<DeviceEntry>,
    #[serde(default, rename = "storage")]
    pub storages: Vec<StorageEntry>,
}

impl DevicesConfig {
    pub fn parse(text: &str) -> Result<DevicesConfig, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    pub fn load(path: &Path) -> Result<DevicesConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        DevicesConfig::parse(&text)
    }

    /// No sysfs scan, nothing configured (tests add what they need).
    pub fn empty() -> DevicesConfig {
        DevicesConfig {
            devices: DevicesSection {
                sysfs: false,
                ..DevicesSection::default()
            },
            ..DevicesConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example() {
        let c = DevicesConfig::parse(
            r#"
[devices]
sysfs = false
poll_interval_secs = 5

[[library]]
address = "vtl:/srv/vtl"

[[library]]
id = "lib2"
address = "iscsi://10.0.0.5/iqn.2025-01.org.example:lib/1"
drives = ["iscsi://10.0.0.5/iqn.2025-01.org.example:lib/2"]

[[device]]
address = "vtl:/srv/vtl2#drive0"
library = "vtl:/srv/vtl2"

[[device]]
id = "ch9"
address = "/dev/sch0"
kind = "changer"

[[storage]]
id = "disk0"
kind = "disk"
path = "/srv/disk0"
max_jobs = 2

[[storage]]
id = "dd"
kind = "dedup"
path = "/srv/dd"
"#,
        )
        .unwrap();
        assert!(!c.devices.sysfs);
        assert_eq!(c.devices.poll_interval_secs, 5);
        assert_eq!(c.libraries.len(), 2);
        assert_eq!(c.libraries[0].id, None);
        assert_eq!(c.libraries[1].drives.len(), 1);
        assert_eq!(c.device_entries[0].kind, EntryKind::TapeDrive);
        assert_eq!(
            c.device_entries[0].library.as_deref(),
            Some("vtl:/srv/vtl2")
        );
        assert_eq!(c.device_entries[1].kind, EntryKind::Changer);
        assert_eq!(c.storages[0].kind, StorageKind::Disk);
        assert_eq!(c.storages[1].max_jobs, None);
    }

    #[test]
    fn defaults_and_errors() {
        let c = DevicesConfig::parse("").unwrap();
        assert!(c.devices.sysfs);
        assert_eq!(c.devices.poll_interval_secs, 60);
        assert!(c.libraries.is_empty());
        let e = DevicesConfig::parse("[[storage]]\nid = \"x\"\nkind = \"tape\"\npath = \"/\"")
            .unwrap_err();
        assert!(e.to_string().contains("tape"), "{e}");
        assert!(DevicesConfig::parse("[devices]\nbogus = 1").is_err());
        assert!(DevicesConfig::parse("[[device]]\nid = \"x\"").is_err());
    }
}
