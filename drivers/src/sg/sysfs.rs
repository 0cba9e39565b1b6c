//! Finding the `/dev/sgN` behind a tape (`/dev/nstN`, `/dev/stN` and their
//! `l`/`m`/`a` mode variants), a changer (`/dev/schN`) or a persistent
//! symlink (`/dev/tape/by-id/...`, `/dev/reel/...`), and listing every sg
//! device for discovery.
//!
//! The kernel links each class device to its SCSI device directory
//! (`H:C:T:L`), and that directory lists the sg device bound to it:
//!
//! ```text
//! /sys/class/scsi_tape/nst0/device -> .../0:0:1:0
//! /sys/class/scsi_generic/sg2/device -> .../0:0:1:0
//! .../0:0:1:0/{type, vendor, model, rev, vpd_pg80, scsi_generic/sg2, scsi_tape/nst0}
//! /sys/dev/char/9:128 -> .../0:0:1:0/scsi_tape/nst0
//! ```
//!
//! Both roots (`/sys`, `/dev`) are parameters so tests run on fake trees.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::scsi::error::DecodeError;
use crate::scsi::inquiry;

/// Peripheral device types reel cares about (SPC-5 table 6).
pub const TYPE_TAPE: u8 = 0x01;
pub const TYPE_CHANGER: u8 = 0x08;

/// Where sysfs and device nodes live (`/sys` and `/dev` on a real system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsRoots {
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl Default for SysfsRoots {
    fn default() -> Self {
        SysfsRoots {
            sys: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
        }
    }
}

impl SysfsRoots {
    pub fn new(sys: impl Into<PathBuf>, dev: impl Into<PathBuf>) -> SysfsRoots {
        SysfsRoots {
            sys: sys.into(),
            dev: dev.into(),
        }
    }
}

/// Why a device path could not be mapped to its sg device.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{path}: no such device")]
    NotFound { path: PathBuf },
    #[error(
        "{path}: not a SCSI tape, changer or generic device name \
         (expected sgN, nstN, stN with optional l/m/a, schN, or a symlink to one)"
    )]
    UnknownName { path: PathBuf },
    #[error("{path}: {sysfs} does not exist (is the device present and its driver loaded?)")]
    NoSysfsEntry { path: PathBuf, sysfs: PathBuf },
    #[error(
        "{path}: SCSI device {hctl} has no sg device (is the sg module loaded? try `modprobe sg`)"
    )]
    NoSg { path: PathBuf, hctl: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// SCSI address host:channel:target:lun, as sysfs names the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hctl {
    pub host: u32,
    pub channel: u32,
    pub target: u32,
    pub lun: u64,
}

impl FromStr for Hctl {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Hctl, DecodeError> {
        let bad = || DecodeError::new("H:C:T:L", format!("cannot parse {s:?}"));
        let mut it = s.split(':');
        let mut next = || it.next().ok_or_else(bad);
        let host = next()?.parse().map_err(|_| bad())?;
        let channel = next()?.parse().map_err(|_| bad())?;
        let target = next()?.parse().map_err(|_| bad())?;
        let lun = next()?.parse().map_err(|_| bad())?;
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(Hctl {
            host,
            channel,
            target,
            lun,
        })
    }
}

impl fmt::Display for Hctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.host, self.channel, self.target, self.lun
        )
    }
}

/// One sg device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgDevice {
    /// Kernel name, e.g. `sg2`.
    pub sg_name: String,
    /// Device node, e.g. `/dev/sg2`.
    pub sg_path: PathBuf,
    pub hctl: Option<Hctl>,
    /// Peripheral device type (1 tape, 8 changer), if sysfs shows it.
    pub device_type: Option<u8>,
    pub vendor: String,
    pub model: String,
    pub revision: String,
    /// Unit serial number (VPD page 80h) from `vpd_pg80`, when the kernel
    /// exposes it.
    pub serial: Option<String>,
    /// Non-rewinding tape node bound to the same device, e.g. `/dev/nst0`.
    pub tape: Option<PathBuf>,
    /// Changer node bound to the same device, e.g. `/dev/sch0`.
    pub changer: Option<PathBuf>,
}

impl SgDevice {
    pub fn is_tape(&self) -> bool {
        self.device_type == Some(TYPE_TAPE)
    }
    pub fn is_changer(&self) -> bool {
        self.device_type == Some(TYPE_CHANGER)
    }
}

