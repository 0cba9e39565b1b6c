//! Opening a medium changer by address (`-f DEVICE` of `reelctl changer`
//! and the mtx shim): `/dev/sgN` directly, `/dev/schN` and other nodes
//! resolved to their sg node through sysfs, or `vtl:DIR#changer` (the
//! changer of a VTL directory, opened in this process).
//!
//! A VTL changer comes with its library, so its drives can be unloaded in
//! process before the robot takes a cartridge out ([`ChangerDevice::eject_drive`]):
//! the VTL then behaves like a library whose robot unloads drives itself.

use std::path::Path;

use reel_changer::ChangerError;
use reel_changer::library::eject_tape;
use reel_drivers::ScsiTransport;
use reel_drivers::address::{DeviceAddress, VtlTarget};
use reel_drivers::sg::{SgError, SgTransport, sysfs::SysfsRoots};
use reel_drivers::tape::TapeDrive;
use reel_vtl::library::{LibraryError, VirtualLibrary};

/// Why a changer could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ChangerOpenError {
    #[error("bad device address {address:?}: {detail}")]
    Address { address: String, detail: String },
    #[error("{0}")]
    Sg(#[from] SgError),
    #[error("VTL {dir}: {detail}")]
    Vtl {
        dir: String,
        /// Another process has the library open.
        busy: bool,
        /// No library in that directory.
        missing: bool,
        detail: String,
    },
    #[error("{0}")]
    Iscsi(#[from] reel_drivers::iscsi::initiator::IscsiError),
    #[error("{0} is a tape drive of a VTL, not its changer (use vtl:DIR#changer)")]
    NotAChanger(String),
}

impl ChangerOpenError {
    /// The errno text mtx's `%m` would print after a failed open().
    pub fn errno_text(&self) -> String {
        match self {
            ChangerOpenError::Sg(SgError::Open { source, .. }) => strip_os_error(source),
            ChangerOpenError::Sg(SgError::Resolve(reel_drivers::sg::sysfs::ResolveError::Io {
                source,
                ..
            })) => strip_os_error(source),
            ChangerOpenError::Vtl { busy: true, .. } => "Device or resource busy".into(),
            ChangerOpenError::Vtl { missing: false, .. } => "Input/output error".into(),
            ChangerOpenError::NotAChanger(_) => "No such device or address".into(),
            ChangerOpenError::Iscsi(_) => "Input/output error".into(),
            _ => "No such file or directory".into(),
        }
    }
}

fn strip_os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An open changer: the transport and, for a VTL, its library.
pub struct ChangerDevice {
    transport: Box<dyn ScsiTransport>,
    vtl: Option<VirtualLibrary>,
    address: String,
}

impl ChangerDevice {
    /// A changer on any transport (tests, benchmarks).
    pub fn from_transport(transport: Box<dyn ScsiTransport>, address: &str) -> ChangerDevice {
        ChangerDevice {
            transport,
            vtl: None,
            address: address.to_string(),
        }
    }

    /// The changer of an already open VTL library.
    pub fn from_vtl(lib: VirtualLibrary) -> ChangerDevice {
        let address = format!("vtl:{}#changer", lib.dir().display());
        ChangerDevice {
            transport: Box::new(lib.changer_transport()),
            vtl: Some(lib),
            address,
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn is_vtl(&self) -> bool {
        self.vtl.is_some()
    }

    pub fn vtl(&self) -> Option<&VirtualLibrary> {
        self.vtl.as_ref()
    }

    /// Splits into the transport (for a `Changer`) and the ejector.
    pub fn into_parts(self) -> (Box<dyn ScsiTransport>, DriveEjector) {
        (self.transport, DriveEjector { vtl: self.vtl })
    }
}

/// Unloads a library's drive through its tape device before the robot
/// takes the cartridge out. Only VTL drives are reachable in process; for a
/// real library this is a no-op (mtx never ejects drives itself: Bacula
/// runs `mt offline` first when its `offline` option is set).
pub struct DriveEjector {
    vtl: Option<VirtualLibrary>,
}

impl DriveEjector {
    /// An ejector that does nothing.
    pub fn none() -> DriveEjector {
        DriveEjector { vtl: None }
    }

    /// Whether [`DriveEjector::eject_drive`] does anything.
    pub fn active(&self) -> bool {
        self.vtl.is_some()
    }

    /// Unloads drive `drive` (index from 0, in element address order).
    pub fn eject_drive(&mut self, drive: usize) -> Result<(), ChangerError> {
        let Some(lib) = &self.vtl else {
            return Ok(());
        };
        let t = lib
            .drive_transport(drive)
            .map_err(|_| ChangerError::NoEjector { drive })?;
        let mut tape = TapeDrive::new(t);
        eject_tape(&mut tape, drive)
    }
}

impl reel_changer::Ejector for DriveEjector {
    fn eject(&mut self, drive: usize) -> Result<(), ChangerError> {
        self.eject_drive(drive)
    }
}

/// Opens the changer at `addr`.
pub fn open_changer(addr: &str) -> Result<ChangerDevice, ChangerOpenError> {
    let bad = |detail: String| ChangerOpenError::Address {
        address: addr.to_string(),
        detail,
    };
    let parsed: DeviceAddress = addr
        .parse()
        .map_err(|e: reel_drivers::address::AddressError| bad(e.reason))?;
    match parsed {
        DeviceAddress::Sg(p) => Ok(ChangerDevice::from_transport(
            Box::new(SgTransport::open(&p)?),
            addr,
        )),
        DeviceAddress::Path(p) => Ok(ChangerDevice::from_transport(
            Box::new(SgTransport::open_resolved(&SysfsRoots::default(), &p)?),
            addr,
        )),
        DeviceAddress::Vtl {
            dir,
            target: VtlTarget::Changer,
        } => {
            let mut dev = ChangerDevice::from_vtl(open_vtl(&dir)?);
            dev.address = addr.to_string();
            Ok(dev)
        }
        DeviceAddress::Vtl { .. } => Err(ChangerOpenError::NotAChanger(addr.to_string())),
        DeviceAddress::Iscsi { .. } => Ok(ChangerDevice::from_transport(
            Box::new(reel_drivers::iscsi::initiator::IscsiTransport::open(
                &parsed,
            )?),
            addr,
        )),
    }
}

/// Opens the VTL library in `dir` (which must exist).
pub fn open_vtl(dir: &Path) -> Result<VirtualLibrary, ChangerOpenError> {
    let fail = |e: LibraryError, missing: bool| ChangerOpenError::Vtl {
        dir: dir.display().to_string(),
        busy: matches!(e, LibraryError::Locked { .. }),
        missing,
        detail: if missing {
            "no VTL here (create one with `reelctl vtl create`)".into()
        } else {
            e.to_string()
        },
    };
    if !dir.is_dir() || !VirtualLibrary::exists(dir) {
        return Err(fail(
            LibraryError::Io {
                path: dir.to_path_buf(),
                op: "open",
                source: std::io::ErrorKind::NotFound.into(),
            },
            true,
        ));
    }
    VirtualLibrary::open(dir).map_err(|e| fail(e, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(addr: &str) -> ChangerOpenError {
        match open_changer(addr) {
            Ok(_) => panic!("{addr} opened"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_addresses() {
        assert!(matches!(err(""), ChangerOpenError::Address { .. }));
        assert!(matches!(err("vtl:/x"), ChangerOpenError::Address { .. }));
        assert!(matches!(
            err("vtl:/x#drive0"),
            ChangerOpenError::NotAChanger(_)
        ));
    }

    #[test]
    fn missing_nodes_and_libraries() {
        let e = err("/nonexistent/sg7");
        assert_eq!(e.errno_text(), "No such file or directory");
        let tmp = tempfile::tempdir().unwrap();
        let e = err(&format!("vtl:{}#changer", tmp.path().display()));
        assert!(
            matches!(e, ChangerOpenError::Vtl { missing: true, .. }),
            "{e}"
        );
        assert_eq!(e.errno_text(), "No such file or directory");
        // Nothing was created in the directory by the failed open.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn opens_a_vtl_changer_with_its_drives() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lib");
        drop(VirtualLibrary::create_default(&dir).unwrap());
        let addr = format!("vtl:{}#changer", dir.display());
        let dev = open_changer(&addr).unwrap();
        assert!(dev.is_vtl());
        assert_eq!(dev.address(), addr);
        let (_t, mut ej) = dev.into_parts();
        assert!(ej.active());
        // An empty drive has nothing to eject.
        ej.eject_drive(0).unwrap();
        assert!(matches!(
            ej.eject_drive(9),
            Err(ChangerError::NoEjector { drive: 9 })
        ));
    }
}
