//! The shared state of the running daemon.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use super::DaemonError;
use super::alerts::Alerts;
use super::devices::{DriveHandle, LibraryHandle};
use crate::auth::{HostCa, TokenStore};
use crate::scheduler::Scheduler;
use crate::scheduler::dispatch::Assignment;

/// A disk storage or dedup store named in the configuration.
#[derive(Clone)]
pub struct StoreInfo {
    pub id: String,
    pub kind: crate::scheduler::device::DeviceKind,
    pub path: PathBuf,
    /// Why it is not usable yet, when it is not.
    pub note: Option<String>,
    /// The opened disk storage device.
    pub disk: Option<Arc<reel_drivers::storage::DiskStorage>>,
}

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
    pub sched: Arc<Mutex<Scheduler>>,
    pub libraries: Vec<LibraryHandle>,
    pub drives: Vec<DriveHandle>,
    pub stores: Vec<StoreInfo>,
    pub ca: HostCa,
    pub tokens: TokenStore,
    pub alerts: Alerts,
    pub counters: Counters,
    /// Jobs whose runner (a data stream) waits for their assignment.
    pub waiters: Mutex<HashMap<i64, oneshot::Sender<Assignment>>>,
    /// Wakes the dispatcher (a job was submitted or a lease released).
    pub poke: Notify,
}

impl Daemon {
    pub fn drive(&self, id: &str) -> Option<&DriveHandle> {
        self.drives.iter().find(|d| d.id == id)
    }

    pub fn store(&self, id: &str) -> Option<&StoreInfo> {
        self.stores.iter().find(|s| s.id == id)
    }

    pub fn library(&self, id: &str) -> Option<&LibraryHandle> {
        self.libraries.iter().find(|l| l.id == id)
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
            let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut g).map_err(Into::into)
        })
        .await
        .map_err(|e| DaemonError::Internal(format!("scheduler task: {e}")))?
    }

    /// Submits a job and registers its runner in one step, so the
    /// dispatcher cannot hand the job out before the runner listens.
    pub async fn submit_and_wait(
        self: &Arc<Self>,
        spec: crate::scheduler::job::JobSpec,
    ) -> Result<(i64, oneshot::Receiver<Assignment>), DaemonError> {
        let me = self.clone();
        let (tx, rx) = oneshot::channel();
        let id = self
            .sched(move |s| {
                let id = s.submit(&spec, crate::db::unix_now())?;
                me.waiters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, tx);
                Ok::<_, DaemonError>(id)
            })
            .await?;
        self.poke.notify_one();
        Ok((id, rx))
    }

    pub fn add_written(&self, n: u64) {
        self.counters.bytes_written.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_read(&self, n: u64) {
        self.counters.bytes_read.fetch_add(n, Ordering::Relaxed);
    }
}
