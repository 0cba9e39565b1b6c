//! Duplicate: a set copied as a NEW set to another pool (disk-to-tape
//! staging, dedup-to-tape rehydration, disk-to-dedup, tape-to-disk). The
//! source set is read from a member of its own pool and written through
//! the target pool's ordinary backup executor (tape: spanning and the
//! label check; disk; dedup), so the copy is a backup set like any other.
//!
//! Reading and writing overlap through a bounded pipe ([`pipe`]): at most
//! a few buffers are in flight between the two sides. Disk and dedup
//! sources are read on a reader thread while the job's thread writes; the
//! reader checks the source's whole-stream digest before it signals the
//! end of the stream, so a source that does not match its catalog digest
//! fails the copy instead of completing it. A tape source needs the drive
//! access, which stays on the job's thread: the copy to a disk or dedup
//! target is then written on a second thread with its own catalog handle;
//! tape-to-tape (both sides need drive access) goes through a spool file.
//! The copy must end with the source's digest.
//!
//! An attempt never dispatches and never completes the job: the caller
//! does ([`run_duplicate_job`] for callers running one job at a time).

mod pipe;

use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;

use reel_drivers::storage::DiskStorage;
use uuid::Uuid;

use self::pipe::{PipeWriter, ReadFail, outcome};
use super::access::DeviceAccess;
use super::dedup::{self, DedupOptions};
use super::run::{self, BackupOutcome, ExecOptions, WrittenSet, dispatch_job};
use super::store::{self, SetDigest};
use super::tape;
use super::{ExecError, ExecResult, disk};
use crate::db::catalog::{self, PieceLocation, SetState};
use crate::db::{self, Db, unix_now};
use crate::dedup::{SetId, Store, TenantId};
use crate::media::Location;
use crate::scheduler::Scheduler;
use crate::scheduler::device::{DeviceKind, Health};
use crate::scheduler::dispatch::Assignment;
use crate::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Target};
use crate::scheduler::lease::{self, Resource};

/// A finished duplicate attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DuplicateOutcome {
    /// The new set.
    pub set: Uuid,
    pub bytes: u64,
    pub summary: String,
    /// The source set.
    pub source: Uuid,
    pub digest: String,
    /// Cartridges written (tape targets), in order.
    pub cartridges: Vec<String>,
    /// Target device of the attempt.
    pub device: String,
}

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

/// Where the source set is read from.
enum SourceAt {
    Disk {
        dir: PathBuf,
        containers: Vec<(String, u64)>,
    },
    Dedup {
        dir: PathBuf,
        tenant: TenantId,
        indexes: Vec<(SetId, u64)>,
    },
    /// Read on `drive` (leased by this attempt when `leased`).
    Tape { drive: String, leased: bool },
}

fn layout(set: Uuid, what: &str) -> ExecError {
    ExecError::Layout(format!("set {set}: {what}"))
}

