//! `reeld.toml`, the daemon's configuration in its data directory: the
//! device registry's sections ([`DevicesConfig`]: `[devices]`,
//! `[[library]]`, `[[device]]`, `[[storage]]`) plus `[server]`,
//! `[[pool]]`, `[[media_set]]` and `[[barcode_rule]]`. With none, the
//! daemon writes the demo host's: an embedded VTL library, one disk
//! storage, one dedup store, a tape pool, a disk pool and a media set.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::devices::DevicesConfig;
use crate::devices::config::StorageKind;

pub const FILE: &str = "reeld.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7350";
pub const DEFAULT_HTTP: &str = "127.0.0.1:7351";

/// Top-level keys; anything else is refused (the device sections refuse
/// unknown keys inside themselves).
const KEYS: [&str; 8] = [
    "server",
    "devices",
    "library",
    "device",
    "storage",
    "pool",
    "media_set",
    "barcode_rule",
];

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub server: ServerSection,
    /// What the device registry serves.
    #[serde(flatten)]
    pub devices: DevicesConfig,
    #[serde(default)]
    pub pool: Vec<PoolSection>,
    #[serde(default)]
    pub media_set: Vec<MediaSetSection>,
    #[serde(default)]
    pub barcode_rule: Vec<BarcodeRuleSection>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// gRPC address (command line `--listen` wins).
    pub listen: Option<String>,
    /// HTTP address for /metrics and /healthz (`--http` wins).
    pub http: Option<String>,
    /// Spool streamed backups under DATA/spool (default true): a device
    /// failure mid-stream then fails over to another pool member, the
    /// stream replayed from the spool. Off (or `reeld --no-spool`): one
    /// write of the data less on this host, and such a failure fails the
    /// job (the client sends again), as with Bacula's SpoolData = no.
    pub spool: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSection {
    pub name: String,
    /// Device ids (`lib1/drive0`, `disk0`).
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSetSection {
    pub name: String,
    pub media_type: Option<String>,
    pub append_secs: i64,
    pub protect_secs: i64,
}

/// Barcode prefix → media type and media set (`cleaning` for CLN-like
/// prefixes of other vendors).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarcodeRuleSection {
    pub prefix: String,
    pub media_type: String,
    pub media_set: Option<String>,
    #[serde(default)]
    pub cleaning: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Parse { path: PathBuf, detail: String },
}

/// The demo host's configuration file, as written on first start.
pub const DEMO: &str = r#"# reeld configuration (written by the demo set-up; edit freely).
# Relative paths resolve against the data directory.

[devices]
# The demo serves its own VTL only: a CI machine's real drives stay untouched.
sysfs = false
poll_interval_secs = 60

# The embedded virtual library: 4 LTO-8 drives, 50 slots, 4 mail slots.
[[library]]
id = "lib1"
address = "vtl:vtl/lib1"

[[storage]]
id = "disk0"
kind = "disk"
path = "disk0"

[[storage]]
id = "dedup0"
kind = "dedup"
path = "dedup0"

[[pool]]
name = "lto8"
members = ["lib1/drive0", "lib1/drive1", "lib1/drive2", "lib1/drive3"]

[[pool]]
name = "disk"
members = ["disk0"]

[[pool]]
name = "dedup"
members = ["dedup0"]

[[media_set]]
name = "default"
media_type = "LTO-8"
append_secs = 86400
protect_secs = 604800
"#;

impl Config {
    /// The demo host.
    pub fn demo() -> Config {
        // DEMO is a constant checked by the tests; an error here would be
        // a bug in it, so fall back to an empty configuration.
        Config::parse(DEMO, Path::new(FILE)).unwrap_or_default()
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let bad = |detail: String| ConfigError::Parse {
            path: path.to_path_buf(),
            detail,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if let Some(k) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(bad(format!(
                "unknown section {k:?} (known: {})",
                KEYS.join(", ")
            )));
        }
        toml::from_str(text).map_err(|e| bad(e.to_string()))
    }

