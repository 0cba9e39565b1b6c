//! What a daemon does after a restart before it runs jobs again: a new
//! process epoch, the dead process's leases freed (exactly once: each is
//! a row deleted in the recovering transaction), its running jobs' sets
//! marked incomplete, cartridges left in drives put back into slots and
//! the catalog's locations matched to the library's inventory. Backup jobs
//! whose stream came from a client that is gone are cancelled rather than
//! left to wait for data that never comes.

use super::access::DeviceAccess;
use super::tape::import_inventory;
use super::{ExecError, ExecResult};
use crate::db::{self, Db, unix_now};
use crate::media::Location;
use crate::scheduler::job::{JobKind, JobState};
use crate::scheduler::{Recovery, Scheduler};

/// What [`recover_after_restart`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestartReport {
    pub epoch: i64,
    pub scheduler: Recovery,
    /// Cartridges taken out of drives and put back into slots.
    pub unloaded: Vec<String>,
    /// Backup jobs cancelled because their stream is gone.
    pub cancelled: Vec<i64>,
}

/// Starts the scheduler on `db` after a restart and makes devices and
/// catalog agree again. `libraries` are the changers to reconcile.
pub fn recover_after_restart<D: DeviceAccess>(
    db: Db,
    devs: &D,
    libraries: &[String],
    stream_jobs_lost: bool,
) -> ExecResult<(Scheduler, RestartReport)> {
    let (mut sched, rec) = Scheduler::start(db, unix_now())?;
    let mut report = RestartReport {
        epoch: sched.epoch(),
        scheduler: rec.clone(),
        ..RestartReport::default()
    };
    for lib in libraries {
        // Cartridges still in drives: home, unless a live lease holds them
        // (there is none right after a restart, but a shared catalog may
        // have another daemon's).
        let in_drives = devs
            .with_changer(lib, |l| {
                let inv = l.refresh()?;
                Ok(inv
                    .drives
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.full)
                    .map(|(n, e)| (n, e.barcode()))
                    .collect::<Vec<_>>())
            })?
            .map_err(|source| ExecError::Changer {
                library: lib.clone(),
                source,
            })?;
        for (n, bc) in in_drives {
            if let Some(bc) = &bc {
                let res = crate::scheduler::lease::Resource::cartridge(bc);
                if !db::leases::of_resource(sched.db().conn(), &res)?.is_empty() {
                    continue;
                }
            }
            let drive_id = drive_at(devs, lib, n);
            if let Some(d) = &drive_id {
                let _ = devs.with_drive(d, |t| t.unload());
            }
            devs.with_changer(lib, move |l| {
                l.unload(n, None, Some(&mut |_| Ok(()))).map(|_| ())
            })?
            .map_err(|source| ExecError::Changer {
                library: lib.clone(),
                source,
            })?;
            report
                .unloaded
                .push(bc.unwrap_or_else(|| format!("(drive {n})")));
        }
        import_inventory(&mut sched, devs, lib)?;
        // Anything the catalog still places in a drive of this library is
        // not there any more.
        for m in db::media::list_media(sched.db().conn())? {
            if let Location::Drive { library, .. } = &m.location
                && library == lib
            {
                tracing::warn!(cartridge = %m.barcode, "catalog said drive; not in the library");
                db::media::set_location(sched.db().conn(), &m.barcode, &Location::Offline)?;
            }
        }
    }
    if stream_jobs_lost {
        for id in &rec.requeued {
            let job = sched.job(*id)?;
            if matches!(job.kind, JobKind::Backup) && job.state == JobState::Queued {
                sched.cancel(*id, unix_now())?;
                sched.db_mut().write(|c| {
                    db::jobs::add_event(
                        c,
                        *id,
                        unix_now(),
                        "stream_lost",
                        None,
                        "the client's data stream ended with the daemon process",
                    )?;
                    Ok::<_, ExecError>(())
                })?;
                report.cancelled.push(*id);
            }
        }
    }
    tracing::info!(?report, "recovered after restart");
    Ok((sched, report))
}

fn drive_at<D: DeviceAccess>(devs: &D, lib: &str, n: usize) -> Option<String> {
    let id = format!("{lib}/drive{n}");
    match devs.drive_place(&id) {
        Ok((l, k)) if l == lib && k == n => Some(id),
        _ => None,
    }
}
