//! Backup to and restore from a tape pool.
//!
//! Cartridge layout: file 0 is the reel label (one 512-byte block), then
//! each piece of a set is one tape file of fixed-size records (the last
//! record of a set may be short), ended by a filemark. A piece is
//! recorded in the catalog (cartridge, file number, first and last
//! logical object) as soon as its filemark is written.
//!
//! Writing at BOT (a new label) happens only after the first block on the
//! medium was read and [`may_write_at_bot`] allowed it, whatever the
//! catalog says; appending needs the label on the medium to be the one the
//! catalog allocated.

use std::io::Write;
use std::time::Instant;

use reel_changer::ChangerError;
use reel_drivers::ScsiError;
use reel_drivers::tape::{Position, ReadOutcome, SpaceKind, WriteStatus};
use rusqlite::Connection;
use uuid::Uuid;

use super::access::DeviceAccess;
use super::source::{BackupSource, Feeder, StreamDigest};
use super::{ExecError, ExecResult};
use crate::db::catalog::{self, PieceLocation};
use crate::db::{self, Db, unix_now};
use crate::devices::{Changer, Drive};
use crate::media::guard::{OnMedium, WriteRefused, classify_first_block, may_write_at_bot};
use crate::media::label::Label;
use crate::media::{Location, MediaState, manager};
use crate::scheduler::Scheduler;
use crate::scheduler::job::{JobState, Progress};
use crate::scheduler::lease::{self, Resource, ResourceKind};

/// Tuning of the tape executors.
#[derive(Debug, Clone)]
pub struct TapeOptions {
    /// Record size on tape (variable-block mode).
    pub record_size: usize,
    /// Records handed to the drive per call (one hop to its thread).
    pub chunk_records: usize,
    /// Lease lifetime without a heartbeat.
    pub lease_ttl: i64,
    /// Cartridges refused at BOT before the attempt gives up.
    pub max_refused: u32,
}

impl Default for TapeOptions {
    fn default() -> Self {
        TapeOptions {
            record_size: 256 * 1024,
            chunk_records: 16,
            lease_ttl: lease::DEFAULT_TTL,
            max_refused: 8,
        }
    }
}

/// What one attempt wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub set: Uuid,
    pub digest: StreamDigest,
    pub cartridges: Vec<String>,
}

fn drive_err(device: &str) -> impl Fn(ScsiError) -> ExecError + '_ {
    move |source| ExecError::Drive {
        device: device.into(),
        source,
    }
}

fn changer_err(library: &str) -> impl Fn(ChangerError) -> ExecError + '_ {
    move |source| ExecError::Changer {
        library: library.into(),
        source,
    }
}

/// The drive a job runs on, with its place in the library.
pub struct DriveSeat<'a, D: DeviceAccess> {
    pub devs: &'a D,
    pub drive: String,
    pub library: String,
    pub number: usize,
}

