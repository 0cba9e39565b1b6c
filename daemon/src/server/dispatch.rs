//! The dispatcher: one task that asks the scheduler for runnable jobs
//! (when poked, and every half second) and hands each assignment to its
//! job's runner: the data stream's runner registered at submission, or a
//! new runner for the daemon's own jobs (inventory, label, ...). It also
//! recovers dead leases periodically, and feeds the device registry's
//! health changes to the scheduler so a sick drive gets no job.

use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use super::daemon::Daemon;
use super::{DaemonError, lock};
use crate::db::unix_now;
use crate::devices::RegistryEvent;
use crate::jobs::run::{Placement, finish};
use crate::jobs::{ExecError, ExecResult, RegistryAccess, store};
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::JobKind;

const TICK: Duration = Duration::from_millis(500);
const RECOVER_EVERY: Duration = Duration::from_secs(30);
/// How often the registry's alerts are checked for drives to clean.
const AUTO_CLEAN_EVERY: Duration = Duration::from_secs(10);

/// Runs until the process ends.
pub async fn dispatcher(d: Arc<Daemon>) {
    let mut last_recover = Instant::now();
    let mut last_clean: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = d.poke.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
        if last_clean.is_none_or(|t| t.elapsed() >= AUTO_CLEAN_EVERY) {
            last_clean = Some(Instant::now());
            auto_clean(&d).await;
        }
        if last_recover.elapsed() >= RECOVER_EVERY {
            last_recover = Instant::now();
            if let Err(e) = d.sched(|s| s.recover(unix_now())).await {
                tracing::warn!("lease recovery: {e}");
            }
        }
        let assigned = match d.sched(|s| s.dispatch_all(unix_now())).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("dispatch: {e}");
                continue;
            }
        };
        for a in assigned {
            hand_over(&d, a);
        }
    }
}

/// Submits a Clean job for each drive whose TapeAlert flags ask for one
/// (when a cleaning cartridge is in its library).
async fn auto_clean(d: &Arc<Daemon>) {
    let alerts = d.registry.alerts();
    if crate::jobs::ops::drives_needing_clean(&alerts).is_empty() {
        return;
    }
    match d
        .sched(move |s| crate::jobs::ops::auto_clean_needed(s, &alerts))
        .await
    {
        Ok(jobs) if !jobs.is_empty() => tracing::info!(?jobs, "cleaning submitted"),
        Ok(_) => {}
        Err(e) => tracing::warn!("automatic cleaning: {e}"),
    }
}

/// Gives `a` to its job's runner, or starts one for an internal job.
fn hand_over(d: &Arc<Daemon>, a: Assignment) {
    let runner = lock(&d.runners).get(&a.job).cloned();
    match runner {
        Some(tx) => {
            if let Err(e) = tx.send(a) {
                // The runner ended between its last attempt and this one.
                let d = d.clone();
                tokio::task::spawn_blocking(move || orphan(&d, &e.0, "its runner has ended"));
            }
        }
        None if is_internal(a.kind) => {
            let d = d.clone();
            tokio::task::spawn_blocking(move || run_internal(&d, a));
        }
        None => {
            let d = d.clone();
            tokio::task::spawn_blocking(move || {
                orphan(
                    &d,
                    &a,
                    "no data stream is attached to it (daemon restarted?)",
                )
            });
        }
    }
}

/// Jobs the daemon runs by itself (no client stream).
fn is_internal(kind: JobKind) -> bool {
    !matches!(kind, JobKind::Backup | JobKind::Restore)
}

/// Cancels a dispatched job nobody runs, with an alert.
fn orphan(d: &Daemon, a: &Assignment, why: &str) {
    let job = a.job;
    let msg = format!("job {job} ({}) cancelled: {why}", a.kind.as_str());
    tracing::warn!(job, device = %a.device, "{msg}");
    let mut s = lock(&d.sched);
    let r = s
        .cancel(job, unix_now())
        .map_err(DaemonError::from)
        .and_then(|_| {
            s.db_mut().write(|c| {
                store::add_alert(c, unix_now(), Some(job), Some(&a.device), &msg)?;
                Ok::<_, DaemonError>(())
            })
        });
    if let Err(e) = r {
        tracing::warn!(job, "cancelling an orphaned job: {e}");
    }
    drop(s);
    d.poke.notify_one();
}

