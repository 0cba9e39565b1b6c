//! The compact job scheduler of reeld: ownership leases, storage device
//! pools, jobs and their dispatch, on top of the catalog database.
//!
//! Module structure:
//! - [`device`]: devices as the scheduler sees them (id, kind, health,
//!   concurrent jobs); the device registry (a later layer) keeps them
//!   current through [`Scheduler::add_device`] and [`Scheduler::set_health`].
//! - [`pool`]: pool membership rules (one device type per pool, compatible
//!   tape generations); mixed pools are refused with [`pool::PoolError`].
//! - [`lease`]: the ownership state machine of every drive, slot and
//!   cartridge; leases are rows whose unique keys make double allocation
//!   impossible, and carry the holder's process epoch and expiry.
//! - [`job`]: job kinds, states, media needs and the job state machine.
//! - [`dispatch`]: picks the next runnable job and its device and cartridge
//!   (first free, healthy, least loaded member; waiting reasons otherwise).
//! - this module: [`Scheduler`], the operations the daemon and its API call
//!   (submit, dispatch, progress, complete, fail over, pause, resume,
//!   cancel, recover after a restart). Every operation is one IMMEDIATE
//!   transaction, so several `Scheduler`s (threads, processes) may share one
//!   catalog file.
//!
//! Time is passed in (`now`, unix seconds) so tests and the benchmark
//! control it. Nothing here does I/O to devices: the daemon runs the
//! assignment and reports back.

pub mod device;
pub mod dispatch;
pub mod job;
pub mod lease;
pub mod pool;

use rusqlite::Connection;

use crate::db::catalog::SetState;
use crate::db::{self, Db, DbError};
use device::{Device, Health};
use dispatch::Assignment;
use job::{Job, JobEvent, JobSpec, JobState, Progress};
use lease::{LeaseError, LeaseEvent, Ownership};
use pool::PoolError;

/// Scheduler errors.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Lease(#[from] LeaseError),
    #[error("{0}")]
    Pool(#[from] PoolError),
    #[error("{0}")]
    Media(#[from] crate::media::manager::MediaError),
    #[error("job {job} is {from}; it cannot become {to}")]
    Transition {
        job: i64,
        from: &'static str,
        to: &'static str,
    },
    #[error("job {job} is not running on {device}")]
    NotOnDevice { job: i64, device: String },
}

impl From<rusqlite::Error> for SchedError {
    fn from(e: rusqlite::Error) -> SchedError {
        SchedError::Db(e.into())
    }
}

pub type SchedResult<T> = Result<T, SchedError>;

/// A failed attempt, as the job runner reports it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub device: String,
    pub message: String,
    /// The device itself failed (hardware error, TapeAlert): it is marked
    /// `failed` and no job is sent to it until it is brought back.
    pub device_failed: bool,
    /// Another member could succeed (a device-side failure). False when
    /// every attempt would fail the same way (the data stream, the
    /// catalog): the job fails now instead of spending its attempts.
    pub retry: bool,
}

/// What [`Scheduler::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recovery {
    /// Leases of dead holders freed.
    pub leases_freed: usize,
    /// Jobs put back in the queue.
    pub requeued: Vec<i64>,
    /// Jobs that had used up their attempts.
    pub failed: Vec<i64>,
    /// Backup sets marked incomplete.
    pub sets_incomplete: usize,
}

/// The scheduler of one daemon process.
pub struct Scheduler {
    db: Db,
    epoch: i64,
    ttl: i64,
}

impl Scheduler {
    /// Starts a scheduler on `db`: registers a new process epoch and
    /// recovers whatever the previous process left (its leases are dead).
    pub fn start(mut db: Db, now: i64) -> SchedResult<(Scheduler, Recovery)> {
        let epoch = db.start_epoch(now)?;
        let mut s = Scheduler {
            db,
            epoch,
            ttl: lease::DEFAULT_TTL,
        };
        let rec = s.recover(now)?;
        if rec != Recovery::default() {
            tracing::warn!(?rec, "recovered after restart");
        }
        Ok((s, rec))
    }