impl<'a, D: DeviceAccess> DriveSeat<'a, D> {
    pub fn new(devs: &'a D, drive: &str) -> ExecResult<DriveSeat<'a, D>> {
        let (library, number) = devs.drive_place(drive)?;
        Ok(DriveSeat {
            devs,
            drive: drive.into(),
            library,
            number,
        })
    }

    fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Drive) -> Result<R, ScsiError> + Send + 'static,
    ) -> ExecResult<R> {
        self.devs
            .with_drive(&self.drive, f)?
            .map_err(drive_err(&self.drive))
    }

    fn changer<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Changer) -> Result<R, ChangerError> + Send + 'static,
    ) -> ExecResult<R> {
        self.devs
            .with_changer(&self.library, f)?
            .map_err(changer_err(&self.library))
    }

    /// Loads `barcode` into this drive (from its slot, or out of another
    /// drive it was left in) and records where it is. The catalog is
    /// written after the robot moved: no database lock is held across a
    /// device operation.
    pub fn mount(&self, db: &mut Db, barcode: &str) -> ExecResult<()> {
        let (bc, me) = (barcode.to_string(), self.number);
        let found = self.changer(move |l| {
            match l.find_barcode(&bc) {
                Some(reel_changer::Location::Drive(d)) if d == me => {}
                Some(reel_changer::Location::Drive(d)) => {
                    // Left in another drive (a failed attempt): home first.
                    let slot = l.unload(d, None, Some(&mut |_| Ok(())))?;
                    l.load(slot, me)?;
                }
                Some(reel_changer::Location::Slot(s)) => l.load(s, me)?,
                None => return Ok(false),
            }
            Ok(true)
        })?;
        if !found {
            return Err(ExecError::NotFound(format!(
                "cartridge {barcode} is not in library {}",
                self.library
            )));
        }
        let loc = Location::Drive {
            library: self.library.clone(),
            drive: self.drive.clone(),
        };
        db.write(|c| {
            db::media::set_location(c, barcode, &loc)?;
            db::media::record_mount(c, barcode)
        })?;
        self.run(|d| d.wait_ready(std::time::Duration::from_secs(60)))?;
        Ok(())
    }

    /// Unloads the drive and puts the cartridge back in a slot; returns
    /// the slot's element address.
    pub fn unmount(&self, db: &mut Db, barcode: &str) -> ExecResult<u32> {
        // The tape device first; a dead drive may still let the robot
        // take the cartridge out.
        let unloaded = self.run(|d| d.unload());
        let me = self.number;
        let addr = self.changer(move |l| {
            let slot = l.unload(me, None, Some(&mut |_| Ok(())))?;
            Ok(l.slot(slot)?.address)
        });
        let addr = match (addr, unloaded) {
            (Ok(a), _) => a,
            (Err(e), Err(first)) => {
                tracing::warn!(error = %e, "changer could not unload after the drive failed");
                return Err(first);
            }
            (Err(e), Ok(())) => return Err(e),
        };
        let loc = Location::Slot {
            library: self.library.clone(),
            element: u32::from(addr),
        };
        db.write(|c| db::media::set_location(c, barcode, &loc))?;
        Ok(u32::from(addr))
    }
}

/// Reads the first block at BOT (`None`: blank medium).
fn read_bot(d: &mut Drive) -> Result<Option<Vec<u8>>, ScsiError> {
    d.rewind(false)?;
    let mut b = vec![0u8; 64 * 1024];
    match d.read(&mut b) {
        Ok(ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len }) => {
            b.truncate(len);
            Ok(Some(b))
        }
        // Larger than any label: foreign data.
        Ok(ReadOutcome::LongBlock { .. }) => Ok(Some(b)),
        Ok(ReadOutcome::Filemark) => Ok(Some(Vec::new())),
        Ok(ReadOutcome::EndOfData) => Ok(None),
        Err(e) if e.class() == reel_drivers::ErrorClass::BlankCheck => Ok(None),
        Err(e) => Err(e),
    }
}

fn position_of(p: Position, device: &str) -> ExecResult<(u64, u64)> {
    match (p.file, p.block) {
        (Some(f), Some(b)) => Ok((f, b)),
        _ => Err(ExecError::Layout(format!(
            "drive {device} does not report its file and object number"
        ))),
    }
}

