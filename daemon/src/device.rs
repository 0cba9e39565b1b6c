//! Opening a tape device by address: `/dev/sgN`, `/dev/nstN`, `/dev/stN`,
//! `/dev/tape/by-id/...` (resolved to the sg node through sysfs), or
//! `vtl:DIR#driveN` (a VTL directory opened in this process).

use std::path::{Path, PathBuf};

use reel_drivers::ScsiTransport;
use reel_drivers::address::{DeviceAddress, VtlTarget};
use reel_drivers::sg::{SgError, SgTransport, sysfs::SysfsRoots};
use reel_drivers::tape::{ResidualPolicy, TapeDrive};
use reel_vtl::library::{LibraryError, VirtualLibrary, VtlTransport};

use crate::mt::errno::{strip_os_error, text};
use crate::poscache::PositionCache;
use crate::tape::Tape;

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
    #[error("{0}")]
    Iscsi(#[from] reel_drivers::iscsi::initiator::IscsiError),
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
            OpenError::Iscsi(_) => "Input/output error".into(),
        }
    }
}

/// Parses a device address with the scheme every reel tool shares.
pub fn parse_address(s: &str) -> Result<DeviceAddress, OpenError> {
    let bad = |detail: String| OpenError::Address {
        address: s.to_string(),
        detail,
    };
    match s.parse::<DeviceAddress>() {
        Ok(a) => Ok(a),
        Err(e) => Err(bad(e.reason)),
    }
}

/// Opens a device node as an SG_IO transport, resolving st/nst names.
pub fn open_node(path: &Path) -> Result<SgTransport, OpenError> {
    Ok(SgTransport::open_resolved(&SysfsRoots::default(), path)?)
}

/// Opens drive `drive` of the VTL directory `dir` in this process.
pub fn open_vtl_drive(dir: &Path, drive: usize) -> Result<VtlTransport, OpenError> {
    let vtl = |e: LibraryError| {
        // A directory (or configuration file) that does not exist: no
        // library there, whatever the configuration file is called.
        let missing = matches!(&e, LibraryError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound);
        OpenError::Vtl {
            dir: dir.to_path_buf(),
            busy: matches!(e, LibraryError::Locked { .. }),
            detail: if missing {
                "no VTL here (create one with `reelctl vtl create`)".into()
            } else {
                e.to_string()
            },
        }
    };
    VirtualLibrary::open(dir)
        .map_err(vtl)?
        .drive_transport(drive)
        .map_err(vtl)
}

/// Opens the tape drive at `addr` with the residual policy of
/// `$REEL_TRUST_SENSE_LENGTH` (see [`open_tape_with`]).
pub fn open_tape(addr: &str) -> Result<Tape, OpenError> {
    open_tape_with(addr, ResidualPolicy::from_env())
}

/// Opens the tape drive at `addr`, then offers the driver where the current
/// file starts if an earlier process left that in the position cache.
pub fn open_tape_with(addr: &str, policy: ResidualPolicy) -> Result<Tape, OpenError> {
    let transport: Box<dyn ScsiTransport> = match parse_address(addr)? {
        DeviceAddress::Sg(path) | DeviceAddress::Path(path) => Box::new(open_node(&path)?),
        DeviceAddress::Vtl {
            dir,
            target: VtlTarget::Drive(n),
        } => {
            let n = usize::try_from(n).map_err(|_| OpenError::Address {
                address: addr.to_string(),
                detail: format!("drive number {n} is too large"),
            })?;
            Box::new(open_vtl_drive(&dir, n)?)
        }
        DeviceAddress::Vtl {
            target: VtlTarget::Changer,
            ..
        } => return Err(OpenError::NotATape(addr.to_string())),
        a @ DeviceAddress::Iscsi { .. } => {
            // CHAP credentials come from REEL_ISCSI_CHAP_* (never argv).
            Box::new(reel_drivers::iscsi::initiator::IscsiTransport::open(&a)?)
        }
    };
    let mut drive = TapeDrive::new(transport);
    drive.set_residual_policy(policy);
    let mut tape = Tape::new(drive, addr);
    tape.attach_position_cache(PositionCache::default_dir());
    Ok(tape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("/dev/nst0").unwrap(),
            DeviceAddress::Path("/dev/nst0".into())
        );
        assert_eq!(
            parse_address("/dev/sg3").unwrap(),
            DeviceAddress::Sg("/dev/sg3".into())
        );
        assert_eq!(
            parse_address("vtl:/tmp/lib#drive2").unwrap(),
            DeviceAddress::Vtl {
                dir: "/tmp/lib".into(),
                target: VtlTarget::Drive(2)
            }
        );
        assert_eq!(
            parse_address("vtl:rel/a#b#drive0").unwrap(),
            DeviceAddress::Vtl {
                dir: "rel/a#b".into(),
                target: VtlTarget::Drive(0)
            }
        );
        assert_eq!(
            parse_address("vtl:/x#changer").unwrap(),
            DeviceAddress::Vtl {
                dir: "/x".into(),
                target: VtlTarget::Changer
            }
        );
        for bad in [
            "vtl:/x",
            "vtl:#drive0",
            "vtl:/x#drive",
            "vtl:/x#drive-1",
            "vtl:/x#tape0",
            "",
            "ftp://h/x",
        ] {
            assert!(
                matches!(parse_address(bad), Err(OpenError::Address { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn iscsi_parses_and_an_unreachable_portal_fails_to_open() {
        assert!(matches!(
            parse_address("iscsi://h/iqn.2004-01.org.example:t/0"),
            Ok(DeviceAddress::Iscsi { .. })
        ));
        // Port 1 on loopback: nothing listens there.
        let e = match open_tape("iscsi://127.0.0.1:1/iqn.2004-01.org.example:t/0") {
            Err(e) => e,
            Ok(_) => panic!("opened an iSCSI LUN nobody serves"),
        };
        assert!(matches!(e, OpenError::Iscsi(_)), "{e}");
        assert_eq!(e.errno_text(), "Input/output error");
    }

    #[test]
    fn missing_vtl_reads_like_perror() {
        let tmp = tempfile::tempdir().unwrap();
        let addr = format!("vtl:{}/nothing#drive0", tmp.path().display());
        let e = match open_tape(&addr) {
            Err(e) => e,
            Ok(_) => panic!("opened a missing VTL"),
        };
        assert!(e.to_string().contains("no VTL here"), "{e}");
        assert_eq!(e.errno_text(), "No such file or directory");
        // A changer address is not a tape drive.
        let addr = format!("vtl:{}#changer", tmp.path().display());
        assert!(matches!(open_tape(&addr), Err(OpenError::NotATape(_))));
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
