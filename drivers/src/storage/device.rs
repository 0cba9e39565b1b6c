//! The disk storage device: a directory of containers with a capacity,
//! space thresholds and per-container write protection.
//!
//! Directory layout:
//!
//! | file | what |
//! | --- | --- |
//! | `reel-disk.conf` | device configuration (media id, capacity, thresholds, write options) |
//! | `NAME.reel` | a complete container |
//! | `.NAME.reel.partial` | a container being written (or left by a crash: `recover`) |
//! | `NAME.reel.protected` | marker: `NAME` is write-protected (never overwritten or deleted) |
//!
//! Media rules shared with tape: data is only ever appended (a new
//! container never replaces an existing name, a finished container is never
//! rewritten), and a protected container cannot be deleted.

use std::path::{Path, PathBuf};

use crate::disk::{DiskDriver, DiskError, DiskOptions, DiskReader, DiskWriter, OpenMode};

use super::codec::{Compression, RecordDecoder};
use super::error::{DiskStorageError, is_read_only, os_error};
use super::format::{FOOTER_LEN, Footer, RecordHeader};
use super::reader::{ContainerReader, Source, VerifyReport, read_header, scan_all};
use super::writer::{ContainerWriter, WriteOptions, now_ns};

pub const CONFIG_FILE: &str = "reel-disk.conf";
const EXT: &str = ".reel";
const PARTIAL: &str = ".partial";
const PROTECTED: &str = ".protected";

/// When the device warns and when it is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// Available bytes at or below which the state is `Low` (early warning).
    pub low_space: u64,
    /// Bytes always kept free: a record that would eat into them is refused
    /// and the state is `Full`.
    pub reserve: u64,
}

impl Thresholds {
    /// 10 % of the capacity warns, nothing reserved beyond the container
    /// trailers (which the writer always keeps room for).
    pub fn for_capacity(capacity: u64) -> Thresholds {
        Thresholds {
            low_space: capacity / 10,
            reserve: 0,
        }
    }
}

/// The device's space state, like a tape's position relative to EW/EOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceState {
    Ok,
    /// At or below the low-space threshold: finish soon, plan another device.
    Low,
    /// No room for another record.
    Full,
}

/// `reel-disk.conf`: `key = value` lines (see [`DeviceConfig::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceConfig {
    pub format: u32,
    /// 32 hex digits.
    pub media_id: String,
    pub created_ns: u64,
    pub capacity: u64,
    pub thresholds: Thresholds,
    pub write: WriteOptions,
}

impl DeviceConfig {
    pub fn encode(&self) -> String {
        let w = &self.write;
        format!(
            "# reel disk storage device\nformat = {}\nmedia_id = {}\ncreated_ns = {}\n\
             capacity = {}\nlow_space = {}\nreserve = {}\ncompression = {}\nlevel = {}\n\
             record_size = {}\n",
            self.format,
            self.media_id,
            self.created_ns,
            self.capacity,
            self.thresholds.low_space,
            self.thresholds.reserve,
            if w.compression.enabled { "on" } else { "off" },
            w.compression.level,
            w.record_size,
        )
    }

    pub fn decode(text: &str) -> Result<DeviceConfig, String> {
        let mut kv = std::collections::HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: no '='", n + 1))?;
            kv.insert(k.trim(), v.trim());
        }
        let get = |k: &str| kv.get(k).copied().ok_or_else(|| format!("no {k}"));
        let num =
            |k: &str| -> Result<u64, String> { get(k)?.parse().map_err(|e| format!("{k}: {e}")) };
        let format = num("format")?;
        if format != 1 {
            return Err(format!("unknown format {format}"));
        }
        let media_id = get("media_id")?.to_string();
        if parse_media_id(&media_id).is_none() {
            return Err("media_id: not 32 hex digits".into());
        }
        let enabled = match get("compression")? {
            "on" => true,
            "off" => false,
            v => return Err(format!("compression: {v:?} is not on or off")),
        };
        let level = get("level")?.parse().map_err(|e| format!("level: {e}"))?;
        let record_size = usize::try_from(num("record_size")?)
            .ok()
            .filter(|&r| (1024..=super::format::MAX_RECORD_LEN as usize).contains(&r))
            .ok_or("record_size: not 1 KiB .. 16 MiB")?;
        Ok(DeviceConfig {
            format: 1,
            media_id,
            created_ns: num("created_ns")?,
            capacity: num("capacity")?,
            thresholds: Thresholds {
                low_space: num("low_space")?,
                reserve: num("reserve")?,
            },
            write: WriteOptions {
                compression: Compression { enabled, level },
                record_size,
            },
        })
    }
}