    /// Loads `path`; None when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(Some(Config::parse(&t, path)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the demo configuration to `path`.
    pub fn write_demo(path: &Path) -> Result<(), ConfigError> {
        std::fs::write(path, DEMO).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The registry's part with relative `vtl:` directories and storage
    /// paths resolved against `data_dir`.
    pub fn resolved_devices(&self, data_dir: &Path) -> DevicesConfig {
        let mut d = self.devices.clone();
        for l in &mut d.libraries {
            l.address = resolve_vtl(&l.address, data_dir);
            for a in &mut l.drives {
                *a = resolve_vtl(a, data_dir);
            }
        }
        for e in &mut d.device_entries {
            e.address = resolve_vtl(&e.address, data_dir);
            if let Some(l) = &mut e.library {
                *l = resolve_vtl(l, data_dir);
            }
        }
        for s in &mut d.storages {
            s.path = data_dir.join(&s.path);
        }
        d
    }

    /// The `vtl:DIR` libraries (resolved), by registry id.
    pub fn vtl_dirs(&self, data_dir: &Path) -> Vec<(String, PathBuf)> {
        self.resolved_devices(data_dir)
            .libraries
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let dir = l.address.strip_prefix("vtl:")?;
                if dir.contains('#') {
                    return None;
                }
                let id = l.id.clone().unwrap_or_else(|| format!("lib{}", i + 1));
                Some((id, PathBuf::from(dir)))
            })
            .collect()
    }

    /// Storage directories (resolved) of `kind`.
    pub fn storage_dirs(&self, data_dir: &Path, kind: StorageKind) -> Vec<(String, PathBuf)> {
        self.devices
            .storages
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| (s.id.clone(), data_dir.join(&s.path)))
            .collect()
    }
}

/// `vtl:rel/dir[#target]` → `vtl:DATA/rel/dir[#target]`; other addresses
/// unchanged.
fn resolve_vtl(address: &str, data_dir: &Path) -> String {
    match address.strip_prefix("vtl:") {
        Some(rest) if !Path::new(rest).is_absolute() => {
            format!("vtl:{}", data_dir.join(rest).display())
        }
        _ => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::config::StorageKind;

    #[test]
    fn demo_parses_and_unknown_keys_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE);
        assert!(Config::load(&p).unwrap().is_none());
        Config::write_demo(&p).unwrap();
        let c = Config::load(&p).unwrap().unwrap();
        assert_eq!(c, Config::demo());
        assert!(!c.devices.devices.sysfs);
        assert_eq!(c.devices.libraries[0].id.as_deref(), Some("lib1"));
        assert_eq!(c.devices.storages[1].kind, StorageKind::Dedup);
        assert_eq!(c.pool[0].members.len(), 4);
        assert_eq!(c.media_set[0].protect_secs, 604_800);

        let e = Config::parse("[server]\nlisten = \"x\"\nbogus = 1\n", &p).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = Config::parse("[[disk_storage]]\nid = \"x\"\n", &p).unwrap_err();
        assert!(e.to_string().contains("disk_storage"), "{e}");
        let e = Config::parse("[devices]\nbogus = 1\n", &p).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let c = Config::parse(
            "[[barcode_rule]]\nprefix = \"RL\"\nmedia_type = \"LTO-8\"\n",
            &p,
        )
        .unwrap();
        assert!(c.pool.is_empty());
        assert!(c.devices.devices.sysfs, "sysfs defaults to on");
        assert!(!c.barcode_rule[0].cleaning);
        assert_eq!(c.server.spool, None, "spooling is on unless turned off");
        let c = Config::parse("[server]\nspool = false\n", &p).unwrap();
        assert_eq!(c.server.spool, Some(false));
        let e = Config::parse("[server]\nspool = \"no\"\n", &p).unwrap_err();
        assert!(e.to_string().contains("spool"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_data_dir() {
        let c = Config::parse(
            "[[library]]\naddress = \"vtl:v/l\"\n\
             [[library]]\nid = \"abs\"\naddress = \"vtl:/srv/vtl\"\n\
             [[library]]\naddress = \"/dev/sch0\"\n\
             [[device]]\naddress = \"vtl:v/m#drive0\"\nlibrary = \"vtl:v/m\"\n\
             [[storage]]\nid = \"d\"\nkind = \"disk\"\npath = \"d0\"\n",
            Path::new(FILE),
        )
        .unwrap();
        let r = c.resolved_devices(Path::new("/data"));
        assert_eq!(r.libraries[0].address, "vtl:/data/v/l");
        assert_eq!(r.libraries[1].address, "vtl:/srv/vtl");
        assert_eq!(r.libraries[2].address, "/dev/sch0");
        assert_eq!(r.device_entries[0].address, "vtl:/data/v/m#drive0");
        assert_eq!(
            r.device_entries[0].library.as_deref(),
            Some("vtl:/data/v/m")
        );
        assert_eq!(r.storages[0].path, PathBuf::from("/data/d0"));
        assert_eq!(
            c.vtl_dirs(Path::new("/data")),
            vec![
                ("lib1".to_string(), PathBuf::from("/data/v/l")),
                ("abs".to_string(), PathBuf::from("/srv/vtl")),
            ]
        );
    }
}
