//! A backup job from dispatch to its end, with fail-over: when the
//! device fails mid-job, the attempt's partial set is marked incomplete
//! (never presented as good), the failure goes to the job's history and
//! the alerts, and the job is retried on another member of the pool
//! (bounded by the job's attempts) from the start of its stream.

use uuid::Uuid;

use super::access::DeviceAccess;
use super::disk::{self, DiskOptions};
use super::source::{BackupSource, StreamDigest};
use super::store::{self, SetDigest};
use super::tape::{self, Attempt, TapeOptions};
use super::{ExecError, ExecResult};
use crate::db::catalog::{self, SetState};
use crate::db::unix_now;
use crate::scheduler::device::DeviceKind;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Target};
use crate::scheduler::{Failure, Scheduler};

/// Options of the executors.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub tape: TapeOptions,
    pub disk: DiskOptions,
    pub dedup: super::dedup::DedupOptions,
}

/// A finished backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupOutcome {
    pub job: i64,
    pub set: Uuid,
    pub bytes: u64,
    pub digest: String,
    /// Cartridges written (tape pools), in order.
    pub cartridges: Vec<String>,
    /// Device of the successful attempt.
    pub device: String,
    pub attempts: u32,
}

/// Submits a backup of media set `media_set` (tape) to `pool`.
pub fn submit_backup(
    sched: &mut Scheduler,
    pool: &str,
    media_set: Option<&str>,
    max_attempts: u32,
) -> ExecResult<i64> {
    let media = match media_set {
        Some(s) => MediaNeed::Writable {
            media_set: s.into(),
        },
        None => MediaNeed::None,
    };
    let spec = JobSpec::new(JobKind::Backup, Target::Pool(pool.into()), media)
        .max_attempts(max_attempts.max(1));
    Ok(sched.submit(&spec, unix_now())?)
}

/// Dispatches until `job` is placed. The daemon's dispatcher hands out
/// assignments itself; this is for callers that run one job at a time.
pub fn dispatch_job(sched: &mut Scheduler, job: i64) -> ExecResult<Assignment> {
    match sched.dispatch_next(unix_now())? {
        Some(a) if a.job == job => Ok(a),
        Some(a) => Err(ExecError::Job {
            job,
            detail: format!("job {} was dispatched instead", a.job),
        }),
        None => {
            let j = sched.job(job)?;
            Err(ExecError::Job {
                job,
                detail: j
                    .waiting
                    .unwrap_or_else(|| format!("not runnable ({})", j.state.as_str())),
            })
        }
    }
}

/// Where the next attempt of a job runs. Tests and one-job callers
/// dispatch in place ([`DispatchHere`]); the daemon's central dispatcher
/// hands assignments to the job's runner, which waits for them.
pub trait Placement {
    /// The next assignment of `job` (already dispatched: device leased).
    fn next(&mut self, sched: &mut Scheduler, job: i64) -> ExecResult<Assignment>;
}

/// Dispatches the job on the caller's scheduler handle.
#[derive(Debug, Clone, Copy, Default)]
pub struct DispatchHere;

impl Placement for DispatchHere {
    fn next(&mut self, sched: &mut Scheduler, job: i64) -> ExecResult<Assignment> {
        dispatch_job(sched, job)
    }
}

/// Runs backup job `job` (submitted, queued) to its end: each attempt on
/// the device the dispatcher picks, failing over while attempts remain.
pub fn run_backup_job<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    src: &mut dyn BackupSource,
    opts: &ExecOptions,
) -> ExecResult<BackupOutcome> {
    run_backup(sched, devs, job, src, opts, &mut DispatchHere)
}