    /// Another handle on the same catalog in the same process epoch (one
    /// per thread); it does not recover anything.
    pub fn attach(db: Db, epoch: i64) -> Scheduler {
        Scheduler {
            db,
            epoch,
            ttl: lease::DEFAULT_TTL,
        }
    }

    /// Lease lifetime without a heartbeat (default 300 s).
    pub fn set_lease_ttl(&mut self, secs: i64) {
        self.ttl = secs.max(1);
    }

    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }

    fn conn(&self) -> &Connection {
        self.db.conn()
    }

    // ---- devices and pools ---------------------------------------------

    /// Registers or updates a device (keeps pools consistent: a device
    /// whose kind or generation no longer fits its pools is refused).
    pub fn add_device(&mut self, d: &Device, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            let mut st = c.prepare("SELECT pool FROM pool_members WHERE device = ?1")?;
            let pools: Vec<String> = st
                .query_map([&d.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for p in pools {
                let kind = db::devices::pool_kind(c, &p)?;
                let mut members: Vec<Device> = db::devices::pool_members(c, &p)?
                    .into_iter()
                    .filter(|m| m.id != d.id)
                    .collect();
                members.push(d.clone());
                pool::check_members(&p, Some(kind), &members)?;
            }
            db::devices::upsert_device(c, d, now)?;
            Ok(())
        })
    }

    /// Health change from the registry or the operator ("drive down/up").
    pub fn set_health(&mut self, device: &str, health: Health, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            db::devices::set_health(c, device, health, now)?;
            tracing::info!(device, health = health.as_str(), "device health");
            Ok(())
        })
    }

    /// Creates a pool of the given members (all registered, of one type).
    pub fn create_pool(&mut self, name: &str, members: &[&str]) -> SchedResult<()> {
        self.db.write(|c| {
            let devs = members
                .iter()
                .map(|m| db::devices::get_device(c, m))
                .collect::<Result<Vec<_>, _>>()?;
            let kind = pool::check_members(name, None, &devs)?;
            db::devices::insert_pool(c, name, kind)?;
            for m in members {
                db::devices::insert_member(c, name, m)?;
            }
            Ok(())
        })
    }

    /// Adds a registered device to an existing pool.
    pub fn add_pool_member(&mut self, pool_name: &str, device: &str) -> SchedResult<()> {
        self.db.write(|c| {
            let kind = db::devices::pool_kind(c, pool_name)?;
            let mut devs = db::devices::pool_members(c, pool_name)?;
            devs.push(db::devices::get_device(c, device)?);
            pool::check_members(pool_name, Some(kind), &devs)?;
            db::devices::insert_member(c, pool_name, device)?;
            Ok(())
        })
    }

    // ---- jobs ------------------------------------------------------------

    pub fn submit(&mut self, spec: &JobSpec, now: i64) -> SchedResult<i64> {
        self.db.write(|c| {
            let id = db::jobs::insert(c, spec, now)?;
            db::jobs::add_event(c, id, now, "submitted", None, spec.kind.as_str())?;
            Ok(id)
        })
    }

    pub fn job(&self, id: i64) -> SchedResult<Job> {
        Ok(db::jobs::get(self.conn(), id)?)
    }

    pub fn jobs(&self) -> SchedResult<Vec<Job>> {
        Ok(db::jobs::list(self.conn())?)
    }

    pub fn events(&self, id: i64) -> SchedResult<Vec<JobEvent>> {
        Ok(db::jobs::events(self.conn(), id)?)
    }

    /// Dispatches the most urgent runnable job (see [`dispatch`]).
    pub fn dispatch_next(&mut self, now: i64) -> SchedResult<Option<Assignment>> {
        let (epoch, ttl) = (self.epoch, self.ttl);
        self.db
            .write(|c| dispatch::dispatch_next(c, epoch, now, ttl))
    }

    /// Dispatches until nothing more can run.
    pub fn dispatch_all(&mut self, now: i64) -> SchedResult<Vec<Assignment>> {
        let mut out = Vec::new();
        while let Some(a) = self.dispatch_next(now)? {
            out.push(a);
        }
        Ok(out)
    }

    /// Progress report of a running job; also its heartbeat.
    pub fn progress(&mut self, id: i64, p: &Progress, now: i64) -> SchedResult<()> {
        let ttl = self.ttl;
        self.db.write(|c| {
            let mut p = p.clone();
            if p.rate_bps.is_none() {
                // Executors report bytes; the rate is the average since the
                // job started.
                let started = db::jobs::get(c, id)?.started_at.unwrap_or(now);
                let secs = now.saturating_sub(started).max(1);
                p.rate_bps = Some(p.bytes_done / secs as u64);
            }
            db::jobs::set_progress(c, id, &p)?;
            lease::heartbeat(c, id, now, ttl)?;
            Ok(())
        })
    }

    /// Heartbeat without progress (a job waiting on a slow device).
    pub fn heartbeat(&mut self, id: i64, now: i64) -> SchedResult<usize> {
        let ttl = self.ttl;
        self.db.write(|c| Ok(lease::heartbeat(c, id, now, ttl)?))
    }

    /// The job finished: leases released, its set complete.
    pub fn complete(&mut self, id: i64, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            transition(c, id, JobState::Completed, now)?;
            lease::release_all(c, id)?;
            db::catalog::finish_job_sets(c, id, SetState::Complete, now)?;
            db::jobs::add_event(c, id, now, "completed", None, "completed")?;
            Ok(())
        })
    }

    /// A running attempt failed on `f.device`: the partial set is marked
    /// incomplete, the leases are released and the job is retried on
    /// another member while attempts remain. Returns the job's new state.
    pub fn fail_attempt(&mut self, id: i64, f: &Failure, now: i64) -> SchedResult<JobState> {
        self.db.write(|c| {
            let job = db::jobs::get(c, id)?;
            if job.state != JobState::Running || job.progress.device.as_deref() != Some(&f.device) {
                return Err(SchedError::NotOnDevice {
                    job: id,
                    device: f.device.clone(),
                });
            }
            let msg = format!(
                "attempt {} failed on {}: {}",
                job.attempts, f.device, f.message
            );
            db::jobs::add_event(c, id, now, "failed", Some(&f.device), &msg)?;
            if f.device_failed {
                db::devices::set_health(c, &f.device, Health::Failed, now)?;
            }
            db::jobs::exclude(c, id, &f.device)?;
            after_attempt(c, &job, &msg, f.retry, now)
        })
    }

    /// Pauses a queued or running job (a running one keeps its leases; its
    /// runner sees the state and stops between blocks).
    pub fn pause(&mut self, id: i64, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            let job = db::jobs::get(c, id)?;
            transition(c, id, JobState::Paused, now)?;
            db::jobs::set_paused_from(c, id, Some(job.state))?;
            db::jobs::add_event(c, id, now, "paused", None, "paused by operator")?;
            Ok(())
        })
    }

    pub fn resume(&mut self, id: i64, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            let to = db::jobs::paused_from(c, id)?.unwrap_or(JobState::Queued);
            transition(c, id, to, now)?;
            db::jobs::set_paused_from(c, id, None)?;
            db::jobs::add_event(c, id, now, "resumed", None, "resumed by operator")?;
            Ok(())
        })
    }

    /// Cancels a job: leases released, a partial set incomplete.
    pub fn cancel(&mut self, id: i64, now: i64) -> SchedResult<()> {
        self.db.write(|c| {
            transition(c, id, JobState::Cancelled, now)?;
            lease::release_all(c, id)?;
            db::catalog::finish_job_sets(c, id, SetState::Incomplete, now)?;
            db::jobs::add_event(c, id, now, "cancelled", None, "cancelled by operator")?;
            Ok(())
        })
    }

    /// Frees the leases of dead holders (another process epoch, or no
    /// heartbeat before expiry) and fails their attempts over: the job is
    /// requeued (or failed when out of attempts) and its set marked
    /// incomplete. Run at start and periodically.
    pub fn recover(&mut self, now: i64) -> SchedResult<Recovery> {
        let epoch = self.epoch;
        self.db.write(|c| {
            let dead = db::leases::dead(c, epoch, now)?;
            let mut rec = Recovery::default();
            let mut jobs: Vec<i64> = Vec::new();
            for l in &dead {
                let check = LeaseEvent::Check {
                    live_epoch: epoch,
                    now,
                };
                let st = lease::next(&Ownership::Held(l.clone()), &check, &l.resource, l.unit)?;
                lease::next(&st, &LeaseEvent::Recover, &l.resource, l.unit)?;
                db::leases::delete(c, &l.resource, l.unit)?;
                rec.leases_freed += 1;
                if !jobs.contains(&l.job) {
                    jobs.push(l.job);
                }
            }
            for id in jobs {
                let job = db::jobs::get(c, id)?;
                let live = job.state == JobState::Running
                    || (job.state == JobState::Paused
                        && db::jobs::paused_from(c, id)? == Some(JobState::Running));
                if !live {
                    continue;
                }
                let why = if dead.iter().any(|l| l.job == id && l.epoch != epoch) {
                    "its daemon process ended"
                } else {
                    "its lease expired without a heartbeat"
                };
                let msg = format!("attempt {} interrupted: {why}", job.attempts);
                db::jobs::add_event(
                    c,
                    id,
                    now,
                    "interrupted",
                    job.progress.device.as_deref(),
                    &msg,
                )?;
                rec.sets_incomplete +=
                    db::catalog::finish_job_sets(c, id, SetState::Incomplete, now)?;
                if job.state == JobState::Paused {
                    // Stays paused; on resume it goes back to the queue.
                    db::jobs::set_paused_from(c, id, Some(JobState::Queued))?;
                    rec.requeued.push(id);
                    continue;
                }
                match after_attempt(c, &job, &msg, true, now)? {
                    JobState::Failed => rec.failed.push(id),
                    _ => rec.requeued.push(id),
                }
            }
            Ok(rec)
        })
    }
}