/// What a device path resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Kernel name of the sg device, e.g. `sg2`.
    pub sg_name: String,
    /// Its node under the dev root.
    pub sg_path: PathBuf,
    /// The SCSI device directory in sysfs (canonical), when it was needed
    /// to find the sg device.
    pub device_dir: Option<PathBuf>,
}

/// Kinds of kernel device names reel can map to an sg device.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NodeName {
    Sg,
    /// `nstN`/`stN` with optional mode letter; carries the base `nstN`.
    Tape {
        base: String,
    },
    Changer,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn classify(name: &str) -> Option<NodeName> {
    if let Some(n) = name.strip_prefix("sg") {
        return all_digits(n).then_some(NodeName::Sg);
    }
    if let Some(n) = name.strip_prefix("sch") {
        return all_digits(n).then_some(NodeName::Changer);
    }
    let rest = name
        .strip_prefix("nst")
        .or_else(|| name.strip_prefix("st"))?;
    let digits = rest.trim_end_matches(['l', 'm', 'a']);
    // At most one mode letter (st0l, nst0a), never "st0lm".
    if rest.len() - digits.len() > 1 || !all_digits(digits) {
        return None;
    }
    Some(NodeName::Tape {
        base: format!("nst{digits}"),
    })
}

/// Linux `dev_t` encoding (glibc `gnu_dev_major`/`gnu_dev_minor`).
pub fn dev_major_minor(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0x0fff);
    let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0x00ff);
    (major as u32, minor as u32)
}

fn io_err(path: &Path, source: io::Error) -> ResolveError {
    ResolveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Name of the sg device listed in a SCSI device directory: the
/// `scsi_generic/` subdirectory, or the older `generic` symlink.
fn sg_of_device_dir(device_dir: &Path) -> Option<String> {
    if let Ok(rd) = fs::read_dir(device_dir.join("scsi_generic")) {
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| classify(n) == Some(NodeName::Sg))
            .collect();
        names.sort();
        if let Some(n) = names.into_iter().next() {
            return Some(n);
        }
    }
    let link = fs::read_link(device_dir.join("generic")).ok()?;
    let name = link.file_name()?.to_str()?.to_string();
    (classify(&name) == Some(NodeName::Sg)).then_some(name)
}

/// Resolves any accepted device path to its sg device.
pub fn resolve_sg(roots: &SysfsRoots, path: &Path) -> Result<Resolved, ResolveError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ResolveError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(path, e)),
    };
    // A device node says exactly which device it is, whatever its name
    // (udev may give any name); use its number when it is one.
    {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::fs::MetadataExt;
        if meta.file_type().is_char_device() {
            let (maj, min) = dev_major_minor(meta.rdev());
            let class_dev = roots.sys.join(format!("dev/char/{maj}:{min}"));
            if let Ok(class_dev) = fs::canonicalize(&class_dev) {
                return resolve_class_dir(roots, path, &class_dev);
            }
        }
    }
    // Otherwise go by the kernel name at the end of the symlink chain.
    let canonical = fs::canonicalize(path).map_err(|e| io_err(path, e))?;
    let name = canonical
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ResolveError::UnknownName {
            path: path.to_path_buf(),
        })?;
    let class_dir = match classify(name) {
        Some(NodeName::Sg) => {
            return Ok(Resolved {
                sg_name: name.to_string(),
                sg_path: roots.dev.join(name),
                device_dir: None,
            });
        }
        Some(NodeName::Tape { base }) => {
            let exact = roots.sys.join("class/scsi_tape").join(name);
            if exact.exists() {
                exact
            } else {
                roots.sys.join("class/scsi_tape").join(base)
            }
        }
        Some(NodeName::Changer) => roots.sys.join("class/scsi_changer").join(name),
        None => {
            return Err(ResolveError::UnknownName {
                path: path.to_path_buf(),
            });
        }
    };
    if !class_dir.exists() {
        return Err(ResolveError::NoSysfsEntry {
            path: path.to_path_buf(),
            sysfs: class_dir,
        });
    }
    resolve_class_dir(roots, path, &class_dir)
}