/// Runs one attempt of an internal job on this (blocking) thread and
/// records how it ended.
fn run_internal(d: &Daemon, a: Assignment) {
    let job = a.job;
    let r = (|| -> Result<(), DaemonError> {
        let mut sched = d.attach()?;
        let devs = RegistryAccess::new(&d.registry).for_job(job);
        // Duplicates are the dedup work's; every other kind the
        // operations executors'.
        let result = if a.kind == JobKind::Duplicate {
            crate::jobs::duplicate::run_assigned(&mut sched, &devs, &a, &d.exec).map(|o| o.summary)
        } else {
            crate::jobs::ops::run_assigned(&mut sched, &devs, &a, &d.exec).map(|o| o.summary)
        };
        match &result {
            Ok(summary) => {
                tracing::info!(job, device = %a.device, "{} done: {summary}", a.kind.as_str())
            }
            Err(e) => tracing::warn!(job, device = %a.device, "{} failed: {e}", a.kind.as_str()),
        }
        finish(&mut sched, &devs, &a, &result)?;
        Ok(())
    })();
    if let Err(e) = r {
        tracing::warn!(job, "recording the end of the job: {e}");
    }
    d.poke.notify_one();
}

/// Takes the inventory of library `id` now (not as a job) and brings the
/// catalog's locations up to date. Returns the number of cartridges.
pub fn inventory(d: &Daemon, id: &str) -> Result<usize, DaemonError> {
    let devs = RegistryAccess::new(&d.registry);
    let mut s = lock(&d.sched);
    Ok(crate::jobs::tape::import_inventory(&mut s, &devs, id)?.len())
}

/// The placement of a job whose runner the dispatcher feeds: waits for
/// the next assignment, giving up when the job ended without one
/// (cancelled while queued) or was not placed within `limit`.
pub struct RunnerPlacement {
    pub rx: std::sync::mpsc::Receiver<Assignment>,
    pub limit: Duration,
}

/// How long a job may wait in the queue before its runner gives up.
pub const PLACEMENT_LIMIT: Duration = Duration::from_secs(6 * 3600);
const PLACEMENT_CHECK: Duration = Duration::from_millis(500);

impl Placement for RunnerPlacement {
    fn next(&mut self, sched: &mut Scheduler, job: i64) -> ExecResult<Assignment> {
        let start = Instant::now();
        loop {
            match self.rx.recv_timeout(PLACEMENT_CHECK) {
                Ok(a) => return Ok(a),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ExecError::Job {
                        job,
                        detail: "the dispatcher has stopped".into(),
                    });
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            let j = sched.job(job)?;
            if j.state.is_terminal() {
                return Err(ExecError::Job {
                    job,
                    detail: format!("{} before it started", j.state.as_str()),
                });
            }
            if start.elapsed() >= self.limit {
                let why = format!(
                    "not placed within {} s ({})",
                    self.limit.as_secs(),
                    j.waiting.unwrap_or_else(|| "no reason given".into())
                );
                sched.db_mut().write(|c| {
                    crate::db::jobs::add_event(c, job, unix_now(), "not_placed", None, &why)?;
                    Ok::<_, ExecError>(())
                })?;
                sched.cancel(job, unix_now())?;
                return Err(ExecError::Job { job, detail: why });
            }
        }
    }
}

/// Feeds the registry's health changes to the scheduler on a thread of
/// its own: an offline or failed drive gets no job, one back online does.
pub fn watch_registry(d: &Arc<Daemon>) -> Result<(), DaemonError> {
    let events = d.registry.subscribe();
    let sched = d.sched.clone();
    let weak = Arc::downgrade(d);
    std::thread::Builder::new()
        .name("reeld-registry-events".into())
        .spawn(move || {
            while let Ok(ev) = events.recv() {
                let Some(d) = weak.upgrade() else { break };
                let r = match ev {
                    RegistryEvent::Health { device, health } => {
                        lock(&sched).set_health(&device, health, unix_now())
                    }
                    // A rescan found it: the scheduler learns it too.
                    RegistryEvent::Added(id) => match d.registry.device(&id) {
                        Some(info) => lock(&sched).add_device(&info.sched_device(), unix_now()),
                        None => Ok(()),
                    },
                    RegistryEvent::AlertRaised(_) | RegistryEvent::AlertCleared(_) => continue,
                };
                if let Err(e) = r {
                    tracing::warn!("device change not recorded: {e}");
                }
                d.poke.notify_one();
            }
        })
        .map_err(|e| DaemonError::Internal(format!("registry event thread: {e}")))?;
    Ok(())
}
