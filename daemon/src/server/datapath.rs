//! Backup and restore streams on a leased drive and cartridge.
//!
//! A backup: the job is submitted to a tape pool and waits for its
//! assignment (drive + cartridge leased by the scheduler); the changer
//! thread loads the cartridge; the drive thread checks the label on the
//! medium (never overwriting a protected or foreign cartridge), writes a
//! new label at BOT or appends after the last file, and writes the stream
//! as one tape file while the async side feeds it chunk by chunk, watching
//! for pause and cancel; then the cartridge goes back to its slot and the
//! catalog records the piece. A restore locates the piece and streams it
//! back the same way.
//!
//! Not done here yet: spanning cartridges at early warning (a set is one
//! piece on one cartridge; EW marks the cartridge full after the job), and
//! retries of data jobs (the stream cannot be replayed: max 1 attempt).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reel_drivers::tape::{ReadOutcome, SpaceKind, TapeReader, TapeWriter};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::DaemonError;
use super::daemon::Daemon;
use super::devices::{DriveDev, DriveHandle};
use crate::db::catalog::{self, PieceLocation, SetState};
use crate::db::{self, unix_now};
use crate::media::guard::{OnMedium, classify_first_block, may_write_at_bot};
use crate::media::label::Label;
use crate::media::{Location, MediaState};
use crate::scheduler::Failure;
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Progress, Target};

/// Record size on tape.
pub const RECORD: usize = 256 * 1024;
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What the client asked to back up into.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub pool: String,
    pub media_set: String,
    pub priority: i32,
    pub bytes_total: Option<u64>,
}

/// Where a backup went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOutcome {
    pub job: i64,
    pub set: Uuid,
    pub bytes: u64,
    pub cartridge: String,
    pub device: String,
}

/// Messages from the async side to the drive thread.
pub(crate) enum Feed {
    Data(Bytes),
    End,
    Abort(String),
}

/// Result of the tape write.
struct Written {
    file: u64,
    first_block: u64,
    last_block: u64,
    bytes: u64,
    early_warning: bool,
}

/// Cancels the job if the runner is dropped before it finished (the
/// client went away mid-stream).
struct JobGuard {
    d: Arc<Daemon>,
    job: i64,
    armed: bool,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (d, job) = (self.d.clone(), self.job);
        let s = d.sched.clone();
        // Runs without the async runtime: the guard may drop anywhere.
        std::thread::spawn(move || {
            let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
            let now = unix_now();
            if let Ok(j) = g.job(job)
                && !j.state.is_terminal()
            {
                let f = Failure {
                    device: j.progress.device.clone().unwrap_or_default(),
                    message: "the client's data stream ended early".into(),
                    device_failed: false,
                };
                let r = if j.state == JobState::Running {
                    g.fail_attempt(job, &f, now).map(|_| ())
                } else {
                    g.cancel(job, now)
                };
                if let Err(e) = r {
                    tracing::warn!(job, "cleaning up after a dropped stream: {e}");
                }
            }
            d.poke.notify_one();
        });
    }
}

fn scsi(e: reel_drivers::ScsiError) -> DaemonError {
    DaemonError::Scsi(e)
}

fn io(e: std::io::Error) -> DaemonError {
    DaemonError::Io(e)
}

/// Waits for the dispatcher to hand the job out.
async fn assignment(
    rx: tokio::sync::oneshot::Receiver<Assignment>,
) -> Result<Assignment, DaemonError> {
    rx.await
        .map_err(|_| DaemonError::Internal("the dispatcher dropped the job".into()))
}

