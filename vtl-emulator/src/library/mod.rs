//! A VTL directory that persists between processes: the library's make-up
//! (`library.toml`, see [`config`] for the format and an example; or the
//! foundation's `library.json`, drives only, which opens with the default
//! robotics: 50 slots, 4 mail slots), cartridges (one directory each under
//! `cartridges/`) and the state (`state.json`: which cartridge is in which
//! slot, mail slot or drive and where it came from, door and mail slot
//! state, the drives' positions, block size, compression, prevent flags,
//! faults).
//!
//! Element addresses (defaults, configurable in `[elements]`): the picker
//! 0x0001, drives 0x0100.., mail slots 0x0300.., storage slots 0x0400.. .
//! In `library.toml` slots and mail slots are numbered from 1 (as mtx
//! prints them); in the Rust API ([`Location`]) indices start at 0.
//!
//! Two SCSI devices are served in-process: each drive
//! ([`VirtualLibrary::drive_transport`], `vtl:PATH#driveN`) and the medium
//! changer ([`VirtualLibrary::changer_transport`], `vtl:PATH#changer`),
//! whose robot moves cartridges in and out of the drive models.
//!
//! A tool opens the library for one command at a time, as `mt` opens
//! `/dev/nst0`; an exclusive `flock` on `lock` keeps two processes from
//! driving it at once. `state.json` is replaced atomically (temp file,
//! fsync, rename, directory fsync) whenever state that matters changes and
//! on close. A process that dies with the library open leaves
//! `clean: false`; the next open treats that as a power cycle (unit
//! attention 29/00 for everyone, tapes at BOP).

mod address;
mod bay;
mod changer_transport;
pub mod config;
mod port;
mod transport;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::cartridge::{Cartridge, CartridgeError, CartridgeSpec, Generation};
use crate::changer::{Changer, ChangerState, Location, Medium, MediumKind, OperatorError};
use crate::drive::{Drive, DriveConfig, DriveError, DriveSettings, Faults, MediumState};

pub use address::{VtlDevice, open_device};
pub use changer_transport::VtlChangerTransport;
pub use config::LibrarySpec;
pub use reel_drivers::address::{DeviceAddress, VtlTarget};
pub use transport::VtlTransport;

const CONFIG_FILE: &str = "library.json";
const TOML_FILE: &str = "library.toml";
const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";

/// What a library is made of (`library.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryConfig {
    pub drives: Vec<DriveConfig>,
    /// Where cartridges live, relative to the library directory.
    #[serde(default = "default_cartridges_dir")]
    pub cartridges_dir: PathBuf,
}

fn default_cartridges_dir() -> PathBuf {
    PathBuf::from("cartridges")
}

