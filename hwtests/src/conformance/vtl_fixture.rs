//! The [`Fixture`] of reel's VTL, in process or served over iSCSI from this
//! process: cartridges of any capacity, write-protect tabs, power-on
//! resets and further initiators, all through the library's own API.

use std::sync::atomic::{AtomicU64, Ordering};

use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::changer::Location;
use reel_vtl::library::VirtualLibrary;
use reel_vtl::library::config::parse_generation;

use super::bench::{Fixture, FixtureCartridge};
use super::{CaseError, Transport};

/// How the cases reach the library: the second initiator takes the same way.
#[derive(Debug, Clone)]
pub enum VtlPath {
    /// In-process transports; further initiators get their own ids.
    InProcess,
    /// reel's iSCSI target: further initiators are new sessions to the
    /// drive's LUN.
    Iscsi(IscsiAddress),
}

/// The fixture over one drive of a [`VirtualLibrary`].
pub struct VtlFixture {
    lib: VirtualLibrary,
    drive: usize,
    path: VtlPath,
    /// Cartridges made here: removed from the library again on drop, so
    /// repeated runs against one VTL directory do not fill its slots.
    made: Vec<String>,
}

/// In-process initiator ids handed to second transports (0 is the cases'
/// own initiator; the changer driver uses 0 too).
static NEXT_INITIATOR: AtomicU64 = AtomicU64::new(0x5e00);

/// Prefix of the cartridges the fixture makes (never a scratch tape).
pub const FIXTURE_PREFIX: &str = "FX";

impl VtlFixture {
    pub fn new(lib: VirtualLibrary, drive: usize, path: VtlPath) -> VtlFixture {
        VtlFixture {
            lib,
            drive,
            path,
            made: Vec::new(),
        }
    }

    /// Takes a cartridge this fixture made out of its slot and deletes it.
    /// One still in a drive stays (a case failed to return it).
    fn remove(&self, barcode: &str) -> Result<(), String> {
        let removed = self
            .lib
            .with_changer(|c| match c.state().find(barcode) {
                Some(l @ Location::Slot(_)) => c.set_element(l, None).map(|()| true),
                _ => Ok(false),
            })
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if removed {
            let dir = self
                .lib
                .dir()
                .join(&self.lib.config().cartridges_dir)
                .join(barcode);
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(())
    }

    /// The generation of the drive under test (LTO-8 when unknown).
    fn drive_generation(&self) -> Generation {
        self.lib
            .spec()
            .drive
            .get(self.drive)
            .and_then(|d| parse_generation(&d.generation))
            .unwrap_or(Generation::Lto8)
    }

    /// The first barcode FXnnnnSS not in the library's store.
    fn free_barcode(&self, g: Generation, worm: bool) -> Result<String, CaseError> {
        let known: Vec<String> = self
            .lib
            .list()
            .map_err(vtl)?
            .into_iter()
            .map(|c| c.spec.barcode)
            .collect();
        let suffix = suffix(g, worm);
        (1..10_000)
            .map(|n| format!("{FIXTURE_PREFIX}{n:04}{suffix}"))
            .find(|b| !known.contains(b))
            .ok_or_else(|| CaseError::Skip("the VTL has no free fixture barcode left".into()))
    }
}

fn vtl(e: impl std::fmt::Display) -> CaseError {
    CaseError::Fail(format!("VTL fixture: {e}"))
}

/// The LTO barcode suffix of a generation (L8, LX for WORM...).
fn suffix(g: Generation, worm: bool) -> &'static str {
    match (g, worm) {
        (Generation::Lto5, false) => "L5",
        (Generation::Lto5, true) => "LU",
        (Generation::Lto6, false) => "L6",
        (Generation::Lto6, true) => "LV",
        (Generation::Lto7, false) => "L7",
        (Generation::Lto7, true) => "LW",
        (Generation::Lto7M8, _) => "M8",
        (Generation::Lto8, false) => "L8",
        (Generation::Lto8, true) => "LX",
        (Generation::Lto9, false) => "L9",
        (Generation::Lto9, true) => "LY",
        (Generation::Lto10, false) => "LA",
        (Generation::Lto10, true) => "LZ",
    }
}

fn generation_of(n: u8) -> Option<Generation> {
    Some(match n {
        5 => Generation::Lto5,
        6 => Generation::Lto6,
        7 => Generation::Lto7,
        8 => Generation::Lto8,
        9 => Generation::Lto9,
        10 => Generation::Lto10,
        _ => return None,
    })
}

impl Fixture for VtlFixture {
    fn cartridge(&mut self, spec: FixtureCartridge) -> Result<String, CaseError> {
        let g = match spec.generation {
            Some(n) => generation_of(n)
                .ok_or_else(|| CaseError::Skip(format!("the VTL has no LTO-{n} media")))?,
            None => self.drive_generation(),
        };
        let barcode = self.free_barcode(g, spec.worm)?;
        let mut s = CartridgeSpec::new(barcode.clone(), g);
        s.worm = spec.worm;
        if let Some(c) = spec.capacity_bytes {
            s.capacity = c;
        }
        self.lib.create_cartridge(&s).map_err(vtl)?;
        self.made.push(barcode.clone());
        if !matches!(self.lib.location(&barcode), Some(Location::Slot(_))) {
            return Err(CaseError::Skip(format!(
                "no free storage slot for fixture cartridge {barcode}"
            )));
        }
        if spec.write_protected {
            self.lib.set_write_protect(&barcode, true).map_err(vtl)?;
        }
        Ok(barcode)
    }