/// Finds the member of the source set's pool holding it.
fn locate<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    set: Uuid,
    opts: &DedupOptions,
) -> ExecResult<SourceAt> {
    let bs = catalog::get_set(sched.db().conn(), set)?;
    if bs.state != SetState::Complete {
        return Err(ExecError::NotComplete {
            set: set.to_string(),
            state: bs.state.as_str(),
        });
    }
    let pool = bs
        .pool
        .clone()
        .ok_or_else(|| ExecError::NotFound(format!("set {set} names no pool")))?;
    let members = db::devices::pool_members(sched.db().conn(), &pool)?;
    match bs.pieces.first().map(|p| &p.location) {
        None => Err(layout(set, "no pieces")),
        Some(PieceLocation::Disk { .. }) => {
            let mut containers = Vec::new();
            for p in &bs.pieces {
                let PieceLocation::Disk { container } = &p.location else {
                    return Err(layout(set, "pieces of different kinds"));
                };
                containers.push((container.clone(), p.bytes));
            }
            for m in &members {
                let dir = devs.storage_dir(&m.id)?;
                let Ok(s) = DiskStorage::open(&dir) else {
                    continue;
                };
                if containers
                    .iter()
                    .all(|(c, _)| s.container_path(c).is_file())
                {
                    return Ok(SourceAt::Disk { dir, containers });
                }
            }
            Err(ExecError::NotFound(format!(
                "the containers of set {set} are on no member of pool {pool}"
            )))
        }
        Some(PieceLocation::Dedup { .. }) => {
            let tenant = dedup::tenant_of(&pool, opts)?;
            let mut indexes = Vec::new();
            for p in &bs.pieces {
                let PieceLocation::Dedup { index } = &p.location else {
                    return Err(layout(set, "pieces of different kinds"));
                };
                let id = SetId::new(index).map_err(|e| layout(set, &e.to_string()))?;
                indexes.push((id, p.bytes));
            }
            let ids: Vec<SetId> = indexes.iter().map(|(i, _)| i.clone()).collect();
            let (_, dir, _) = dedup::find_store(sched, devs, None, &pool, &tenant, &ids)?;
            Ok(SourceAt::Dedup {
                dir,
                tenant,
                indexes,
            })
        }
        Some(PieceLocation::Tape { .. }) => {
            // The job's own drive reads when it belongs to the source pool.
            if members.iter().any(|m| m.id == a.device) {
                return Ok(SourceAt::Tape {
                    drive: a.device.clone(),
                    leased: false,
                });
            }
            let (job, epoch) = (a.job, sched.epoch());
            let drive = sched.db_mut().write(|c| {
                for m in &members {
                    if m.kind != DeviceKind::TapeDrive || m.health != Health::Online {
                        continue;
                    }
                    let r = lease::acquire(
                        c,
                        &Resource::device(&m.id),
                        0,
                        job,
                        epoch,
                        unix_now(),
                        lease::DEFAULT_TTL,
                    );
                    if r.is_ok() {
                        return Ok(Some(m.id.clone()));
                    }
                }
                Ok::<_, ExecError>(None)
            })?;
            let drive = drive.ok_or_else(|| {
                ExecError::NotFound(format!(
                    "no free online drive of pool {pool} to read set {set}"
                ))
            })?;
            Ok(SourceAt::Tape {
                drive,
                leased: true,
            })
        }
    }
}

/// Reads a disk or dedup source set into `w`, piece by piece.
fn read_source(src: &SourceAt, set: Uuid, w: &mut PipeWriter) -> ExecResult<()> {
    match src {
        SourceAt::Disk { dir, containers } => {
            let device = dir.display().to_string();
            let storage_err = |source| ExecError::Storage {
                device: device.clone(),
                source,
            };
            let store = DiskStorage::open(dir).map_err(storage_err)?;
            for (container, bytes) in containers {
                let before = w.digest().bytes();
                let mut r = store.open_container(container).map_err(storage_err)?;
                let mut write_err = None;
                r.read_file(0, &mut |data| {
                    if write_err.is_none()
                        && let Err(e) = w.write_all(data)
                    {
                        write_err = Some(e);
                    }
                    Ok(())
                })
                .map_err(storage_err)?;
                if let Some(e) = write_err {
                    return Err(ExecError::Stream(e));
                }
                let got = w.digest().bytes() - before;
                if got != *bytes {
                    return Err(ExecError::Mismatch {
                        set: set.to_string(),
                        detail: format!(
                            "container {container} holds {got} bytes, the catalog says {bytes}"
                        ),
                    });
                }
            }
            Ok(())
        }
        SourceAt::Dedup {
            dir,
            tenant,
            indexes,
        } => {
            let device = dir.display().to_string();
            let store = Store::open(dir).map_err(|source| ExecError::Dedup {
                device: device.clone(),
                source,
            })?;
            for (index, bytes) in indexes {
                let before = w.digest().bytes();
                // The store checks every chunk id and its stream hash.
                store
                    .get(tenant, index, w)
                    .map_err(|e| dedup::get_err(&device, set, index, e))?;
                let got = w.digest().bytes() - before;
                if got != *bytes {
                    return Err(ExecError::Mismatch {
                        set: set.to_string(),
                        detail: format!(
                            "dedup index {index} holds {got} bytes, the catalog says {bytes}"
                        ),
                    });
                }
            }
            Ok(())
        }
        SourceAt::Tape { .. } => Err(layout(set, "a tape source is not read through the pipe")),
    }
}

/// The reader thread's whole work: the source into the pipe, then the
/// digest check; only then does the writer see the end of the stream.
fn reader(src: &SourceAt, set: Uuid, want: &SetDigest, mut w: PipeWriter) -> Result<(), ReadFail> {
    let r = read_source(src, set, &mut w).and_then(|()| {
        w.finish()?;
        let got = w.digest();
        if got.hex() != want.digest || got.bytes() != want.bytes {
            return Err(ExecError::Mismatch {
                set: set.to_string(),
                detail: format!(
                    "source read back as {} bytes, blake3 {}; {} bytes, blake3 {} backed up",
                    got.bytes(),
                    got.hex(),
                    want.bytes,
                    want.digest
                ),
            });
        }
        Ok(())
    });
    r.map_err(|e| w.fail(e))
}

