//! The operations jobs: library inventory, label and erase of a
//! cartridge, drive cleaning, and verification of a backup set.
//!
//! Every executor here takes an [`Assignment`] the caller already
//! dispatched, does its work, records it in the catalog (and the job's
//! history), and returns; the caller completes or fails the job.
//!
//! - [`inventory`]: element status → catalog (new, moved, vanished);
//! - [`label`]: a fresh scratch reel label at BOT, after the check
//!   against the medium; for an erase job, ERASE (long) first;
//! - [`clean`]: a cleaning cycle with a CLN cartridge, and the automatic
//!   cleaning the TapeAlert "clean now" flag asks for;
//! - [`verify`]: a set read back and checked against its digest.
//!
//! Forcing: a label or erase job overwrites foreign or damaged data only
//! when it was submitted with `force` ([`submit_label`], [`submit_erase`]);
//! the request is a `force` event in the job's history, so who allowed
//! the overwrite stays visible. A valid protected reel label is never
//! overwritten, forced or not.

pub mod clean;
pub mod inventory;
pub mod label;
pub mod verify;

use reel_changer::ChangerError;
use reel_drivers::ScsiError;
use uuid::Uuid;

use super::access::DeviceAccess;
use super::run::ExecOptions;
use super::tape::DriveSeat;
use super::{ExecError, ExecResult, store};
use crate::db::{self, unix_now};
use crate::devices::{Changer, Drive};
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::{JobKind, JobSpec, MediaNeed, Target};

pub use clean::{auto_clean_needed, drives_needing_clean, submit_auto_clean};

/// What an operations job did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpOutcome {
    /// One line for the job's history and the operator.
    pub summary: String,
    /// Bytes read or written (verify: the set's size).
    pub bytes: u64,
}

/// The event kind that marks a label/erase job allowed to overwrite
/// foreign or damaged data.
pub const FORCE_EVENT: &str = "force";

/// Runs the operations job `a` (dispatched by the caller).
pub fn run_assigned<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    opts: &ExecOptions,
) -> ExecResult<OpOutcome> {
    let out = match a.kind {
        JobKind::Inventory => inventory::run(sched, devs, a),
        JobKind::Label => label::run(sched, devs, a, false),
        JobKind::Erase => label::run(sched, devs, a, true),
        JobKind::Clean => clean::run(sched, devs, a, &clean::CleanOptions::default()),
        JobKind::Verify => verify::run(sched, devs, a, opts),
        JobKind::Duplicate => Err(ExecError::Job {
            job: a.job,
            detail: "duplicate jobs from the daemon dispatcher are not built yet \
                     (jobs::duplicate::run_assigned comes with the dedup work)"
                .into(),
        }),
        JobKind::Backup | JobKind::Restore => Err(ExecError::Job {
            job: a.job,
            detail: format!(
                "{} is a data job, not an operations job (jobs::run runs it)",
                a.kind.as_str()
            ),
        }),
    }?;
    event(sched, a.job, "done", &a.device, &out.summary)?;
    Ok(out)
}

/// Submits an inventory of `library` (the changer's device id).
pub fn submit_inventory(sched: &mut Scheduler, library: &str) -> ExecResult<i64> {
    let spec = JobSpec::new(
        JobKind::Inventory,
        Target::Device(library.into()),
        MediaNeed::None,
    )
    .max_attempts(1);
    Ok(sched.submit(&spec, unix_now())?)
}

/// Submits a label job of `barcode` on `target` (a drive or a tape pool).
/// `force` allows overwriting foreign or damaged data (never a protected
/// reel label).
pub fn submit_label(
    sched: &mut Scheduler,
    target: Target,
    barcode: &str,
    force: bool,
) -> ExecResult<i64> {
    submit_media_job(sched, JobKind::Label, target, barcode, force)
}

/// Submits an erase of `barcode` on `target`; `force` as for
/// [`submit_label`].
pub fn submit_erase(
    sched: &mut Scheduler,
    target: Target,
    barcode: &str,
    force: bool,
) -> ExecResult<i64> {
    submit_media_job(sched, JobKind::Erase, target, barcode, force)
}

