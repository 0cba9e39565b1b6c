//! The device registry: every device, its worker, its health and alerts;
//! periodic polls of idle devices; operator down/up; rescans.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reel_changer::match_drives;
use reel_drivers::sg::sysfs::SysfsRoots;
use reel_vtl::library::VirtualLibrary;

use super::DeviceError;
use super::alerts::{Alert, AlertBook, AlertChanges};
use super::config::DevicesConfig;
use super::discovery::{self, InquirySerial, Plan, SerialReader, VtlCache};
use super::health::{TurVerdict, lto_generation};
use super::info::{DeviceInfo, DeviceState, PollOutcome, RegistryEvent};
use super::poll::{Loaded, PollReport};
use super::worker::{DeviceHandle, Identity, Msg, Worker};
use crate::scheduler::device::{DeviceKind, Health};

/// Locks a mutex, recovering the data when another thread panicked while
/// holding it: registry state stays readable (a panicking job's closure
/// runs under `catch_unwind` and never holds these locks).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Everything the registry keeps about one device.
pub(crate) struct Record {
    pub id: String,
    pub kind: DeviceKind,
    pub address: String,
    pub vendor: String,
    pub model: String,
    pub serial: Option<String>,
    pub generation: Option<u8>,
    pub library: Option<String>,
    pub element: Option<u16>,
    pub drive_number: Option<usize>,
    pub max_jobs: u32,
    pub match_any: bool,
    pub sysfs: bool,
    pub storage: Option<PathBuf>,
    pub online: bool,
    pub detail: Option<String>,
    pub down: bool,
    /// Jobs queued or running on the worker; the front one runs.
    pub jobs: VecDeque<String>,
    pub poll_pending: bool,
    pub last_poll: Option<u64>,
    pub loaded: Option<String>,
    pub alerts: AlertBook,
    /// A sysfs device the last scan did not find: not polled until found.
    pub missing: bool,
}

impl Record {
    fn from_plan(p: &Plan) -> Record {
        Record {
            id: p.id.clone(),
            kind: p.kind,
            address: p.address.clone(),
            vendor: p.vendor.clone(),
            model: p.model.clone(),
            serial: p.serial.clone(),
            generation: lto_generation(&p.model),
            library: p.library.clone(),
            element: None,
            drive_number: None,
            max_jobs: p.max_jobs,
            match_any: p.match_any,
            sysfs: p.sysfs,
            storage: p.storage.clone(),
            online: false,
            detail: Some("not polled yet".into()),
            down: false,
            jobs: VecDeque::new(),
            poll_pending: false,
            last_poll: None,
            loaded: None,
            alerts: AlertBook::default(),
            missing: false,
        }
    }

    fn state(&self) -> DeviceState {
        if self.down {
            DeviceState::Down
        } else if !self.jobs.is_empty() {
            DeviceState::Busy
        } else if self.online {
            DeviceState::Online
        } else {
            DeviceState::Offline
        }
    }

    fn health(&self) -> Health {
        if self.down {
            Health::Down
        } else if self.online {
            Health::Online
        } else {
            Health::Offline
        }
    }

    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            id: self.id.clone(),
            kind: self.kind,
            address: self.address.clone(),
            vendor: self.vendor.clone(),
            model: self.model.clone(),
            serial: self.serial.clone(),
            generation: self.generation,
            library: self.library.clone(),
            element: self.element,
            drive_number: self.drive_number,
            state: self.state(),
            busy_job: self.jobs.front().cloned(),
            online: self.online,
            detail: self.detail.clone(),
            loaded: self.loaded.clone(),
            last_poll: self.last_poll,
            alerts: self.alerts.active().cloned().collect(),
            max_jobs: self.max_jobs,
        }
    }
}