impl LibraryConfig {
    /// One IBM drive of generation `g`.
    pub fn single_drive(g: Generation) -> LibraryConfig {
        LibraryConfig {
            drives: vec![DriveConfig::ibm(g, "VTL0000001")],
            cartridges_dir: default_cartridges_dir(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: library is in use by another process{}", pid.map(|p| format!(" (PID {p})")).unwrap_or_default())]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error("{path}: {detail}")]
    BadFile { path: PathBuf, detail: String },
    #[error("{0}: a library already exists there")]
    AlreadyExists(PathBuf),
    #[error("no drive {0} in this library")]
    NoSuchDrive(usize),
    #[error("no cartridge with barcode {0:?}")]
    NoSuchCartridge(String),
    #[error("cartridge {barcode} is in drive {drive}")]
    CartridgeInUse { barcode: String, drive: usize },
    #[error("drive {drive}: {source}")]
    Drive { drive: usize, source: DriveError },
    #[error("cartridge: {0}")]
    Cartridge(#[from] CartridgeError),
    #[error("bad VTL address {0:?} (expected vtl:PATH#driveN or vtl:PATH#changer)")]
    BadAddress(String),
    #[error("{0} is not available yet")]
    Unsupported(&'static str),
    #[error("{path}: {detail}")]
    BadConfig { path: PathBuf, detail: String },
    #[error("{what}: {source}")]
    Operator { what: String, source: OperatorError },
    #[error("cartridge {0} is already in the library")]
    AlreadyInLibrary(String),
}

fn io<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(std::io::Error) -> LibraryError + 'a {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Persisted state of one drive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveState {
    pub cartridge: Option<String>,
    #[serde(default)]
    pub loaded: bool,
    #[serde(default)]
    pub partition: u8,
    #[serde(default)]
    pub block: u64,
    #[serde(default)]
    pub settings: DriveSettings,
    #[serde(default)]
    pub faults: Faults,
    #[serde(default)]
    pub tape_alerts: u64,
    /// Initiators that have seen the power-on unit attention.
    #[serde(default)]
    pub initiators: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct LibraryState {
    /// False while a process has the library open.
    clean: bool,
    drives: Vec<DriveState>,
    /// Absent in foundation libraries until their first open.
    #[serde(default)]
    changer: Option<ChangerState>,
}

/// A cartridge as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartridgeInfo {
    pub spec: CartridgeSpec,
    pub write_protected: bool,
    /// Drive holding it, if any.
    pub drive: Option<usize>,
    /// Slot, mail slot or drive holding it; None when outside the library.
    pub location: Option<Location>,
}

pub(crate) struct Shared {
    dir: PathBuf,
    config: LibraryConfig,
    spec: LibrarySpec,
    /// Lock order: the changer before any drive.
    changer: Mutex<Changer>,
    drives: Vec<Mutex<Drive>>,
    /// Serialises writers of `state.json`.
    save: Mutex<()>,
    _lock: Flock<File>,
}

/// An open VTL directory. Clones share it; the lock is released and the
/// state saved when the last clone (or transport) is dropped.
#[derive(Clone)]
pub struct VirtualLibrary {
    shared: Arc<Shared>,
}

fn lock_dir(dir: &Path) -> Result<Flock<File>, LibraryError> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path, "open"))?;
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(mut l) => {
            // Record who holds it, for the error the next process prints.
            l.set_len(0).map_err(io(&path, "truncate"))?;
            l.rewind().map_err(io(&path, "seek"))?;
            write!(l, "{}", std::process::id()).map_err(io(&path, "write"))?;
            Ok(l)
        }
        Err((mut f, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            Err(LibraryError::Locked {
                path: dir.to_path_buf(),
                pid: s.trim().parse().ok(),
            })
        }
        Err((_, e)) => Err(LibraryError::Io {
            path,
            op: "flock",
            source: e.into(),
        }),
    }
}

/// Writes `bytes` to `path` atomically and durably.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), LibraryError> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = File::create(&tmp).map_err(io(&tmp, "create"))?;
        f.write_all(bytes).map_err(io(&tmp, "write"))?;
        f.sync_all().map_err(io(&tmp, "fsync"))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path, "rename"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir, "fsync directory"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LibraryError> {
    let bytes = std::fs::read(path).map_err(io(path, "read"))?;
    serde_json::from_slice(&bytes).map_err(|e| LibraryError::BadFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

impl VirtualLibrary {
    /// Creates a new library in `dir` (created if missing; must not hold
    /// one) from the foundation's drives-only configuration (`library.json`);
    /// it gets the default robotics (50 slots, 4 mail slots), empty.
    pub fn create(dir: &Path, config: LibraryConfig) -> Result<VirtualLibrary, LibraryError> {
        let spec = LibrarySpec::from_drives(&config.drives, config.cartridges_dir.clone());
        let json = serde_json::to_vec_pretty(&config).map_err(|e| LibraryError::BadFile {
            path: dir.join(CONFIG_FILE),
            detail: e.to_string(),
        })?;
        Self::create_inner(dir, spec, Some(config), CONFIG_FILE, &json)
    }

    /// Creates a new library described by `spec`, writing `library.toml`
    /// and its cartridges.
    pub fn create_with(dir: &Path, spec: &LibrarySpec) -> Result<VirtualLibrary, LibraryError> {
        let path = dir.join(TOML_FILE);
        let bad = |detail: String| LibraryError::BadConfig {
            path: path.clone(),
            detail,
        };
        spec.validate().map_err(bad)?;
        let text = format!(
            "# reel VTL library (see the reel_vtl::library::config docs)\n{}",
            spec.to_toml().map_err(bad)?
        );
        Self::create_inner(dir, spec.clone(), None, TOML_FILE, text.as_bytes())
    }

    /// Creates the default library in `dir`: 4 LTO-8 drives, 50 slots, 4
    /// mail slots, RL0001L8..RL0020L8 in slots 1-20, CLN001L1 in slot 50.
    pub fn create_default(dir: &Path) -> Result<VirtualLibrary, LibraryError> {
        Self::create_with(dir, &LibrarySpec::default_library())
    }

    /// Opens the library in `dir`, creating the default one if there is none.
    pub fn open_or_create_default(dir: &Path) -> Result<VirtualLibrary, LibraryError> {
        if Self::exists(dir) {
            Self::open(dir)
        } else {
            Self::create_default(dir)
        }
    }

    /// Whether `dir` holds a library (`library.toml` or `library.json`).
    pub fn exists(dir: &Path) -> bool {
        dir.join(TOML_FILE).is_file() || dir.join(CONFIG_FILE).is_file()
    }

    fn create_inner(
        dir: &Path,
        spec: LibrarySpec,
        legacy: Option<LibraryConfig>,
        file: &str,
        bytes: &[u8],
    ) -> Result<VirtualLibrary, LibraryError> {
        std::fs::create_dir_all(dir).map_err(io(dir, "create directory"))?;
        let lock = lock_dir(dir)?;
        if Self::exists(dir) {
            return Err(LibraryError::AlreadyExists(dir.to_path_buf()));
        }
        let cfg_path = dir.join(file);
        let bad = |detail: String| LibraryError::BadConfig {
            path: cfg_path.clone(),
            detail,
        };
        let config = match legacy {
            Some(c) => c,
            None => LibraryConfig {
                drives: spec.drive_configs().map_err(bad)?,
                cartridges_dir: spec.library.cartridges_dir.clone(),
            },
        };
        let changer_cfg = spec.changer_config().map_err(bad)?;
        let carts = dir.join(&config.cartridges_dir);
        std::fs::create_dir_all(&carts).map_err(io(&carts, "create directory"))?;
        // Cartridges first: a crash leaves no config, so no half library.
        let mut state = ChangerState::empty(&changer_cfg.map);
        for c in &spec.cartridge {
            let medium = if c.is_cleaning() {
                Medium::cleaning(&c.barcode, c.cleaning_uses.unwrap_or(50))
            } else {
                let (g, worm) = spec.cartridge_generation(c).map_err(bad)?;
                let mut cs = CartridgeSpec::new(&c.barcode, g);
                cs.worm = worm;
                let path = carts.join(&c.barcode);
                let mut cart = if path.is_dir() {
                    Cartridge::open(&path)?
                } else {
                    Cartridge::create(&path, &cs)?
                };
                if c.write_protect {
                    cart.set_write_protected(true)?;
                }
                cart.close()?;
                let mut m = Medium::data(&c.barcode);
                if worm {
                    m.kind = MediumKind::Worm;
                }
                m
            };
            let mut m = medium;
            m.alternate_tag = c.alternate_tag.clone();
            m.labelled = c.label;
            let loc = match (c.slot, c.mail_slot) {
                (Some(s), _) => Some(Location::Slot(usize::from(s) - 1)),
                (None, Some(s)) => Some(Location::MailSlot(usize::from(s) - 1)),
                (None, None) => None,
            };
            match loc.and_then(|l| state.cell(l)) {
                Some(cell) => *cell = Some(m),
                None => state.shelf.push(m),
            }
        }
        replace_file(&cfg_path, bytes)?;
        let drives = config
            .drives
            .iter()
            .map(|c| Mutex::new(Drive::new(c.clone())))
            .collect();
        let lib = VirtualLibrary {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                config,
                spec,
                changer: Mutex::new(Changer::new(changer_cfg, state)),
                drives,
                save: Mutex::new(()),
                _lock: lock,
            }),
        };
        lib.save(false)?;
        Ok(lib)
    }

    /// Opens an existing library, restoring cartridges and positions.
    pub fn open(dir: &Path) -> Result<VirtualLibrary, LibraryError> {
        let lock = lock_dir(dir)?;
        let toml_path = dir.join(TOML_FILE);
        let (config, spec) = if toml_path.is_file() {
            let text = std::fs::read_to_string(&toml_path).map_err(io(&toml_path, "read"))?;
            let bad = |detail: String| LibraryError::BadConfig {
                path: toml_path.clone(),
                detail,
            };
            let spec = LibrarySpec::parse(&text).map_err(bad)?;
            let config = LibraryConfig {
                drives: spec.drive_configs().map_err(bad)?,
                cartridges_dir: spec.library.cartridges_dir.clone(),
            };
            (config, spec)
        } else {
            let config: LibraryConfig = read_json(&dir.join(CONFIG_FILE))?;
            let spec = LibrarySpec::from_drives(&config.drives, config.cartridges_dir.clone());
            (config, spec)
        };
        let changer_cfg = spec
            .changer_config()
            .map_err(|detail| LibraryError::BadConfig {
                path: dir.to_path_buf(),
                detail,
            })?;
        let state_path = dir.join(STATE_FILE);
        let state: LibraryState = if state_path.exists() {
            read_json(&state_path)?
        } else {
            LibraryState::default()
        };
        let power_cycle = !state.clean;
        if power_cycle {
            tracing::warn!("{}: not closed cleanly; drives power on", dir.display());
        }
        let mut drives = Vec::new();
        for (i, cfg) in config.drives.iter().enumerate() {
            let mut d = Drive::new(cfg.clone());
            if let Some(st) = state.drives.get(i) {
                d.set_settings(st.settings.clone());
                *d.faults_mut() = st.faults.clone();
                d.tape_alerts = st.tape_alerts;
                if let Some(barcode) = &st.cartridge {
                    let path = dir.join(&config.cartridges_dir).join(barcode);
                    let mut cart = Cartridge::open(&path)?;
                    if !power_cycle && st.loaded {
                        // Best effort: a failed locate leaves the tape at BOP.
                        if let Err(e) = cart.locate(st.partition, st.block) {
                            tracing::warn!("{barcode}: cannot restore position: {e}");
                            cart.rewind();
                        }
                    }
                    d.restore(cart, st.loaded);
                }
                if power_cycle {
                    d.power_on_reset();
                } else {
                    d.restore_initiators(&st.initiators);
                }
            }
            drives.push(Mutex::new(d));
        }
        let changer_state = match state.changer {
            Some(s) => s,
            None => migrate_store(dir, &config, &changer_cfg.map, &drives)?,
        };
        let mut changer = if power_cycle {
            Changer::new(changer_cfg, changer_state)
        } else {
            Changer::restore(changer_cfg, changer_state)
        };
        reconcile(&mut changer, &drives);
        let lib = VirtualLibrary {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                config,
                spec,
                changer: Mutex::new(changer),
                drives,
                save: Mutex::new(()),
                _lock: lock,
            }),
        };
        lib.save(false)?;
        Ok(lib)
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    pub fn config(&self) -> &LibraryConfig {
        &self.shared.config
    }