fn submit_media_job(
    sched: &mut Scheduler,
    kind: JobKind,
    target: Target,
    barcode: &str,
    force: bool,
) -> ExecResult<i64> {
    let spec = JobSpec::new(
        kind,
        target,
        MediaNeed::Specific {
            barcode: barcode.into(),
        },
    )
    .max_attempts(1);
    let now = unix_now();
    let job = sched.submit(&spec, now)?;
    if force {
        sched.db_mut().write(|c| {
            db::jobs::add_event(
                c,
                job,
                now,
                FORCE_EVENT,
                None,
                &format!(
                    "{} of {barcode} may overwrite foreign or damaged data",
                    kind.as_str()
                ),
            )
        })?;
    }
    Ok(job)
}

/// Submits a cleaning of `drive` with any cleaning cartridge of its
/// library.
pub fn submit_clean(sched: &mut Scheduler, drive: &str) -> ExecResult<i64> {
    let spec = JobSpec::new(
        JobKind::Clean,
        Target::Device(drive.into()),
        MediaNeed::Cleaning,
    )
    .max_attempts(1)
    .priority(clean::PRIORITY);
    Ok(sched.submit(&spec, unix_now())?)
}

/// Submits a verify of `set` on a member of the pool that wrote it.
pub fn submit_verify(sched: &mut Scheduler, set: Uuid) -> ExecResult<i64> {
    let bs = db::catalog::get_set(sched.db().conn(), set)?;
    let pool = bs
        .pool
        .ok_or_else(|| ExecError::NotFound(format!("set {set} names no pool")))?;
    let mut spec =
        JobSpec::new(JobKind::Verify, Target::Pool(pool), MediaNeed::None).max_attempts(1);
    spec.source_set = Some(set);
    Ok(sched.submit(&spec, unix_now())?)
}

/// Whether job `job` was submitted with `force`.
fn forced(sched: &Scheduler, job: i64) -> ExecResult<bool> {
    Ok(sched.events(job)?.iter().any(|e| e.kind == FORCE_EVENT))
}

/// Adds an event to the job's history.
fn event(sched: &mut Scheduler, job: i64, kind: &str, device: &str, msg: &str) -> ExecResult<()> {
    sched.db_mut().write(|c| {
        db::jobs::add_event(c, job, unix_now(), kind, Some(device), msg)?;
        Ok::<_, ExecError>(())
    })
}

/// Raises an operator alert for job `job`.
fn alert(sched: &mut Scheduler, job: i64, device: &str, msg: &str) -> ExecResult<()> {
    sched.db_mut().write(|c| {
        store::add_alert(c, unix_now(), Some(job), Some(device), msg)?;
        Ok::<_, ExecError>(())
    })
}

/// The cartridge the job works on (a `Specific` or `Cleaning` need).
fn cartridge_of(a: &Assignment) -> ExecResult<String> {
    a.cartridge.clone().ok_or_else(|| ExecError::Job {
        job: a.job,
        detail: format!("{} job dispatched without a cartridge", a.kind.as_str()),
    })
}

/// Runs `f` on the seat's drive, keeping the SCSI error's class.
fn on_drive<D: DeviceAccess, R: Send + 'static>(
    seat: &DriveSeat<'_, D>,
    f: impl FnOnce(&mut Drive) -> Result<R, ScsiError> + Send + 'static,
) -> ExecResult<R> {
    seat.devs
        .with_drive(&seat.drive, f)?
        .map_err(|source| ExecError::Drive {
            device: seat.drive.clone(),
            source,
        })
}

/// Runs `f` on the seat's changer.
fn on_changer<D: DeviceAccess, R: Send + 'static>(
    seat: &DriveSeat<'_, D>,
    f: impl FnOnce(&mut Changer) -> Result<R, ChangerError> + Send + 'static,
) -> ExecResult<R> {
    seat.devs
        .with_changer(&seat.library, f)?
        .map_err(|source| ExecError::Changer {
            library: seat.library.clone(),
            source,
        })
}

/// Runs `body` with `barcode` mounted in the seat's drive and puts the
/// cartridge back afterwards, whatever `body` returned. A failure of
/// `body` wins over one of the unmount (which is only logged then).
fn with_mounted<D: DeviceAccess, R>(
    sched: &mut Scheduler,
    seat: &DriveSeat<'_, D>,
    barcode: &str,
    body: impl FnOnce(&mut Scheduler) -> ExecResult<R>,
) -> ExecResult<R> {
    seat.mount(sched.db_mut(), barcode)?;
    let r = body(sched);
    let home = seat.unmount(sched.db_mut(), barcode);
    match (r, home) {
        (Ok(v), Ok(_)) => Ok(v),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(u)) => {
            tracing::warn!(cartridge = barcode, error = %u, "cartridge left in the drive");
            Err(e)
        }
    }
}
