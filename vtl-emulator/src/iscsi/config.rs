//! `reel-vtl serve` configuration (TOML). See `reel-vtl.example.toml`.
//!
//! ```toml
//! listen = "127.0.0.1:3260"          # optional; --listen overrides
//! library = "lib"                    # relative to this file; created if absent
//!
//! [[target]]
//! iqn = "iqn.2025-01.org.reel:vtl"
//! luns = { 1 = "drive0", 2 = "changer" }
//! # chap = { user = "u", secret = "0123456789ab" }            # one-way
//! # chap = { user = "u", secret = "s", mutual_user = "t", mutual_secret = "m" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3260";

/// What a LUN maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LunDevice {
    Drive(usize),
    Changer,
}

impl LunDevice {
    pub fn parse(s: &str) -> Result<LunDevice, String> {
        let t = s.trim();
        if t == "changer" {
            return Ok(LunDevice::Changer);
        }
        t.strip_prefix("drive")
            .map(str::trim)
            .and_then(|n| n.parse().ok())
            .map(LunDevice::Drive)
            .ok_or_else(|| format!("LUN device {s:?}: expected \"driveN\" or \"changer\""))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapConfig {
    /// The name and secret the initiator must answer with.
    pub user: String,
    pub secret: String,
    /// What the target answers with when the initiator asks (mutual CHAP).
    pub mutual_user: Option<String>,
    pub mutual_secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    iqn: String,
    alias: Option<String>,
    #[serde(default)]
    luns: BTreeMap<String, String>,
    chap: Option<ChapConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    library: PathBuf,
    nop_interval_secs: Option<u64>,
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    pub iqn: String,
    pub alias: Option<String>,
    pub luns: BTreeMap<u16, LunDevice>,
    pub chap: Option<ChapConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    pub listen: String,
    /// Absolute, or relative to the config file's directory.
    pub library: PathBuf,
    pub targets: Vec<TargetConfig>,
    /// After this long without a PDU from an initiator in full feature
    /// phase, the target pings it with a NOP-In; a connection whose ping
    /// stays unanswered for another interval is closed. 0 disables it.
    pub nop_interval: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Bad { path: PathBuf, detail: String },
}

impl ServeConfig {
    /// Parses config text; `base` resolves a relative library path.
    pub fn parse(text: &str, base: &Path) -> Result<ServeConfig, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if raw.target.is_empty() {
            return Err("no [[target]]".into());
        }
        let mut targets = Vec::new();
        for t in raw.target {
            if !t.iqn.starts_with("iqn.")
                && !t.iqn.starts_with("eui.")
                && !t.iqn.starts_with("naa.")
            {
                return Err(format!(
                    "target name {:?}: not an iqn./eui./naa. name",
                    t.iqn
                ));
            }
            if targets
                .iter()
                .any(|o: &TargetConfig| o.iqn.eq_ignore_ascii_case(&t.iqn))
            {
                return Err(format!("target {} listed twice", t.iqn));
            }
            if let Some(c) = &t.chap
                && c.mutual_user.is_some() != c.mutual_secret.is_some()
            {
                return Err(format!(
                    "target {}: mutual_user and mutual_secret go together",
                    t.iqn
                ));
            }
            let mut luns = BTreeMap::new();
            for (k, v) in &t.luns {
                let lun: u16 = k
                    .parse()
                    .ok()
                    .filter(|n| *n < 16384)
                    .ok_or_else(|| format!("target {}: LUN {k:?} is not 0..16383", t.iqn))?;
                luns.insert(lun, LunDevice::parse(v)?);
            }
            targets.push(TargetConfig {
                iqn: t.iqn.to_ascii_lowercase(),
                alias: t.alias,
                luns,
                chap: t.chap,
            });
        }
        Ok(ServeConfig {
            listen: raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            library: base.join(raw.library),
            targets,
            nop_interval: std::time::Duration::from_secs(raw.nop_interval_secs.unwrap_or(30)),
        })
    }

    pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        ServeConfig::parse(&text, base).map_err(|detail| ConfigError::Bad {
            path: path.to_path_buf(),
            detail,
        })
    }

    pub fn target(&self, iqn: &str) -> Option<&TargetConfig> {
        self.targets
            .iter()
            .find(|t| t.iqn.eq_ignore_ascii_case(iqn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_example() {
        let text = include_str!("../../reel-vtl.example.toml");
        let c = ServeConfig::parse(text, Path::new("/etc/reel")).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3260");
        assert_eq!(c.targets.len(), 1);
        let t = &c.targets[0];
        assert_eq!(t.luns.get(&1), Some(&LunDevice::Drive(0)));
        assert_eq!(t.luns.get(&2), Some(&LunDevice::Changer));
        assert!(c.library.starts_with("/etc/reel"));
        assert_eq!(c.nop_interval, std::time::Duration::from_secs(30));
        let off = ServeConfig::parse(
            &text.replace("nop_interval_secs = 30", "nop_interval_secs = 0"),
            Path::new("/"),
        )
        .unwrap();
        assert!(off.nop_interval.is_zero());
    }

    #[test]
    fn rejects_bad() {
        let base = Path::new("/");
        assert!(ServeConfig::parse("library = \"x\"\n", base).is_err());
        let bad_lun = "library = \"x\"\n[[target]]\niqn = \"iqn.a:b\"\nluns = { x = \"drive0\" }\n";
        assert!(ServeConfig::parse(bad_lun, base).is_err());
        let bad_dev = "library = \"x\"\n[[target]]\niqn = \"iqn.a:b\"\nluns = { 1 = \"tape\" }\n";
        assert!(ServeConfig::parse(bad_dev, base).is_err());
        let half = "library = \"x\"\n[[target]]\niqn = \"iqn.a:b\"\nchap = { user = \"u\", secret = \"s\", mutual_user = \"t\" }\n";
        assert!(ServeConfig::parse(half, base).is_err());
        let ok = "library = \"x\"\nlisten = \"0.0.0.0:3261\"\n[[target]]\niqn = \"iqn.A:B\"\nluns = { 0 = \"drive 3\" }\n";
        let c = ServeConfig::parse(ok, base).unwrap();
        assert_eq!(c.listen, "0.0.0.0:3261");
        assert_eq!(c.targets[0].iqn, "iqn.a:b");
        assert_eq!(c.targets[0].luns.get(&0), Some(&LunDevice::Drive(3)));
    }
}