    pub fn drive_count(&self) -> usize {
        self.shared.drives.len()
    }

    fn cartridge_path(&self, barcode: &str) -> PathBuf {
        self.shared
            .dir
            .join(&self.shared.config.cartridges_dir)
            .join(barcode)
    }

    pub(crate) fn lock_drive(&self, n: usize) -> Result<MutexGuard<'_, Drive>, LibraryError> {
        self.shared.lock_drive(n)
    }

    /// Runs `f` on drive `n` (fault injection, inspection), then saves.
    pub fn with_drive<T>(
        &self,
        n: usize,
        f: impl FnOnce(&mut Drive) -> T,
    ) -> Result<T, LibraryError> {
        let r = {
            let mut d = self.lock_drive(n)?;
            f(&mut d)
        };
        self.save(false)?;
        Ok(r)
    }

    /// The in-process SCSI transport to drive `n` (initiator 0).
    pub fn drive_transport(&self, n: usize) -> Result<VtlTransport, LibraryError> {
        if n >= self.shared.drives.len() {
            return Err(LibraryError::NoSuchDrive(n));
        }
        Ok(VtlTransport::new(self.shared.clone(), n))
    }

    /// Creates a blank cartridge in the library's cartridge directory and
    /// puts it into the first empty storage slot (outside the library when
    /// every slot is full).
    pub fn create_cartridge(&self, spec: &CartridgeSpec) -> Result<(), LibraryError> {
        let mut ch = self.shared.lock_changer();
        Cartridge::create(&self.cartridge_path(&spec.barcode), spec)?.close()?;
        if ch.state().find(&spec.barcode).is_none()
            && let Some(i) = ch.state().first_empty_slot()
        {
            let mut m = Medium::data(&spec.barcode);
            if spec.worm {
                m.kind = MediumKind::Worm;
            }
            let _ = ch.set_element(Location::Slot(i), Some(m));
        }
        drop(ch);
        self.save(false)
    }

    fn drive_holding(&self, barcode: &str) -> Option<usize> {
        (0..self.shared.drives.len()).find(|&i| {
            self.lock_drive(i)
                .ok()
                .and_then(|d| d.cartridge().map(|c| c.spec().barcode == barcode))
                .unwrap_or(false)
        })
    }

    /// Inserts cartridge `barcode` into drive `n`, which loads it. A
    /// cartridge in a slot or mail slot leaves it (as if the robot moved it).
    pub fn insert(&self, n: usize, barcode: &str) -> Result<(), LibraryError> {
        let mut ch = self.shared.lock_changer();
        if let Some(drive) = self.drive_holding(barcode) {
            return Err(LibraryError::CartridgeInUse {
                barcode: barcode.into(),
                drive,
            });
        }
        let path = self.cartridge_path(barcode);
        if !path.is_dir() {
            return Err(LibraryError::NoSuchCartridge(barcode.into()));
        }
        let cart = Cartridge::open(&path)?;
        let worm = cart.spec().worm;
        self.lock_drive(n)?
            .insert(cart)
            .map_err(|e| LibraryError::Drive {
                drive: n,
                source: e.error,
            })?;
        let from = ch.state().find(barcode);
        let mut m = match from {
            Some(l) => {
                let m = ch.state().get(l).cloned();
                let _ = ch.set_element(l, None);
                m
            }
            None => None,
        }
        .unwrap_or_else(|| {
            let mut m = Medium::data(barcode);
            if worm {
                m.kind = MediumKind::Worm;
            }
            m
        });
        m.source = from.and_then(|l| ch.config().map.address(l.kind(), l.index()));
        m.by_operator = false;
        let _ = ch.set_element(Location::Drive(n), Some(m));
        drop(ch);
        self.save(false)
    }

    /// Removes the cartridge from drive `n` (refused while an initiator
    /// prevents removal); returns its barcode. It goes back to the slot it
    /// came from when that is empty, else to the first empty slot, else
    /// out of the library.
    pub fn eject(&self, n: usize) -> Result<String, LibraryError> {
        let mut ch = self.shared.lock_changer();
        let cart = self
            .lock_drive(n)?
            .eject()
            .map_err(|source| LibraryError::Drive { drive: n, source })?;
        let barcode = cart.spec().barcode.clone();
        cart.close()?;
        let held = ch.state().get(Location::Drive(n)).cloned();
        let _ = ch.set_element(Location::Drive(n), None);
        let mut m = held
            .filter(|m| m.barcode == barcode)
            .unwrap_or_else(|| Medium::data(&barcode));
        let map = ch.config().map;
        let home = m
            .source
            .and_then(|a| map.locate(a))
            .and_then(|(k, i)| match k {
                crate::changer::ElementKind::Storage => Some(Location::Slot(i)),
                crate::changer::ElementKind::ImportExport => Some(Location::MailSlot(i)),
                _ => None,
            })
            .filter(|&l| ch.state().get(l).is_none())
            .or_else(|| ch.state().first_empty_slot().map(Location::Slot));
        m.source = map.address(crate::changer::ElementKind::DataTransfer, n);
        if let Some(l) = home {
            let _ = ch.set_element(l, Some(m));
        }
        drop(ch);
        self.save(false)?;
        Ok(barcode)
    }

    /// Every cartridge in the library's store, by barcode.
    pub fn list(&self) -> Result<Vec<CartridgeInfo>, LibraryError> {
        let dir = self.shared.dir.join(&self.shared.config.cartridges_dir);
        let mut out = Vec::new();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(io(&dir, "read directory"))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        let state = self.changer_state();
        for name in names {
            let location = state.find(&name);
            if let Some(drive) = self.drive_holding(&name) {
                let d = self.lock_drive(drive)?;
                if let Some(c) = d.cartridge() {
                    out.push(CartridgeInfo {
                        spec: c.spec().clone(),
                        write_protected: c.write_protected(),
                        drive: Some(drive),
                        location: Some(Location::Drive(drive)),
                    });
                }
                continue;
            }
            match Cartridge::open(&dir.join(&name)) {
                Ok(c) => out.push(CartridgeInfo {
                    spec: c.spec().clone(),
                    write_protected: c.write_protected(),
                    drive: None,
                    location,
                }),
                Err(e) => tracing::warn!("{name}: not a cartridge: {e}"),
            }
        }
        Ok(out)
    }

    /// Sets a cartridge's write-protect tab (it must not be in a drive).
    pub fn set_write_protect(&self, barcode: &str, on: bool) -> Result<(), LibraryError> {
        if let Some(drive) = self.drive_holding(barcode) {
            return Err(LibraryError::CartridgeInUse {
                barcode: barcode.into(),
                drive,
            });
        }
        let mut c = Cartridge::open(&self.cartridge_path(barcode))?;
        c.set_write_protected(on)?;
        c.close()?;
        Ok(())
    }

    /// Persisted state of drive `n`, as `state.json` holds it.
    pub fn drive_state(&self, n: usize) -> Result<DriveState, LibraryError> {
        let d = self.lock_drive(n)?;
        Ok(snapshot(&d))
    }

    /// The library's make-up (`library.toml`, or the defaults a
    /// foundation library gets).
    pub fn spec(&self) -> &LibrarySpec {
        &self.shared.spec
    }

    /// The in-process SCSI transport to the medium changer (initiator 0).
    pub fn changer_transport(&self) -> VtlChangerTransport {
        VtlChangerTransport::new(self.shared.clone())
    }

    /// Runs `f` on the changer model (fault injection, options,
    /// inspection), then saves.
    pub fn with_changer<T>(&self, f: impl FnOnce(&mut Changer) -> T) -> Result<T, LibraryError> {
        let r = f(&mut self.shared.lock_changer());
        self.save(false)?;
        Ok(r)
    }

    /// Where every cartridge is, as the changer knows it.
    pub fn changer_state(&self) -> ChangerState {
        self.shared.lock_changer().snapshot()
    }

    /// Where the cartridge `barcode` is (None: outside the library).
    pub fn location(&self, barcode: &str) -> Option<Location> {
        self.shared.lock_changer().state().find(barcode)
    }

    fn operator(&self, what: String, r: Result<(), OperatorError>) -> Result<(), LibraryError> {
        r.map_err(|source| LibraryError::Operator { what, source })?;
        self.save(false)
    }

    /// Operator action: puts cartridge `barcode` (from the store or the
    /// shelf, not already in the library) into mail slot `i` (0-based).
    /// Every initiator of the changer then gets UNIT ATTENTION 28/01.
    pub fn import(&self, i: usize, barcode: &str) -> Result<(), LibraryError> {
        let mut ch = self.shared.lock_changer();
        if ch.state().find(barcode).is_some() {
            return Err(LibraryError::AlreadyInLibrary(barcode.into()));
        }
        let on_shelf = ch.state().shelf.iter().position(|m| m.barcode == barcode);
        let medium = match on_shelf {
            Some(p) => ch.state().shelf[p].clone(),
            None => {
                let path = self.cartridge_path(barcode);
                if !path.is_dir() {
                    return Err(LibraryError::NoSuchCartridge(barcode.into()));
                }
                let c = Cartridge::open(&path)?;
                let mut m = Medium::data(barcode);
                if c.spec().worm {
                    m.kind = MediumKind::Worm;
                }
                c.close()?;
                m
            }
        };
        let r = ch.operator_import(i, medium);
        if r.is_ok()
            && let Some(p) = on_shelf
        {
            ch.state.shelf.remove(p);
        }
        drop(ch);
        self.operator(format!("import {barcode} into mail slot {}", i + 1), r)
    }

    /// Operator action: takes the cartridge out of mail slot `i` (0-based)
    /// and returns its barcode; every initiator then gets 28/01.
    pub fn export(&self, i: usize) -> Result<String, LibraryError> {
        let mut ch = self.shared.lock_changer();
        let r = ch.operator_export(i);
        let barcode = match r {
            Ok(m) => {
                let b = m.barcode.clone();
                ch.state.shelf.push(m);
                b
            }
            Err(source) => {
                return Err(LibraryError::Operator {
                    what: format!("export from mail slot {}", i + 1),
                    source,
                });
            }
        };
        drop(ch);
        self.save(false)?;
        Ok(barcode)
    }

    /// Operator action: opens the front door (the robot stops: NOT READY).
    pub fn open_door(&self) -> Result<(), LibraryError> {
        self.shared.lock_changer().open_door();
        self.save(false)
    }

    /// Operator action: closes the door (UNIT ATTENTION 28/00, then NOT
    /// READY 04/01 while the library takes its inventory).
    pub fn close_door(&self) -> Result<(), LibraryError> {
        self.shared.lock_changer().close_door();
        self.save(false)
    }

    /// Operator action: pushes mail slots opened with OPEN IMPORT/EXPORT
    /// ELEMENT back in (28/01 follows).
    pub fn close_mail_slots(&self) -> Result<(), LibraryError> {
        self.shared.lock_changer().operator_close_mail();
        self.save(false)
    }

    /// Operator action with the door open: moves a cartridge by hand
    /// between slots and mail slots (drives are reached through `insert`
    /// and `eject`).
    pub fn manual_move(&self, from: Location, to: Location) -> Result<(), LibraryError> {
        let what = format!("move {from:?} to {to:?} by hand");
        let mut ch = self.shared.lock_changer();
        let r = (|| {
            if !ch.state().door_open {
                return Err(OperatorError::DoorClosed);
            }
            if matches!(from, Location::Drive(_)) || matches!(to, Location::Drive(_)) {
                return Err(OperatorError::NoSuchElement);
            }
            let m = ch.state().get(from).cloned().ok_or(OperatorError::Empty)?;
            if from == to {
                return Ok(());
            }
            if ch.state().get(to).is_some() {
                return Err(OperatorError::Full);
            }
            // Check `to` exists before emptying `from`.
            ch.state.cell(to).ok_or(OperatorError::NoSuchElement)?;
            ch.set_element(from, None)?;
            let mut m = m;
            m.source = None;
            ch.set_element(to, Some(m))
        })();
        drop(ch);
        self.operator(what, r)
    }

    /// Writes `state.json` now.
    pub fn save(&self, clean: bool) -> Result<(), LibraryError> {
        self.shared.save(clean)
    }
}

