//! Verify job: every piece of a set read back and the whole stream's
//! BLAKE3 digest compared with the one stored at backup time, writing
//! nowhere. The result is a `verify` event in the job's history; a
//! mismatch or unreadable data also raises an alert (a set that no longer
//! restores is an operator's problem), and the job fails.

use uuid::Uuid;

use super::{OpOutcome, alert, event};
use crate::db::unix_now;
use crate::jobs::access::DeviceAccess;
use crate::jobs::run::ExecOptions;
use crate::jobs::tape::Restored;
use crate::jobs::{ExecError, ExecResult, dedup, disk, tape};
use crate::scheduler::Scheduler;
use crate::scheduler::device::DeviceKind;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::Progress;

/// Runs verify job `a` (its source set on the pool member it got).
pub fn run<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    opts: &ExecOptions,
) -> ExecResult<OpOutcome> {
    let set = sched.job(a.job)?.source_set.ok_or_else(|| ExecError::Job {
        job: a.job,
        detail: "a verify job needs a source set".into(),
    })?;
    match read_set(sched, devs, a, set, opts) {
        Ok(r) => {
            let summary = format!(
                "set {set} verified: {} bytes, blake3 {} ({} piece{})",
                r.bytes,
                r.digest,
                r.cartridges.len(),
                if r.cartridges.len() == 1 { "" } else { "s" }
            );
            event(sched, a.job, "verify", &a.device, &summary)?;
            let p = Progress {
                bytes_done: r.bytes,
                bytes_total: Some(r.bytes),
                rate_bps: None,
                device: Some(a.device.clone()),
                barcode: None,
            };
            sched.progress(a.job, &p, unix_now())?;
            Ok(OpOutcome {
                summary,
                bytes: r.bytes,
            })
        }
        Err(e) => {
            if !matches!(e, ExecError::Job { .. }) {
                let msg = format!("set {set} failed verification: {e}");
                event(sched, a.job, "verify", &a.device, &msg)?;
                // A failing device gets its alert from the caller's
                // bookkeeping; the set's own damage gets this one.
                if !e.device_failed() {
                    alert(sched, a.job, &a.device, &msg)?;
                }
            }
            Err(e)
        }
    }
}

/// Reads the set into a sink, checking piece lengths and the digest.
fn read_set<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    set: Uuid,
    opts: &ExecOptions,
) -> ExecResult<Restored> {
    let kind = crate::db::devices::get_device(sched.db().conn(), &a.device)?.kind;
    let mut sink = std::io::sink();
    match kind {
        DeviceKind::TapeDrive => {
            let r = tape::restore_set(sched, devs, &a.device, a.job, set, &mut sink, &opts.tape);
            if r.is_err() {
                home_after_failure(sched, devs, &a.device);
            }
            r
        }
        DeviceKind::DiskStorage => {
            let dir = devs.storage_dir(&a.device)?;
            disk::restore_set(sched, &dir, set, &mut sink)
        }
        // The store checks every chunk's id and each index's stream hash
        // on the way; the catalog digest is checked last.
        DeviceKind::DedupStore => {
            dedup::restore_set(sched, devs, &a.device, set, &mut sink, &opts.dedup)
        }
        DeviceKind::Changer => Err(ExecError::Job {
            job: a.job,
            detail: "a changer holds no sets to verify".into(),
        }),
    }
}

/// A restore that failed mid-piece leaves its cartridge in the drive:
/// put it back, so the catalog and the next job find it in its slot.
fn home_after_failure<D: DeviceAccess>(sched: &mut Scheduler, devs: &D, drive: &str) {
    let Ok(seat) = tape::DriveSeat::new(devs, drive) else {
        return;
    };
    let n = seat.number;
    let held = devs.with_changer(&seat.library, move |l| {
        l.drive(n).ok().filter(|e| e.full).and_then(|e| e.barcode())
    });
    if let Ok(Some(bc)) = held
        && let Err(e) = seat.unmount(sched.db_mut(), &bc)
    {
        tracing::warn!(cartridge = %bc, error = %e, "cartridge left in the drive");
    }
}
