//! What devices there are: SCSI tape drives and changers from sysfs, the
//! libraries and devices of the configuration (VTL directories, iSCSI
//! LUNs, device nodes), and the disk storages and dedup stores. Produces
//! plans; the registry turns them into workers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reel_drivers::DataDirection;
use reel_drivers::address::{DeviceAddress, VtlTarget};
use reel_drivers::iscsi::initiator::IscsiTransport;
use reel_drivers::scsi::{command, inquiry};
use reel_drivers::sg::SgTransport;
use reel_drivers::sg::sysfs::{self, SgDevice, SysfsRoots};
use reel_vtl::library::VirtualLibrary;

use super::config::{DevicesConfig, EntryKind, StorageKind};
use super::worker::{Opener, Transport};
use crate::scheduler::device::DeviceKind;

/// Reads a device's unit serial (VPD 80h) when sysfs does not show it.
/// Injectable: tests cannot send INQUIRY to a fake sysfs tree.
pub trait SerialReader: Send + Sync {
    fn serial(&self, dev: &SgDevice) -> Option<String>;
}

/// The real one: INQUIRY VPD 80h through SG_IO.
#[derive(Debug, Default, Clone, Copy)]
pub struct InquirySerial;

impl SerialReader for InquirySerial {
    fn serial(&self, dev: &SgDevice) -> Option<String> {
        let mut t = SgTransport::open(&dev.sg_path).ok()?;
        let mut buf = [0u8; 0xff];
        let cdb = inquiry::inquiry_cdb(true, 0x80, 0xff);
        let out = command::run(
            &mut t,
            "INQUIRY",
            &cdb,
            DataDirection::FromDevice(&mut buf),
            Duration::from_secs(30),
        )
        .ok()?;
        let n = out.transferred.min(buf.len());
        inquiry::parse_unit_serial(&buf[..n])
            .ok()
            .filter(|s| !s.is_empty())
    }
}

/// For hosts (and tests) that must not send any command while scanning.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSerial;

impl SerialReader for NoSerial {
    fn serial(&self, _dev: &SgDevice) -> Option<String> {
        None
    }
}

/// Open VTL libraries by directory: a library directory is locked by the
/// process that opens it, so each is opened once and shared by its
/// changer's and drives' workers.
#[derive(Default)]
pub(crate) struct VtlCache {
    libs: BTreeMap<PathBuf, VirtualLibrary>,
}

fn dir_key(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

impl VtlCache {
    pub fn insert(&mut self, lib: VirtualLibrary) {
        self.libs.insert(dir_key(lib.dir()), lib);
    }

    pub fn get(&mut self, dir: &Path) -> Result<VirtualLibrary, String> {
        let key = dir_key(dir);
        if let Some(l) = self.libs.get(&key) {
            return Ok(l.clone());
        }
        let l = VirtualLibrary::open(dir).map_err(|e| format!("VTL {}: {e}", dir.display()))?;
        self.libs.insert(key, l.clone());
        Ok(l)
    }
}

/// One device to serve.
pub(crate) struct Plan {
    pub id: String,
    pub kind: DeviceKind,
    pub address: String,
    pub vendor: String,
    pub model: String,
    pub serial: Option<String>,
    /// `None` for storages (no worker).
    pub opener: Option<Opener>,
    /// A drive of this library (by configuration).
    pub library: Option<String>,
    /// A sysfs drive: matched to any sysfs changer by serial.
    pub match_any: bool,
    /// Found in sysfs (a later scan may miss it).
    pub sysfs: bool,
    pub storage: Option<PathBuf>,
    pub max_jobs: u32,
}

impl Plan {
    fn new(id: String, kind: DeviceKind, address: String, opener: Option<Opener>) -> Plan {
        Plan {
            id,
            kind,
            address,
            vendor: String::new(),
            model: String::new(),
            serial: None,
            opener,
            library: None,
            match_any: false,
            sysfs: false,
            storage: None,
            max_jobs: 1,
        }
    }
}

fn boxed<T: reel_drivers::ScsiTransport + Send + 'static>(t: T) -> Transport {
    Box::new(t)
}