    fn set_write_protect(&mut self, barcode: &str, on: bool) -> Result<(), CaseError> {
        self.lib.set_write_protect(barcode, on).map_err(vtl)
    }

    fn reset(&mut self) -> Result<(), CaseError> {
        self.lib
            .with_drive(self.drive, |d| d.power_on_reset())
            .map_err(vtl)?;
        self.lib.with_changer(|c| c.power_on_reset()).map_err(vtl)
    }

    fn second_tape_transport(&mut self) -> Result<Transport, CaseError> {
        match &self.path {
            VtlPath::InProcess => {
                let id = NEXT_INITIATOR.fetch_add(1, Ordering::Relaxed);
                let t = self
                    .lib
                    .drive_transport(self.drive)
                    .map_err(vtl)?
                    .with_initiator(id);
                Ok(Box::new(t))
            }
            VtlPath::Iscsi(a) => {
                let t = IscsiTransport::connect(a, None).map_err(vtl)?;
                Ok(Box::new(t))
            }
        }
    }

    fn set_pew_size(&mut self, bytes: u64) -> Result<(), CaseError> {
        let done = self
            .lib
            .with_drive(self.drive, |d| {
                d.cartridge_mut().map(|c| c.set_pew_size(bytes)).is_some()
            })
            .map_err(vtl)?;
        if done {
            Ok(())
        } else {
            Err(CaseError::Fail(
                "VTL fixture: no cartridge in the drive".into(),
            ))
        }
    }

    fn set_tape_alert(&mut self, flag: u8) -> Result<(), CaseError> {
        self.lib
            .with_drive(self.drive, |d| d.set_tape_alert(flag))
            .map_err(vtl)
    }
}

impl Drop for VtlFixture {
    fn drop(&mut self) {
        for b in std::mem::take(&mut self.made) {
            if let Err(e) = self.remove(&b) {
                tracing::warn!(barcode = b, "fixture cartridge left in the VTL: {e}");
            }
        }
    }
}

/// The iSCSI name [`IscsiVtl`] gives its target.
pub const VTL_IQN: &str = "iqn.2025-01.org.reel:conformance";

/// reel's iSCSI target serving `lib` in this process on an ephemeral
/// loopback port: LUN 1 is drive `drive`, LUN 2 the changer. Stopped and
/// joined when the guard drops.
pub struct IscsiVtl {
    server: Option<reel_vtl::iscsi::RunningServer>,
    pub tape: IscsiAddress,
    pub changer: IscsiAddress,
}

impl IscsiVtl {
    pub fn start(lib: &VirtualLibrary, drive: usize) -> Result<IscsiVtl, CaseError> {
        let text = format!(
            "library = \".\"\n[[target]]\niqn = \"{VTL_IQN}\"\n\
             luns = {{ 1 = \"drive{drive}\", 2 = \"changer\" }}\n"
        );
        let cfg = reel_vtl::iscsi::ServeConfig::parse(&text, lib.dir()).map_err(vtl)?;
        let server = reel_vtl::iscsi::Server::with_library(cfg, lib.clone(), Some("127.0.0.1:0"))
            .map_err(vtl)?
            .spawn()
            .map_err(vtl)?;
        let port = server.local_addr().port();
        let at = |lun| IscsiAddress {
            host: "127.0.0.1".into(),
            port,
            target_iqn: VTL_IQN.into(),
            lun,
        };
        Ok(IscsiVtl {
            server: Some(server),
            tape: at(1),
            changer: at(2),
        })
    }

    /// Stops the target and reports how it ended.
    pub fn stop(mut self) -> Result<(), CaseError> {
        match self.server.take() {
            Some(s) => s.stop().map_err(vtl),
            None => Ok(()),
        }
    }
}

impl Drop for IscsiVtl {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
    }
}

/// A bench over drive `drive` and the changer of `lib`, in process, with
/// the VTL fixture.
pub fn in_process_bench(
    lib: &VirtualLibrary,
    drive: usize,
    policy: super::MediaPolicy,
) -> Result<super::Bench, CaseError> {
    let tape: Transport = Box::new(lib.drive_transport(drive).map_err(vtl)?);
    let changer: Transport = Box::new(lib.changer_transport());
    let fixture = VtlFixture::new(lib.clone(), drive, VtlPath::InProcess);
    Ok(super::Bench::new(
        Some(tape),
        Some(changer),
        policy,
        Some(Box::new(fixture)),
    ))
}

/// A bench over `target` (served from `lib` in this process) through
/// reel's iSCSI initiator, with the VTL fixture.
pub fn iscsi_bench(
    lib: &VirtualLibrary,
    drive: usize,
    target: &IscsiVtl,
    policy: super::MediaPolicy,
) -> Result<super::Bench, CaseError> {
    let tape: Transport = Box::new(IscsiTransport::connect(&target.tape, None).map_err(vtl)?);
    let changer: Transport = Box::new(IscsiTransport::connect(&target.changer, None).map_err(vtl)?);
    let fixture = VtlFixture::new(lib.clone(), drive, VtlPath::Iscsi(target.tape.clone()));
    Ok(super::Bench::new(
        Some(tape),
        Some(changer),
        policy,
        Some(Box::new(fixture)),
    ))
}