fn snapshot(d: &Drive) -> DriveState {
    let cart = d.cartridge();
    let pos = cart.map(|c| c.position());
    DriveState {
        cartridge: cart.map(|c| c.spec().barcode.clone()),
        loaded: d.medium_state() == MediumState::Loaded,
        partition: pos.map_or(0, |p| p.partition),
        block: pos.map_or(0, |p| p.block),
        settings: d.settings().clone(),
        faults: d.faults().clone(),
        tape_alerts: d.tape_alert_flags(),
        initiators: d.known_initiators(),
    }
}

/// First open of a foundation library: cartridges of the store that are
/// in no drive fill the slots in barcode order.
fn migrate_store(
    dir: &Path,
    config: &LibraryConfig,
    map: &crate::changer::ElementMap,
    drives: &[Mutex<Drive>],
) -> Result<ChangerState, LibraryError> {
    let mut state = ChangerState::empty(map);
    let carts = dir.join(&config.cartridges_dir);
    let mut names: Vec<String> = match std::fs::read_dir(&carts) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let in_drive = |name: &str| {
        drives.iter().any(|d| {
            d.lock()
                .unwrap_or_else(|p| p.into_inner())
                .cartridge()
                .is_some_and(|c| c.spec().barcode == name)
        })
    };
    let mut slot = 0;
    for name in names {
        if in_drive(&name) {
            continue;
        }
        let Ok(c) = Cartridge::open(&carts.join(&name)) else {
            continue;
        };
        let mut m = Medium::data(&name);
        if c.spec().worm {
            m.kind = MediumKind::Worm;
        }
        c.close()?;
        match state.slots.get_mut(slot) {
            Some(cell) => *cell = Some(m),
            None => break,
        }
        slot += 1;
    }
    Ok(state)
}