/// [`run_backup_job`] with the attempts placed by `place`.
pub fn run_backup<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    src: &mut dyn BackupSource,
    opts: &ExecOptions,
    place: &mut dyn Placement,
) -> ExecResult<BackupOutcome> {
    loop {
        let a = place.next(sched, job)?;
        if a.attempt > 1 && !src.restart().map_err(ExecError::Stream)? {
            let f = Failure {
                device: a.device.clone(),
                message: "the data stream cannot be replayed for a retry".into(),
                device_failed: false,
                retry: false,
            };
            sched.fail_attempt(job, &f, unix_now())?;
            return Err(ExecError::Job {
                job,
                detail: f.message,
            });
        }
        let r = attempt(sched, devs, &a, src, opts);
        // A failure that is not the device's fails the job outright.
        let state = finish(sched, devs, &a, &r)?;
        match r {
            Ok(out) => return Ok(out),
            Err(e) if state == JobState::Queued => {
                tracing::warn!(job, device = %a.device, error = %e, "failing over");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records how an attempt ended, for every job kind: on success the job
/// completes (leases released, its set complete); on failure the
/// cartridge goes home, a device failure raises an alert, the attempt
/// goes to the history, the set is marked incomplete and the job is
/// requeued for another member while attempts remain. Returns the job's
/// new state.
pub fn finish<D: DeviceAccess, T>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    result: &ExecResult<T>,
) -> ExecResult<JobState> {
    match result {
        Ok(_) => {
            sched.complete(a.job, unix_now())?;
            Ok(JobState::Completed)
        }
        Err(e) => fail(sched, devs, a, e),
    }
}

fn attempt<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    src: &mut dyn BackupSource,
    opts: &ExecOptions,
) -> ExecResult<BackupOutcome> {
    let w = write_set(sched, devs, a, src, opts)?;
    Ok(BackupOutcome {
        job: a.job,
        set: w.set,
        bytes: w.digest.bytes(),
        digest: w.digest.hex(),
        cartridges: w.cartridges,
        device: a.device.clone(),
        attempts: a.attempt,
    })
}

/// What a backup executor wrote.
pub(crate) struct WrittenSet {
    pub set: Uuid,
    pub digest: StreamDigest,
    /// Cartridges written (tape pools), in order.
    pub cartridges: Vec<String>,
}

/// Writes `src` as a new set to the device of `a` through the executor
/// of its kind (tape: spanning and the label check; disk; dedup) and
/// stores the set's digest. Backups and duplicates both write this way.
pub(crate) fn write_set<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    src: &mut dyn BackupSource,
    opts: &ExecOptions,
) -> ExecResult<WrittenSet> {
    let job = sched.job(a.job)?;
    let pool = match &job.target {
        Target::Pool(p) => p.clone(),
        Target::Device(d) => d.clone(),
    };
    let kind = crate::db::devices::get_device(sched.db().conn(), &a.device)?.kind;
    let written = match kind {
        DeviceKind::TapeDrive => {
            let MediaNeed::Writable { media_set } = &job.media else {
                return Err(ExecError::Job {
                    job: a.job,
                    detail: "writing to a tape pool needs a media set".into(),
                });
            };
            let cart = a.cartridge.clone().ok_or_else(|| ExecError::Job {
                job: a.job,
                detail: "dispatched without a cartridge".into(),
            })?;
            let mut at = Attempt {
                sched,
                job: a.job,
                pool,
                media_set: media_set.clone(),
                opts: &opts.tape,
            };
            let w = tape::backup_attempt(&mut at, devs, &a.device, &cart, src)?;
            WrittenSet {
                set: w.set,
                digest: w.digest,
                cartridges: w.cartridges,
            }
        }
        DeviceKind::DiskStorage | DeviceKind::DedupStore => {
            let dir = devs.storage_dir(&a.device)?;
            let (set, digest) = if kind == DeviceKind::DiskStorage {
                disk::backup_attempt(sched, a.job, &pool, &a.device, &dir, src, &opts.disk)?
            } else {
                super::dedup::backup_attempt(
                    sched,
                    a.job,
                    &pool,
                    &a.device,
                    &dir,
                    src,
                    &opts.dedup,
                )?
            };
            WrittenSet {
                set,
                digest,
                cartridges: Vec::new(),
            }
        }
        other => {
            return Err(ExecError::Job {
                job: a.job,
                detail: format!("{} pools take no backup sets", other.singular()),
            });
        }
    };
    record_digest(sched, &written)?;
    Ok(written)
}

/// Records a new set of `job` in `pool` in the catalog (state
/// `writing`); tape sets also name their media set.
pub(crate) fn begin_set(
    sched: &mut Scheduler,
    job: i64,
    pool: &str,
    media_set: Option<&str>,
) -> ExecResult<Uuid> {
    sched.db_mut().write(|c| {
        let set = catalog::begin_set(c, Some(job), Some(pool), media_set, unix_now())?;
        Ok::<_, ExecError>(set)
    })
}

/// Stores the whole-stream digest of a written set in the catalog.
pub(crate) fn record_digest(sched: &mut Scheduler, w: &WrittenSet) -> ExecResult<()> {
    let d = SetDigest {
        algorithm: "blake3".into(),
        digest: w.digest.hex(),
        bytes: w.digest.bytes(),
    };
    sched
        .db_mut()
        .write(|c| Ok::<_, ExecError>(store::put_digest(c, w.set, &d)?))
}

/// Records a failed attempt: cartridge home if the robot can, alert,
/// history, set incomplete, leases released; returns the job's new state.
pub(crate) fn fail<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    e: &ExecError,
) -> ExecResult<JobState> {
    if let Ok(seat) = tape::DriveSeat::new(devs, &a.device) {
        let loaded = sched.job(a.job)?.progress.barcode.or(a.cartridge.clone());
        if let Some(bc) = loaded {
            let r = seat.unmount(sched.db_mut(), &bc);
            if let Err(u) = r {
                tracing::warn!(cartridge = %bc, error = %u, "cartridge left in the drive");
            }
        }
    }
    // The cancel closed what existed then; leases taken and a set created
    // after it (the executor noticed the cancel later) go too.
    if sched.job(a.job)?.state == JobState::Cancelled {
        sched.db_mut().write(|c| {
            crate::scheduler::lease::release_all(c, a.job)
                .map_err(crate::scheduler::SchedError::from)?;
            crate::db::catalog::finish_job_sets(c, a.job, SetState::Incomplete, unix_now())?;
            Ok::<_, ExecError>(())
        })?;
        return Ok(JobState::Cancelled);
    }
    let device_failed = e.device_failed();
    let msg = e.to_string();
    if device_failed {
        sched.db_mut().write(|c| {
            store::add_alert(
                c,
                unix_now(),
                Some(a.job),
                Some(&a.device),
                &format!("device {} failed during job {}: {msg}", a.device, a.job),
            )?;
            Ok::<_, ExecError>(())
        })?;
        devs.device_failed(&a.device);
    }
    let f = Failure {
        device: a.device.clone(),
        message: msg,
        device_failed,
        retry: e.retryable(),
    };
    Ok(sched.fail_attempt(a.job, &f, unix_now())?)
}