/// Loads `barcode` into `drive` through the changer thread; returns the
/// element address it came from.
pub async fn load(d: &Arc<Daemon>, drive: &DriveHandle, barcode: &str) -> Result<u16, DaemonError> {
    let lib = d
        .library(&drive.library)
        .ok_or_else(|| DaemonError::NotFound(format!("library {}", drive.library)))?;
    let (bc, dst) = (barcode.to_string(), drive.element);
    let src = lib
        .worker
        .run(move |l| -> Result<u16, DaemonError> {
            let inv = l.refresh()?;
            let at = [&inv.slots, &inv.mail_slots, &inv.drives]
                .into_iter()
                .flatten()
                .find(|e| e.full && e.barcode().as_deref() == Some(bc.as_str()))
                .map(|e| (e.address, e.kind))
                .ok_or_else(|| DaemonError::NotFound(format!("cartridge {bc} in the library")))?;
            if at.0 == dst {
                return Ok(inv.find(dst).and_then(|e| e.source).unwrap_or(dst));
            }
            if at.1 == reel_changer::ElementType::DataTransfer {
                return Err(DaemonError::Refused(format!(
                    "cartridge {bc} is in another drive (element {:#x})",
                    at.0
                )));
            }
            l.changer().move_medium(at.0, dst, false)?;
            l.refresh()?;
            Ok(at.0)
        })
        .await??;
    let (library, id, bc) = (drive.library.clone(), drive.id.clone(), barcode.to_string());
    d.sched(move |s| {
        s.db_mut().write(|c| {
            db::media::set_location(c, &bc, &Location::Drive { library, drive: id })?;
            db::media::record_mount(c, &bc)?;
            Ok::<_, DaemonError>(())
        })
    })
    .await?;
    Ok(src)
}

/// Unloads `drive` and puts its cartridge back into its home slot (or the
/// first empty one); records the location.
pub async fn unload(d: &Arc<Daemon>, drive: &DriveHandle) -> Result<(), DaemonError> {
    // An empty drive answers UNLOAD with NOT READY: nothing to do then.
    let _ = drive.worker.run(|t: &mut DriveDev| t.unload()).await?;
    let lib = d
        .library(&drive.library)
        .ok_or_else(|| DaemonError::NotFound(format!("library {}", drive.library)))?;
    let n = drive.index;
    let moved = lib
        .worker
        .run(move |l| -> Result<Option<(String, u16)>, DaemonError> {
            l.refresh()?;
            let el = l.drive(n)?;
            if !el.full {
                return Ok(None);
            }
            let bc = el.barcode().unwrap_or_default();
            let slot = l.unload(n, None, None)?;
            Ok(Some((bc, l.slot(slot)?.address)))
        })
        .await??;
    if let Some((bc, element)) = moved
        && !bc.is_empty()
    {
        let library = drive.library.clone();
        d.sched(move |s| {
            s.db_mut().write(|c| {
                let loc = Location::Slot {
                    library,
                    element: u32::from(element),
                };
                match db::media::find_media(c, &bc)? {
                    Some(_) => db::media::set_location(c, &bc, &loc)?,
                    None => {
                        crate::media::manager::import_barcode(c, &bc, &loc, unix_now())?;
                    }
                }
                Ok::<_, DaemonError>(())
            })
        })
        .await?;
    }
    Ok(())
}

/// Reads the first record at BOT (None: blank tape).
fn first_block(t: &mut DriveDev) -> Result<OnMedium, DaemonError> {
    t.rewind(false).map_err(scsi)?;
    let mut buf = vec![0u8; 64 * 1024];
    let block = match t.read(&mut buf).map_err(scsi)? {
        ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => Some(&buf[..len]),
        ReadOutcome::LongBlock { copied, .. } => Some(&buf[..copied]),
        ReadOutcome::Filemark => Some(&buf[..0]),
        _ => None,
    };
    Ok(classify_first_block(block))
}

