//! zstd on worker threads, so compressing new chunks overlaps reading,
//! chunking and hashing the stream. Chunks may land in a pack in any order
//! (the set index holds the order), so results are written as they finish.

use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};

use super::format::FLAG_ZSTD;
use super::{ChunkId, DedupError};

/// A compressed (or, when zstd does not pay, plain) chunk.
pub struct Done {
    pub id: ChunkId,
    pub flags: u8,
    pub plain_len: u32,
    pub stored: Vec<u8>,
}

/// Keep a chunk compressed only if that saves at least 1/32 of it.
pub fn compress_one(
    c: &mut zstd::bulk::Compressor<'static>,
    id: ChunkId,
    data: Vec<u8>,
) -> Result<Done, DedupError> {
    let z = c.compress(&data)?;
    let plain_len = data.len() as u32;
    Ok(if z.len() <= data.len() - data.len() / 32 {
        Done {
            id,
            flags: FLAG_ZSTD,
            plain_len,
            stored: z,
        }
    } else {
        Done {
            id,
            flags: 0,
            plain_len,
            stored: data,
        }
    })
}

pub struct Pool {
    jobs: Option<SyncSender<(ChunkId, Vec<u8>)>>,
    done: Receiver<Result<Done, DedupError>>,
    pub outstanding: usize,
    limit: usize,
}

impl Pool {
    pub fn new(level: i32, threads: usize) -> Result<Pool, DedupError> {
        let (jtx, jrx) = sync_channel::<(ChunkId, Vec<u8>)>(threads * 2);
        let (dtx, drx) = std::sync::mpsc::channel();
        let jrx = Arc::new(Mutex::new(jrx));
        for _ in 0..threads {
            let mut c = zstd::bulk::Compressor::new(level)?;
            let jrx = jrx.clone();
            let dtx: Sender<Result<Done, DedupError>> = dtx.clone();
            std::thread::Builder::new()
                .name("dedup-zstd".into())
                .spawn(move || {
                    loop {
                        let job = match jrx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((id, data)) = job else {
                            return; // the writer is gone
                        };
                        if dtx.send(compress_one(&mut c, id, data)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(DedupError::Stream)?;
        }
        Ok(Pool {
            jobs: Some(jtx),
            done: drx,
            outstanding: 0,
            limit: threads * 4,
        })
    }

    pub fn submit(&mut self, id: ChunkId, data: Vec<u8>) -> Result<(), DedupError> {
        let Some(tx) = self.jobs.as_ref() else {
            return Err(DedupError::Invalid("compression pool closed".into()));
        };
        tx.send((id, data))
            .map_err(|_| DedupError::Invalid("compression thread stopped".into()))?;
        self.outstanding += 1;
        Ok(())
    }

    /// A finished chunk: waits for one when `wait` or too many are in flight.
    pub fn next(&mut self, wait: bool) -> Result<Option<Done>, DedupError> {
        if self.outstanding == 0 {
            return Ok(None);
        }
        let r = if wait || self.outstanding >= self.limit {
            self.done
                .recv()
                .map_err(|_| DedupError::Invalid("compression thread stopped".into()))?
        } else {
            match self.done.try_recv() {
                Ok(r) => r,
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => {
                    return Err(DedupError::Invalid("compression thread stopped".into()));
                }
            }
        };
        self.outstanding -= 1;
        r.map(Some)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the job channel ends the threads.
        self.jobs = None;
    }
}
