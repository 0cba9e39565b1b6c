//! Catalog set-up the executors need before a job: devices registered,
//! a pool of them, a media set, the library's cartridges imported. Each
//! step leaves what already exists alone, so it runs on every start.

use super::access::DeviceAccess;
use super::tape::import_inventory;
use super::{ExecError, ExecResult};
use crate::db::{self, DbError, unix_now};
use crate::media::manager;
use crate::scheduler::Scheduler;
use crate::scheduler::device::Device;

/// Registers `devices` (keeping a health the catalog already has) and
/// creates pool `pool` of the ones in `members` when it does not exist.
pub fn ensure_pool(
    sched: &mut Scheduler,
    devices: &[Device],
    pool: &str,
    members: &[String],
) -> ExecResult<()> {
    let now = unix_now();
    for d in devices {
        match db::devices::get_device(sched.db().conn(), &d.id) {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => sched.add_device(d, now)?,
            Err(e) => return Err(e.into()),
        }
    }
    let exists = db::devices::list_pools(sched.db().conn())?
        .iter()
        .any(|(n, _)| n == pool);
    if !exists {
        let m: Vec<&str> = members.iter().map(String::as_str).collect();
        sched.create_pool(pool, &m)?;
    }
    Ok(())
}

/// Creates media set `name` when it does not exist.
pub fn ensure_media_set(
    sched: &mut Scheduler,
    name: &str,
    append_secs: i64,
    protect_secs: i64,
) -> ExecResult<()> {
    sched.db_mut().write(|c| {
        match db::media::get_media_set(c, name) {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => {
                manager::create_set(c, name, None, append_secs, protect_secs)?
            }
            Err(e) => return Err(ExecError::from(e)),
        }
        Ok(())
    })
}

/// A tape pool over every drive of `library`, media set `media_set`, and
/// the library's cartridges in the catalog.
pub fn ensure_tape_pool<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    devices: &[Device],
    library: &str,
    pool: &str,
    media_set: &str,
    protect_secs: i64,
) -> ExecResult<()> {
    let members: Vec<String> = devices
        .iter()
        .filter(|d| d.library.as_deref() == Some(library))
        .map(|d| d.id.clone())
        .collect();
    ensure_pool(sched, devices, pool, &members)?;
    ensure_media_set(sched, media_set, 7 * 86_400, protect_secs)?;
    import_inventory(sched, devs, library)?;
    Ok(())
}
