//! The shared state of the running daemon.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use reel_vtl::library::VirtualLibrary;
use tokio::sync::Notify;

use super::DaemonError;
use crate::auth::{HostCa, TokenStore};
use crate::db::Db;
use crate::devices::Registry;
use crate::jobs::ExecOptions;
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;

/// Counters for /metrics.
#[derive(Default)]
pub struct Counters {
    pub bytes_written: AtomicU64,
    pub bytes_read: AtomicU64,
}

/// Everything the services share.
pub struct Daemon {
    pub data_dir: PathBuf,
    pub hostname: String,
    /// The dispatcher's and the API's scheduler handle. Job runners have
    /// their own ([`Daemon::attach`]), so a long attempt never holds it.
    pub sched: Arc<Mutex<Scheduler>>,
    pub db_path: PathBuf,
    /// Every drive, changer and storage, each drive and changer on its
    /// own worker thread.
    pub registry: Arc<Registry>,
    /// The embedded VTL libraries (library id, handle): their drives'
    /// fault injection is reachable through the lab API.
    pub vtls: Vec<(String, VirtualLibrary)>,
    pub ca: HostCa,
    pub tokens: TokenStore,
    pub counters: Counters,
    pub exec: ExecOptions,
    /// Streamed backups are spooled, so they can fail over mid-stream.
    pub spool: bool,
    /// The runner of each job that has one (data streams, internal jobs),
    /// for the job's whole life: a fail-over re-dispatch reaches the same
    /// runner.
    pub runners: Mutex<HashMap<i64, mpsc::Sender<Assignment>>>,
    /// Wakes the dispatcher (a job was submitted or a lease released).
    pub poke: Notify,
}

impl Daemon {
    /// A scheduler handle of this process for a job runner's thread.
    pub fn attach(&self) -> Result<Scheduler, DaemonError> {
        let epoch = super::lock(&self.sched).epoch();
        Ok(Scheduler::attach(Db::open(&self.db_path)?, epoch))
    }

    /// Runs `f` on the scheduler on a blocking thread (SQLite
    /// transactions must not stall the async workers).
    pub async fn sched<R, E>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Scheduler) -> Result<R, E> + Send + 'static,
    ) -> Result<R, DaemonError>
    where
        R: Send + 'static,
        E: Into<DaemonError> + Send + 'static,
    {
        let s = self.sched.clone();
        tokio::task::spawn_blocking(move || {
            let mut g = super::lock(&s);
            f(&mut g).map_err(Into::into)
        })
        .await
        .map_err(|e| DaemonError::Internal(format!("scheduler task: {e}")))?
    }

    /// Submits a job and registers its runner in one step (under the
    /// scheduler's lock), so the dispatcher cannot hand the job out before
    /// the runner listens. The runner stays registered until
    /// [`Daemon::runner_done`].
    pub async fn submit_with_runner(
        self: &Arc<Self>,
        spec: crate::scheduler::job::JobSpec,
    ) -> Result<(i64, mpsc::Receiver<Assignment>), DaemonError> {
        let me = self.clone();
        let (tx, rx) = mpsc::channel();
        let id = self
            .sched(move |s| {
                let id = s.submit(&spec, crate::db::unix_now())?;
                super::lock(&me.runners).insert(id, tx);
                Ok::<_, DaemonError>(id)
            })
            .await?;
        self.poke.notify_one();
        Ok((id, rx))
    }

    /// The runner of `job` has ended.
    pub fn runner_done(&self, job: i64) {
        super::lock(&self.runners).remove(&job);
        self.poke.notify_one();
    }

    pub fn add_written(&self, n: u64) {
        self.counters.bytes_written.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_read(&self, n: u64) {
        self.counters.bytes_read.fetch_add(n, Ordering::Relaxed);
    }
}
