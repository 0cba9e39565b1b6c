//! Duplicate: a set copied to another pool (disk-to-tape staging). The
//! source set is read back (its digest checked) into a spool file, which
//! is then the replayable stream of an ordinary backup attempt on the
//! target pool, so fail-over works as for any backup. The copy must end
//! with the same digest as the source.

use std::io::{Seek, SeekFrom};
use std::path::PathBuf;

use reel_drivers::storage::DiskStorage;
use uuid::Uuid;

use super::access::DeviceAccess;
use super::run::{BackupOutcome, ExecOptions, run_backup_job};
use super::{ExecError, ExecResult, disk};
use crate::db::catalog::{self, PieceLocation};
use crate::db::{self, unix_now};
use crate::scheduler::Scheduler;
use crate::scheduler::job::{JobKind, JobSpec, MediaNeed, Target};

/// Submits a duplicate of `set` to `pool` (media set `media_set` for a
/// tape pool).
pub fn submit_duplicate(
    sched: &mut Scheduler,
    set: Uuid,
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
    let mut spec = JobSpec::new(JobKind::Duplicate, Target::Pool(pool.into()), media)
        .max_attempts(max_attempts.max(1));
    spec.source_set = Some(set);
    Ok(sched.submit(&spec, unix_now())?)
}

/// The disk storage directory holding the container of a disk set: a
/// member of the set's pool.
fn source_dir<D: DeviceAccess>(sched: &Scheduler, devs: &D, set: Uuid) -> ExecResult<PathBuf> {
    let bs = catalog::get_set(sched.db().conn(), set)?;
    let container = match bs.pieces.first().map(|p| &p.location) {
        Some(PieceLocation::Disk { container }) => container.clone(),
        _ => {
            return Err(ExecError::Layout(format!(
                "set {set} is not a disk set; only disk sets are staged for now"
            )));
        }
    };
    let pool = bs
        .pool
        .ok_or_else(|| ExecError::NotFound(format!("set {set} names no pool")))?;
    for m in db::devices::pool_members(sched.db().conn(), &pool)? {
        let dir = devs.storage_dir(&m.id)?;
        let store = DiskStorage::open(&dir).map_err(|source| ExecError::Storage {
            device: m.id.clone(),
            source,
        })?;
        if store.container_path(&container).is_file() {
            return Ok(dir);
        }
    }
    Err(ExecError::NotFound(format!(
        "container {container} of set {set} is on no member of pool {pool}"
    )))
}

/// Runs duplicate job `job` (from [`submit_duplicate`]) to its end.
pub fn run_duplicate_job<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    opts: &ExecOptions,
) -> ExecResult<BackupOutcome> {
    let set = sched.job(job)?.source_set.ok_or_else(|| ExecError::Job {
        job,
        detail: "a duplicate job needs a source set".into(),
    })?;
    let dir = source_dir(sched, devs, set)?;
    let mut spool = tempfile::tempfile().map_err(ExecError::Stream)?;
    let read = disk::restore_set(sched, &dir, set, &mut spool)?;
    spool.seek(SeekFrom::Start(0)).map_err(ExecError::Stream)?;
    let out = run_backup_job(sched, devs, job, &mut spool, opts)?;
    if out.digest != read.digest || out.bytes != read.bytes {
        return Err(ExecError::Mismatch {
            set: out.set.to_string(),
            detail: format!("copy of set {set} differs from its source"),
        });
    }
    tracing::info!(job, source = %set, copy = %out.set, "set duplicated");
    Ok(out)
}