/// The opener of a parsed address. Errors surface when the worker opens.
fn opener_for(addr: &DeviceAddress, roots: &SysfsRoots, vtls: &mut VtlCache) -> Opener {
    match addr.clone() {
        a @ (DeviceAddress::Sg(_) | DeviceAddress::Path(_)) => {
            let roots = roots.clone();
            Box::new(move || {
                SgTransport::open_address(&roots, &a)
                    .map(boxed)
                    .map_err(|e| e.to_string())
            })
        }
        DeviceAddress::Vtl { dir, target } => match vtls.get(&dir) {
            Ok(lib) => Box::new(move || match target {
                VtlTarget::Changer => Ok(boxed(lib.changer_transport())),
                VtlTarget::Drive(n) => usize::try_from(n)
                    .map_err(|e| e.to_string())
                    .and_then(|n| lib.drive_transport(n).map_err(|e| e.to_string()))
                    .map(boxed),
            }),
            Err(e) => Box::new(move || Err(e.clone())),
        },
        a @ DeviceAddress::Iscsi { .. } => Box::new(move || {
            IscsiTransport::open(&a)
                .map(boxed)
                .map_err(|e| e.to_string())
        }),
    }
}

fn failing(e: String) -> Opener {
    Box::new(move || Err(e.clone()))
}

