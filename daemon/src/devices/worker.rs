//! One thread per tape drive and changer. The thread owns the device's
//! transport; everything that talks to the device (jobs' operations and
//! health polls) is a message on its channel, so the async parts of the
//! daemon never block on SG_IO and no two commands to one device overlap.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use reel_changer::{Changer as ScsiChanger, ChangerOptions, InventoryOptions, Library};
use reel_drivers::ScsiTransport;
use reel_drivers::tape::TapeDrive;

use super::DeviceError;
use super::poll::{self, PollReport};
use super::registry::{Hub, Record, lock};
use crate::scheduler::device::DeviceKind;

/// The transport a worker owns.
pub type Transport = Box<dyn ScsiTransport + Send>;
/// A tape drive as a job's closure gets it.
pub type Drive = TapeDrive<Transport>;
/// A changer (with its inventory) as a job's closure gets it.
pub type Changer = Library<Transport>;

/// The open device.
pub(crate) enum Target {
    Drive(Box<Drive>),
    Changer(Box<Changer>),
}

/// Opens the device's transport; called on the worker thread, again after
/// the transport was lost.
pub(crate) type Opener = Box<dyn FnMut() -> Result<Transport, String> + Send>;

/// What a device says about itself when first opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    pub vendor: String,
    pub model: String,
    pub serial: Option<String>,
    pub generation: Option<u8>,
}

/// A job's work: runs on the device, returns how to deliver its result.
/// Delivery happens after the device is marked idle again, so a caller
/// who has the result never sees its own job still running.
type Work = Box<dyn FnOnce(Result<&mut Target, DeviceError>) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce() + Send>;
/// Tells the caller its work did not finish (it panicked).
type Abort = Box<dyn FnOnce() + Send>;
/// Where a job's result goes, taken by whichever of deliver/abort runs.
type ResultSlot<R> = Arc<Mutex<Option<Box<dyn FnOnce(Result<R, DeviceError>) + Send>>>>;

pub(crate) enum Msg {
    Run(Work, Abort),
    Poll { reply: Option<mpsc::Sender<()>> },
    Stop,
}

/// The registry's side of a worker.
pub(crate) struct Worker {
    pub tx: mpsc::Sender<Msg>,
    pub join: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(
        id: &str,
        kind: DeviceKind,
        opener: Opener,
        hub: Arc<Hub>,
        rec: Arc<Mutex<Record>>,
    ) -> Result<Worker, DeviceError> {
        let (tx, rx) = mpsc::channel();
        let name = format!("reel-dev-{id}");
        let join = std::thread::Builder::new()
            .name(name)
            .spawn(move || WorkerLoop::new(kind, opener, hub, rec).run(rx))
            .map_err(|e| DeviceError::Spawn(e.to_string()))?;
        Ok(Worker {
            tx,
            join: Some(join),
        })
    }

    /// Asks the thread to stop after its current message and waits for it.
    pub fn stop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(j) = self.join.take()
            && j.join().is_err()
        {
            tracing::warn!("device worker thread panicked");
        }
    }
}

struct WorkerLoop {
    kind: DeviceKind,
    opener: Opener,
    target: Option<Target>,
    hub: Arc<Hub>,
    rec: Arc<Mutex<Record>>,
    /// TapeAlert is read from page 2Eh (clearing).
    clearing: bool,
    identified: bool,
}