/// Gets the loaded cartridge ready for data: a new label at BOT when the
/// cartridge is fresh in its set (after the on-medium check), else the end
/// of its data. Returns (file number, first object) of the next file.
pub fn prepare_write<D: DeviceAccess>(
    seat: &DriveSeat<'_, D>,
    db: &mut Db,
    barcode: &str,
    now: i64,
) -> ExecResult<(u64, u64)> {
    let first = seat.run(read_bot)?;
    let on = classify_first_block(first.as_deref());
    let media = db::media::get_media(db.conn(), barcode)?;
    let ours = matches!(&on, OnMedium::Label(l) if Some(l.uuid) == media.label_uuid);
    if media.first_write.is_some() {
        // Appending: the medium must carry the label the catalog gave it.
        if !ours {
            return Err(refusal(
                barcode,
                &on,
                now,
                "the label on the medium is not the catalog's",
            ));
        }
        let p = seat.run(|d| {
            d.space(SpaceKind::EndOfData, 0)?;
            d.read_position()
        })?;
        return position_of(p, &seat.drive);
    }
    // A label of this very allocation (an attempt that died before the
    // catalog heard of its write) may be rewritten; anything else is
    // checked as the medium says.
    if !ours {
        may_write_at_bot(&on, now, false).map_err(|refused| ExecError::Refused {
            barcode: barcode.into(),
            refused,
        })?;
    }
    let label = manager::label_for(db.conn(), barcode, now)?;
    let block = label.encode().map_err(manager::MediaError::from)?;
    let mam = crate::media::mam::label_to_mam(&label).ok();
    let p = seat.run(move |d| {
        d.rewind(false)?;
        d.write(&block)?;
        d.write_filemarks(1, false)?;
        if let Some(attrs) = mam
            && let Err(e) = d.write_mam(&attrs)
        {
            // MAM is a convenience copy; the block at BOT is the label.
            tracing::debug!(error = %e, "label not written to MAM");
        }
        d.read_position()
    })?;
    db.write(|c| manager::record_write(c, barcode, 0, now))?;
    position_of(p, &seat.drive)
}

fn refusal(barcode: &str, on: &OnMedium, now: i64, why: &str) -> ExecError {
    let refused = match may_write_at_bot(on, now, false) {
        Err(r) => r,
        Ok(()) => WriteRefused::Damaged(crate::media::label::LabelError::BadField {
            field: "uuid",
            detail: why.into(),
        }),
    };
    ExecError::Refused {
        barcode: barcode.into(),
        refused,
    }
}

/// Result of one chunk written to the drive.
struct ChunkDone {
    consumed: usize,
    records: u64,
    early_warning: bool,
}

/// Writes whole records of `data` (the last may be short only at the end
/// of the stream) and stops right after the record that reached early
/// warning. One WRITE per record straight out of `data`, as the raw driver
/// path does: no staging buffer, no copy.
fn write_chunk(d: &mut Drive, data: &[u8], rs: usize) -> Result<ChunkDone, ScsiError> {
    let (mut off, mut records, mut early_warning) = (0, 0u64, false);
    while off < data.len() && !early_warning {
        let end = (off + rs).min(data.len());
        early_warning = d.write(&data[off..end])? != WriteStatus::Ok;
        records += 1;
        off = end;
    }
    Ok(ChunkDone {
        consumed: off,
        records,
        early_warning,
    })
}

/// The context of one running attempt.
pub struct Attempt<'a> {
    pub sched: &'a mut Scheduler,
    pub job: i64,
    pub pool: String,
    pub media_set: String,
    pub opts: &'a TapeOptions,
}

