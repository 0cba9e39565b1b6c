//! Backup to and restore from a dedup store pool: the stream goes into the
//! store of the member the dispatcher picked (tenant: the pool's name
//! unless configured), and the catalog's piece names the store's own set
//! id (`PieceLocation::Dedup { index }`). A restore gets the stream back
//! through the store, which checks every chunk id and its own stream hash;
//! the executor then checks the catalog's whole-stream digest as for any
//! other pool.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use uuid::Uuid;

use super::access::DeviceAccess;
use super::source::{BackupSource, StreamDigest};
use super::tape::Restored;
use super::{ExecError, ExecResult};
use crate::db::catalog::{self, PieceLocation, SetState};
use crate::db::{self, unix_now};
use crate::dedup::{DedupError, IngestKind, SetId, Store, StoreConfig, TenantId};
use crate::scheduler::Scheduler;
use crate::scheduler::device::DeviceKind;
use crate::scheduler::job::Progress;

/// Tuning of the dedup executors.
#[derive(Debug, Clone, Default)]
pub struct DedupOptions {
    /// Tenant of the sets written; `None`: the pool's name.
    pub tenant: Option<String>,
    /// Chunking parameters of a store initialized on first use.
    pub init: StoreConfig,
}

/// A failure of the dedup store: device-side, like a disk storage's, so a
/// backup fails over to another member.
fn store_err(device: &str, source: DedupError) -> ExecError {
    ExecError::Dedup {
        device: device.into(),
        source,
    }
}

/// Opens the store in `dir`, initializing it when it holds none yet.
pub fn open_or_init(device: &str, dir: &Path, cfg: &StoreConfig) -> ExecResult<Store> {
    match Store::open(dir) {
        Ok(s) => Ok(s),
        Err(DedupError::NotFound(_)) => match Store::init(dir, cfg.clone()) {
            Ok(s) => {
                tracing::info!(device, dir = %dir.display(), "dedup store initialized");
                Ok(s)
            }
            // Another job initialized it in the meantime.
            Err(_) if dir.join("store.json").is_file() => {
                Store::open(dir).map_err(|e| store_err(device, e))
            }
            Err(e) => Err(store_err(device, e)),
        },
        Err(e) => Err(store_err(device, e)),
    }
}

/// The tenant a pool's sets are written under.
pub fn tenant_of(pool: &str, opts: &DedupOptions) -> ExecResult<TenantId> {
    let name = opts.tenant.as_deref().unwrap_or(pool);
    TenantId::new(name)
        .map_err(|e| ExecError::NotFound(format!("dedup tenant for pool {pool}: {e}")))
}

/// Hashes what passes through, so the catalog gets the same whole-stream
/// digest as for tape and disk sets.
struct Hashing<'a> {
    inner: &'a mut dyn Read,
    digest: StreamDigest,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// One backup attempt into dedup store `device` (directory `dir`) for
/// `pool`: records the set (state `writing`) and its one piece; the
/// caller stores the digest and completes or fails the job.
pub fn backup_attempt(
    sched: &mut Scheduler,
    job: i64,
    pool: &str,
    device: &str,
    dir: &Path,
    src: &mut dyn BackupSource,
    opts: &DedupOptions,
) -> ExecResult<(Uuid, StreamDigest)> {
    let tenant = tenant_of(pool, opts)?;
    let store = open_or_init(device, dir, &opts.init)?;
    let set = super::run::begin_set(sched, job, pool, None)?;
    let mut input = Hashing {
        inner: src,
        digest: StreamDigest::new(),
    };
    let mut last = Instant::now();
    let mut progress = |done: u64| {
        if last.elapsed().as_secs() >= 1 {
            last = Instant::now();
            let p = Progress {
                bytes_done: done,
                device: Some(device.into()),
                ..Progress::default()
            };
            // Progress is advisory; a busy catalog must not fail the backup.
            if let Err(e) = sched.progress(job, &p, unix_now()) {
                tracing::warn!(job, error = %e, "progress not recorded");
            }
        }
    };
    let report = store
        .put(
            &tenant,
            &format!("reel-{set}"),
            &mut input,
            IngestKind::Auto,
            &mut progress,
        )
        .map_err(|e| match e {
            // The stream's own failure is not the store's.
            DedupError::Stream(s) => ExecError::Stream(s),
            e => store_err(device, e),
        })?;
    let digest = input.digest;
    if report.bytes_in != digest.bytes() {
        return Err(ExecError::Layout(format!(
            "dedup store took {} bytes, {} read from the stream",
            report.bytes_in,
            digest.bytes()
        )));
    }
    tracing::info!(
        job,
        device,
        set = %set,
        index = %report.set,
        bytes = report.bytes_in,
        new_bytes = report.new_bytes,
        "backup into dedup store"
    );
    sched.db_mut().write(|c| {
        catalog::add_piece(
            c,
            set,
            &PieceLocation::Dedup {
                index: report.set.to_string(),
            },
            report.bytes_in,
        )?;
        Ok::<_, ExecError>(())
    })?;
    Ok((set, digest))
}

