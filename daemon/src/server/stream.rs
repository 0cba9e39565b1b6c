//! Backups and restores whose data is a gRPC stream, run by the job
//! executors ([`crate::jobs::run`]) on a blocking thread per job with its
//! own scheduler handle.
//!
//! A backup's stream is teed into a spool file ([`Spool`]) as the
//! executor reads it, so when a drive fails mid-stream the dispatcher's
//! next assignment (another pool member) replays it from its first byte
//! (unless spooling is off: `[server] spool = false`, `--no-spool`).
//! The client is held back by a bounded channel, never buffered in memory.
//! A restore's executor writes into [`ChunkWriter`], which hands chunks
//! to the response stream.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;
use uuid::Uuid;

use super::daemon::Daemon;
use super::dispatch::{PLACEMENT_LIMIT, RunnerPlacement};
use super::{DaemonError, exec_status, lock};
use crate::db::catalog::{self, PieceLocation, SetState};
use crate::db::unix_now;
use crate::jobs::run::{ExecOptions, run_backup, run_restore};
use crate::jobs::source::Spool;
use crate::jobs::{BackupOutcome, RegistryAccess};
use crate::scheduler::Scheduler;
use crate::scheduler::device::DeviceKind;
use crate::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Target};

/// Chunks of the client's stream in flight between it and the spool.
const SPOOL_DEPTH: usize = 8;
/// How often the pump looks whether the job was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(500);
/// Largest chunk sent to a restoring client.
const RESTORE_CHUNK: usize = 1 << 20;
/// Attempts of a streamed backup (each on another member after a
/// device failure).
const BACKUP_ATTEMPTS: u32 = 3;

/// The client stream after the header.
pub type DataStream = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send>>;

/// What the client asked to back up into.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub pool: String,
    pub media_set: String,
    pub priority: i32,
    pub bytes_total: Option<u64>,
}

/// Runs a backup of `input` into `req.pool` to its end.
pub async fn backup(
    d: &Arc<Daemon>,
    req: BackupRequest,
    input: DataStream,
) -> Result<BackupOutcome, Status> {
    let (pool, set) = (req.pool.clone(), req.media_set.clone());
    let kind = d
        .sched(move |s| crate::db::devices::pool_kind(s.db().conn(), &pool))
        .await?;
    // Tape pools write cartridges of a media set; disk pools need none.
    let media = match kind {
        DeviceKind::TapeDrive => MediaNeed::Writable { media_set: set },
        _ => MediaNeed::None,
    };
    let mut spec = JobSpec::new(JobKind::Backup, Target::Pool(req.pool.clone()), media)
        .priority(req.priority)
        .max_attempts(BACKUP_ATTEMPTS);
    spec.bytes_total = req.bytes_total;
    let (job, rx) = d.submit_with_runner(spec).await?;
    let spool_path = d.data_dir.join("spool").join(format!("job-{job}"));
    let spooled = if d.spool {
        Spool::create(&spool_path, SPOOL_DEPTH)
    } else {
        Ok(Spool::unspooled(SPOOL_DEPTH))
    };
    let (tx, spool) = match spooled {
        Ok(x) => x,
        Err(e) => {
            let me = d.clone();
            d.sched(move |s| s.cancel(job, unix_now())).await?;
            me.runner_done(job);
            return Err(Status::internal(format!(
                "spool {}: {e}",
                spool_path.display()
            )));
        }
    };
    let h = tokio::runtime::Handle::current();
    let pump_d = d.clone();
    tokio::task::spawn_blocking(move || pump(&pump_d, &h, job, input, &tx));
    let out = with_runner(d, job, rx, "backup", move |sched, devs, place, exec| {
        let mut spool = spool;
        // The spool file goes when this returns, before the runner ends.
        run_backup(sched, devs, job, &mut spool, exec, place)
    })
    .await?;
    match out {
        Ok(Ok(o)) => {
            d.add_written(o.bytes);
            Ok(o)
        }
        Ok(Err(e)) => Err(exec_status(&e)),
        Err(e) => Err(e.into()),
    }
}

/// Runs job `job`'s runner `f` on a blocking thread with its own
/// scheduler handle, the job's device access and the placement the
/// dispatcher feeds through `rx`; the runner is ended when `f` returns.
async fn with_runner<T: Send + 'static>(
    d: &Arc<Daemon>,
    job: i64,
    rx: std::sync::mpsc::Receiver<crate::scheduler::dispatch::Assignment>,
    what: &'static str,
    f: impl FnOnce(&mut Scheduler, &RegistryAccess<'_>, &mut RunnerPlacement, &ExecOptions) -> T
    + Send
    + 'static,
) -> Result<Result<T, DaemonError>, Status> {
    let d = d.clone();
    tokio::task::spawn_blocking(move || {
        let r = d.attach().map(|mut sched| {
            let devs = RegistryAccess::new(&d.registry).for_job(job);
            let mut place = RunnerPlacement {
                rx,
                limit: PLACEMENT_LIMIT,
            };
            f(&mut sched, &devs, &mut place, &d.exec)
        });
        d.runner_done(job);
        r
    })
    .await
    .map_err(|e| Status::internal(format!("{what} runner: {e}")))
}