/// The drive thread's part of a backup.
fn write_stream(
    t: &mut DriveDev,
    label: &Label,
    feed: &mut mpsc::Receiver<Feed>,
) -> Result<Written, DaemonError> {
    t.wait_ready(Duration::from_secs(120)).map_err(scsi)?;
    t.set_block_size(0).map_err(scsi)?;
    let on = first_block(t)?;
    let append = matches!(&on, OnMedium::Label(l) if l.uuid == label.uuid);
    if append {
        t.space(SpaceKind::EndOfData, 0).map_err(scsi)?;
    } else {
        // The check against the medium itself, whatever the catalog says.
        may_write_at_bot(&on, unix_now(), false)
            .map_err(|e| DaemonError::Refused(e.to_string()))?;
        t.rewind(false).map_err(scsi)?;
        let block = label
            .encode()
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        t.write(&block).map_err(scsi)?;
        t.write_filemarks(1, false).map_err(scsi)?;
        if let Ok(attrs) = crate::media::mam::label_to_mam(label)
            && let Err(e) = t.write_mam(&attrs)
        {
            tracing::debug!("label not written to MAM: {e}");
        }
    }
    let st = t.status().map_err(scsi)?;
    let (file, first_block) = match (st.file, st.logical_block) {
        (Some(f), Some(b)) => (f, b),
        _ => {
            return Err(DaemonError::Internal(
                "drive does not report its position".into(),
            ));
        }
    };
    let mut w = TapeWriter::new(t, RECORD).map_err(io)?;
    let mut bytes = 0u64;
    loop {
        match feed.blocking_recv() {
            Some(Feed::Data(b)) => {
                w.write_all(&b).map_err(io)?;
                bytes += b.len() as u64;
            }
            Some(Feed::End) => break,
            Some(Feed::Abort(why)) => {
                // Close the file so the tape stays readable up to here.
                let _ = w.finish(true);
                return Err(DaemonError::Refused(why));
            }
            None => {
                let _ = w.finish(true);
                return Err(DaemonError::Refused("data stream ended early".into()));
            }
        }
    }
    let early_warning = w.early_warning();
    w.finish(true).map_err(io)?;
    let end = t
        .status()
        .map_err(scsi)?
        .logical_block
        .ok_or_else(|| DaemonError::Internal("no position after the write".into()))?;
    Ok(Written {
        file,
        first_block,
        // `end` is past the filemark; the last data block is before it.
        last_block: end.saturating_sub(2).max(first_block),
        bytes,
        early_warning,
    })
}

/// Feeds the client's chunks to the drive thread, reporting progress and
/// honouring pause and cancel. Returns the bytes fed.
pub(crate) async fn pump<S>(
    d: &Arc<Daemon>,
    job: i64,
    progress: Progress,
    mut input: S,
    feed: mpsc::Sender<Feed>,
) -> Result<u64, DaemonError>
where
    S: tokio_stream::Stream<Item = Result<Bytes, tonic::Status>> + Unpin,
{
    use tokio_stream::StreamExt;
    let mut bytes = 0u64;
    let (mut last, mut last_bytes) = (Instant::now(), 0u64);
    loop {
        let next = input.next().await;
        let chunk = match next {
            None => break,
            Some(Ok(b)) => b,
            Some(Err(e)) => {
                let _ = feed.send(Feed::Abort(format!("client stream: {e}"))).await;
                return Err(DaemonError::Refused(format!("client stream: {e}")));
            }
        };
        bytes += chunk.len() as u64;
        if feed.send(Feed::Data(chunk)).await.is_err() {
            return Err(DaemonError::Internal("drive thread stopped".into()));
        }
        if last.elapsed() >= PROGRESS_EVERY {
            let secs = last.elapsed().as_secs_f64();
            let mut p = progress.clone();
            p.bytes_done = bytes;
            p.rate_bps = Some(((bytes - last_bytes) as f64 / secs) as u64);
            (last, last_bytes) = (Instant::now(), bytes);
            if let Err(why) = report(d, job, p).await? {
                let _ = feed.send(Feed::Abort(why.clone())).await;
                return Err(DaemonError::Refused(why));
            }
        }
    }
    let _ = feed.send(Feed::End).await;
    Ok(bytes)
}