/// Counts and hashes what a restore writes.
struct Out<'a> {
    inner: &'a mut dyn Write,
    digest: StreamDigest,
}

impl Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The dedup pieces of a complete set, checked.
fn dedup_pieces(sched: &Scheduler, set: Uuid) -> ExecResult<Vec<(SetId, u64)>> {
    let bs = catalog::get_set(sched.db().conn(), set)?;
    if bs.state != SetState::Complete {
        return Err(ExecError::NotComplete {
            set: set.to_string(),
            state: bs.state.as_str(),
        });
    }
    let mut out = Vec::new();
    for piece in &bs.pieces {
        let PieceLocation::Dedup { index } = &piece.location else {
            return Err(ExecError::Layout(format!(
                "piece {} of set {set} is not in a dedup store",
                piece.seq
            )));
        };
        let id = SetId::new(index).map_err(|e| ExecError::Layout(format!("set {set}: {e}")))?;
        out.push((id, piece.bytes));
    }
    if out.is_empty() {
        return Err(ExecError::Layout(format!("set {set} has no pieces")));
    }
    Ok(out)
}

/// The error of reading dedup index `index` of catalog set `set`.
pub(crate) fn get_err(device: &str, set: Uuid, index: &SetId, e: DedupError) -> ExecError {
    match e {
        DedupError::Stream(s) => ExecError::Stream(s),
        // Damaged or missing data: never a silent wrong restore.
        e @ (DedupError::ChunkMismatch { .. }
        | DedupError::StreamMismatch { .. }
        | DedupError::Corrupt { .. }
        | DedupError::NotFound(_)) => ExecError::Mismatch {
            set: set.to_string(),
            detail: format!("dedup store {device}, index {index}: {e}"),
        },
        e => store_err(device, e),
    }
}

/// The member of `pool` whose store holds every index of `indexes`:
/// `first` (the device the job was dispatched to) when it does, else
/// another member. A set lives in the store that wrote it; a restore
/// dispatched to another member of the pool reads it from there.
pub fn find_store<D: DeviceAccess>(
    sched: &Scheduler,
    devs: &D,
    first: Option<&str>,
    pool: &str,
    tenant: &TenantId,
    indexes: &[SetId],
) -> ExecResult<(String, PathBuf, Store)> {
    let mut ids: Vec<String> = first.map(str::to_string).into_iter().collect();
    for m in db::devices::pool_members(sched.db().conn(), pool)? {
        if m.kind == DeviceKind::DedupStore && !ids.contains(&m.id) {
            ids.push(m.id);
        }
    }
    for id in ids {
        let Ok(dir) = devs.storage_dir(&id) else {
            continue;
        };
        let Ok(store) = Store::open(&dir) else {
            continue;
        };
        if indexes.iter().all(|i| store.set_index(tenant, i).is_ok()) {
            return Ok((id, dir, store));
        }
    }
    Err(ExecError::NotFound(format!(
        "dedup indexes {} of tenant {tenant} are on no member of pool {pool}",
        indexes
            .iter()
            .map(SetId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Restores complete set `set` from the dedup store pool that wrote it
/// into `out` (read on `device` when it holds the set, see
/// [`find_store`]): the store verifies each chunk and its stream hash,
/// then the piece lengths and the catalog's digest are checked.
pub fn restore_set<D: DeviceAccess>(
    sched: &mut Scheduler,
    devs: &D,
    device: &str,
    set: Uuid,
    out: &mut dyn Write,
    opts: &DedupOptions,
) -> ExecResult<Restored> {
    let pieces = dedup_pieces(sched, set)?;
    let pool = catalog::get_set(sched.db().conn(), set)?
        .pool
        .ok_or_else(|| ExecError::NotFound(format!("set {set} names no pool")))?;
    let tenant = tenant_of(&pool, opts)?;
    let ids: Vec<SetId> = pieces.iter().map(|(i, _)| i.clone()).collect();
    let (device, _, store) = find_store(sched, devs, Some(device), &pool, &tenant, &ids)?;
    let device = device.as_str();
    let mut w = Out {
        inner: out,
        digest: StreamDigest::new(),
    };
    let mut indexes = Vec::new();
    for (index, bytes) in pieces {
        let before = w.digest.bytes();
        store
            .get(&tenant, &index, &mut w)
            .map_err(|e| get_err(device, set, &index, e))?;
        let got = w.digest.bytes() - before;
        if got != bytes {
            return Err(ExecError::Mismatch {
                set: set.to_string(),
                detail: format!("dedup index {index} holds {got} bytes, the catalog says {bytes}"),
            });
        }
        indexes.push(index.to_string());
    }
    super::tape::check_digest(sched.db().conn(), set, &w.digest)?;
    Ok(Restored {
        bytes: w.digest.bytes(),
        digest: w.digest.hex(),
        cartridges: indexes,
    })
}