/// A device's record and, for drives and changers, its worker's channel.
type Target = (Arc<Mutex<Record>>, Option<mpsc::Sender<Msg>>);
/// id, kind, configured library, serial, match any sysfs library, sysfs.
type MatchRow = (
    String,
    DeviceKind,
    Option<String>,
    Option<String>,
    bool,
    bool,
);

struct Slot {
    rec: Arc<Mutex<Record>>,
    worker: Option<Worker>,
}

/// State shared by the registry, its workers and its poller.
pub(crate) struct Hub {
    pub clearing_tape_alert: bool,
    slots: Mutex<Vec<Slot>>,
    next_alert: Mutex<u64>,
    subscribers: Mutex<Vec<mpsc::Sender<RegistryEvent>>>,
}

impl Hub {
    fn emit(&self, events: Vec<RegistryEvent>) {
        if events.is_empty() {
            return;
        }
        for e in &events {
            tracing::info!(event = ?e, "device registry");
        }
        let mut subs = lock(&self.subscribers);
        subs.retain(|s| events.iter().all(|e| s.send(e.clone()).is_ok()));
    }

    fn alert_events(ch: AlertChanges) -> Vec<RegistryEvent> {
        ch.raised
            .into_iter()
            .map(RegistryEvent::AlertRaised)
            .chain(ch.cleared.into_iter().map(RegistryEvent::AlertCleared))
            .collect()
    }

    /// What a device said about itself on its first open.
    pub fn apply_identity(&self, rec: &Mutex<Record>, id: Identity) {
        let mut r = lock(rec);
        // sysfs already named sysfs devices; keep what it said.
        if r.vendor.is_empty() {
            r.vendor = id.vendor;
        }
        if r.model.is_empty() {
            r.model = id.model;
        }
        if r.serial.is_none() {
            r.serial = id.serial;
        }
        r.generation = id.generation.or(r.generation).or(lto_generation(&r.model));
    }

    /// Records one poll's findings and tells subscribers what changed.
    pub fn apply_poll(&self, rec: &Mutex<Record>, report: PollReport) {
        let now = now_secs();
        let mut events = Vec::new();
        let (library_id, loaded_by_element) = {
            let mut r = lock(rec);
            let before = r.health();
            let offline_reason = match &report.verdict {
                TurVerdict::Offline(reason) => Some(reason.clone()),
                _ => None,
            };
            r.online = offline_reason.is_none();
            r.detail = match &report.verdict {
                TurVerdict::Offline(s) | TurVerdict::Settling(s) => Some(s.clone()),
                _ => None,
            };
            r.last_poll = Some(now);
            let id = r.id.clone();
            let mut next = lock(&self.next_alert);
            let mut ch = r
                .alerts
                .set_offline(&id, offline_reason.as_deref(), now, &mut next);
            if let Some((flags, latched)) = report.tape_alerts {
                ch.merge(
                    r.alerts
                        .apply_tape_alerts(&id, flags, latched, now, &mut next),
                );
            }
            drop(next);
            events.extend(Self::alert_events(ch));
            // Library drives learn their cartridge from the changer (an
            // unloaded cartridge still sits in the drive).
            if let Loaded::Drive(b) = &report.loaded {
                r.loaded = b.clone();
            }
            let after = r.health();
            if before != after {
                events.push(RegistryEvent::Health {
                    device: id.clone(),
                    health: after,
                });
            }
            match report.loaded {
                Loaded::Library(v) => (Some(id), v),
                _ => (None, Vec::new()),
            }
        };
        if let Some(lib) = library_id {
            for s in lock(&self.slots).iter() {
                let mut r = lock(&s.rec);
                if r.library.as_deref() != Some(lib.as_str()) {
                    continue;
                }
                if let Some(e) = r.element
                    && let Some((_, b)) = loaded_by_element.iter().find(|(a, _)| *a == e)
                {
                    r.loaded = b.clone();
                }
            }
        }
        self.emit(events);
    }