impl Attempt<'_> {
    /// Allocates and leases the next cartridge of the media set.
    fn next_cartridge(&mut self, library: &str) -> ExecResult<String> {
        let (job, epoch, ttl, set) = (
            self.job,
            self.sched.epoch(),
            self.opts.lease_ttl,
            self.media_set.clone(),
        );
        let lib = library.to_string();
        self.sched.db_mut().write(|c| {
            let now = unix_now();
            let bc = match manager::writable_cartridge(c, &set, &lib, now)? {
                Ok(bc) => bc,
                Err(reason) => return Err(ExecError::NotFound(reason)),
            };
            lease::acquire(c, &Resource::cartridge(&bc), 0, job, epoch, now, ttl)
                .map_err(crate::scheduler::SchedError::from)?;
            if let Some(m) = db::media::find_media(c, &bc)?
                && let Location::Slot { library, element } = &m.location
            {
                lease::acquire(
                    c,
                    &Resource::slot(library, *element),
                    0,
                    job,
                    epoch,
                    now,
                    ttl,
                )
                .map_err(crate::scheduler::SchedError::from)?;
            }
            Ok(bc)
        })
    }

    /// Gives a cartridge (and the slot leases of the job) back.
    fn release_cartridge(&mut self, barcode: &str) -> ExecResult<()> {
        let job = self.job;
        self.sched.db_mut().write(|c| {
            for l in db::leases::of_job(c, job)? {
                let cart = l.resource.kind == ResourceKind::Cartridge && l.resource.key == barcode;
                if cart || l.resource.kind == ResourceKind::Slot {
                    db::leases::delete(c, &l.resource, l.unit)?;
                }
            }
            Ok::<_, ExecError>(())
        })
    }

    fn event(&mut self, kind: &str, device: &str, msg: &str) -> ExecResult<()> {
        let job = self.job;
        self.sched.db_mut().write(|c| {
            db::jobs::add_event(c, job, unix_now(), kind, Some(device), msg)?;
            Ok::<_, ExecError>(())
        })
    }
}

/// One backup attempt on `drive`, starting with `cartridge` (the one the
/// dispatcher leased): writes `src` to tape, spanning cartridges at early
/// warning, and records the set and its pieces. The set stays `writing`;
/// the caller completes or fails the job.
pub fn backup_attempt<D: DeviceAccess>(
    at: &mut Attempt<'_>,
    devs: &D,
    drive: &str,
    cartridge: &str,
    src: &mut dyn BackupSource,
) -> ExecResult<Written> {
    let buf_len = at.opts.record_size * at.opts.chunk_records.max(1);
    std::thread::scope(|s| {
        let (feeder, reader) = Feeder::start(s, src, buf_len);
        let r = write_stream(at, devs, drive, cartridge, &feeder);
        // Dropping the feeder stops the reader if the writer gave up.
        drop(feeder);
        let digest = reader
            .join()
            .map_err(|_| ExecError::Stream(std::io::Error::other("stream reader panicked")))?;
        let (set, cartridges, bytes) = r?;
        if bytes != digest.bytes() {
            return Err(ExecError::Layout(format!(
                "{bytes} bytes written, {} read from the stream",
                digest.bytes()
            )));
        }
        Ok(Written {
            set,
            digest,
            cartridges,
        })
    })
}

