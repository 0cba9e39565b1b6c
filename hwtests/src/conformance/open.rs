//! Opening the devices a bench runs against from reel addresses
//! (`/dev/sgN`, `/dev/nstN`, `/dev/schN`, `vtl:DIR#driveN`,
//! `vtl:DIR#changer`, `iscsi://HOST[:PORT]/TARGET/LUN`). A VTL opened in
//! this process brings its fixture; an iSCSI tape brings a second session
//! for the cases that need another initiator.

use std::path::PathBuf;
use std::time::Duration;

use reel_changer::element_status;
use reel_drivers::address::{DeviceAddress, VtlTarget};
use reel_drivers::iscsi::initiator::IscsiTransport;
use reel_drivers::scsi::opcodes;
use reel_drivers::scsi::transport::{
    Completion, DataDirection, ScsiStatus, ScsiTransport, TransportError,
};
use reel_drivers::sg::{SgTransport, SysfsRoots};
use reel_vtl::library::VirtualLibrary;

use super::bench::{Bench, Fixture, MediaPolicy, TransportOpener};
use super::vtl_fixture::{VtlFixture, VtlPath};
use super::{CaseError, TargetKind, Transport};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Address(#[from] reel_drivers::address::AddressError),
    #[error("{address}: {source}")]
    Sg {
        address: String,
        #[source]
        source: reel_drivers::sg::SgError,
    },
    #[error("{address}: {source}")]
    Iscsi {
        address: String,
        #[source]
        source: reel_drivers::iscsi::initiator::IscsiError,
    },
    #[error("{address}: VTL: {detail}")]
    Vtl { address: String, detail: String },
    #[error("{address}: {detail}")]
    Wrong { address: String, detail: String },
}

/// The devices of a bench, opened.
pub struct Opened {
    pub tape: Option<Transport>,
    pub changer: Option<Transport>,
    pub fixture: Option<Box<dyn Fixture>>,
    pub second_tape: Option<TransportOpener>,
    /// VTL when any address was a `vtl:` one, else a device.
    pub target: TargetKind,
}

impl Opened {
    /// The bench over these devices.
    pub fn into_bench(self, policy: MediaPolicy) -> Bench {
        let mut b = Bench::new(self.tape, self.changer, policy, self.fixture);
        if let Some(o) = self.second_tape {
            b.set_second_tape(o);
        }
        b
    }
}

/// Opens `tape` and `changer` (either may be absent).
pub fn open_devices(tape: Option<&str>, changer: Option<&str>) -> Result<Opened, OpenError> {
    let tape_addr = tape.map(|s| s.parse::<DeviceAddress>()).transpose()?;
    let changer_addr = changer.map(|s| s.parse::<DeviceAddress>()).transpose()?;
    // One VirtualLibrary per directory: it is locked while open.
    let mut libs: Vec<(PathBuf, VirtualLibrary)> = Vec::new();
    let mut lib_for = |dir: &PathBuf, address: &str| -> Result<VirtualLibrary, OpenError> {
        if let Some((_, l)) = libs.iter().find(|(d, _)| d == dir) {
            return Ok(l.clone());
        }
        let l = VirtualLibrary::open(dir).map_err(|e| OpenError::Vtl {
            address: address.to_string(),
            detail: e.to_string(),
        })?;
        libs.push((dir.clone(), l.clone()));
        Ok(l)
    };
    let mut out = Opened {
        tape: None,
        changer: None,
        fixture: None,
        second_tape: None,
        target: TargetKind::Device,
    };
    if let (Some(a), Some(text)) = (&tape_addr, tape) {
        out.tape = Some(match a {
            DeviceAddress::Vtl {
                dir,
                target: VtlTarget::Drive(n),
            } => {
                let n = usize::try_from(*n).map_err(|_| OpenError::Wrong {
                    address: text.into(),
                    detail: "drive number too large".into(),
                })?;
                let lib = lib_for(dir, text)?;
                let t = lib.drive_transport(n).map_err(|e| OpenError::Vtl {
                    address: text.into(),
                    detail: e.to_string(),
                })?;
                out.fixture = Some(Box::new(VtlFixture::new(lib, n, VtlPath::InProcess)));
                out.target = TargetKind::VtlInProcess;
                Box::new(t)
            }
            DeviceAddress::Vtl { .. } => {
                return Err(OpenError::Wrong {
                    address: text.into(),
                    detail: "--tape needs a drive (vtl:DIR#driveN)".into(),
                });
            }
            a => open_plain(a, text)?,
        });
        if matches!(a, DeviceAddress::Iscsi { .. }) {
            let a = a.clone();
            out.second_tape = Some(Box::new(move || {
                IscsiTransport::open(&a)
                    .map(|t| Box::new(t) as Transport)
                    .map_err(|e| CaseError::Fail(format!("second iSCSI session: {e}")))
            }));
        }
    }
    if let (Some(a), Some(text)) = (&changer_addr, changer) {
        out.changer = Some(match a {
            DeviceAddress::Vtl {
                dir,
                target: VtlTarget::Changer,
            } => {
                out.target = TargetKind::VtlInProcess;
                Box::new(lib_for(dir, text)?.changer_transport())
            }
            DeviceAddress::Vtl { .. } => {
                return Err(OpenError::Wrong {
                    address: text.into(),
                    detail: "--changer needs a changer (vtl:DIR#changer)".into(),
                });
            }
            a => open_plain(a, text)?,
        });
    }
    Ok(out)
}