/// Reads a tape source set on `drive` into a spool file.
fn spool_tape<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    drive: &str,
    set: Uuid,
    opts: &ExecOptions,
) -> ExecResult<std::fs::File> {
    let mut spool = tempfile::tempfile().map_err(ExecError::Stream)?;
    tape::restore_set(sched, devs, drive, a.job, set, &mut spool, &opts.tape)?;
    spool.seek(SeekFrom::Start(0)).map_err(ExecError::Stream)?;
    Ok(spool)
}

/// Puts back whatever cartridge a failed read left in source drive
/// `drive`; a failure here is only logged (the attempt's error is the
/// one that counts).
fn unload_source<D: DeviceAccess>(sched: &mut Scheduler, devs: &D, drive: &str) {
    let loaded = match db::media::list_media(sched.db().conn()) {
        Ok(all) => all
            .into_iter()
            .filter(|m| matches!(&m.location, Location::Drive { drive: d, .. } if d == drive))
            .map(|m| m.barcode)
            .collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(drive, error = %e, "cannot tell what the source drive holds");
            return;
        }
    };
    let seat = match tape::DriveSeat::new(devs, drive) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(drive, error = %e, "source drive unreachable");
            return;
        }
    };
    for bc in loaded {
        if let Err(e) = seat.unmount(sched.db_mut(), &bc) {
            tracing::warn!(drive, cartridge = %bc, error = %e, "cartridge left in the source drive");
        }
    }
}

/// A disk or dedup target written on a second thread while a tape source
/// is read on this one.
struct StoreTarget {
    kind: DeviceKind,
    dir: PathBuf,
    pool: String,
}

/// For a tape source: a second catalog connection and the target, when
/// the target is a disk or dedup store (it needs no drive access) and the
/// catalog is a file another connection can open; `None`: spool instead.
fn second_handle<D: DeviceAccess>(
    sched: &Scheduler,
    devs: &D,
    a: &Assignment,
) -> ExecResult<Option<(Db, StoreTarget)>> {
    let kind = db::devices::get_device(sched.db().conn(), &a.device)?.kind;
    if !matches!(kind, DeviceKind::DiskStorage | DeviceKind::DedupStore) {
        return Ok(None);
    }
    let path = match sched.db().conn().path() {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => return Ok(None),
    };
    let pool = match sched.job(a.job)?.target {
        Target::Pool(p) => p,
        Target::Device(d) => d,
    };
    let target = StoreTarget {
        kind,
        dir: devs.storage_dir(&a.device)?,
        pool,
    };
    Ok(Some((Db::open(&path)?, target)))
}

/// A tape source read on `drive` (this thread: it needs the drive access)
/// into the pipe, while a second thread with its own catalog handle
/// writes the copy to a disk or dedup target.
#[allow(clippy::too_many_arguments)]
fn tape_pipe<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    drive: &str,
    source: Uuid,
    db: Db,
    target: &StoreTarget,
    opts: &ExecOptions,
) -> ExecResult<WrittenSet> {
    let epoch = sched.epoch();
    std::thread::scope(|s| {
        let (mut w, mut pipe) = pipe::pipe();
        let writer = s.spawn(move || {
            let mut other = Scheduler::attach(db, epoch);
            let (job, dev, t) = (a.job, a.device.as_str(), target);
            let r = match t.kind {
                DeviceKind::DedupStore => dedup::backup_attempt(
                    &mut other,
                    job,
                    &t.pool,
                    dev,
                    &t.dir,
                    &mut pipe,
                    &opts.dedup,
                ),
                _ => disk::backup_attempt(
                    &mut other, job, &t.pool, dev, &t.dir, &mut pipe, &opts.disk,
                ),
            };
            drop(pipe);
            let (set, digest) = r?;
            let copy = WrittenSet {
                set,
                digest,
                cartridges: Vec::new(),
            };
            run::record_digest(&mut other, &copy)?;
            Ok(copy)
        });
        // restore_set checks the source's catalog digest before it returns.
        let r = tape::restore_set(sched, devs, drive, a.job, source, &mut w, &opts.tape)
            .and_then(|_| w.finish())
            .map_err(|e| w.fail(e));
        // The writer sees the end of the stream only now.
        drop(w);
        let copy = writer
            .join()
            .map_err(|_| ExecError::Stream(io::Error::other("the copy's writer panicked")))?;
        outcome(r, copy)
    })
}