/// Space figures of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Space {
    pub capacity: u64,
    /// Bytes in containers and partial files.
    pub used: u64,
    pub fs_total: u64,
    /// Bytes the filesystem still gives an unprivileged writer.
    pub fs_available: u64,
    /// What can still be written: the smaller of capacity left and
    /// filesystem space, less the reserve.
    pub available: u64,
    pub state: SpaceState,
}

/// One container as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerInfo {
    pub name: String,
    /// `complete`, `partial` (interrupted write) or `damaged`.
    pub status: &'static str,
    pub bytes: u64,
    pub created_ns: Option<u64>,
    pub files: Option<u64>,
    pub plain_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    pub protected: bool,
    pub error: Option<String>,
}

/// `info`: the device at a glance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    pub dir: PathBuf,
    pub media_id: String,
    pub created_ns: u64,
    pub space: Space,
    pub thresholds: Thresholds,
    pub write: WriteOptions,
    pub containers: u64,
    pub partials: u64,
    pub protected: u64,
}

/// What `recover` kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecoverReport {
    pub path: PathBuf,
    pub kept: VerifyReport,
    /// Bytes after the last valid record, cut off.
    pub dropped_bytes: u64,
    /// The last file had no mark (cut short by the crash) and got one.
    pub closed_open_file: bool,
    /// The header itself was damaged and written anew.
    pub new_header: bool,
}

/// The per-write space check: the configured capacity is a hard limit;
/// the filesystem's real free space only feeds the state (a real ENOSPC
/// surfaces from the disk driver).
pub struct SpaceGuard {
    dir: PathBuf,
    capacity: u64,
    used_before: u64,
    thresholds: Thresholds,
    state: SpaceState,
}

impl SpaceGuard {
    pub fn state(&self) -> SpaceState {
        self.state
    }

    /// Checks that a container growing to `len` bytes, plus `finish_reserve`
    /// for its end, fits.
    pub(crate) fn check(&mut self, len: u64, finish_reserve: u64) -> Result<(), DiskStorageError> {
        let used = self.used_before.saturating_add(len);
        let cap_left = self.capacity.saturating_sub(used);
        let need = finish_reserve.saturating_add(self.thresholds.reserve);
        if used.saturating_add(need) > self.capacity {
            self.state = SpaceState::Full;
            return Err(DiskStorageError::Full {
                dir: self.dir.clone(),
                needed: used.saturating_add(need) - self.capacity,
                available: cap_left.saturating_sub(need),
                capacity: self.capacity,
            });
        }
        let fs_left = fs_space(&self.dir).map_or(u64::MAX, |(_, avail)| avail);
        let left = cap_left.min(fs_left);
        self.state = if left <= need {
            SpaceState::Full
        } else if left <= self.thresholds.low_space {
            SpaceState::Low
        } else {
            SpaceState::Ok
        };
        Ok(())
    }
}

/// (total, available to unprivileged users) bytes of the filesystem.
fn fs_space(dir: &Path) -> Result<(u64, u64), DiskStorageError> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(|e| DiskStorageError::Io {
        path: dir.to_path_buf(),
        op: "statvfs",
        source: e.into(),
    })?;
    let frag = s.fragment_size();
    Ok((
        s.blocks().saturating_mul(frag),
        s.blocks_available().saturating_mul(frag),
    ))
}

/// Renames `from` to `to` unless `to` exists, then syncs the directory.
pub(crate) fn publish(from: &Path, to: &Path) -> Result<(), DiskStorageError> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    let exists = || DiskStorageError::Exists {
        dir: to.parent().unwrap_or(Path::new(".")).to_path_buf(),
        name: display_name(to),
    };
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => return Err(exists()),
        // Filesystems without RENAME_NOREPLACE: link refuses an existing
        // name just the same.
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {
            std::fs::hard_link(from, to).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    exists()
                } else {
                    DiskStorageError::Io {
                        path: to.to_path_buf(),
                        op: "link",
                        source: e,
                    }
                }
            })?;
            std::fs::remove_file(from).map_err(|e| DiskStorageError::Io {
                path: from.to_path_buf(),
                op: "unlink",
                source: e,
            })?;
        }
        Err(e) => {
            return Err(DiskStorageError::Io {
                path: from.to_path_buf(),
                op: "rename",
                source: e.into(),
            });
        }
    }
    crate::disk::sync_dir(to.parent().unwrap_or(Path::new(".")))?;
    Ok(())
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(EXT).to_string())
        .unwrap_or_default()
}