/// A Linux node or an iSCSI LUN.
fn open_plain(a: &DeviceAddress, text: &str) -> Result<Transport, OpenError> {
    match a {
        DeviceAddress::Iscsi { .. } => IscsiTransport::open(a)
            .map(|t| Box::new(t) as Transport)
            .map_err(|source| OpenError::Iscsi {
                address: text.into(),
                source,
            }),
        _ => SgTransport::open_address(&SysfsRoots::default(), a)
            .map(|t| Box::new(t) as Transport)
            .map_err(|source| OpenError::Sg {
                address: text.into(),
                source,
            }),
    }
}

/// The changer behind an adapter that misreports the residual (field note
/// A8; `reel-hwtest --trust-sense-length`): READ ELEMENT STATUS is taken
/// by its header's byte count, so the bytes after the report, which such
/// an adapter claims it transferred, are not mistaken for report data. It
/// never claims more than the adapter did.
pub struct HeaderLength(pub Transport);

impl ScsiTransport for HeaderLength {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let DataDirection::FromDevice(buf) = data else {
            return self.0.execute(cdb, data, timeout);
        };
        let mut c = self
            .0
            .execute(cdb, DataDirection::FromDevice(&mut *buf), timeout)?;
        if cdb.first() == Some(&opcodes::READ_ELEMENT_STATUS) && c.status == ScsiStatus::GOOD {
            let sent = buf.len().saturating_sub(c.residual);
            if let Some(declared) = element_status::declared_len(&buf[..sent]) {
                c.residual = buf.len() - sent.min(declared);
            }
        }
        Ok(c)
    }

    fn max_transfer(&self) -> usize {
        self.0.max_transfer()
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every command with `data` and residual 0, as QEMU's iSCSI
    /// passthrough does.
    struct NoResidual(Vec<u8>);

    impl ScsiTransport for NoResidual {
        fn execute(
            &mut self,
            _cdb: &[u8],
            data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            if let DataDirection::FromDevice(b) = data {
                let n = b.len().min(self.0.len());
                b[..n].copy_from_slice(&self.0[..n]);
            }
            Ok(Completion::good(0))
        }

        fn describe(&self) -> String {
            "no residual".into()
        }
    }

    fn res(t: &mut HeaderLength, alloc: usize) -> usize {
        let cdb = [
            0xb8, 0x02, 0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        ];
        let mut buf = vec![0u8; alloc];
        let c = t
            .execute(
                &cdb,
                DataDirection::FromDevice(&mut buf),
                Duration::from_secs(1),
            )
            .unwrap();
        alloc - c.residual
    }

    #[test]
    fn element_status_is_cut_at_its_header_byte_count() {
        // 2 storage descriptors: 8 + 8 + 24 = 40 bytes.
        let report = vec![
            0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x20, //
            0x02, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x18, //
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
            0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let mut t = HeaderLength(Box::new(NoResidual(report)));
        assert_eq!(res(&mut t, 256), 40);
        // A smaller allocation: what the adapter moved, never more.
        assert_eq!(res(&mut t, 20), 20);
        assert_eq!(res(&mut t, 4), 4);
        // Other commands pass untouched.
        let mut buf = [0u8; 64];
        let c = t
            .execute(
                &[0x12, 0, 0, 0, 64, 0],
                DataDirection::FromDevice(&mut buf),
                Duration::from_secs(1),
            )
            .unwrap();
        assert_eq!(c.residual, 0);
    }
}
