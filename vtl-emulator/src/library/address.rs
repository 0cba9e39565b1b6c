//! Device addresses of the in-process VTL: `vtl:PATH#driveN` (and, with the
//! changer issue, `vtl:PATH#changer`).

use std::path::PathBuf;

use super::{LibraryError, VirtualLibrary, VtlTransport};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VtlTarget {
    Drive(usize),
    Changer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtlAddress {
    pub path: PathBuf,
    pub target: VtlTarget,
}

/// Parses `vtl:PATH#driveN` / `vtl:PATH#changer`.
pub fn parse_address(addr: &str) -> Result<VtlAddress, LibraryError> {
    let bad = || LibraryError::BadAddress(addr.to_string());
    let rest = addr.strip_prefix("vtl:").ok_or_else(bad)?;
    let (path, target) = rest.rsplit_once('#').ok_or_else(bad)?;
    if path.is_empty() {
        return Err(bad());
    }
    let target = if target == "changer" {
        VtlTarget::Changer
    } else {
        let n = target.strip_prefix("drive").ok_or_else(bad)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        VtlTarget::Drive(n.parse().map_err(|_| bad())?)
    };
    Ok(VtlAddress {
        path: PathBuf::from(path),
        target,
    })
}

/// Opens the library named by `addr` and returns the transport to its
/// drive; the library stays open (and locked) while the transport lives.
pub fn open_device(addr: &str) -> Result<VtlTransport, LibraryError> {
    let a = parse_address(addr)?;
    match a.target {
        VtlTarget::Drive(n) => VirtualLibrary::open(&a.path)?.drive_transport(n),
        VtlTarget::Changer => Err(LibraryError::Unsupported("the VTL media changer")),
    }
}