/// The writing side of [`backup_attempt`]: (set, cartridges, bytes).
fn write_stream<D: DeviceAccess>(
    at: &mut Attempt<'_>,
    devs: &D,
    drive: &str,
    cartridge: &str,
    feeder: &Feeder,
) -> ExecResult<(Uuid, Vec<String>, u64)> {
    let seat = DriveSeat::new(devs, drive)?;
    let set = super::run::begin_set(at.sched, at.job, &at.pool, Some(&at.media_set))?;
    let rs = at.opts.record_size;
    let mut buf: Vec<u8> = Vec::new();
    let (mut start, mut end, mut eof) = (0usize, 0usize, false);
    let mut total = 0u64;
    let mut cart = cartridge.to_string();
    let mut cartridges = Vec::new();
    let mut refused = 0u32;
    let mut last_report = Instant::now();
    loop {
        seat.mount(at.sched.db_mut(), &cart)?;
        let prepared = prepare_write(&seat, at.sched.db_mut(), &cart, unix_now());
        let (file, first_block) = match prepared {
            Ok(p) => p,
            Err(ExecError::Refused {
                barcode,
                refused: why,
            }) => {
                refused += 1;
                handle_refusal(at, &seat, &barcode, &why)?;
                if refused >= at.opts.max_refused {
                    return Err(ExecError::Refused {
                        barcode,
                        refused: why,
                    });
                }
                cart = at.next_cartridge(&seat.library)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        cartridges.push(cart.clone());
        let (mut records, mut bytes, mut ew) = (0u64, 0u64, false);
        loop {
            if start == end && !eof {
                if !buf.is_empty() {
                    feeder.give_back(std::mem::take(&mut buf));
                }
                let f = feeder.next().map_err(ExecError::Stream)?;
                eof = f.last;
                (buf, start, end) = (f.buf, 0, f.len);
            }
            if start == end {
                break;
            }
            let chunk = std::mem::take(&mut buf);
            let (s, e) = (start, end);
            let (chunk, r) = devs.with_drive(&seat.drive, move |d| {
                let r = write_chunk(d, &chunk[s..e], rs);
                (chunk, r)
            })?;
            buf = chunk;
            let done = r.map_err(drive_err(&seat.drive))?;
            start += done.consumed;
            records += done.records;
            bytes += done.consumed as u64;
            total += done.consumed as u64;
            if last_report.elapsed().as_secs() >= 1 {
                last_report = Instant::now();
                report(at, &seat.drive, &cart, total)?;
            }
            if done.early_warning {
                ew = true;
                break;
            }
        }
        seat.run(|d| d.write_filemarks(1, false).map(|_| ()))?;
        let stream_done = eof && start == end;
        let (c_job, c_cart) = (at.job, cart.clone());
        at.sched.db_mut().write(|c| {
            let now = unix_now();
            if records > 0 {
                let loc = PieceLocation::Tape {
                    barcode: c_cart.clone(),
                    file_number: file,
                    first_block,
                    last_block: first_block + records - 1,
                };
                catalog::add_piece(c, set, &loc, bytes)?;
            }
            manager::record_write(c, &c_cart, bytes, now)?;
            if ew {
                manager::set_state(c, &c_cart, MediaState::Full, now)?;
                db::jobs::add_event(
                    c,
                    c_job,
                    now,
                    "span",
                    Some(&seat.drive),
                    &format!("cartridge {c_cart} reached early warning after {bytes} bytes"),
                )?;
            }
            Ok::<_, ExecError>(())
        })?;
        seat.unmount(at.sched.db_mut(), &cart)?;
        if stream_done {
            break;
        }
        at.release_cartridge(&cart)?;
        // No new cartridge for a job cancelled meanwhile.
        wait_if_paused(at.sched, at.job)?;
        cart = at.next_cartridge(&seat.library)?;
        at.event(
            "span",
            &seat.drive,
            &format!("continuing on cartridge {cart}"),
        )?;
    }
    report(at, &seat.drive, &cart, total)?;
    Ok((set, cartridges, total))
}

/// Progress (and heartbeat); stops the attempt when the job was cancelled.
fn report(at: &mut Attempt<'_>, device: &str, barcode: &str, bytes: u64) -> ExecResult<()> {
    let p = Progress {
        bytes_done: bytes,
        bytes_total: None,
        rate_bps: None,
        device: Some(device.into()),
        barcode: Some(barcode.into()),
    };
    at.sched.progress(at.job, &p, unix_now())?;
    wait_if_paused(at.sched, at.job)
}

/// Stops the attempt when the job was cancelled; while it is paused,
/// waits (between records, cartridge still loaded, leases kept alive).
pub fn wait_if_paused(sched: &mut Scheduler, job: i64) -> ExecResult<()> {
    loop {
        match sched.job(job)?.state {
            JobState::Cancelled => {
                return Err(ExecError::Job {
                    job,
                    detail: "cancelled".into(),
                });
            }
            JobState::Paused => {
                sched.heartbeat(job, unix_now())?;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            _ => return Ok(()),
        }
    }
}

/// A cartridge the medium says may not be overwritten: the catalog learns
/// what is on it, the event goes to the job's history, and it goes home.
fn handle_refusal<D: DeviceAccess>(
    at: &mut Attempt<'_>,
    seat: &DriveSeat<'_, D>,
    barcode: &str,
    why: &WriteRefused,
) -> ExecResult<()> {
    tracing::warn!(barcode, %why, "write at BOT refused");
    let first = seat.run(read_bot).ok().flatten();
    let on = classify_first_block(first.as_deref());
    let job = at.job;
    at.sched.db_mut().write(|c| {
        let now = unix_now();
        let loc = db::media::get_media(c, barcode)?.location;
        // The medium wins over the catalog: re-import what it says.
        c.execute(
            "UPDATE media SET state = 'scratch', set_uuid = NULL, set_seq = NULL WHERE barcode = ?1",
            [barcode],
        )?;
        manager::import_scan(c, barcode, &on, &loc, now)?;
        db::jobs::add_event(
            c,
            job,
            now,
            "refused",
            Some(&seat.drive),
            &format!("cartridge {barcode} refused: {why}"),
        )?;
        Ok::<_, ExecError>(())
    })?;
    seat.unmount(at.sched.db_mut(), barcode)?;
    at.release_cartridge(barcode)
}

/// Result of a restore.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    pub bytes: u64,
    pub digest: String,
    pub cartridges: Vec<String>,
}

/// Reads records from the current file into `out` (reused between calls,
/// so no chunk costs a fresh zeroed allocation) until it has no room for
/// another record; returns the bytes read and `true` when the filemark
/// (or end of data) was reached.
fn read_chunk(d: &mut Drive, out: &mut [u8], rs: usize) -> Result<(usize, bool), ScsiError> {
    let max = out.len();
    let mut n = 0;
    while n + rs <= max {
        match d.read(&mut out[n..n + rs])? {
            ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => n += len,
            ReadOutcome::LongBlock { len, .. } => {
                return Err(ScsiError::Invalid {
                    op: "READ(6)",
                    detail: format!("record of {len} bytes is larger than {rs}"),
                });
            }
            ReadOutcome::Filemark | ReadOutcome::EndOfData => return Ok((n, true)),
        }
    }
    Ok((n, false))
}

/// Restores set `set` from the tape pieces in order into `out`, on
/// `drive`, checking each piece's length and the whole stream's digest.
/// The cartridges are leased to `job` while they are read.
pub fn restore_set<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    drive: &str,
    job: i64,
    set: Uuid,
    out: &mut dyn Write,
    opts: &TapeOptions,
) -> ExecResult<Restored> {
    let seat = DriveSeat::new(devs, drive)?;
    let bs = catalog::get_set(sched.db().conn(), set)?;
    if bs.state != catalog::SetState::Complete {
        return Err(ExecError::NotComplete {
            set: set.to_string(),
            state: bs.state.as_str(),
        });
    }
    let rs = opts.record_size;
    let mut digest = StreamDigest::new();
    let mut cartridges: Vec<String> = Vec::new();
    // One buffer for the whole restore, moved to the drive and back.
    let mut buf = vec![0u8; rs * opts.chunk_records.max(1)];
    for piece in &bs.pieces {
        let PieceLocation::Tape {
            barcode,
            first_block,
            ..
        } = &piece.location
        else {
            return Err(ExecError::Layout(format!(
                "piece {} of set {set} is not on tape",
                piece.seq
            )));
        };
        let (epoch, ttl) = (sched.epoch(), opts.lease_ttl);
        let held = sched.db_mut().write(|c| {
            let res = Resource::cartridge(barcode);
            let mine = db::leases::of_resource(c, &res)?
                .iter()
                .any(|l| l.job == job);
            if !mine {
                lease::acquire(c, &res, 0, job, epoch, unix_now(), ttl)
                    .map_err(crate::scheduler::SchedError::from)?;
            }
            Ok::<_, ExecError>(mine)
        })?;
        seat.mount(sched.db_mut(), barcode)?;
        let fb = *first_block;
        seat.run(move |d| d.locate(fb, None))?;
        let mut got = 0u64;
        loop {
            let chunk = std::mem::take(&mut buf);
            let (chunk, r) = devs.with_drive(&seat.drive, move |d| {
                let mut chunk = chunk;
                let r = read_chunk(d, &mut chunk, rs);
                (chunk, r)
            })?;
            buf = chunk;
            let (n, end) = r.map_err(drive_err(&seat.drive))?;
            let data = &buf[..n];
            digest.update(data);
            got += n as u64;
            out.write_all(data).map_err(ExecError::Stream)?;
            if end {
                break;
            }
        }
        seat.unmount(sched.db_mut(), barcode)?;
        sched.db_mut().write(|c| {
            if !held {
                lease::release(c, &Resource::cartridge(barcode), job)
                    .map_err(crate::scheduler::SchedError::from)?;
            }
            Ok::<_, ExecError>(())
        })?;
        if got != piece.bytes {
            return Err(ExecError::Mismatch {
                set: set.to_string(),
                detail: format!(
                    "piece {} on {barcode} holds {got} bytes, the catalog says {}",
                    piece.seq, piece.bytes
                ),
            });
        }
        cartridges.push(barcode.clone());
    }
    check_digest(sched.db().conn(), set, &digest)?;
    Ok(Restored {
        bytes: digest.bytes(),
        digest: digest.hex(),
        cartridges,
    })
}

/// Compares a restored stream with the digest stored at backup time.
pub fn check_digest(c: &Connection, set: Uuid, got: &StreamDigest) -> ExecResult<()> {
    let Some(want) = super::store::get_digest(c, set)? else {
        return Err(ExecError::Mismatch {
            set: set.to_string(),
            detail: "no digest stored for the set".into(),
        });
    };
    if want.digest != got.hex() || want.bytes != got.bytes() {
        return Err(ExecError::Mismatch {
            set: set.to_string(),
            detail: format!(
                "{} bytes, blake3 {} restored; {} bytes, blake3 {} backed up",
                got.bytes(),
                got.hex(),
                want.bytes,
                want.digest
            ),
        });
    }
    Ok(())
}

/// Reads the label at BOT of `barcode` (loading it into `drive`).
pub fn scan_label<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    drive: &str,
    barcode: &str,
) -> ExecResult<OnMedium> {
    let seat = DriveSeat::new(devs, drive)?;
    seat.mount(sched.db_mut(), barcode)?;
    let first = seat.run(read_bot)?;
    seat.unmount(sched.db_mut(), barcode)?;
    Ok(classify_first_block(first.as_deref()))
}