/// Checks a container name: what may follow the directory in a file name.
pub fn check_name(name: &str) -> Result<(), DiskStorageError> {
    let bad = |why| {
        Err(DiskStorageError::BadName {
            name: name.into(),
            why,
        })
    };
    if name.is_empty() || name.len() > 128 {
        return bad("1 to 128 characters");
    }
    if name.starts_with('.') {
        return bad("must not start with a dot");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

/// A container file read through the disk driver: sequential reads (with
/// the driver's read-ahead) while the reader walks records in order, a
/// seek when it jumps (to the footer, the trailer, a file mark).
pub struct DiskSource {
    r: DiskReader,
    path: PathBuf,
    pos: u64,
}

impl DiskSource {
    pub fn open(driver: &DiskDriver, path: &Path) -> Result<DiskSource, DiskStorageError> {
        Ok(DiskSource {
            r: DiskReader::open(driver, path)?,
            path: path.to_path_buf(),
            pos: 0,
        })
    }
}

impl Source for DiskSource {
    fn len(&self) -> u64 {
        self.r.len()
    }

    fn read_exact_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskStorageError> {
        use std::io::{Read, Seek, SeekFrom};
        if offset != self.pos {
            self.r
                .seek(SeekFrom::Start(offset))
                .map_err(|e| io_err(&self.path, "seek", e))?;
            self.pos = offset;
        }
        if let Err(source) = self.r.read_exact(out) {
            // Position unknown after a failed read: seek next time.
            self.pos = u64::MAX;
            return Err(DiskStorageError::Disk(DiskError::Io {
                path: self.path.clone(),
                offset,
                source,
            }));
        }
        self.pos = offset + out.len() as u64;
        Ok(())
    }
}

/// A disk storage device.
pub struct DiskStorage {
    dir: PathBuf,
    config: DeviceConfig,
    driver: DiskDriver,
    write: WriteOptions,
}

impl DiskStorage {
    /// Makes `dir` (created if missing) a disk storage device. Capacity
    /// defaults to the filesystem's size; thresholds to
    /// [`Thresholds::for_capacity`].
    pub fn init(
        dir: &Path,
        capacity: Option<u64>,
        thresholds: Option<Thresholds>,
    ) -> Result<DiskStorage, DiskStorageError> {
        let cfg_path = dir.join(CONFIG_FILE);
        if cfg_path.exists() {
            return Err(DiskStorageError::AlreadyInitialized {
                dir: dir.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "create directory", e))?;
        let capacity = match capacity {
            Some(c) => c,
            None => fs_space(dir)?.0,
        };
        let config = DeviceConfig {
            format: 1,
            media_id: new_media_id(dir),
            created_ns: now_ns(),
            capacity,
            thresholds: thresholds.unwrap_or_else(|| Thresholds::for_capacity(capacity)),
            write: WriteOptions::default(),
        };
        let text = config.encode();
        let driver = DiskDriver::new(DiskOptions::default())?;
        let tmp = dir.join(format!(".{CONFIG_FILE}{PARTIAL}"));
        let _ = std::fs::remove_file(&tmp);
        let mut w = DiskWriter::create(&driver, &tmp).map_err(|e| read_only(dir, e))?;
        w.write_all(text.as_bytes())?;
        w.finish()?;
        publish(&tmp, &cfg_path).map_err(|e| match e {
            DiskStorageError::Exists { .. } => DiskStorageError::AlreadyInitialized {
                dir: dir.to_path_buf(),
            },
            e => e,
        })?;
        Self::open_with(dir, driver)
    }

    /// Opens an initialised device with the default disk options.
    pub fn open(dir: &Path) -> Result<DiskStorage, DiskStorageError> {
        Self::open_with(dir, DiskDriver::new(DiskOptions::default())?)
    }

    /// Opens an initialised device over a given driver (one per device).
    pub fn open_with(dir: &Path, driver: DiskDriver) -> Result<DiskStorage, DiskStorageError> {
        let cfg_path = dir.join(CONFIG_FILE);
        let text = match std::fs::read(&cfg_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DiskStorageError::NotInitialized {
                    dir: dir.to_path_buf(),
                    config: CONFIG_FILE,
                });
            }
            Err(e) => return Err(io_err(&cfg_path, "read", e)),
        };
        let config = DeviceConfig::decode(&String::from_utf8_lossy(&text)).map_err(|detail| {
            DiskStorageError::Config {
                dir: dir.to_path_buf(),
                detail: format!("{CONFIG_FILE}: {detail}"),
            }
        })?;
        Ok(DiskStorage {
            dir: dir.to_path_buf(),
            write: config.write,
            config,
            driver,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    pub fn driver(&self) -> &DiskDriver {
        &self.driver
    }

    /// Write options for containers created from now on (this handle only).
    pub fn set_write_options(&mut self, opts: WriteOptions) {
        self.write = opts;
    }

    pub fn write_options(&self) -> WriteOptions {
        self.write
    }

    pub fn container_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{EXT}"))
    }

    pub fn partial_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}{EXT}{PARTIAL}"))
    }

    fn protect_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{EXT}{PROTECTED}"))
    }

    /// Starts a new container. Refused when the name exists (containers are
    /// never overwritten) or an interrupted write of it is still there.
    pub fn create(&self, name: &str) -> Result<ContainerWriter, DiskStorageError> {
        check_name(name)?;
        let path = self.container_path(name);
        if path.exists() {
            return Err(DiskStorageError::Exists {
                dir: self.dir.clone(),
                name: name.into(),
            });
        }
        let partial = self.partial_path(name);
        if partial.exists() {
            return Err(DiskStorageError::PartialExists {
                dir: self.dir.clone(),
                name: name.into(),
                partial,
            });
        }
        let mut guard = self.guard()?;
        // Refused when not even one record (and the container's end) fits.
        guard.check(0, self.write.record_size as u64 + 64 * 1024)?;
        let media = parse_media_id(&self.config.media_id).unwrap_or_default();
        ContainerWriter::create(&self.driver, partial, path, media, self.write, guard).map_err(
            |e| match e {
                DiskStorageError::Disk(d) if is_read_only(&d) => read_only(&self.dir, d),
                DiskStorageError::Disk(d) if os_error(&d) == Some(libc::EEXIST) => {
                    DiskStorageError::PartialExists {
                        dir: self.dir.clone(),
                        name: name.into(),
                        partial: self.partial_path(name),
                    }
                }
                e => e,
            },
        )
    }

    fn guard(&self) -> Result<SpaceGuard, DiskStorageError> {
        Ok(SpaceGuard {
            dir: self.dir.clone(),
            capacity: self.config.capacity,
            used_before: self.used()?,
            thresholds: self.config.thresholds,
            state: SpaceState::Ok,
        })
    }

    /// Opens a complete container for reading.
    pub fn open_container(
        &self,
        name: &str,
    ) -> Result<ContainerReader<DiskSource>, DiskStorageError> {
        check_name(name)?;
        let path = self.container_path(name);
        if !path.exists() {
            return Err(self.not_found(name));
        }
        ContainerReader::open(&path, DiskSource::open(&self.driver, &path)?)
    }

    /// Reads every record of a container and checks every CRC.
    pub fn verify(&self, name: &str) -> Result<VerifyReport, DiskStorageError> {
        self.open_container(name)?.verify()
    }

    fn not_found(&self, name: &str) -> DiskStorageError {
        if self.partial_path(name).exists() {
            return DiskStorageError::Incomplete {
                container: self.partial_path(name),
                detail: "an interrupted write".into(),
            };
        }
        DiskStorageError::NotFound {
            dir: self.dir.clone(),
            name: name.into(),
        }
    }

    pub fn is_protected(&self, name: &str) -> bool {
        self.protect_path(name).exists()
    }

    /// Sets or clears a container's write protection.
    pub fn set_protected(&self, name: &str, on: bool) -> Result<(), DiskStorageError> {
        check_name(name)?;
        if !self.container_path(name).exists() {
            return Err(self.not_found(name));
        }
        let marker = self.protect_path(name);
        if on {
            if !marker.exists() {
                std::fs::write(&marker, b"").map_err(|e| io_err(&marker, "create", e))?;
            }
        } else if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| io_err(&marker, "remove", e))?;
        }
        crate::disk::sync_dir(&self.dir)?;
        Ok(())
    }

    /// Deletes a container (refused while protected) or, when only an
    /// interrupted write of the name exists, that partial file.
    pub fn delete(&self, name: &str) -> Result<(), DiskStorageError> {
        check_name(name)?;
        let path = self.container_path(name);
        let target = if path.exists() {
            if self.is_protected(name) {
                return Err(DiskStorageError::Protected {
                    dir: self.dir.clone(),
                    name: name.into(),
                });
            }
            path
        } else if self.partial_path(name).exists() {
            self.partial_path(name)
        } else {
            return Err(self.not_found(name));
        };
        std::fs::remove_file(&target).map_err(|e| io_err(&target, "remove", e))?;
        crate::disk::sync_dir(&self.dir)?;
        Ok(())
    }

    /// Bytes in containers and partial files.
    pub fn used(&self) -> Result<u64, DiskStorageError> {
        Ok(self.scan_dir()?.iter().map(|e| e.bytes).sum())
    }

    pub fn space(&self) -> Result<Space, DiskStorageError> {
        let used = self.used()?;
        let (fs_total, fs_available) = fs_space(&self.dir)?;
        let t = self.config.thresholds;
        let left = self.config.capacity.saturating_sub(used).min(fs_available);
        let available = left.saturating_sub(t.reserve);
        // Full when not even one more record and a trailer fit.
        let one_record = self.write.record_size as u64 + 64 * 1024;
        let state = if available <= one_record {
            SpaceState::Full
        } else if left <= t.low_space {
            SpaceState::Low
        } else {
            SpaceState::Ok
        };
        Ok(Space {
            capacity: self.config.capacity,
            used,
            fs_total,
            fs_available,
            available,
            state,
        })
    }

    /// Containers (complete, partial, damaged), sorted by name. Reads only
    /// header, footer and trailer of each (no full verify).
    pub fn list(&self) -> Result<Vec<ContainerInfo>, DiskStorageError> {
        let mut out = Vec::new();
        for e in self.scan_dir()? {
            let mut info = ContainerInfo {
                protected: !e.partial && self.is_protected(&e.name),
                name: e.name,
                status: if e.partial { "partial" } else { "complete" },
                bytes: e.bytes,
                created_ns: None,
                files: None,
                plain_bytes: None,
                stored_bytes: None,
                error: None,
            };
            if !e.partial {
                match DiskSource::open(&self.driver, &e.path)
                    .and_then(|s| ContainerReader::open(&e.path, s))
                {
                    Ok(r) => {
                        let t = r.trailer();
                        info.created_ns = Some(r.header().created_ns);
                        info.files = Some(t.files.len() as u64);
                        info.plain_bytes = Some(t.plain_bytes);
                        info.stored_bytes = Some(t.stored_bytes);
                    }
                    Err(err) => {
                        info.status = "damaged";
                        info.error = Some(err.to_string());
                    }
                }
            }
            out.push(info);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.status.cmp(b.status)));
        Ok(out)
    }

    pub fn info(&self) -> Result<DeviceInfo, DiskStorageError> {
        let entries = self.scan_dir()?;
        let containers = entries.iter().filter(|e| !e.partial).count() as u64;
        let protected = entries
            .iter()
            .filter(|e| !e.partial && self.is_protected(&e.name))
            .count() as u64;
        Ok(DeviceInfo {
            dir: self.dir.clone(),
            media_id: self.config.media_id.clone(),
            created_ns: self.config.created_ns,
            space: self.space()?,
            thresholds: self.config.thresholds,
            write: self.write,
            containers,
            partials: entries.len() as u64 - containers,
            protected,
        })
    }

    /// Turns the partial file an interrupted write of `name` left into a
    /// complete container holding every valid record (explicit operation
    /// only: nothing recovers on its own).
    pub fn recover(&self, name: &str) -> Result<RecoverReport, DiskStorageError> {
        check_name(name)?;
        let partial = self.partial_path(name);
        let path = self.container_path(name);
        if !partial.exists() {
            return Err(DiskStorageError::NoPartial {
                dir: self.dir.clone(),
                name: name.into(),
            });
        }
        if path.exists() {
            return Err(DiskStorageError::Exists {
                dir: self.dir.clone(),
                name: name.into(),
            });
        }
        let mut src = DiskSource::open(&self.driver, &partial)?;
        let len = src.len();
        let header = read_header(&partial, &mut src);
        let new_header = header.is_err();
        let (rebuild, media) = match header {
            Ok(h) => {
                let rb = scan_all(
                    &partial,
                    &mut src,
                    len,
                    &mut RecordDecoder::new(),
                    &mut Vec::new(),
                    false,
                )?;
                (Some(rb), h)
            }
            Err(
                DiskStorageError::NotAContainer { .. }
                | DiskStorageError::Incomplete { .. }
                | DiskStorageError::Medium { .. },
            ) => (
                None,
                super::format::Header {
                    flags: 0,
                    media_id: parse_media_id(&self.config.media_id).unwrap_or_default(),
                    created_ns: now_ns(),
                },
            ),
            Err(e) => return Err(e),
        };
        drop(src);
        let end = rebuild.as_ref().map_or(0, |r| r.end);
        let file = self.driver.open(&partial, OpenMode::ReadWrite)?;
        file.set_len(end)?;
        drop(file);
        let mut w = DiskWriter::append(&self.driver, &partial)?;
        let (mut trailer, open_file, mut compressed) = match rebuild {
            Some(rb) => (rb.trailer, rb.open_file, rb.compressed_records),
            None => {
                w.write_all(&media.encode())?;
                (
                    super::format::Trailer {
                        records: 0,
                        plain_bytes: 0,
                        stored_bytes: 0,
                        files: Vec::new(),
                    },
                    None,
                    0,
                )
            }
        };
        let closed_open_file = open_file.is_some();
        if let Some(mut f) = open_file {
            let at = w.position();
            // Records are numbered in order, marks included.
            w.write_all(&RecordHeader::file_mark(trailer.records as u32).encode())?;
            trailer.records += 1;
            f.mark_offset = at;
            trailer.files.push(f);
        }
        let trailer_offset = w.position();
        let tb = trailer.encode();
        let footer = Footer {
            trailer_offset,
            trailer_len: tb.len() as u32,
            files: trailer.files.len() as u32,
        };
        w.write_all(&tb)?;
        w.write_all(&footer.encode())?;
        let total = w.finish()?;
        debug_assert_eq!(total, trailer_offset + tb.len() as u64 + FOOTER_LEN as u64);
        publish(&partial, &path)?;
        let kept = VerifyReport {
            files: trailer.files.len() as u64,
            records: trailer.files.iter().map(|f| f.records).sum(),
            plain_bytes: trailer.plain_bytes,
            stored_bytes: trailer.stored_bytes,
            compressed_records: std::mem::take(&mut compressed),
        };
        Ok(RecoverReport {
            path,
            kept,
            dropped_bytes: len.saturating_sub(end),
            closed_open_file,
            new_header,
        })
    }

    fn scan_dir(&self) -> Result<Vec<DirEntry>, DiskStorageError> {
        let rd =
            std::fs::read_dir(&self.dir).map_err(|e| io_err(&self.dir, "read directory", e))?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| io_err(&self.dir, "read directory", e))?;
            let fname = ent.file_name();
            let Some(fname) = fname.to_str() else {
                continue;
            };
            let (name, partial) = if let Some(n) = fname
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(PARTIAL))
                .and_then(|n| n.strip_suffix(EXT))
            {
                (n, true)
            } else if let Some(n) = fname.strip_suffix(EXT) {
                (n, false)
            } else {
                continue;
            };
            if check_name(name).is_err() {
                continue;
            }
            let meta = ent.metadata().map_err(|e| io_err(&ent.path(), "stat", e))?;
            out.push(DirEntry {
                name: name.to_string(),
                path: ent.path(),
                partial,
                bytes: meta.len(),
            });
        }
        Ok(out)
    }
}

struct DirEntry {
    name: String,
    path: PathBuf,
    partial: bool,
    bytes: u64,
}

fn io_err(path: &Path, op: &'static str, source: std::io::Error) -> DiskStorageError {
    DiskStorageError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

fn read_only(dir: &Path, e: crate::disk::DiskError) -> DiskStorageError {
    if is_read_only(&e) {
        DiskStorageError::ReadOnly {
            dir: dir.to_path_buf(),
            source: e,
        }
    } else {
        DiskStorageError::Disk(e)
    }
}

/// 16 bytes from the kernel's random source; the clock and the directory
/// if that is unavailable (uniqueness, not secrecy, is what matters).
fn new_media_id(dir: &Path) -> String {
    let mut id = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut id))
        .is_ok();
    if !ok {
        let a = now_ns().to_le_bytes();
        let b = crc32c::crc32c(dir.as_os_str().as_encoded_bytes()).to_le_bytes();
        let c = std::process::id().to_le_bytes();
        id[..8].copy_from_slice(&a);
        id[8..12].copy_from_slice(&b);
        id[12..].copy_from_slice(&c);
    }
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_media_id(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, out) in id.iter_mut().enumerate() {
        *out = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}