    fn records(&self) -> Vec<Arc<Mutex<Record>>> {
        lock(&self.slots).iter().map(|s| s.rec.clone()).collect()
    }

    fn find(&self, id: &str) -> Option<Target> {
        lock(&self.slots).iter().find_map(|s| {
            (lock(&s.rec).id == id)
                .then(|| (s.rec.clone(), s.worker.as_ref().map(|w| w.tx.clone())))
        })
    }

    /// Queues a poll to every idle device (storages are checked here).
    /// With `wait`, waits up to that long for the answers.
    fn poll_all(&self, wait: Option<Duration>) -> Vec<(String, PollOutcome)> {
        let targets: Vec<Target> = lock(&self.slots)
            .iter()
            .map(|s| (s.rec.clone(), s.worker.as_ref().map(|w| w.tx.clone())))
            .collect();
        let mut out = Vec::new();
        let mut waiting = Vec::new();
        for (rec, tx) in targets {
            let mut r = lock(&rec);
            let id = r.id.clone();
            if r.down {
                out.push((id, PollOutcome::Down));
                continue;
            }
            if r.missing {
                out.push((id, PollOutcome::Missing));
                continue;
            }
            if let Some(job) = r.jobs.front() {
                // Never queue a poll behind a job: a moving tape would
                // hold it for minutes.
                out.push((id, PollOutcome::Busy { job: job.clone() }));
                continue;
            }
            let Some(tx) = tx else {
                drop(r);
                self.poll_storage(&rec);
                out.push((id, PollOutcome::Polled));
                continue;
            };
            if r.poll_pending {
                out.push((id, PollOutcome::Pending));
                continue;
            }
            let (reply_tx, reply_rx) = mpsc::channel();
            r.poll_pending = true;
            if tx
                .send(Msg::Poll {
                    reply: Some(reply_tx),
                })
                .is_err()
            {
                r.poll_pending = false;
                out.push((id, PollOutcome::Pending));
                continue;
            }
            drop(r);
            waiting.push((id, rec, reply_rx));
        }
        let deadline = wait.map(|w| std::time::Instant::now() + w);
        for (id, rec, rx) in waiting {
            let answered = match deadline {
                Some(d) => rx
                    .recv_timeout(d.saturating_duration_since(std::time::Instant::now()))
                    .is_ok(),
                None => false,
            };
            if answered {
                lock(&rec).poll_pending = false;
                out.push((id, PollOutcome::Polled));
            } else if wait.is_some() {
                out.push((id, PollOutcome::Pending));
            } else {
                // Fire and forget: the worker clears the flag when done.
                std::thread::spawn(move || {
                    let _ = rx.recv();
                    lock(&rec).poll_pending = false;
                });
                out.push((id, PollOutcome::Polled));
            }
        }
        out
    }

    /// A storage is online while its directory is there.
    fn poll_storage(&self, rec: &Mutex<Record>) {
        let path = lock(rec).storage.clone();
        let verdict = match path {
            Some(p) if p.is_dir() => TurVerdict::Ready,
            Some(p) => TurVerdict::Offline(format!("{} is not a directory", p.display())),
            None => TurVerdict::Offline("no path".into()),
        };
        self.apply_poll(
            rec,
            PollReport {
                verdict,
                tape_alerts: None,
                loaded: Loaded::Unknown,
                transport_lost: false,
            },
        );
    }
}

/// How the registry finds and watches devices.
pub struct RegistryOptions {
    /// sysfs and /dev roots (fake trees in tests).
    pub roots: SysfsRoots,
    /// Reads serials sysfs does not show.
    pub serials: Box<dyn SerialReader>,
    /// VTL libraries this process already opened (the demo host's): the
    /// configuration's `vtl:DIR` addresses for them use these.
    pub vtls: Vec<VirtualLibrary>,
    /// Poll in the background every `poll_interval_secs`.
    pub background_polls: bool,
    /// How long [`Registry::poll_now`] and start-up wait for answers.
    pub poll_wait: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            roots: SysfsRoots::default(),
            serials: Box::new(InquirySerial),
            vtls: Vec::new(),
            background_polls: true,
            poll_wait: Duration::from_secs(120),
        }
    }
}