impl WorkerLoop {
    fn new(kind: DeviceKind, opener: Opener, hub: Arc<Hub>, rec: Arc<Mutex<Record>>) -> Self {
        let clearing = hub.clearing_tape_alert;
        WorkerLoop {
            kind,
            opener,
            target: None,
            hub,
            rec,
            clearing,
            identified: false,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        for msg in rx {
            match msg {
                Msg::Stop => break,
                Msg::Run(work, abort) => {
                    let opened = self.ensure_open();
                    let target = self.target.as_mut();
                    let r = catch_unwind(AssertUnwindSafe(move || match (opened, target) {
                        (Ok(()), Some(t)) => work(Ok(t)),
                        (Err(e), _) => work(Err(e)),
                        (Ok(()), None) => work(Err(DeviceError::NotOpen)),
                    }));
                    lock(&self.rec).jobs.pop_front();
                    match r {
                        Ok(deliver) => deliver(),
                        Err(_) => {
                            // The device may be in the middle of anything:
                            // start from a fresh transport.
                            tracing::warn!("a job's operation panicked on the device worker");
                            self.target = None;
                            abort();
                        }
                    }
                }
                Msg::Poll { reply } => {
                    let report = self.poll();
                    if report.transport_lost {
                        self.target = None;
                    }
                    self.hub.apply_poll(&self.rec, report);
                    if let Some(r) = reply {
                        let _ = r.send(());
                    }
                }
            }
        }
        // Dropping the target closes the transport on this thread.
        self.target = None;
    }

    fn ensure_open(&mut self) -> Result<(), DeviceError> {
        if self.target.is_some() {
            return Ok(());
        }
        let t = (self.opener)().map_err(DeviceError::Open)?;
        let (target, identity) = match self.kind {
            DeviceKind::Changer => {
                let opts = ChangerOptions::default();
                let mut lib = Library::open(ScsiChanger::new(t, opts), InventoryOptions::default())
                    .map_err(|e| DeviceError::Open(e.to_string()))?;
                let inv = lib.inventory();
                let mut id = Identity {
                    vendor: inv.vendor.clone(),
                    model: inv.product.clone(),
                    ..Identity::default()
                };
                if !self.identified {
                    id.serial = lib.changer().serial().ok().filter(|s| !s.is_empty());
                }
                (Target::Changer(Box::new(lib)), id)
            }
            _ => {
                let mut d = TapeDrive::new(t);
                let mut id = Identity::default();
                if !self.identified {
                    match d.identify() {
                        Ok(i) => {
                            id = Identity {
                                vendor: i.vendor,
                                model: i.product,
                                serial: i.serial,
                                generation: i.lto_generation,
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "identify failed"),
                    }
                }
                (Target::Drive(Box::new(d)), id)
            }
        };
        if !self.identified {
            self.identified = true;
            self.hub.apply_identity(&self.rec, identity);
        }
        self.target = Some(target);
        Ok(())
    }

    fn poll(&mut self) -> PollReport {
        if let Err(e) = self.ensure_open() {
            return PollReport::offline(e.to_string());
        }
        let standalone = lock(&self.rec).library.is_none();
        match self.target.as_mut() {
            Some(Target::Drive(d)) => poll::poll_drive(d, &mut self.clearing, standalone),
            Some(Target::Changer(l)) => poll::poll_changer(l),
            None => PollReport::offline("not open".into()),
        }
    }
}

/// Runs operations on one device's worker thread. Cheap to clone.
#[derive(Clone)]
pub struct DeviceHandle {
    id: String,
    kind: DeviceKind,
    tx: mpsc::Sender<Msg>,
    rec: Arc<Mutex<Record>>,
    job: Option<String>,
}

impl std::fmt::Debug for DeviceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceHandle")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("job", &self.job)
            .finish()
    }
}

