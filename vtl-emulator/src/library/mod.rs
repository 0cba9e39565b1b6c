//! A VTL directory that persists between processes: drives (configured in
//! `library.json`), cartridges (one directory each under `cartridges/`) and
//! the drive state (`state.json`: which cartridge is in which drive, its
//! position, block size, compression, prevent flag, faults).
//!
//! A tool opens the library for one command at a time, as `mt` opens
//! `/dev/nst0`; an exclusive `flock` on `lock` keeps two processes from
//! driving it at once. `state.json` is replaced atomically (temp file,
//! fsync, rename, directory fsync) whenever state that matters changes and
//! on close. A process that dies with the library open leaves
//! `clean: false`; the next open treats that as a power cycle (unit
//! attention 29/00 for everyone, tapes at BOP).

mod address;
mod transport;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::cartridge::{Cartridge, CartridgeError, CartridgeSpec, Generation};
use crate::drive::{Drive, DriveConfig, DriveError, DriveSettings, Faults, MediumState};

pub use address::{VtlAddress, VtlTarget, open_device, parse_address};
pub use transport::VtlTransport;

const CONFIG_FILE: &str = "library.json";
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
    #[error("bad VTL address {0:?} (expected vtl:PATH#driveN)")]
    BadAddress(String),
    #[error("{0} is not available yet")]
    Unsupported(&'static str),
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
}

/// A cartridge as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartridgeInfo {
    pub spec: CartridgeSpec,
    pub write_protected: bool,
    /// Drive holding it, if any.
    pub drive: Option<usize>,
}

pub(crate) struct Shared {
    dir: PathBuf,
    config: LibraryConfig,
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
    /// Creates a new library in `dir` (created if missing; must not hold one).
    pub fn create(dir: &Path, config: LibraryConfig) -> Result<VirtualLibrary, LibraryError> {
        std::fs::create_dir_all(dir).map_err(io(dir, "create directory"))?;
        let lock = lock_dir(dir)?;
        let cfg_path = dir.join(CONFIG_FILE);
        if cfg_path.exists() {
            return Err(LibraryError::AlreadyExists(dir.to_path_buf()));
        }
        let carts = dir.join(&config.cartridges_dir);
        std::fs::create_dir_all(&carts).map_err(io(&carts, "create directory"))?;
        let json = serde_json::to_vec_pretty(&config).map_err(|e| LibraryError::BadFile {
            path: cfg_path.clone(),
            detail: e.to_string(),
        })?;
        replace_file(&cfg_path, &json)?;
        let drives = config
            .drives
            .iter()
            .map(|c| Mutex::new(Drive::new(c.clone())))
            .collect();
        let lib = VirtualLibrary {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                config,
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
        let config: LibraryConfig = read_json(&dir.join(CONFIG_FILE))?;
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
        let lib = VirtualLibrary {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                config,
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

    /// Creates a blank cartridge in the library's cartridge directory.
    pub fn create_cartridge(&self, spec: &CartridgeSpec) -> Result<(), LibraryError> {
        Cartridge::create(&self.cartridge_path(&spec.barcode), spec)?.close()?;
        Ok(())
    }

    fn drive_holding(&self, barcode: &str) -> Option<usize> {
        (0..self.shared.drives.len()).find(|&i| {
            self.lock_drive(i)
                .ok()
                .and_then(|d| d.cartridge().map(|c| c.spec().barcode == barcode))
                .unwrap_or(false)
        })
    }

    /// Inserts cartridge `barcode` into drive `n`, which loads it.
    pub fn insert(&self, n: usize, barcode: &str) -> Result<(), LibraryError> {
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
        self.lock_drive(n)?
            .insert(cart)
            .map_err(|(source, _)| LibraryError::Drive { drive: n, source })?;
        self.save(false)
    }

    /// Removes the cartridge from drive `n` (refused while an initiator
    /// prevents removal); returns its barcode.
    pub fn eject(&self, n: usize) -> Result<String, LibraryError> {
        let cart = self
            .lock_drive(n)?
            .eject()
            .map_err(|source| LibraryError::Drive { drive: n, source })?;
        let barcode = cart.spec().barcode.clone();
        cart.close()?;
        self.save(false)?;
        Ok(barcode)
    }

    /// Every cartridge in the library, by barcode.
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
        for name in names {
            if let Some(drive) = self.drive_holding(&name) {
                let d = self.lock_drive(drive)?;
                if let Some(c) = d.cartridge() {
                    out.push(CartridgeInfo {
                        spec: c.spec().clone(),
                        write_protected: c.write_protected(),
                        drive: Some(drive),
                    });
                }
                continue;
            }
            match Cartridge::open(&dir.join(&name)) {
                Ok(c) => out.push(CartridgeInfo {
                    spec: c.spec().clone(),
                    write_protected: c.write_protected(),
                    drive: None,
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

impl Shared {
    fn lock_drive(&self, n: usize) -> Result<MutexGuard<'_, Drive>, LibraryError> {
        let m = self.drives.get(n).ok_or(LibraryError::NoSuchDrive(n))?;
        // A panic elsewhere must not lock the library up for good.
        Ok(m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn save(&self, clean: bool) -> Result<(), LibraryError> {
        let _g = self.save.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = LibraryState {
            clean,
            drives: Vec::new(),
        };
        for i in 0..self.drives.len() {
            let d = self.lock_drive(i)?;
            state.drives.push(snapshot(&d));
        }
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
mod tests;