/// Reports progress; while the job is paused, waits (heartbeating) until
/// it is resumed. `Ok(Err(why))` when it was cancelled.
async fn report(d: &Arc<Daemon>, job: i64, p: Progress) -> Result<Result<(), String>, DaemonError> {
    loop {
        let pc = p.clone();
        let state = d
            .sched(move |s| {
                let now = unix_now();
                let st = s.job(job)?.state;
                if st == JobState::Running {
                    s.progress(job, &pc, now)?;
                } else {
                    s.heartbeat(job, now)?;
                }
                Ok::<_, DaemonError>(st)
            })
            .await?;
        match state {
            JobState::Running => return Ok(Ok(())),
            JobState::Paused => tokio::time::sleep(Duration::from_millis(200)).await,
            other => return Ok(Err(format!("job {job} is {}", other.as_str()))),
        }
    }
}

/// Records a failed attempt, raises an alert and puts the cartridge back.
async fn fail(d: &Arc<Daemon>, job: i64, device: &str, e: &DaemonError) {
    let hardware =
        matches!(e, DaemonError::Scsi(s) if s.to_string().to_lowercase().contains("hardware"));
    d.alerts.raise(
        if hardware { "critical" } else { "warning" },
        device,
        job,
        format!("job {job} failed on {device}: {e}"),
    );
    if let Some(drive) = d.drive(device)
        && let Err(u) = unload(d, drive).await
    {
        tracing::warn!(drive = %drive.id, "unload after failure: {u}");
    }
    let f = Failure {
        device: device.to_string(),
        message: e.to_string(),
        device_failed: hardware,
    };
    let r = d
        .sched(move |s| {
            let st = s.job(job)?.state;
            if st == JobState::Running {
                s.fail_attempt(job, &f, unix_now())?;
            } else if !st.is_terminal() {
                s.cancel(job, unix_now())?;
            }
            Ok::<_, DaemonError>(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(job, "recording the failure: {e}");
    }
    d.poke.notify_one();
}

/// Runs a backup of `input` (the data chunks after the header).
pub async fn backup<S>(
    d: &Arc<Daemon>,
    req: BackupRequest,
    input: S,
) -> Result<BackupOutcome, DaemonError>
where
    S: tokio_stream::Stream<Item = Result<Bytes, tonic::Status>> + Unpin + Send,
{
    let mut spec = JobSpec::new(
        JobKind::Backup,
        Target::Pool(req.pool.clone()),
        MediaNeed::Writable {
            media_set: req.media_set.clone(),
        },
    )
    .priority(req.priority)
    .max_attempts(1);
    spec.bytes_total = req.bytes_total;
    let (job, rx) = d.submit_and_wait(spec).await?;
    let mut guard = JobGuard {
        d: d.clone(),
        job,
        armed: true,
    };
    let a = assignment(rx).await?;
    let r = match (d.drive(&a.device), d.store(&a.device), a.cartridge.clone()) {
        (Some(drive), _, Some(barcode)) => backup_on(d, &req, job, drive, &barcode, input).await,
        (_, Some(st), _) => super::disk::backup(d, &req, job, st, input).await,
        _ => Err(DaemonError::Internal(format!(
            "backup job got device {} and cartridge {:?}",
            a.device, a.cartridge
        ))),
    };
    guard.armed = false;
    if let Err(e) = &r {
        fail(d, job, &a.device, e).await;
    }
    r
}

async fn backup_on<S>(
    d: &Arc<Daemon>,
    req: &BackupRequest,
    job: i64,
    drive: &DriveHandle,
    barcode: &str,
    input: S,
) -> Result<BackupOutcome, DaemonError>
where
    S: tokio_stream::Stream<Item = Result<Bytes, tonic::Status>> + Unpin + Send,
{
    let (pool, set_name, bc) = (req.pool.clone(), req.media_set.clone(), barcode.to_string());
    let (set, label) = d
        .sched(move |s| {
            s.db_mut().write(|c| {
                let now = unix_now();
                let set = catalog::begin_set(c, Some(job), Some(&pool), Some(&set_name), now)?;
                let label = crate::media::manager::label_for(c, &bc, now)?;
                Ok::<_, DaemonError>((set, label))
            })
        })
        .await?;
    load(d, drive, barcode).await?;
    let (feed_tx, mut feed_rx) = mpsc::channel::<Feed>(8);
    let writer = drive
        .worker
        .run(move |t| write_stream(t, &label, &mut feed_rx));
    let progress = Progress {
        bytes_done: 0,
        bytes_total: req.bytes_total,
        rate_bps: None,
        device: Some(drive.id.clone()),
        barcode: Some(barcode.to_string()),
    };
    let (fed, written) = tokio::join!(pump(d, job, progress.clone(), input, feed_tx), writer);
    let written = written??;
    fed?;
    d.add_written(written.bytes);
    unload(d, drive).await?;
    let bc = barcode.to_string();
    let mut p = progress;
    p.bytes_done = written.bytes;
    d.sched(move |s| {
        s.db_mut().write(|c| {
            let now = unix_now();
            let loc = PieceLocation::Tape {
                barcode: bc.clone(),
                file_number: written.file,
                first_block: written.first_block,
                last_block: written.last_block,
            };
            catalog::add_piece(c, set, &loc, written.bytes)?;
            crate::media::manager::record_write(c, &bc, written.bytes, now)?;
            if written.early_warning {
                crate::media::manager::set_state(c, &bc, MediaState::Full, now)?;
            }
            Ok::<_, DaemonError>(())
        })?;
        s.progress(job, &p, unix_now())?;
        s.complete(job, unix_now())?;
        Ok::<_, DaemonError>(())
    })
    .await?;
    d.poke.notify_one();
    Ok(BackupOutcome {
        job,
        set,
        bytes: written.bytes,
        cartridge: barcode.to_string(),
        device: drive.id.clone(),
    })
}

/// Restores a set held by the disk storage `dev`.
async fn restore_disk(
    d: &Arc<Daemon>,
    bs: &catalog::BackupSet,
    dev: String,
    priority: i32,
    out: mpsc::Sender<Result<Bytes, tonic::Status>>,
    started: tokio::sync::oneshot::Sender<i64>,
) -> Result<u64, DaemonError> {
    if bs.state != SetState::Complete {
        return Err(DaemonError::Refused(format!(
            "backup set {} is {}; only complete sets are restored",
            bs.uuid,
            bs.state.as_str()
        )));
    }
    let st = d
        .store(&dev)
        .ok_or_else(|| DaemonError::NotFound(format!("disk storage {dev}")))?;
    let mut spec = JobSpec::new(
        JobKind::Restore,
        Target::Device(dev.clone()),
        MediaNeed::None,
    )
    .priority(priority)
    .max_attempts(1);
    spec.source_set = Some(bs.uuid);
    spec.bytes_total = Some(bs.bytes);
    let (job, rx) = d.submit_and_wait(spec).await?;
    let _ = started.send(job);
    assignment(rx).await?;
    let r = async {
        let n = super::disk::restore(st, bs.pieces.clone(), out).await?;
        d.add_read(n);
        let p = Progress {
            bytes_done: n,
            bytes_total: Some(bs.bytes),
            rate_bps: None,
            device: Some(dev.clone()),
            barcode: None,
        };
        d.sched(move |s| {
            s.progress(job, &p, unix_now())?;
            s.complete(job, unix_now())
        })
        .await?;
        d.poke.notify_one();
        Ok::<_, DaemonError>(n)
    }
    .await;
    if let Err(e) = &r {
        fail(d, job, &dev, e).await;
    }
    r
}

/// Where the data of a set is, checked for a restore.
async fn restorable(
    d: &Arc<Daemon>,
    set: Uuid,
) -> Result<(catalog::BackupSet, String), DaemonError> {
    let bs = d
        .sched(move |s| catalog::get_set(s.db().conn(), set))
        .await?;
    if bs.state != SetState::Complete {
        return Err(DaemonError::Refused(format!(
            "backup set {set} is {}; only complete sets are restored",
            bs.state.as_str()
        )));
    }
    let mut barcodes = bs.pieces.iter().map(|p| match &p.location {
        PieceLocation::Tape { barcode, .. } => Ok(barcode.clone()),
        other => Err(DaemonError::Refused(format!(
            "piece {other:?} is not on tape; this reeld restores tape sets only"
        ))),
    });
    let first = barcodes
        .next()
        .ok_or_else(|| DaemonError::Refused(format!("backup set {set} has no pieces")))??;
    for b in barcodes {
        if b? != first {
            return Err(DaemonError::Refused(format!(
                "backup set {set} spans cartridges; not supported by this reeld yet"
            )));
        }
    }
    Ok((bs, first))
}

/// The drive thread's part of a restore: every piece, in order, sent to
/// `out` in chunks.
fn read_pieces(
    t: &mut DriveDev,
    pieces: &[catalog::Piece],
    out: &mpsc::Sender<Result<Bytes, tonic::Status>>,
) -> Result<u64, DaemonError> {
    t.wait_ready(Duration::from_secs(120)).map_err(scsi)?;
    t.set_block_size(0).map_err(scsi)?;
    let mut total = 0u64;
    for p in pieces {
        let PieceLocation::Tape { first_block, .. } = &p.location else {
            continue;
        };
        t.locate(*first_block, None).map_err(scsi)?;
        let mut r = TapeReader::new(t, RECORD).map_err(io)?;
        let mut got = 0u64;
        loop {
            let mut buf = vec![0u8; RECORD];
            let n = r.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            got += n as u64;
            if out.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return Err(DaemonError::Refused("the client went away".into()));
            }
        }
        if got != p.bytes {
            return Err(DaemonError::Internal(format!(
                "piece {} holds {got} bytes on tape, the catalog says {}",
                p.seq, p.bytes
            )));
        }
        total += got;
    }
    Ok(total)
}

/// Restores `set` into `out`; returns the job id once the job is queued
/// (through `started`) and the bytes sent when done.
pub async fn restore(
    d: &Arc<Daemon>,
    set: Uuid,
    pool: Option<String>,
    priority: i32,
    out: mpsc::Sender<Result<Bytes, tonic::Status>>,
    started: tokio::sync::oneshot::Sender<i64>,
) -> Result<u64, DaemonError> {
    let bs = d
        .sched(move |s| catalog::get_set(s.db().conn(), set))
        .await?;
    if let Some(dev) = super::disk::set_device(&bs) {
        return restore_disk(d, &bs, dev, priority, out, started).await;
    }
    let (bs, barcode) = restorable(d, set).await?;
    let pool = pool
        .filter(|p| !p.is_empty())
        .or(bs.pool.clone())
        .ok_or_else(|| DaemonError::Refused(format!("set {set} names no pool; give one")))?;
    let mut spec = JobSpec::new(
        JobKind::Restore,
        Target::Pool(pool),
        MediaNeed::Specific {
            barcode: barcode.clone(),
        },
    )
    .priority(priority)
    .max_attempts(1);
    spec.source_set = Some(set);
    spec.bytes_total = Some(bs.bytes);
    let (job, rx) = d.submit_and_wait(spec).await?;
    let _ = started.send(job);
    let mut guard = JobGuard {
        d: d.clone(),
        job,
        armed: true,
    };
    let a = assignment(rx).await?;
    let drive = d
        .drive(&a.device)
        .ok_or_else(|| DaemonError::NotFound(format!("drive {}", a.device)))?;
    guard.armed = false;
    let r = async {
        load(d, drive, &barcode).await?;
        let pieces = bs.pieces.clone();
        let n = drive
            .worker
            .run(move |t| read_pieces(t, &pieces, &out))
            .await??;
        d.add_read(n);
        unload(d, drive).await?;
        let p = Progress {
            bytes_done: n,
            bytes_total: Some(bs.bytes),
            rate_bps: None,
            device: Some(drive.id.clone()),
            barcode: Some(barcode.clone()),
        };
        d.sched(move |s| {
            s.progress(job, &p, unix_now())?;
            s.complete(job, unix_now())
        })
        .await?;
        d.poke.notify_one();
        Ok::<_, DaemonError>(n)
    }
    .await;
    if let Err(e) = &r {
        fail(d, job, &drive.id, e).await;
    }
    r
}