/// Imports every cartridge the library's inventory shows into the
/// catalog (by barcode; known ones only move). Returns the barcodes.
pub fn import_inventory<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    library: &str,
) -> ExecResult<Vec<String>> {
    let seen = devs
        .with_changer(library, |l| {
            let inv = l.refresh()?;
            let mut out = Vec::new();
            for e in inv.slots.iter() {
                if e.full
                    && let Some(bc) = e.barcode()
                {
                    out.push((bc, u32::from(e.address)));
                }
            }
            Ok(out)
        })?
        .map_err(changer_err(library))?;
    sched.db_mut().write(|c| {
        let now = unix_now();
        for (bc, element) in &seen {
            let loc = Location::Slot {
                library: library.into(),
                element: *element,
            };
            manager::import_barcode(c, bc, &loc, now)?;
        }
        Ok::<_, ExecError>(())
    })?;
    Ok(seen.into_iter().map(|(b, _)| b).collect())
}

/// What is on the medium, for callers that have a label in hand.
pub fn label_of(on: &OnMedium) -> Option<&Label> {
    match on {
        OnMedium::Label(l) => Some(l),
        _ => None,
    }
}

/// Reads the first block at BOT (`None`: blank medium), for the
/// operations jobs (label, erase) that make the same check at BOT.
pub fn read_first_block(d: &mut Drive) -> Result<Option<Vec<u8>>, ScsiError> {
    read_bot(d)
}