/// Runs a restore of `set` as job `job` (submitted with the set as its
/// source): dispatched to a pool member, then the pieces in order.
pub fn run_restore_job<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    set: Uuid,
    out: &mut dyn std::io::Write,
    opts: &ExecOptions,
) -> ExecResult<tape::Restored> {
    run_restore(sched, devs, job, set, out, opts, &mut DispatchHere)
}

/// [`run_restore_job`] with the attempt placed by `place`.
pub fn run_restore<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    set: Uuid,
    out: &mut dyn std::io::Write,
    opts: &ExecOptions,
    place: &mut dyn Placement,
) -> ExecResult<tape::Restored> {
    let a = place.next(sched, job)?;
    let kind = crate::db::devices::get_device(sched.db().conn(), &a.device)?.kind;
    let r = match kind {
        DeviceKind::TapeDrive => {
            tape::restore_set(sched, devs, &a.device, job, set, out, &opts.tape)
        }
        DeviceKind::DiskStorage => devs
            .storage_dir(&a.device)
            .and_then(|dir| disk::restore_set(sched, &dir, set, out)),
        DeviceKind::DedupStore => {
            super::dedup::restore_set(sched, devs, &a.device, set, out, &opts.dedup)
        }
        other => Err(ExecError::Job {
            job,
            detail: format!("no restore executor for {} pools yet", other.singular()),
        }),
    };
    finish(sched, devs, &a, &r)?;
    r
}

/// Submits a restore of `set` to `pool` (tape pools: a drive with no
/// cartridge assigned; the executor leases each piece's cartridge).
pub fn submit_restore(sched: &mut Scheduler, pool: &str, set: Uuid) -> ExecResult<i64> {
    let mut spec =
        JobSpec::new(JobKind::Restore, Target::Pool(pool.into()), MediaNeed::None).max_attempts(1);
    spec.source_set = Some(set);
    Ok(sched.submit(&spec, unix_now())?)
}