/// Makes the changer's drive elements agree with the drive models (which
/// hold the cartridges): after a crash between the two, the drives win.
fn reconcile(ch: &mut Changer, drives: &[Mutex<Drive>]) {
    for (i, d) in drives.iter().enumerate() {
        let d = d.lock().unwrap_or_else(|p| p.into_inner());
        let held = d
            .cartridge()
            .map(|c| (c.spec().barcode.clone(), c.spec().worm));
        let cur = ch.state().get(Location::Drive(i)).cloned();
        match (cur, held) {
            (Some(m), Some((b, _))) if m.barcode == b => {}
            (Some(m), None) if m.kind == MediumKind::Cleaning => {}
            (cur, Some((b, worm))) => {
                if let Some(l) = ch.state().find(&b) {
                    let _ = ch.set_element(l, None);
                }
                if let Some(m) = cur {
                    lost_medium(ch, m);
                }
                let mut m = Medium::data(&b);
                if worm {
                    m.kind = MediumKind::Worm;
                }
                let _ = ch.set_element(Location::Drive(i), Some(m));
            }
            (Some(m), None) => {
                let _ = ch.set_element(Location::Drive(i), None);
                lost_medium(ch, m);
            }
            (None, None) => {}
        }
    }
}

/// A cartridge the changer misplaced goes to the first empty slot.
fn lost_medium(ch: &mut Changer, m: Medium) {
    if ch.state().find(&m.barcode).is_some() {
        return;
    }
    match ch.state().first_empty_slot() {
        Some(i) => {
            let _ = ch.set_element(Location::Slot(i), Some(m));
        }
        None => ch.state.shelf.push(m),
    }
}