/// Plans every configured and (when enabled) sysfs device. Problems with
/// one device (bad address, locked VTL) make that device offline, they do
/// not stop discovery; they are returned as warnings too.
pub(crate) fn discover(
    config: &DevicesConfig,
    roots: &SysfsRoots,
    serials: &dyn SerialReader,
    vtls: &mut VtlCache,
) -> (Vec<Plan>, Vec<String>) {
    let mut plans: Vec<Plan> = Vec::new();
    let mut warnings = Vec::new();
    // Library references in [[device]] entries: by id or by address.
    let mut lib_names: BTreeMap<String, String> = BTreeMap::new();

    for (i, l) in config.libraries.iter().enumerate() {
        let id = l.id.clone().unwrap_or_else(|| format!("lib{}", i + 1));
        lib_names.insert(id.clone(), id.clone());
        lib_names.insert(l.address.clone(), id.clone());
        let vtl_dir = l
            .address
            .strip_prefix("vtl:")
            .filter(|rest| !rest.contains('#'));
        if let Some(dir) = vtl_dir {
            let changer_addr = format!("vtl:{dir}#changer");
            match vtls.get(Path::new(dir)) {
                Ok(lib) => {
                    let c = lib.clone();
                    plans.push(Plan::new(
                        id.clone(),
                        DeviceKind::Changer,
                        changer_addr,
                        Some(Box::new(move || Ok(boxed(c.changer_transport())))),
                    ));
                    for n in 0..lib.drive_count() {
                        let d = lib.clone();
                        let mut p = Plan::new(
                            format!("{id}/drive{n}"),
                            DeviceKind::TapeDrive,
                            format!("vtl:{dir}#drive{n}"),
                            Some(Box::new(move || {
                                d.drive_transport(n).map(boxed).map_err(|e| e.to_string())
                            })),
                        );
                        p.library = Some(id.clone());
                        plans.push(p);
                    }
                }
                Err(e) => {
                    warnings.push(e.clone());
                    plans.push(Plan::new(
                        id.clone(),
                        DeviceKind::Changer,
                        changer_addr,
                        Some(failing(e)),
                    ));
                }
            }
            continue;
        }
        let opener = match l.address.parse::<DeviceAddress>() {
            Ok(a) => opener_for(&a, roots, vtls),
            Err(e) => {
                warnings.push(e.to_string());
                failing(e.to_string())
            }
        };
        plans.push(Plan::new(
            id.clone(),
            DeviceKind::Changer,
            l.address.clone(),
            Some(opener),
        ));
        for (n, d) in l.drives.iter().enumerate() {
            let opener = match d.parse::<DeviceAddress>() {
                Ok(a) => opener_for(&a, roots, vtls),
                Err(e) => {
                    warnings.push(e.to_string());
                    failing(e.to_string())
                }
            };
            let mut p = Plan::new(
                format!("{id}/drive{n}"),
                DeviceKind::TapeDrive,
                d.clone(),
                Some(opener),
            );
            p.library = Some(id.clone());
            plans.push(p);
        }
    }

    let (mut drives, mut changers) = (0, 0);
    for e in &config.device_entries {
        if plans.iter().any(|p| p.address == e.address) {
            continue;
        }
        let (kind, default_id) = match e.kind {
            EntryKind::TapeDrive => {
                drives += 1;
                (DeviceKind::TapeDrive, format!("drive{drives}"))
            }
            EntryKind::Changer => {
                changers += 1;
                (DeviceKind::Changer, format!("changer{changers}"))
            }
        };
        let opener = match e.address.parse::<DeviceAddress>() {
            Ok(a) => opener_for(&a, roots, vtls),
            Err(err) => {
                warnings.push(err.to_string());
                failing(err.to_string())
            }
        };
        let mut p = Plan::new(
            e.id.clone().unwrap_or(default_id),
            kind,
            e.address.clone(),
            Some(opener),
        );
        if let Some(l) = &e.library {
            match lib_names.get(l) {
                Some(id) => p.library = Some(id.clone()),
                None => warnings.push(format!(
                    "device {}: no library {l:?} in the configuration",
                    p.id
                )),
            }
        }
        plans.push(p);
    }

    for s in &config.storages {
        let kind = match s.kind {
            StorageKind::Disk => DeviceKind::DiskStorage,
            StorageKind::Dedup => DeviceKind::DedupStore,
        };
        let mut p = Plan::new(s.id.clone(), kind, s.path.display().to_string(), None);
        p.storage = Some(s.path.clone());
        p.max_jobs = s.max_jobs.unwrap_or(4).max(1);
        plans.push(p);
    }

    if config.devices.sysfs {
        match sysfs::enumerate_tape_and_changers(roots) {
            Ok(devs) => plans.extend(sysfs_plans(devs, serials, &plans)),
            Err(e) => warnings.push(format!("sysfs scan: {e}")),
        }
    }
    (plans, warnings)
}

/// Plans for the sysfs devices not already configured by address.
fn sysfs_plans(devs: Vec<SgDevice>, serials: &dyn SerialReader, known: &[Plan]) -> Vec<Plan> {
    let mut out = Vec::new();
    for d in devs {
        let node = if d.is_tape() {
            d.tape.clone()
        } else {
            d.changer.clone()
        };
        let address = node
            .unwrap_or_else(|| d.sg_path.clone())
            .display()
            .to_string();
        let sg = d.sg_path.display().to_string();
        if known
            .iter()
            .any(|p| p.address == address || p.address == sg)
        {
            continue;
        }
        let serial = d.serial.clone().or_else(|| serials.serial(&d));
        let tag = serial.clone().unwrap_or_else(|| d.sg_name.clone());
        let (kind, id) = if d.is_tape() {
            (DeviceKind::TapeDrive, format!("drive-{tag}"))
        } else {
            (DeviceKind::Changer, format!("lib-{tag}"))
        };
        let path = d.sg_path.clone();
        let opener: Opener = Box::new(move || {
            SgTransport::open(&path)
                .map(boxed)
                .map_err(|e| e.to_string())
        });
        let mut p = Plan::new(id, kind, address, Some(opener));
        p.vendor = d.vendor.clone();
        p.model = d.model.clone();
        p.serial = serial;
        p.sysfs = true;
        p.match_any = d.is_tape();
        out.push(p);
    }
    out
}