/// Runs one dispatched attempt of a duplicate job: the job's source set
/// is read from its pool and written as a new set to the device of `a`.
/// The caller completes or fails the job.
pub fn run_assigned<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    a: &Assignment,
    opts: &ExecOptions,
) -> ExecResult<DuplicateOutcome> {
    let source = sched.job(a.job)?.source_set.ok_or_else(|| ExecError::Job {
        job: a.job,
        detail: "a duplicate job needs a source set".into(),
    })?;
    let want =
        store::get_digest(sched.db().conn(), source)?.ok_or_else(|| ExecError::Mismatch {
            set: source.to_string(),
            detail: "no digest stored for the source set".into(),
        })?;
    let at = locate(sched, devs, a, source, &opts.dedup)?;
    let copy = match &at {
        SourceAt::Tape { drive, leased } => {
            let spooled = match second_handle(sched, devs, a)? {
                Some((db, target)) => tape_pipe(sched, devs, a, drive, source, db, &target, opts),
                None => spool_tape(sched, devs, a, drive, source, opts)
                    .and_then(|mut f| run::write_set(sched, devs, a, &mut f, opts)),
            };
            if spooled.is_err() && *drive != a.device {
                // The caller's clean-up knows only the job's own drive.
                unload_source(sched, devs, drive);
            }
            if *leased {
                let (d, job) = (drive.clone(), a.job);
                sched.db_mut().write(|c| {
                    lease::release(c, &Resource::device(&d), job)
                        .map_err(crate::scheduler::SchedError::from)
                })?;
            }
            // restore_set checked the catalog digest of the source.
            spooled?
        }
        _ => std::thread::scope(|s| {
            let (w, mut pipe) = pipe::pipe();
            let at = &at;
            let want = &want;
            let h = s.spawn(move || reader(at, source, want, w));
            let w = run::write_set(sched, devs, a, &mut pipe, opts);
            // Dropping the receiver stops a reader the writer gave up on.
            drop(pipe);
            let r = h
                .join()
                .map_err(|_| ExecError::Stream(io::Error::other("the source reader panicked")))?;
            outcome(r, w)
        })?,
    };
    if copy.digest.hex() != want.digest || copy.digest.bytes() != want.bytes {
        return Err(ExecError::Mismatch {
            set: copy.set.to_string(),
            detail: format!("copy of set {source} differs from its source"),
        });
    }
    let summary = format!(
        "set {source} copied to set {} on {} ({} bytes{})",
        copy.set,
        a.device,
        copy.digest.bytes(),
        if copy.cartridges.is_empty() {
            String::new()
        } else {
            format!(", cartridges {}", copy.cartridges.join(" "))
        }
    );
    tracing::info!(job = a.job, source = %source, copy = %copy.set, "set duplicated");
    Ok(DuplicateOutcome {
        set: copy.set,
        bytes: copy.digest.bytes(),
        summary,
        source,
        digest: copy.digest.hex(),
        cartridges: copy.cartridges,
        device: a.device.clone(),
    })
}

/// Runs duplicate job `job` (from [`submit_duplicate`]) to its end: each
/// attempt dispatched here, completed or failed (fail-over to another
/// member of the target pool while attempts remain).
pub fn run_duplicate_job<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    job: i64,
    opts: &ExecOptions,
) -> ExecResult<BackupOutcome> {
    loop {
        let a = dispatch_job(sched, job)?;
        match run_assigned(sched, devs, &a, opts) {
            Ok(out) => {
                sched.complete(job, unix_now())?;
                return Ok(BackupOutcome {
                    job,
                    set: out.set,
                    bytes: out.bytes,
                    digest: out.digest,
                    cartridges: out.cartridges,
                    device: out.device,
                    attempts: a.attempt,
                });
            }
            Err(e) => {
                let state = run::fail(sched, devs, &a, &e)?;
                if state != JobState::Queued || !e.is_device_side() {
                    return Err(e);
                }
                tracing::warn!(job, device = %a.device, error = %e, "duplicate failing over");
            }
        }
    }
}
