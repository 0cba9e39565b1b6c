//! Opening a tape device by address: `/dev/sgN`, `/dev/nstN`, `/dev/stN`,
//! `/dev/tape/by-id/...` (resolved to the sg node through sysfs), or
//! `vtl:DIR#driveN` (a VTL directory opened in this process).

use std::path::{Path, PathBuf};

use reel_drivers::ScsiTransport;
use reel_drivers::sg::{SgError, SgTransport, sysfs::SysfsRoots};
use reel_drivers::tape::TapeDrive;
use reel_vtl::library::{LibraryError, VirtualLibrary, VtlTransport};

use crate::mt::errno::text;
use crate::tape::Tape;

/// A parsed device address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A device node (sg, st/nst or a symlink to one).
    Node(PathBuf),
    /// Drive `drive` of the VTL directory `dir`.
    VtlDrive { dir: PathBuf, drive: usize },
    /// The changer of the VTL directory `dir`.
    VtlChanger { dir: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("bad device address {address:?}: {detail}")]
    Address { address: String, detail: String },
    #[error("{0}")]
    Sg(#[from] SgError),
    #[error("VTL {dir}: {detail}")]
    Vtl {
        dir: PathBuf,
        /// Another process has the library open (st's EBUSY).
        busy: bool,
        detail: String,
    },
    #[error("{0} is a changer, not a tape drive")]
    NotATape(String),
}

impl OpenError {
    /// What mt-st's `perror()` would print after a failed open().
    pub fn errno_text(&self) -> String {
        match self {
            OpenError::Sg(SgError::Open { source, .. }) => strip_os_error(source),
            OpenError::Sg(SgError::Resolve(reel_drivers::sg::sysfs::ResolveError::NotFound {
                ..
            })) => text::ENOENT.into(),
            OpenError::Sg(SgError::Resolve(reel_drivers::sg::sysfs::ResolveError::Io {
                source,
                ..
            })) => strip_os_error(source),
            OpenError::Vtl { busy: true, .. } => text::EBUSY.into(),
            OpenError::Address { .. } | OpenError::Vtl { .. } => text::ENOENT.into(),
            OpenError::Sg(_) | OpenError::NotATape(_) => "No such device or address".into(),
        }
    }
}

/// `io::Error`'s text without Rust's " (os error N)" suffix, as perror.
fn strip_os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Parses a device address.
pub fn parse_address(s: &str) -> Result<Address, OpenError> {
    let bad = |detail: &str| OpenError::Address {
        address: s.to_string(),
        detail: detail.to_string(),
    };
    if let Some(rest) = s.strip_prefix("vtl:") {
        let (dir, target) = rest
            .rsplit_once('#')
            .ok_or_else(|| bad("expected vtl:DIR#driveN or vtl:DIR#changer"))?;
        if dir.is_empty() {
            return Err(bad("empty VTL directory"));
        }
        let dir = PathBuf::from(dir);
        if target == "changer" {
            return Ok(Address::VtlChanger { dir });
        }
        let n = target
            .strip_prefix("drive")
            .ok_or_else(|| bad("expected #driveN or #changer after the directory"))?;
        let drive = n
            .parse()
            .map_err(|_| bad("the drive number must be a non-negative integer"))?;
        return Ok(Address::VtlDrive { dir, drive });
    }
    if s.contains("://") {
        return Err(bad("network transports (iscsi://) are not available yet"));
    }
    if s.is_empty() {
        return Err(bad("empty address"));
    }
    Ok(Address::Node(PathBuf::from(s)))
}

/// Opens a device node as an SG_IO transport, resolving st/nst names.
pub fn open_node(path: &Path) -> Result<SgTransport, OpenError> {
    Ok(SgTransport::open_resolved(&SysfsRoots::default(), path)?)
}

/// Opens drive `drive` of the VTL directory `dir` in this process.
pub fn open_vtl_drive(dir: &Path, drive: usize) -> Result<VtlTransport, OpenError> {
    let vtl = |e: LibraryError| OpenError::Vtl {
        dir: dir.to_path_buf(),
        busy: matches!(e, LibraryError::Locked { .. }),
        detail: e.to_string(),
    };
    if !dir.join("library.json").is_file() {
        return Err(OpenError::Vtl {
            dir: dir.to_path_buf(),
            busy: false,
            detail: "no VTL here (create one with `reelctl vtl create`)".into(),
        });
    }
    VirtualLibrary::open(dir)
        .map_err(vtl)?
        .drive_transport(drive)
        .map_err(vtl)
}

/// Opens the tape drive at `addr`.
pub fn open_tape(addr: &str) -> Result<Tape, OpenError> {
    let transport: Box<dyn ScsiTransport> = match parse_address(addr)? {
        Address::Node(path) => Box::new(open_node(&path)?),
        Address::VtlDrive { dir, drive } => Box::new(open_vtl_drive(&dir, drive)?),
        Address::VtlChanger { .. } => return Err(OpenError::NotATape(addr.to_string())),
    };
    Ok(Tape::new(TapeDrive::new(transport), addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("/dev/nst0").unwrap(),
            Address::Node("/dev/nst0".into())
        );
        assert_eq!(
            parse_address("vtl:/tmp/lib#drive2").unwrap(),
            Address::VtlDrive {
                dir: "/tmp/lib".into(),
                drive: 2
            }
        );
        assert_eq!(
            parse_address("vtl:rel/a#b#drive0").unwrap(),
            Address::VtlDrive {
                dir: "rel/a#b".into(),
                drive: 0
            }
        );
        assert_eq!(
            parse_address("vtl:/x#changer").unwrap(),
            Address::VtlChanger { dir: "/x".into() }
        );
        for bad in [
            "vtl:/x",
            "vtl:#drive0",
            "vtl:/x#drive",
            "vtl:/x#drive-1",
            "vtl:/x#tape0",
            "",
            "iscsi://h/iqn/0",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_node_reads_like_perror() {
        let e = match open_node(Path::new("/nonexistent/nst0")) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing device"),
        };
        assert_eq!(e.errno_text(), "No such file or directory");
    }
}
