//! Where the current tape file starts, kept between `reelctl` processes.
//!
//! mt prints the block number within the current file. READ POSITION gives
//! the logical object number and the file number, but not where the file
//! began: only a process that crossed the filemark knows that. The Linux st
//! driver keeps it in the kernel across opens; reel keeps it in a small file
//! per device under `$XDG_RUNTIME_DIR/reel/` (else `$TMPDIR/reel-UID/`),
//! tied to the drive (VPD 80h serial) and to the cartridge (MAM medium
//! serial, else barcode, plus load count and volume change reference), and
//! offers it to the driver on open. The driver takes it only when READ
//! POSITION agrees, and the tape never moves for it.
//!
//! The cache is an optimisation: any problem with it (missing, unreadable,
//! corrupt, another cartridge) means "not known", logged at debug level,
//! never a failed command.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use reel_drivers::ScsiTransport;
use reel_drivers::scsi::attributes::{Attribute, mam};
use reel_drivers::scsi::command;
use reel_drivers::scsi::inquiry;
use reel_drivers::tape::TapeDrive;
use reel_drivers::tape::drive::FileStart;
use serde::{Deserialize, Serialize};

/// Bumped when the file layout changes; other versions are ignored.
const VERSION: u32 = 1;
/// VPD page 80h: unit serial number.
const VPD_SERIAL: u8 = 0x80;
/// MAM attribute 0009h: changes whenever the volume is written (SSC-4).
const VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
/// A cache file is a few hundred bytes; anything much larger is not ours.
const MAX_FILE: u64 = 64 * 1024;

/// Which cartridge a remembered position belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediumIdentity {
    /// MAM medium serial number (0401h), or the barcode (0806h) when the
    /// cartridge has no serial.
    pub serial: String,
    /// MAM load count (0003h): a reload (here or in another drive, where
    /// the tape may have been rewritten) makes the position stale.
    pub load_count: Option<u64>,
    /// MAM volume change reference (0009h) as hex: changes on every write,
    /// including writes by other software.
    pub change_reference: Option<String>,
}

impl MediumIdentity {
    /// From READ ATTRIBUTE values; `None` without a medium serial or a
    /// barcode (then the cartridge cannot be recognised).
    pub fn from_attributes(attrs: &[Attribute]) -> Option<MediumIdentity> {
        let find = |id: u16| attrs.iter().find(|a| a.id == id);
        let text = |id: u16| {
            find(id)
                .and_then(Attribute::as_text)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let serial = text(mam::MEDIUM_SERIAL).or_else(|| text(mam::BARCODE))?;
        Some(MediumIdentity {
            serial,
            load_count: find(mam::LOAD_COUNT).and_then(Attribute::as_u64),
            change_reference: find(VOLUME_CHANGE_REFERENCE)
                .map(|a| a.value.iter().map(|b| format!("{b:02x}")).collect()),
        })
    }
}

/// One cache file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    pub address: String,
    pub drive_serial: String,
    pub medium: MediumIdentity,
    pub partition: u32,
    pub file: u64,
    /// Logical object number where `file` starts.
    pub origin: u64,
}

/// Why a cache file was not used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a position cache file: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{0}: not private to this user; not used")]
    Unsafe(PathBuf),
}

/// Decodes a cache file; anything but a well-formed entry of this version
/// is an error.
pub fn parse_entry(path: &Path, bytes: &[u8]) -> Result<Entry, CacheError> {
    let corrupt = |detail: String| CacheError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let e: Entry = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if e.version != VERSION {
        return Err(corrupt(format!("version {}", e.version)));
    }
    Ok(e)
}

/// FNV-1a, 64 bits: a file name that stays the same across builds (std's
/// hasher makes no such promise). Collisions only cost a cache miss, as the
/// file repeats the address and serial.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The cache file name for a device address and drive serial.
pub fn file_name(address: &str, drive_serial: &str) -> String {
    format!(
        "pos-{:016x}.json",
        fnv1a64(&[address.as_bytes(), drive_serial.as_bytes()])
    )
}

/// The cache directory: `$XDG_RUNTIME_DIR/reel` when that is set to an
/// absolute path, else `TMP/reel-UID`.
pub fn cache_dir(xdg_runtime_dir: Option<&std::ffi::OsStr>, tmp: &Path, uid: u32) -> PathBuf {
    match xdg_runtime_dir.map(Path::new) {
        Some(x) if x.is_absolute() => x.join("reel"),
        _ => tmp.join(format!("reel-{uid}")),
    }
}