/// What a rescan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RescanReport {
    pub added: Vec<String>,
    /// sysfs devices no longer found (kept, offline).
    pub missing: Vec<String>,
    pub warnings: Vec<String>,
}

type StopFlag = Arc<(Mutex<bool>, Condvar)>;

/// The device registry of one daemon.
pub struct Registry {
    hub: Arc<Hub>,
    config: DevicesConfig,
    roots: SysfsRoots,
    serials: Box<dyn SerialReader>,
    vtls: Mutex<VtlCache>,
    poll_wait: Duration,
    poller: Option<(JoinHandle<()>, StopFlag)>,
    warnings: Vec<String>,
}

impl Registry {
    /// Discovers the devices, starts a worker per drive and changer, polls
    /// each once, matches drives to their libraries' elements, and starts
    /// the background poller when asked.
    pub fn start(config: DevicesConfig, opts: RegistryOptions) -> Result<Registry, DeviceError> {
        let mut vtls = VtlCache::default();
        for l in opts.vtls {
            vtls.insert(l);
        }
        let hub = Arc::new(Hub {
            clearing_tape_alert: config.devices.clearing_tape_alert,
            slots: Mutex::new(Vec::new()),
            next_alert: Mutex::new(0),
            subscribers: Mutex::new(Vec::new()),
        });
        let mut reg = Registry {
            hub,
            config,
            roots: opts.roots,
            serials: opts.serials,
            vtls: Mutex::new(vtls),
            poll_wait: opts.poll_wait,
            poller: None,
            warnings: Vec::new(),
        };
        let report = reg.rescan()?;
        reg.warnings = report.warnings;
        if opts.background_polls {
            reg.start_poller()?;
        }
        Ok(reg)
    }

    fn start_poller(&mut self) -> Result<(), DeviceError> {
        let stop: StopFlag = Arc::new((Mutex::new(false), Condvar::new()));
        let hub = self.hub.clone();
        let interval = Duration::from_secs(self.config.devices.poll_interval_secs.max(1));
        let s = stop.clone();
        let join = std::thread::Builder::new()
            .name("reel-dev-poller".into())
            .spawn(move || {
                let (m, cv) = &*s;
                let mut stopped = lock(m);
                loop {
                    let (g, _) = cv
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(|e| e.into_inner());
                    stopped = g;
                    if *stopped {
                        break;
                    }
                    drop(stopped);
                    hub.poll_all(None);
                    stopped = lock(m);
                }
            })
            .map_err(|e| DeviceError::Spawn(e.to_string()))?;
        self.poller = Some((join, stop));
        Ok(())
    }