impl DeviceHandle {
    pub(crate) fn new(
        id: &str,
        kind: DeviceKind,
        tx: mpsc::Sender<Msg>,
        rec: Arc<Mutex<Record>>,
    ) -> DeviceHandle {
        DeviceHandle {
            id: id.to_string(),
            kind,
            tx,
            rec,
            job: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    /// The same handle, naming `job` as the one keeping the device busy
    /// while its operations run ("busy (job 42)").
    pub fn for_job(mut self, job: impl Into<String>) -> DeviceHandle {
        self.job = Some(job.into());
        self
    }

    /// Queues `work` and marks the device busy until it has run.
    fn submit(&self, want: DeviceKind, (work, abort): (Work, Abort)) -> Result<(), DeviceError> {
        if self.kind != want {
            return Err(DeviceError::WrongKind {
                id: self.id.clone(),
                kind: self.kind,
            });
        }
        let mut rec = lock(&self.rec);
        if rec.down {
            return Err(DeviceError::Down(self.id.clone()));
        }
        rec.jobs.push_back(
            self.job
                .clone()
                .unwrap_or_else(|| "(unnamed operation)".into()),
        );
        if self.tx.send(Msg::Run(work, abort)).is_err() {
            rec.jobs.pop_back();
            return Err(DeviceError::Stopped(self.id.clone()));
        }
        Ok(())
    }

    /// Wraps a typed operation and its result channel into the worker's
    /// message parts.
    fn job<R: Send + 'static>(
        &self,
        f: impl FnOnce(Result<&mut Target, DeviceError>) -> Result<R, DeviceError> + Send + 'static,
        deliver: impl FnOnce(Result<R, DeviceError>) + Send + 'static,
    ) -> (Work, Abort) {
        let slot: ResultSlot<R> = Arc::new(Mutex::new(Some(Box::new(deliver))));
        let on_abort = slot.clone();
        let id = self.id.clone();
        let work: Work = Box::new(move |t| {
            let r = f(t);
            Box::new(move || {
                if let Some(d) = lock(&slot).take() {
                    d(r)
                }
            })
        });
        let abort: Abort = Box::new(move || {
            if let Some(d) = lock(&on_abort).take() {
                d(Err(DeviceError::Aborted(id)))
            }
        });
        (work, abort)
    }

    fn drive_job<R, F>(
        &self,
        f: F,
        deliver: impl FnOnce(Result<R, DeviceError>) + Send + 'static,
    ) -> (Work, Abort)
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.job(
            move |t| match t {
                Ok(Target::Drive(d)) => Ok(f(d)),
                Ok(Target::Changer(_)) => Err(DeviceError::NotOpen),
                Err(e) => Err(e),
            },
            deliver,
        )
    }

    fn changer_job<R, F>(
        &self,
        f: F,
        deliver: impl FnOnce(Result<R, DeviceError>) + Send + 'static,
    ) -> (Work, Abort)
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.job(
            move |t| match t {
                Ok(Target::Changer(l)) => Ok(f(l)),
                Ok(Target::Drive(_)) => Err(DeviceError::NotOpen),
                Err(e) => Err(e),
            },
            deliver,
        )
    }

    fn lost(&self) -> DeviceError {
        // The sender was dropped without an answer: the closure panicked
        // or the worker stopped.
        DeviceError::Aborted(self.id.clone())
    }

    /// Runs `f` on the drive's thread and waits for its result (blocking;
    /// from async code use [`DeviceHandle::run_async`]).
    pub fn run<R, F>(&self, f: F) -> Result<R, DeviceError>
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(
            DeviceKind::TapeDrive,
            self.drive_job(f, move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.recv().map_err(|_| self.lost())?
    }

    /// [`DeviceHandle::run`] for async callers: awaits without blocking.
    pub async fn run_async<R, F>(&self, f: F) -> Result<R, DeviceError>
    where
        F: FnOnce(&mut Drive) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(
            DeviceKind::TapeDrive,
            self.drive_job(f, move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.await.map_err(|_| self.lost())?
    }

    /// Runs `f` on the changer's thread and waits for its result.
    pub fn run_changer<R, F>(&self, f: F) -> Result<R, DeviceError>
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(
            DeviceKind::Changer,
            self.changer_job(f, move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.recv().map_err(|_| self.lost())?
    }

    /// [`DeviceHandle::run_changer`] for async callers.
    pub async fn run_changer_async<R, F>(&self, f: F) -> Result<R, DeviceError>
    where
        F: FnOnce(&mut Changer) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(
            DeviceKind::Changer,
            self.changer_job(f, move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.await.map_err(|_| self.lost())?
    }
}