/// Checks and applies a job state transition.
fn transition(c: &Connection, id: i64, to: JobState, now: i64) -> SchedResult<()> {
    let job = db::jobs::get(c, id)?;
    if !job.state.can_become(to) {
        return Err(SchedError::Transition {
            job: id,
            from: job.state.as_str(),
            to: to.as_str(),
        });
    }
    db::jobs::set_state(c, id, to, now)?;
    Ok(())
}

/// After a failed or interrupted attempt: release, mark the partial set
/// incomplete, retry or fail.
fn after_attempt(
    c: &Connection,
    job: &Job,
    msg: &str,
    retry: bool,
    now: i64,
) -> SchedResult<JobState> {
    lease::release_all(c, job.id)?;
    db::catalog::finish_job_sets(c, job.id, SetState::Incomplete, now)?;
    if retry && job.attempts < job.max_attempts {
        transition(c, job.id, JobState::Queued, now)?;
        let m = format!("retry {} of {}", job.attempts + 1, job.max_attempts);
        db::jobs::add_event(c, job.id, now, "retry", None, &m)?;
        Ok(JobState::Queued)
    } else {
        transition(c, job.id, JobState::Failed, now)?;
        db::jobs::set_error(c, job.id, msg)?;
        db::jobs::add_event(
            c,
            job.id,
            now,
            "gave_up",
            None,
            &if retry {
                format!("no attempts left: {msg}")
            } else {
                format!("not retried (another device would fail the same way): {msg}")
            },
        )?;
        Ok(JobState::Failed)
    }
}