impl Shared {
    fn lock_drive(&self, n: usize) -> Result<MutexGuard<'_, Drive>, LibraryError> {
        let m = self.drives.get(n).ok_or(LibraryError::NoSuchDrive(n))?;
        // A panic elsewhere must not lock the library up for good.
        Ok(m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn lock_changer(&self) -> MutexGuard<'_, Changer> {
        self.changer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn save(&self, clean: bool) -> Result<(), LibraryError> {
        let _g = self.save.lock().unwrap_or_else(|p| p.into_inner());
        // The changer lock is held while the drives are read, so the robot
        // cannot move a cartridge between the two halves of the snapshot.
        let ch = self.lock_changer();
        let mut state = LibraryState {
            clean,
            drives: Vec::new(),
            changer: Some(ch.snapshot()),
        };
        for i in 0..self.drives.len() {
            let d = self.lock_drive(i)?;
            state.drives.push(snapshot(&d));
        }
        drop(ch);
        let path = self.dir.join(STATE_FILE);
        let json = serde_json::to_vec_pretty(&state).map_err(|e| LibraryError::BadFile {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        replace_file(&path, &json)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Flush cartridges first so the saved positions are durable.
        for d in &self.drives {
            let mut d = d.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = d.cartridge_mut()
                && let Err(e) = c.sync()
            {
                tracing::error!("cartridge sync on close: {e}");
            }
        }
        if let Err(e) = self.save(true) {
            tracing::error!("saving library state on close: {e}");
        }
    }
}

#[cfg(test)]
mod changer_tests;
#[cfg(test)]
mod tests;
