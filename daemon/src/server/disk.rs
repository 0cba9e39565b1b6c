//! Backups to and restores from a disk storage device
//! (`reel_drivers::storage`): one container per backup set, named after
//! the set, holding the stream as its file 0. The catalog piece records
//! `DEVICE/CONTAINER`, so a restore knows which device holds it.

use std::sync::Arc;

use bytes::Bytes;
use reel_drivers::storage::DiskStorage;
use tokio::sync::mpsc;

use super::DaemonError;
use super::daemon::{Daemon, StoreInfo};
use super::datapath::{BackupOutcome, BackupRequest, Feed, pump};
use crate::db::catalog::{self, PieceLocation};
use crate::db::unix_now;
use crate::scheduler::job::Progress;

fn disk_err(e: reel_drivers::storage::DiskStorageError) -> DaemonError {
    DaemonError::Internal(format!("disk storage: {e}"))
}

/// Opens the device in `path`, initialising it on first use.
pub fn open_or_init(path: &std::path::Path) -> Result<DiskStorage, String> {
    match DiskStorage::open(path) {
        Ok(s) => Ok(s),
        Err(reel_drivers::storage::DiskStorageError::NotInitialized { .. }) => {
            DiskStorage::init(path, None, None).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `DEVICE/CONTAINER` split.
pub fn split_piece(s: &str) -> Option<(&str, &str)> {
    s.split_once('/')
}

fn write(
    store: &DiskStorage,
    name: &str,
    feed: &mut mpsc::Receiver<Feed>,
) -> Result<u64, DaemonError> {
    let mut w = store.create(name).map_err(disk_err)?;
    let mut bytes = 0u64;
    loop {
        match feed.blocking_recv() {
            Some(Feed::Data(b)) => {
                if let Err(e) = w.write(&b) {
                    w.abort();
                    return Err(disk_err(e));
                }
                bytes += b.len() as u64;
            }
            Some(Feed::End) => break,
            Some(Feed::Abort(why)) => {
                w.abort();
                return Err(DaemonError::Refused(why));
            }
            None => {
                w.abort();
                return Err(DaemonError::Refused("data stream ended early".into()));
            }
        }
    }
    w.write_filemark().map_err(disk_err)?;
    w.finish().map_err(disk_err)?;
    Ok(bytes)
}

/// The backup of `input` on the disk storage `st` (job already running).
pub async fn backup<S>(
    d: &Arc<Daemon>,
    req: &BackupRequest,
    job: i64,
    st: &StoreInfo,
    input: S,
) -> Result<BackupOutcome, DaemonError>
where
    S: tokio_stream::Stream<Item = Result<Bytes, tonic::Status>> + Unpin + Send,
{
    let store = st
        .disk
        .clone()
        .ok_or_else(|| DaemonError::Refused(format!("{} is not usable", st.id)))?;
    let (pool, set_name) = (req.pool.clone(), req.media_set.clone());
    let set = d
        .sched(move |s| {
            s.db_mut().write(|c| {
                catalog::begin_set(c, Some(job), Some(&pool), Some(&set_name), unix_now())
                    .map_err(DaemonError::from)
            })
        })
        .await?;
    let name = format!("set-{set}");
    let (feed_tx, mut feed_rx) = mpsc::channel::<Feed>(8);
    let n2 = name.clone();
    let writer = tokio::task::spawn_blocking(move || write(&store, &n2, &mut feed_rx));
    let progress = Progress {
        bytes_done: 0,
        bytes_total: req.bytes_total,
        rate_bps: None,
        device: Some(st.id.clone()),
        barcode: None,
    };
    let (fed, written) = tokio::join!(pump(d, job, progress.clone(), input, feed_tx), writer);
    let bytes = written.map_err(|e| DaemonError::Internal(e.to_string()))??;
    fed?;
    d.add_written(bytes);
    let container = format!("{}/{name}", st.id);
    let mut p = progress;
    p.bytes_done = bytes;
    d.sched(move |s| {
        s.db_mut().write(|c| {
            catalog::add_piece(c, set, &PieceLocation::Disk { container }, bytes)
                .map_err(DaemonError::from)
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
        bytes,
        cartridge: name,
        device: st.id.clone(),
    })
}

/// Streams the containers of `pieces` (all on `st`) into `out`.
pub async fn restore(
    st: &StoreInfo,
    pieces: Vec<catalog::Piece>,
    out: mpsc::Sender<Result<Bytes, tonic::Status>>,
) -> Result<u64, DaemonError> {
    let store = st
        .disk
        .clone()
        .ok_or_else(|| DaemonError::Refused(format!("{} is not usable", st.id)))?;
    tokio::task::spawn_blocking(move || {
        let mut total = 0u64;
        for p in &pieces {
            let PieceLocation::Disk { container } = &p.location else {
                continue;
            };
            let name = split_piece(container).map_or(container.as_str(), |(_, n)| n);
            let mut r = store.open_container(name).map_err(disk_err)?;
            let mut got = 0u64;
            r.read_file(0, &mut |b: &[u8]| {
                got += b.len() as u64;
                out.blocking_send(Ok(Bytes::copy_from_slice(b)))
                    .map_err(|_| reel_drivers::storage::DiskStorageError::Config {
                        dir: std::path::PathBuf::new(),
                        detail: "the client went away".into(),
                    })
            })
            .map_err(disk_err)?;
            if got != p.bytes {
                return Err(DaemonError::Internal(format!(
                    "container {name} holds {got} bytes, the catalog says {}",
                    p.bytes
                )));
            }
            total += got;
        }
        Ok(total)
    })
    .await
    .map_err(|e| DaemonError::Internal(e.to_string()))?
}

/// The device holding every piece of a disk set, if they are all on one.
pub fn set_device(bs: &catalog::BackupSet) -> Option<String> {
    let mut dev = None;
    for p in &bs.pieces {
        let PieceLocation::Disk { container } = &p.location else {
            return None;
        };
        let (d, _) = split_piece(container)?;
        if dev.as_deref().is_some_and(|x| x != d) {
            return None;
        }
        dev = Some(d.to_string());
    }
    dev
}