/// From a class device directory (`.../scsi_tape/nst0`,
/// `.../scsi_generic/sg2`) to the sg device of its SCSI device.
fn resolve_class_dir(
    roots: &SysfsRoots,
    path: &Path,
    class_dir: &Path,
) -> Result<Resolved, ResolveError> {
    let own_name = class_dir.file_name().and_then(|n| n.to_str());
    if let Some(name) = own_name.filter(|n| classify(n) == Some(NodeName::Sg)) {
        return Ok(Resolved {
            sg_name: name.to_string(),
            sg_path: roots.dev.join(name),
            device_dir: None,
        });
    }
    let link = class_dir.join("device");
    let device_dir = fs::canonicalize(&link).map_err(|_| ResolveError::NoSysfsEntry {
        path: path.to_path_buf(),
        sysfs: link.clone(),
    })?;
    let sg_name = sg_of_device_dir(&device_dir).ok_or_else(|| ResolveError::NoSg {
        path: path.to_path_buf(),
        hctl: device_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })?;
    Ok(Resolved {
        sg_path: roots.dev.join(&sg_name),
        sg_name,
        device_dir: Some(device_dir),
    })
}

fn read_attr(dir: &Path, name: &str) -> Option<String> {
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The first entry of `dir/sub` whose name passes `keep`, sorted.
fn first_entry(dir: &Path, sub: &str, keep: impl Fn(&str) -> bool) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join(sub))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect();
    names.sort();
    names.into_iter().next()
}

fn sg_number(name: &str) -> u64 {
    name.strip_prefix("sg")
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Describes one sg device from sysfs.
pub fn describe_sg(roots: &SysfsRoots, sg_name: &str) -> Result<SgDevice, ResolveError> {
    let class_dir = roots.sys.join("class/scsi_generic").join(sg_name);
    let link = class_dir.join("device");
    let device_dir = fs::canonicalize(&link).map_err(|_| ResolveError::NoSysfsEntry {
        path: roots.dev.join(sg_name),
        sysfs: link,
    })?;
    let hctl = device_dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok());
    let device_type = read_attr(&device_dir, "type").and_then(|t| t.parse().ok());
    // The kernel's `vpd_pg80` holds the whole page as the device sent it.
    let serial = fs::read(device_dir.join("vpd_pg80"))
        .ok()
        .and_then(|b| inquiry::parse_unit_serial(&b).ok())
        .filter(|s| !s.is_empty());
    let tape = first_entry(&device_dir, "scsi_tape", |n| {
        n.starts_with("nst") && all_digits(&n[3..])
    })
    .or_else(|| {
        // Only st nodes listed: name the non-rewinding twin.
        first_entry(&device_dir, "scsi_tape", |n| {
            n.starts_with("st") && all_digits(&n[2..])
        })
        .map(|n| format!("n{n}"))
    })
    .map(|n| roots.dev.join(n));
    let changer = first_entry(&device_dir, "scsi_changer", |n| {
        classify(n) == Some(NodeName::Changer)
    })
    .map(|n| roots.dev.join(n));
    Ok(SgDevice {
        sg_name: sg_name.to_string(),
        sg_path: roots.dev.join(sg_name),
        hctl,
        device_type,
        vendor: read_attr(&device_dir, "vendor").unwrap_or_default(),
        model: read_attr(&device_dir, "model").unwrap_or_default(),
        revision: read_attr(&device_dir, "rev").unwrap_or_default(),
        serial,
        tape,
        changer,
    })
}

/// Every sg device, in sg number order. No sg class (module not loaded,
/// or no SCSI devices) is an empty list, not an error.
pub fn enumerate(roots: &SysfsRoots) -> Result<Vec<SgDevice>, ResolveError> {
    let class = roots.sys.join("class/scsi_generic");
    let rd = match fs::read_dir(&class) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&class, e)),
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| classify(n) == Some(NodeName::Sg))
        .collect();
    names.sort_by_key(|n| sg_number(n));
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        match describe_sg(roots, &n) {
            Ok(d) => out.push(d),
            // A device that vanished mid-scan is skipped, not fatal.
            Err(e) => tracing::debug!(sg = %n, error = %e, "skipping sg device"),
        }
    }
    Ok(out)
}

/// The tape drives and changers among [`enumerate`]'s devices.
pub fn enumerate_tape_and_changers(roots: &SysfsRoots) -> Result<Vec<SgDevice>, ResolveError> {
    Ok(enumerate(roots)?
        .into_iter()
        .filter(|d| d.is_tape() || d.is_changer())
        .collect())
}

/// The device whose unit serial number is `serial` (maps a changer's
/// DVCID drive serial to the drive's sg device; field note A7).
pub fn find_by_serial(roots: &SysfsRoots, serial: &str) -> Result<Option<SgDevice>, ResolveError> {
    let want = serial.trim();
    Ok(enumerate(roots)?
        .into_iter()
        .find(|d| d.serial.as_deref() == Some(want)))
}

