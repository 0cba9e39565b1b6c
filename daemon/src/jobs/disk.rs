//! Backup to and restore from a disk storage pool: a set is one container
//! (`set-UUID`) of the storage device the dispatcher picked, file 0 of it
//! holding the stream; the catalog's piece names the container.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use reel_drivers::storage::{DiskStorage, DiskStorageError};
use uuid::Uuid;

use super::source::{BackupSource, StreamDigest, fill};
use super::tape::Restored;
use super::{ExecError, ExecResult};
use crate::db::catalog::{self, PieceLocation, SetState};
use crate::db::unix_now;
use crate::scheduler::Scheduler;
use crate::scheduler::job::Progress;

/// Tuning of the disk executors.
#[derive(Debug, Clone)]
pub struct DiskOptions {
    /// Bytes read from the stream per container write.
    pub chunk: usize,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions { chunk: 1 << 20 }
    }
}

fn storage_err(device: &str) -> impl Fn(DiskStorageError) -> ExecError + '_ {
    move |source| ExecError::Storage {
        device: device.into(),
        source,
    }
}

/// The container name of a set.
pub fn container_name(set: Uuid) -> String {
    format!("set-{set}")
}

/// One backup attempt into disk storage `device` (directory `dir`).
pub fn backup_attempt(
    sched: &mut Scheduler,
    job: i64,
    pool: &str,
    device: &str,
    dir: &Path,
    src: &mut dyn BackupSource,
    opts: &DiskOptions,
) -> ExecResult<(Uuid, StreamDigest)> {
    let store = DiskStorage::open(dir).map_err(storage_err(device))?;
    let set = super::run::begin_set(sched, job, pool, None)?;
    let name = container_name(set);
    let mut w = store.create(&name).map_err(storage_err(device))?;
    let mut buf = vec![0u8; opts.chunk.max(4096)];
    let mut digest = StreamDigest::new();
    let mut last = Instant::now();
    loop {
        let n = fill(src, &mut buf).map_err(ExecError::Stream)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
        w.write(&buf[..n]).map_err(storage_err(device))?;
        if last.elapsed().as_secs() >= 1 {
            last = Instant::now();
            let p = Progress {
                bytes_done: digest.bytes(),
                device: Some(device.into()),
                ..Progress::default()
            };
            sched.progress(job, &p, unix_now())?;
        }
        if n < buf.len() {
            break;
        }
    }
    w.write_filemark().map_err(storage_err(device))?;
    w.finish().map_err(storage_err(device))?;
    let bytes = digest.bytes();
    sched.db_mut().write(|c| {
        catalog::add_piece(c, set, &PieceLocation::Disk { container: name }, bytes)?;
        Ok::<_, ExecError>(())
    })?;
    Ok((set, digest))
}

/// Restores a complete set from disk storage `dir` into `out`, checking
/// the piece lengths and the stream digest.
pub fn restore_set(
    sched: &mut Scheduler,
    dir: &Path,
    set: Uuid,
    out: &mut dyn Write,
) -> ExecResult<Restored> {
    let device = dir.display().to_string();
    let bs = catalog::get_set(sched.db().conn(), set)?;
    if bs.state != SetState::Complete {
        return Err(ExecError::NotComplete {
            set: set.to_string(),
            state: bs.state.as_str(),
        });
    }
    let store = DiskStorage::open(dir).map_err(storage_err(&device))?;
    let mut digest = StreamDigest::new();
    let mut containers = Vec::new();
    for piece in &bs.pieces {
        let PieceLocation::Disk { container } = &piece.location else {
            return Err(ExecError::Layout(format!(
                "piece {} of set {set} is not on disk",
                piece.seq
            )));
        };
        let mut r = store
            .open_container(container)
            .map_err(storage_err(&device))?;
        let mut got = 0u64;
        let mut write_err = None;
        r.read_file(0, &mut |data| {
            digest.update(data);
            got += data.len() as u64;
            if write_err.is_none()
                && let Err(e) = out.write_all(data)
            {
                write_err = Some(e);
            }
            Ok(())
        })
        .map_err(storage_err(&device))?;
        if let Some(e) = write_err {
            return Err(ExecError::Stream(e));
        }
        if got != piece.bytes {
            return Err(ExecError::Mismatch {
                set: set.to_string(),
                detail: format!(
                    "container {container} holds {got} bytes, the catalog says {}",
                    piece.bytes
                ),
            });
        }
        containers.push(container.clone());
    }
    super::tape::check_digest(sched.db().conn(), set, &digest)?;
    Ok(Restored {
        bytes: digest.bytes(),
        digest: digest.hex(),
        cartridges: containers,
    })
}