/// Moves the client's chunks into the spool's channel (blocking when it
/// is full: backpressure), and breaks the stream off when the job is
/// cancelled (the executor then sees a stream error and the job's state).
fn pump(
    d: &Daemon,
    h: &tokio::runtime::Handle,
    job: i64,
    mut input: DataStream,
    tx: &crate::jobs::source::SpoolSender,
) {
    let mut checked = Instant::now();
    loop {
        let next = h.block_on(tokio::time::timeout(CANCEL_CHECK, input.next()));
        let sent = match next {
            Ok(Some(Ok(b))) => tx.send(Ok(b)),
            Ok(Some(Err(e))) => {
                let _ = tx.send(Err(io::Error::other(format!("client stream: {e}"))));
                return;
            }
            Ok(None) => {
                // The end marker: a clean end of the stream.
                let _ = tx.send(Ok(Bytes::new()));
                return;
            }
            Err(_) => Ok(()),
        };
        if sent.is_err() {
            // The runner has finished with the stream.
            return;
        }
        if checked.elapsed() >= CANCEL_CHECK {
            checked = Instant::now();
            let state = lock(&d.sched).job(job).map(|j| j.state);
            if state.is_ok_and(JobState::is_terminal) {
                let _ = tx.send(Err(io::Error::other(format!("job {job} was cancelled"))));
                return;
            }
        }
    }
}

/// A restore's output: each write goes to the response stream in chunks
/// (blocking while the client is slower than the drive).
pub struct ChunkWriter {
    tx: mpsc::Sender<Result<Bytes, Status>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(RESTORE_CHUNK);
        if n == 0 {
            return Ok(0);
        }
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where a restore of `bs` runs: the disk storage that holds a disk set
/// (the device of the job that wrote it), else the pool asked for or the
/// set's own.
fn restore_target(
    s: &crate::scheduler::Scheduler,
    bs: &catalog::BackupSet,
    pool: Option<String>,
) -> Result<Target, DaemonError> {
    let on_disk = !bs.pieces.is_empty()
        && bs
            .pieces
            .iter()
            .all(|p| matches!(p.location, PieceLocation::Disk { .. }));
    if on_disk
        && let Some(job) = bs.job
        && let Ok(j) = s.job(job)
        && let Some(dev) = j.progress.device
    {
        return Ok(Target::Device(dev));
    }
    pool.or(bs.pool.clone())
        .map(Target::Pool)
        .ok_or_else(|| DaemonError::Refused(format!("set {} names no pool; give one", bs.uuid)))
}

/// Restores `set` into `out`. The job id goes out through `started` once
/// the job is queued; errors before that are the call's status, errors
/// after it end the stream.
pub async fn restore(
    d: &Arc<Daemon>,
    set: Uuid,
    pool: Option<String>,
    priority: i32,
    out: mpsc::Sender<Result<Bytes, Status>>,
    started: tokio::sync::oneshot::Sender<i64>,
) -> Result<u64, Status> {
    let queued = async {
        let spec = d
            .sched(move |s| {
                let bs = catalog::get_set(s.db().conn(), set)?;
                if bs.state != SetState::Complete {
                    return Err(DaemonError::Refused(format!(
                        "backup set {set} is {}; only complete sets are restored",
                        bs.state.as_str()
                    )));
                }
                let target = restore_target(s, &bs, pool)?;
                let mut spec = JobSpec::new(JobKind::Restore, target, MediaNeed::None)
                    .priority(priority)
                    .max_attempts(1);
                spec.source_set = Some(set);
                spec.bytes_total = Some(bs.bytes);
                Ok(spec)
            })
            .await?;
        d.submit_with_runner(spec).await
    }
    .await;
    let (job, rx) = match queued {
        Ok(x) => x,
        Err(e) => {
            let st = Status::from(e);
            let _ = out.send(Err(st.clone())).await;
            return Err(st);
        }
    };
    let _ = started.send(job);
    let err_tx = out.clone();
    let r = with_runner(d, job, rx, "restore", move |sched, devs, place, exec| {
        let mut w = ChunkWriter { tx: out };
        run_restore(sched, devs, job, set, &mut w, exec, place)
    })
    .await?;
    let status = match r {
        Ok(Ok(restored)) => {
            d.add_read(restored.bytes);
            return Ok(restored.bytes);
        }
        Ok(Err(e)) => exec_status(&e),
        Err(e) => Status::from(e),
    };
    let _ = err_tx.send(Err(status.clone())).await;
    Err(status)
}