/// Builders for fake sysfs/dev trees, shared by tests in this crate.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::os::unix::fs::symlink;

    pub struct FakeDevice<'a> {
        pub hctl: &'a str,
        pub sg: &'a str,
        pub device_type: u8,
        pub vendor: &'a str,
        pub model: &'a str,
        pub rev: &'a str,
        pub serial: Option<&'a str>,
        /// e.g. Some(0) creates st0, st0l, st0m, st0a, nst0, nst0l, ...
        pub tape: Option<u32>,
        pub changer: Option<u32>,
    }

    /// Creates the sysfs entries and (empty-file) device nodes the kernel
    /// would for one SCSI device.
    pub fn add(root: &Path, d: &FakeDevice<'_>) -> SysfsRoots {
        let roots = SysfsRoots::new(root.join("sys"), root.join("dev"));
        let host = d.hctl.split(':').next().unwrap();
        let dev_dir = roots.sys.join(format!(
            "devices/pci0000:00/0000:00:05.0/host{host}/target{}/{}",
            d.hctl.rsplit_once(':').unwrap().0,
            d.hctl
        ));
        fs::create_dir_all(&dev_dir).unwrap();
        fs::create_dir_all(&roots.dev).unwrap();
        fs::write(dev_dir.join("type"), format!("{}\n", d.device_type)).unwrap();
        fs::write(dev_dir.join("vendor"), format!("{:<8}\n", d.vendor)).unwrap();
        fs::write(dev_dir.join("model"), format!("{:<16}\n", d.model)).unwrap();
        fs::write(dev_dir.join("rev"), format!("{:<4}\n", d.rev)).unwrap();
        if let Some(s) = d.serial {
            let mut page = vec![d.device_type, 0x80, 0, s.len() as u8];
            page.extend_from_slice(s.as_bytes());
            fs::write(dev_dir.join("vpd_pg80"), page).unwrap();
        }
        let class_link = |class: &str, name: &str| {
            let cdir = dev_dir.join(class).join(name);
            fs::create_dir_all(&cdir).unwrap();
            symlink(&dev_dir, cdir.join("device")).unwrap();
            let class_root = roots.sys.join("class").join(class);
            fs::create_dir_all(&class_root).unwrap();
            symlink(&cdir, class_root.join(name)).unwrap();
            fs::write(roots.dev.join(name), b"").unwrap();
        };
        class_link("scsi_generic", d.sg);
        if let Some(n) = d.tape {
            for prefix in ["st", "nst"] {
                for suffix in ["", "l", "m", "a"] {
                    class_link("scsi_tape", &format!("{prefix}{n}{suffix}"));
                }
            }
        }
        if let Some(n) = d.changer {
            class_link("scsi_changer", &format!("sch{n}"));
        }
        roots
    }

    pub fn drive<'a>(hctl: &'a str, sg: &'a str, nst: u32, serial: &'a str) -> FakeDevice<'a> {
        FakeDevice {
            hctl,
            sg,
            device_type: 1,
            vendor: "IBM",
            model: "ULTRIUM-HH9",
            rev: "Q3A0",
            serial: Some(serial),
            tape: Some(nst),
            changer: None,
        }
    }

    pub fn changer<'a>(hctl: &'a str, sg: &'a str, sch: u32, serial: &'a str) -> FakeDevice<'a> {
        FakeDevice {
            hctl,
            sg,
            device_type: 8,
            vendor: "QUANTUM",
            model: "Scalar i3-i6",
            rev: "232G",
            serial: Some(serial),
            tape: None,
            changer: Some(sch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::*;
    use super::*;
    use std::os::unix::fs::symlink;

    /// Two drives (nst order deliberately differs from sg order) and a
    /// changer.
    fn library(root: &Path) -> SysfsRoots {
        add(root, &drive("2:0:1:0", "sg3", 1, "10WT036260"));
        add(root, &drive("2:0:0:0", "sg1", 0, "10WT036261"));
        add(root, &changer("2:0:0:1", "sg2", 0, "QU1234ABCD"))
    }

    fn resolve(roots: &SysfsRoots, p: &str) -> Result<Resolved, ResolveError> {
        resolve_sg(roots, &roots.dev.join(p))
    }

    #[test]
    fn nst_st_and_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        for name in ["nst0", "st0", "nst0l", "nst0m", "nst0a", "st0a"] {
            let r = resolve(&roots, name).unwrap();
            assert_eq!(r.sg_name, "sg1", "{name}");
            assert_eq!(r.sg_path, roots.dev.join("sg1"));
            assert!(r.device_dir.unwrap().ends_with("2:0:0:0"));
        }
        assert_eq!(resolve(&roots, "nst1").unwrap().sg_name, "sg3");
        assert_eq!(resolve(&roots, "st1l").unwrap().sg_name, "sg3");
    }

    #[test]
    fn changer_and_sg_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        assert_eq!(resolve(&roots, "sch0").unwrap().sg_name, "sg2");
        let r = resolve(&roots, "sg3").unwrap();
        assert_eq!(r.sg_name, "sg3");
        assert_eq!(r.device_dir, None);
    }

    #[test]
    fn by_id_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        let by_id = roots.dev.join("tape/by-id");
        fs::create_dir_all(&by_id).unwrap();
        symlink("../../nst1", by_id.join("scsi-10WT036260-nst")).unwrap();
        symlink("../../sch0", by_id.join("scsi-QU1234ABCD")).unwrap();
        // A chain of links: /dev/reel/... -> by-id -> nst1.
        let reel = roots.dev.join("reel/by-serial/10WT036260");
        fs::create_dir_all(&reel).unwrap();
        symlink(by_id.join("scsi-10WT036260-nst"), reel.join("nst")).unwrap();
        assert_eq!(
            resolve(&roots, "tape/by-id/scsi-10WT036260-nst")
                .unwrap()
                .sg_name,
            "sg3"
        );
        assert_eq!(
            resolve(&roots, "tape/by-id/scsi-QU1234ABCD")
                .unwrap()
                .sg_name,
            "sg2"
        );
        assert_eq!(
            resolve(&roots, "reel/by-serial/10WT036260/nst")
                .unwrap()
                .sg_name,
            "sg3"
        );
    }

    #[test]
    fn missing_device_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        let e = resolve(&roots, "nst7").unwrap_err();
        assert!(matches!(e, ResolveError::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("nst7"), "{e}");
        assert!(e.to_string().contains("no such device"), "{e}");
        // Node present, sysfs entry absent (driver unloaded, stale node).
        fs::write(roots.dev.join("nst5"), b"").unwrap();
        let e = resolve(&roots, "nst5").unwrap_err();
        assert!(matches!(e, ResolveError::NoSysfsEntry { .. }), "{e:?}");
        assert!(e.to_string().contains("class/scsi_tape/nst5"), "{e}");
        // Dangling by-id link.
        symlink("../nst9", roots.dev.join("dangling")).unwrap();
        assert!(matches!(
            resolve(&roots, "dangling").unwrap_err(),
            ResolveError::NotFound { .. }
        ));
    }

    #[test]
    fn unknown_names() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        for n in ["sda", "nst", "st0x", "st0lm", "sgx", "sch"] {
            fs::write(roots.dev.join(n), b"").unwrap();
            let e = resolve(&roots, n).unwrap_err();
            assert!(matches!(e, ResolveError::UnknownName { .. }), "{n}: {e:?}");
            assert!(e.to_string().contains("expected sgN, nstN"), "{e}");
        }
    }

    #[test]
    fn device_without_sg() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        // Remove sg3's listing under its SCSI device (sg not loaded).
        let dev_dir = fs::canonicalize(roots.sys.join("class/scsi_tape/nst1/device")).unwrap();
        fs::remove_dir_all(dev_dir.join("scsi_generic")).unwrap();
        let e = resolve(&roots, "nst1").unwrap_err();
        assert!(matches!(e, ResolveError::NoSg { .. }), "{e:?}");
        assert!(e.to_string().contains("2:0:1:0"), "{e}");
        assert!(e.to_string().contains("modprobe sg"), "{e}");
        // The older `generic` link is still honoured.
        symlink("scsi_generic/sg3", dev_dir.join("generic")).unwrap();
        assert_eq!(resolve(&roots, "nst1").unwrap().sg_name, "sg3");
    }

    #[test]
    fn char_device_number_lookup() {
        // Real nodes cannot be made without privileges; check the dev_t
        // decoding against glibc's makedev() encoding instead.
        assert_eq!(dev_major_minor(0x0980), (9, 128)); // nst0
        assert_eq!(dev_major_minor(0x1502), (21, 2)); // sg2
        // major 259, minor 0x12345: (0x45) | (259 << 8) | (0x123 << 20)
        assert_eq!(dev_major_minor(0x1231_0345), (259, 0x12345));
        assert_eq!(
            dev_major_minor(0x0000_1000_0000_0000 | 0x0980),
            (0x1009, 128)
        );
    }

    #[test]
    fn enumerate_lists_all_with_details() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = library(tmp.path());
        // Add a disk: listed by enumerate, not by the tape/changer filter.
        let mut disk = drive("0:0:0:0", "sg0", 0, "DISK1");
        disk.device_type = 0;
        disk.tape = None;
        disk.serial = None;
        add(tmp.path(), &disk);
        // sg10 sorts after sg3 numerically.
        add(tmp.path(), &drive("3:0:0:0", "sg10", 2, "X"));
        let all = enumerate(&roots).unwrap();
        let names: Vec<_> = all.iter().map(|d| d.sg_name.as_str()).collect();
        assert_eq!(names, ["sg0", "sg1", "sg2", "sg3", "sg10"]);
        let sg1 = &all[1];
        assert_eq!(sg1.device_type, Some(1));
        assert!(sg1.is_tape());
        assert_eq!(sg1.vendor, "IBM");
        assert_eq!(sg1.model, "ULTRIUM-HH9");
        assert_eq!(sg1.revision, "Q3A0");
        assert_eq!(sg1.serial.as_deref(), Some("10WT036261"));
        assert_eq!(sg1.tape, Some(roots.dev.join("nst0")));
        assert_eq!(sg1.changer, None);
        assert_eq!(
            sg1.hctl,
            Some(Hctl {
                host: 2,
                channel: 0,
                target: 0,
                lun: 0
            })
        );
        let sg2 = &all[2];
        assert!(sg2.is_changer());
        assert_eq!(sg2.changer, Some(roots.dev.join("sch0")));
        assert_eq!(sg2.tape, None);
        assert_eq!(all[0].serial, None);
        let tc = enumerate_tape_and_changers(&roots).unwrap();
        assert_eq!(tc.len(), 4);
        let found = find_by_serial(&roots, "10WT036260").unwrap().unwrap();
        assert_eq!(found.sg_name, "sg3");
        assert_eq!(found.tape, Some(roots.dev.join("nst1")));
        assert!(find_by_serial(&roots, "nope").unwrap().is_none());
    }

    #[test]
    fn enumerate_without_sg_class() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = SysfsRoots::new(tmp.path().join("sys"), tmp.path().join("dev"));
        assert!(enumerate(&roots).unwrap().is_empty());
    }

    #[test]
    fn vpd80() {
        // sysfs serials go through the INQUIRY decoder.
        assert_eq!(
            inquiry::parse_unit_serial(&[
                1, 0x80, 0, 12, b' ', b' ', b'1', b'0', b'W', b'T', b'0', b'3', b'6', b'2', b'6',
                b'0'
            ])
            .unwrap(),
            "10WT036260"
        );
        // NUL padding is trimmed.
        assert_eq!(
            inquiry::parse_unit_serial(&[1, 0x80, 0, 4, b'A', b'B', 0, 0]).unwrap(),
            "AB"
        );
        // A length that overstates the data is an error: the kernel's file
        // always holds the whole page, so such a file is corrupt.
        assert!(inquiry::parse_unit_serial(&[1, 0x80, 0, 40, b'A', b'B', 0, 0]).is_err());
        assert!(inquiry::parse_unit_serial(&[1, 0x80, 0]).is_err());
        assert!(inquiry::parse_unit_serial(&[1, 0x83, 0, 0]).is_err());
        assert_eq!(inquiry::parse_unit_serial(&[1, 0x80, 0, 0]).unwrap(), "");
    }

    #[test]
    fn hctl_parse() {
        assert_eq!(
            "1:2:3:4".parse::<Hctl>().unwrap(),
            Hctl {
                host: 1,
                channel: 2,
                target: 3,
                lun: 4
            }
        );
        assert_eq!("1:2:3:4".parse::<Hctl>().unwrap().to_string(), "1:2:3:4");
        for bad in ["", "1:2:3", "1:2:3:4:5", "a:b:c:d", "1:2:3:-1"] {
            assert!(bad.parse::<Hctl>().is_err(), "{bad}");
        }
    }
}
