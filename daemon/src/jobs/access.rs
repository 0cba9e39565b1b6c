//! How an executor reaches its devices. Every drive and changer operation
//! is a closure run where the device's transport lives: on the registry's
//! worker thread of that device in the daemon, or under a mutex around an
//! in-process VTL transport in tests and benchmarks. Executors batch their
//! work (a chunk of records per call) so the hop costs nothing measurable.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use reel_changer::{Changer as ScsiChanger, ChangerOptions, InventoryOptions, Library};
use reel_drivers::tape::TapeDrive;
use reel_vtl::library::VirtualLibrary;

use super::{ExecError, ExecResult};
use crate::devices::{Changer, Drive, Registry, Transport};
use crate::scheduler::device::{Device, DeviceKind};

/// The devices an executor works with.
pub trait DeviceAccess {
    /// The library (changer id) of drive `id` and the drive's number in it
    /// (from 0, as [`Library::load`] counts).
    fn drive_place(&self, id: &str) -> ExecResult<(String, usize)>;

    /// Runs `f` on drive `id`.
    fn with_drive<R, F>(&self, id: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static;

    /// Runs `f` on the changer of `library`.
    fn with_changer<R, F>(&self, library: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static;

    /// The directory of disk storage (or dedup store) `id`.
    fn storage_dir(&self, id: &str) -> ExecResult<PathBuf>;

    /// Called after `device` failed in a job, so health polling notices at
    /// once (the registry polls; direct access has nothing to do).
    fn device_failed(&self, _device: &str) {}
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another job's closure leaves the device as it was; the
    // next command's sense tells whether it is usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unreachable(device: &str, detail: impl ToString) -> ExecError {
    ExecError::Unreachable {
        device: device.into(),
        detail: detail.to_string(),
    }
}

struct VtlLib {
    changer: Mutex<Changer>,
    drives: Vec<(String, Mutex<Drive>)>,
    generation: u8,
}

/// Drives and changers of in-process VTL libraries, each behind a mutex,
/// plus disk storages by directory. Ids follow the registry's naming:
/// `NAME` for the changer, `NAME/driveN` for its drives.
#[derive(Default)]
pub struct VtlAccess {
    libs: BTreeMap<String, VtlLib>,
    storages: BTreeMap<String, (DeviceKind, PathBuf)>,
}

impl VtlAccess {
    pub fn new() -> VtlAccess {
        VtlAccess::default()
    }

    /// Adds library `lib` as `name`; returns its drive ids.
    pub fn add_library(&mut self, name: &str, lib: &VirtualLibrary) -> ExecResult<Vec<String>> {
        let t: Transport = Box::new(lib.changer_transport());
        let changer = Library::open(
            ScsiChanger::new(t, ChangerOptions::default()),
            InventoryOptions::default(),
        )
        .map_err(|source| ExecError::Changer {
            library: name.into(),
            source,
        })?;
        let mut drives = Vec::new();
        for n in 0..lib.drive_count() {
            let t: Transport = Box::new(
                lib.drive_transport(n)
                    .map_err(|e| unreachable(&format!("{name}/drive{n}"), e))?,
            );
            drives.push((format!("{name}/drive{n}"), Mutex::new(TapeDrive::new(t))));
        }
        let generation = lib
            .config()
            .drives
            .first()
            .and_then(|d| crate::media::generation_from_type(d.generation.name()))
            .unwrap_or(8);
        let ids = drives.iter().map(|(id, _)| id.clone()).collect();
        self.libs.insert(
            name.into(),
            VtlLib {
                changer: Mutex::new(changer),
                drives,
                generation,
            },
        );
        Ok(ids)
    }

    /// Adds a disk storage (or dedup store) directory as device `id`.
    pub fn add_storage(&mut self, id: &str, kind: DeviceKind, dir: PathBuf) {
        self.storages.insert(id.into(), (kind, dir));
    }

    /// The scheduler's view of every device added (all online).
    pub fn sched_devices(&self) -> Vec<Device> {
        let mut out = Vec::new();
        for (name, l) in &self.libs {
            for (id, _) in &l.drives {
                out.push(Device::tape_drive(id, name, l.generation));
            }
        }
        for (id, (kind, _)) in &self.storages {
            out.push(Device::store(id, *kind, 4));
        }
        out
    }

    fn lib(&self, name: &str) -> ExecResult<&VtlLib> {
        self.libs
            .get(name)
            .ok_or_else(|| unreachable(name, "no such library"))
    }
}

impl DeviceAccess for VtlAccess {
    fn drive_place(&self, id: &str) -> ExecResult<(String, usize)> {
        for (name, l) in &self.libs {
            if let Some(n) = l.drives.iter().position(|(d, _)| d == id) {
                return Ok((name.clone(), n));
            }
        }
        Err(unreachable(id, "no such drive"))
    }

    fn with_drive<R, F>(&self, id: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (lib, n) = self.drive_place(id)?;
        let l = self.lib(&lib)?;
        let (_, m) = l
            .drives
            .get(n)
            .ok_or_else(|| unreachable(id, "no such drive"))?;
        Ok(f(&mut lock(m)))
    }

    fn with_changer<R, F>(&self, library: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static,
    {
        Ok(f(&mut lock(&self.lib(library)?.changer)))
    }

    fn storage_dir(&self, id: &str) -> ExecResult<PathBuf> {
        self.storages
            .get(id)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| unreachable(id, "no such storage"))
    }
}

/// The daemon's devices: every operation goes to the device's worker
/// thread in the registry, naming the job that keeps it busy.
pub struct RegistryAccess<'a> {
    reg: &'a Registry,
    job: Option<String>,
}

impl<'a> RegistryAccess<'a> {
    pub fn new(reg: &'a Registry) -> RegistryAccess<'a> {
        RegistryAccess { reg, job: None }
    }

    /// Operations show as "busy (job N)".
    pub fn for_job(mut self, job: i64) -> RegistryAccess<'a> {
        self.job = Some(job.to_string());
        self
    }

    fn handle(&self, id: &str) -> ExecResult<crate::devices::DeviceHandle> {
        let h = self.reg.worker(id).map_err(|e| unreachable(id, e))?;
        Ok(match &self.job {
            Some(j) => h.for_job(j.clone()),
            None => h,
        })
    }
}

impl DeviceAccess for RegistryAccess<'_> {
    fn drive_place(&self, id: &str) -> ExecResult<(String, usize)> {
        let info = self
            .reg
            .device(id)
            .ok_or_else(|| unreachable(id, "not in the registry"))?;
        match (info.library, info.drive_number) {
            (Some(l), Some(n)) => Ok((l, n)),
            _ => Err(unreachable(id, "drive not matched to a library element")),
        }
    }

    fn with_drive<R, F>(&self, id: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle(id)?.run(f).map_err(|e| unreachable(id, e))
    }

    fn with_changer<R, F>(&self, library: &str, f: F) -> ExecResult<R>
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle(library)?
            .run_changer(f)
            .map_err(|e| unreachable(library, e))
    }

    fn storage_dir(&self, id: &str) -> ExecResult<PathBuf> {
        let info = self
            .reg
            .device(id)
            .ok_or_else(|| unreachable(id, "not in the registry"))?;
        Ok(PathBuf::from(info.address))
    }

    fn device_failed(&self, device: &str) {
        let polled = self.reg.poll_now();
        tracing::debug!(
            device,
            polled = polled.len(),
            "polled after a device failure"
        );
    }
}