    /// Problems found by the start-up discovery (bad addresses, locked
    /// VTLs); the devices concerned are listed offline.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every device, in discovery order.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        self.hub.records().iter().map(|r| lock(r).info()).collect()
    }

    pub fn device(&self, id: &str) -> Option<DeviceInfo> {
        self.hub.find(id).map(|(r, _)| lock(&r).info())
    }

    /// Every active alert, oldest first.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self
            .hub
            .records()
            .iter()
            .flat_map(|r| lock(r).alerts.active().cloned().collect::<Vec<_>>())
            .collect();
        v.sort_by_key(|a| a.id);
        v
    }

    /// The operator acknowledges a device's TapeAlert alerts (needed for
    /// drives whose flags are read with the clearing page 2Eh). Returns
    /// how many were cleared.
    pub fn acknowledge_alerts(&self, id: &str) -> Result<usize, DeviceError> {
        let (rec, _) = self
            .hub
            .find(id)
            .ok_or_else(|| DeviceError::NoSuchDevice(id.to_string()))?;
        let ch = lock(&rec).alerts.clear();
        let n = ch.cleared.len();
        self.hub.emit(Hub::alert_events(ch));
        Ok(n)
    }

    /// Operator "drive down" (`true`) / "drive up" (`false`). A down
    /// device gets no jobs and no polls and keeps showing its last state.
    pub fn set_down(&self, id: &str, down: bool) -> Result<(), DeviceError> {
        let (rec, tx) = self
            .hub
            .find(id)
            .ok_or_else(|| DeviceError::NoSuchDevice(id.to_string()))?;
        let event = {
            let mut r = lock(&rec);
            let before = r.health();
            r.down = down;
            let after = r.health();
            (before != after).then(|| RegistryEvent::Health {
                device: r.id.clone(),
                health: after,
            })
        };
        self.hub.emit(event.into_iter().collect());
        // Back up: poll now rather than at the next interval, so the device
        // shows (and gets jobs by) what it answers today.
        if let (false, Some(tx)) = (down, tx) {
            let _ = tx.send(Msg::Poll { reply: None });
        }
        Ok(())
    }

    /// The worker of a tape drive or changer.
    pub fn worker(&self, id: &str) -> Result<DeviceHandle, DeviceError> {
        let (rec, tx) = self
            .hub
            .find(id)
            .ok_or_else(|| DeviceError::NoSuchDevice(id.to_string()))?;
        let kind = lock(&rec).kind;
        let tx = tx.ok_or_else(|| DeviceError::WrongKind {
            id: id.to_string(),
            kind,
        })?;
        Ok(DeviceHandle::new(id, kind, tx, rec))
    }

    /// Polls every idle device now and waits for the answers. Busy and
    /// down devices are skipped and say so.
    pub fn poll_now(&self) -> Vec<(String, PollOutcome)> {
        self.hub.poll_all(Some(self.poll_wait))
    }

    /// Events from now on (health changes, alerts, new devices).
    pub fn subscribe(&self) -> mpsc::Receiver<RegistryEvent> {
        let (tx, rx) = mpsc::channel();
        lock(&self.hub.subscribers).push(tx);
        rx
    }

    /// Discovers again: new devices get a worker, are polled and matched;
    /// sysfs devices no longer found are kept, offline.
    pub fn rescan(&self) -> Result<RescanReport, DeviceError> {
        let (plans, warnings) = {
            let mut vtls = lock(&self.vtls);
            discovery::discover(&self.config, &self.roots, &*self.serials, &mut vtls)
        };
        let mut report = RescanReport {
            warnings,
            ..RescanReport::default()
        };
        let existing = self.hub.records();
        let known: Vec<(String, String, bool)> = existing
            .iter()
            .map(|r| {
                let r = lock(r);
                (r.id.clone(), r.address.clone(), r.sysfs)
            })
            .collect();
        for (id, address, sysfs) in &known {
            if *sysfs && !plans.iter().any(|p| &p.address == address) {
                report.missing.push(id.clone());
            }
        }
        for (rec, (_, address, _)) in existing.iter().zip(&known) {
            // Found again: polled again.
            if plans.iter().any(|p| &p.address == address) {
                lock(rec).missing = false;
            }
        }
        for mut p in plans {
            if known
                .iter()
                .any(|(id, address, _)| *id == p.id || *address == p.address)
            {
                continue;
            }
            let rec = Arc::new(Mutex::new(Record::from_plan(&p)));
            let worker = match p.opener.take() {
                Some(o) => Some(Worker::spawn(
                    &p.id,
                    p.kind,
                    o,
                    self.hub.clone(),
                    rec.clone(),
                )?),
                None => None,
            };
            lock(&self.hub.slots).push(Slot { rec, worker });
            report.added.push(p.id.clone());
        }
        for id in &report.missing {
            if let Some((rec, _)) = self.hub.find(id) {
                let now = now_secs();
                let mut r = lock(&rec);
                r.missing = true;
                r.online = false;
                r.detail = Some("not found by the last scan".into());
                let mut next = lock(&self.hub.next_alert);
                let rid = r.id.clone();
                let ch =
                    r.alerts
                        .set_offline(&rid, Some("not found by the last scan"), now, &mut next);
                drop(next);
                drop(r);
                self.hub.emit(Hub::alert_events(ch));
            }
        }
        self.hub.emit(
            report
                .added
                .iter()
                .map(|id| RegistryEvent::Added(id.clone()))
                .collect(),
        );
        // Changers first, so the drives' match below sees inventories;
        // then everything once, so drives are identified.
        self.hub.poll_all(Some(self.poll_wait));
        self.match_libraries();
        Ok(report)
    }

    /// Matches drives to their library's data transfer elements by serial
    /// (the changer's DVCID identifiers against the drives' VPD 80h).
    fn match_libraries(&self) {
        let recs = self.hub.records();
        let snapshot: Vec<MatchRow> = recs
            .iter()
            .map(|r| {
                let r = lock(r);
                (
                    r.id.clone(),
                    r.kind,
                    r.library.clone(),
                    r.serial.clone(),
                    r.match_any,
                    r.sysfs,
                )
            })
            .collect();
        for (lib_id, kind, _, _, _, lib_sysfs) in &snapshot {
            if *kind != DeviceKind::Changer {
                continue;
            }
            let candidates: Vec<(String, String)> = snapshot
                .iter()
                .filter(|(_, k, lib, _, any, _)| {
                    *k == DeviceKind::TapeDrive
                        && (lib.as_deref() == Some(lib_id.as_str())
                            || (*any && *lib_sysfs && lib.is_none()))
                })
                .filter_map(|(id, _, _, serial, _, _)| {
                    serial.as_ref().map(|s| (id.clone(), s.clone()))
                })
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let Ok(handle) = self.worker(lib_id) else {
                continue;
            };
            let matches = match handle
                .for_job("drive matching")
                .run_changer(move |l| match_drives(l.inventory(), &candidates))
            {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(library = %lib_id, error = %e, "cannot match drives");
                    continue;
                }
            };
            for m in matches {
                let Some(dev) = m.device else { continue };
                if let Some((rec, _)) = self.hub.find(&dev) {
                    let mut r = lock(&rec);
                    r.library = Some(lib_id.clone());
                    r.element = Some(m.element);
                    r.drive_number = Some(m.drive);
                }
            }
        }
        // The changers' last element status names the drives' cartridges.
        for (lib_id, kind, ..) in &snapshot {
            if *kind != DeviceKind::Changer {
                continue;
            }
            let Ok(handle) = self.worker(lib_id) else {
                continue;
            };
            let Ok(loaded) = handle.for_job("drive matching").run_changer(|l| {
                l.inventory()
                    .drives
                    .iter()
                    .map(|e| (e.address, e.full.then(|| e.barcode()).flatten()))
                    .collect::<Vec<_>>()
            }) else {
                continue;
            };
            for r in &recs {
                let mut r = lock(r);
                if r.library.as_deref() == Some(lib_id.as_str())
                    && let Some(e) = r.element
                    && let Some((_, b)) = loaded.iter().find(|(a, _)| *a == e)
                {
                    r.loaded = b.clone();
                }
            }
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some((join, stop)) = self.poller.take() {
            {
                let (m, cv) = &*stop;
                *lock(m) = true;
                cv.notify_all();
            }
            if join.join().is_err() {
                tracing::warn!("device poller thread panicked");
            }
        }
        // Take the workers out first: a stopping worker may still report
        // a poll, which locks the slots.
        let workers: Vec<Worker> = lock(&self.hub.slots)
            .iter_mut()
            .filter_map(|s| s.worker.take())
            .collect();
        for mut w in workers {
            w.stop();
        }
    }
}