/// The position cache of one opened device.
#[derive(Debug, Clone)]
pub struct PositionCache {
    dir: PathBuf,
    path: PathBuf,
    address: String,
    drive_serial: String,
}

impl PositionCache {
    /// This user's cache directory, from the environment.
    pub fn default_dir() -> PathBuf {
        cache_dir(
            std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
            &std::env::temp_dir(),
            nix::unistd::getuid().as_raw(),
        )
    }

    pub fn new(dir: PathBuf, address: &str, drive_serial: &str) -> PositionCache {
        PositionCache {
            path: dir.join(file_name(address, drive_serial)),
            dir,
            address: address.to_string(),
            drive_serial: drive_serial.to_string(),
        }
    }

    /// For the drive behind `drive`, asking it for its serial number.
    pub fn for_drive<T: ScsiTransport>(
        dir: PathBuf,
        address: &str,
        drive: &mut TapeDrive<T>,
    ) -> PositionCache {
        let serial = drive_serial(drive).unwrap_or_default();
        PositionCache::new(dir, address, &serial)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the entry, checking it belongs to this device.
    pub fn load(&self) -> Result<Option<Entry>, CacheError> {
        let io = |source| CacheError::Io {
            path: self.path.clone(),
            source,
        };
        let md = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if !md.is_file() || md.uid() != nix::unistd::getuid().as_raw() {
            return Err(CacheError::Unsafe(self.path.clone()));
        }
        if md.len() > MAX_FILE {
            return Err(CacheError::Corrupt {
                path: self.path.clone(),
                detail: format!("{} bytes", md.len()),
            });
        }
        let bytes = std::fs::read(&self.path).map_err(io)?;
        let e = parse_entry(&self.path, &bytes)?;
        if e.address != self.address || e.drive_serial != self.drive_serial {
            return Err(CacheError::Corrupt {
                path: self.path.clone(),
                detail: "written for another device".into(),
            });
        }
        Ok(Some(e))
    }

    /// Replaces the entry atomically (temporary file, then rename).
    pub fn save(&self, e: &Entry) -> Result<(), CacheError> {
        let io = |source| CacheError::Io {
            path: self.path.clone(),
            source,
        };
        self.private_dir()?;
        let json = serde_json::to_vec(e).map_err(|e| CacheError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        tmp.write_all(&json).map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Forgets the entry (no error when there is none).
    pub fn remove(&self) -> Result<(), CacheError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CacheError::Io {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Creates the directory (mode 0700) and refuses one that another user
    /// owns or can write: under a shared /tmp it could be planted.
    fn private_dir(&self) -> Result<(), CacheError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| CacheError::Io {
                path: self.dir.clone(),
                source,
            })?;
        let md = std::fs::symlink_metadata(&self.dir).map_err(|source| CacheError::Io {
            path: self.dir.clone(),
            source,
        })?;
        if !md.is_dir() || md.uid() != nix::unistd::getuid().as_raw() || md.mode() & 0o022 != 0 {
            return Err(CacheError::Unsafe(self.dir.clone()));
        }
        Ok(())
    }

    /// On open: offers the driver the remembered start of the current file
    /// when the entry is for this cartridge and partition. An entry for
    /// another cartridge is deleted. Sends READ ATTRIBUTE and READ POSITION
    /// only when an entry exists; never moves the tape.
    pub fn restore<T: ScsiTransport>(&self, drive: &mut TapeDrive<T>) {
        let entry = match self.load() {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("position cache: {e}");
                return;
            }
        };
        let Some(medium) = medium_identity(drive) else {
            tracing::debug!("position cache: no medium identity; not used");
            return;
        };
        if medium != entry.medium {
            tracing::debug!(
                "position cache: for cartridge {:?}, not {:?}; discarded",
                entry.medium,
                medium
            );
            self.remove_logged();
            return;
        }
        match drive.read_position() {
            Ok(p) if p.partition == entry.partition => {}
            Ok(p) => {
                tracing::debug!(
                    "position cache: partition {} remembered, the tape is in {}",
                    entry.partition,
                    p.partition
                );
                return;
            }
            Err(e) => {
                tracing::debug!("position cache: READ POSITION: {e}");
                return;
            }
        }
        match drive.remember_file_start(entry.file, entry.origin) {
            Ok(taken) => tracing::debug!(
                file = entry.file,
                origin = entry.origin,
                taken,
                "position cache offered"
            ),
            Err(e) => tracing::debug!("position cache: {e}"),
        }
    }

    /// At the end of a command: records what the driver knows of the current
    /// file, or deletes the entry when it knows nothing beyond file 0 (which
    /// always starts at object 0), so no stale entry survives an unload, a
    /// jump or a failure.
    pub fn store<T: ScsiTransport>(&self, drive: &mut TapeDrive<T>) {
        let r = match drive.file_start() {
            Some(fs) if fs.file > 0 => match self.entry(drive, fs) {
                Some(e) => self.save(&e),
                None => self.remove(),
            },
            _ => self.remove(),
        };
        if let Err(e) = r {
            tracing::debug!("position cache: {e}");
        }
    }

    fn entry<T: ScsiTransport>(&self, drive: &mut TapeDrive<T>, fs: FileStart) -> Option<Entry> {
        let medium = medium_identity(drive)?;
        let p = drive
            .read_position()
            .map_err(|e| tracing::debug!("position cache: READ POSITION: {e}"))
            .ok()?;
        Some(Entry {
            version: VERSION,
            address: self.address.clone(),
            drive_serial: self.drive_serial.clone(),
            medium,
            partition: p.partition,
            file: fs.file,
            origin: fs.origin,
        })
    }

    fn remove_logged(&self) {
        if let Err(e) = self.remove() {
            tracing::debug!("position cache: {e}");
        }
    }
}

/// The drive's unit serial number (INQUIRY VPD 80h). INQUIRY reports no
/// unit attention, so it is sent straight to the transport.
fn drive_serial<T: ScsiTransport>(drive: &mut TapeDrive<T>) -> Option<String> {
    let alloc: u16 = 0xff;
    let cdb = inquiry::inquiry_cdb(true, VPD_SERIAL, alloc);
    let timeout = drive.timeouts().for_cdb(&cdb);
    let mut buf = vec![0u8; alloc.into()];
    let t: &mut dyn ScsiTransport = drive.transport();
    match command::run(
        t,
        "INQUIRY",
        &cdb,
        reel_drivers::DataDirection::FromDevice(&mut buf),
        timeout,
    ) {
        Ok(o) => {
            buf.truncate(o.transferred);
            inquiry::parse_unit_serial(&buf)
                .map_err(|e| tracing::debug!("position cache: VPD 80h: {e}"))
                .ok()
        }
        Err(e) => {
            tracing::debug!("position cache: VPD 80h: {e}");
            None
        }
    }
}

/// The loaded cartridge's identity from its MAM; `None` without a medium or
/// a readable serial/barcode.
fn medium_identity<T: ScsiTransport>(drive: &mut TapeDrive<T>) -> Option<MediumIdentity> {
    match drive.read_mam() {
        Ok(a) => MediumIdentity::from_attributes(&a),
        Err(e) => {
            tracing::debug!("position cache: READ ATTRIBUTE: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_drivers::scsi::attributes::AttributeFormat;

    fn attr(id: u16, format: AttributeFormat, value: &[u8]) -> Attribute {
        Attribute {
            id,
            read_only: true,
            format,
            value: value.to_vec(),
        }
    }

    #[test]
    fn identity_prefers_the_medium_serial() {
        let serial = attr(0x0401, AttributeFormat::Ascii, b"SN123   ");
        let barcode = attr(0x0806, AttributeFormat::Ascii, b"A00001L8");
        let loads = attr(0x0003, AttributeFormat::Binary, &[0, 0, 0, 0, 0, 0, 0, 7]);
        let vcr = attr(0x0009, AttributeFormat::Binary, &[0xde, 0xad, 0, 1]);
        let id = MediumIdentity::from_attributes(&[barcode.clone(), serial, loads, vcr]).unwrap();
        assert_eq!(id.serial, "SN123");
        assert_eq!(id.load_count, Some(7));
        assert_eq!(id.change_reference.as_deref(), Some("dead0001"));
        let id = MediumIdentity::from_attributes(std::slice::from_ref(&barcode)).unwrap();
        assert_eq!(id.serial, "A00001L8");
        assert_eq!(id.load_count, None);
        // Blank serial and barcode: the cartridge cannot be recognised.
        let blank = attr(0x0401, AttributeFormat::Ascii, b"    ");
        assert_eq!(MediumIdentity::from_attributes(&[blank]), None);
        assert_eq!(MediumIdentity::from_attributes(&[]), None);
    }

    #[test]
    fn directory_choice() {
        let tmp = Path::new("/tmp");
        assert_eq!(
            cache_dir(Some("/run/user/1000".as_ref()), tmp, 1000),
            PathBuf::from("/run/user/1000/reel")
        );
        assert_eq!(cache_dir(None, tmp, 1000), PathBuf::from("/tmp/reel-1000"));
        // A relative or empty XDG_RUNTIME_DIR is invalid per the XDG spec.
        assert_eq!(
            cache_dir(Some("".as_ref()), tmp, 5),
            PathBuf::from("/tmp/reel-5")
        );
        assert_eq!(
            cache_dir(Some("run".as_ref()), tmp, 5),
            PathBuf::from("/tmp/reel-5")
        );
    }

    #[test]
    fn file_names_are_stable_and_distinct() {
        // FNV-1a of "" is the offset basis; pinned so names do not change.
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), {
            let h = (0xcbf2_9ce4_8422_2325u64 ^ 0x61).wrapping_mul(0x100_0000_01b3);
            (h ^ 0xff).wrapping_mul(0x100_0000_01b3)
        });
        let a = file_name("vtl:/x#drive0", "S1");
        assert_eq!(a, file_name("vtl:/x#drive0", "S1"));
        assert_ne!(a, file_name("vtl:/x#drive1", "S1"));
        assert_ne!(a, file_name("vtl:/x#drive0", "S2"));
        assert_ne!(file_name("ab", "c"), file_name("a", "bc"));
    }

    fn entry() -> Entry {
        Entry {
            version: VERSION,
            address: "vtl:/x#drive0".into(),
            drive_serial: "S1".into(),
            medium: MediumIdentity {
                serial: "A00001L8".into(),
                load_count: Some(2),
                change_reference: None,
            },
            partition: 0,
            file: 1,
            origin: 11,
        }
    }

    #[test]
    fn save_load_remove_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("reel");
        let c = PositionCache::new(dir.clone(), "vtl:/x#drive0", "S1");
        assert!(c.load().unwrap().is_none());
        c.save(&entry()).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().mode() & 0o777,
            0o700,
            "private directory"
        );
        assert_eq!(c.load().unwrap(), Some(entry()));
        // Only the cache file is left behind (the temporary was renamed).
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // Another drive at the same address does not see it.
        let other = PositionCache::new(dir.clone(), "vtl:/x#drive0", "S2");
        assert!(other.load().unwrap().is_none());
        c.remove().unwrap();
        assert!(c.load().unwrap().is_none());
        c.remove().unwrap();
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let tmp = tempfile::tempdir().unwrap();
        let c = PositionCache::new(tmp.path().to_path_buf(), "vtl:/x#drive0", "S1");
        for bad in [
            &b""[..],
            b"\xff\xfe garbage",
            b"{}",
            b"{\"version\":1}",
            b"[1,2,3]",
        ] {
            std::fs::write(c.path(), bad).unwrap();
            assert!(
                matches!(c.load(), Err(CacheError::Corrupt { .. })),
                "{bad:?}"
            );
        }
        let mut e = entry();
        e.version = 99;
        std::fs::write(c.path(), serde_json::to_vec(&e).unwrap()).unwrap();
        assert!(matches!(c.load(), Err(CacheError::Corrupt { .. })));
        // Written for another address under a colliding name.
        let mut e = entry();
        e.address = "vtl:/y#drive0".into();
        std::fs::write(c.path(), serde_json::to_vec(&e).unwrap()).unwrap();
        assert!(matches!(c.load(), Err(CacheError::Corrupt { .. })));
        // Oversized.
        std::fs::write(c.path(), vec![b' '; MAX_FILE as usize + 1]).unwrap();
        assert!(matches!(c.load(), Err(CacheError::Corrupt { .. })));
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("reel");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let c = PositionCache::new(dir, "vtl:/x#drive0", "S1");
        assert!(matches!(c.save(&entry()), Err(CacheError::Unsafe(_))));
    }
}
