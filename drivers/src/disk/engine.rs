//! The request path shared by both backends: a request owns its buffer and
//! its file until the I/O thread completes it and hands both back through a
//! oneshot channel.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{AlignedBuf, Backend, BackendChoice, DiskError, DiskOptions};

/// An open file as the I/O thread sees it.
#[derive(Debug)]
pub(crate) struct FileInner {
    pub file: File,
    pub path: PathBuf,
    pub direct: bool,
    pub align: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Write,
    Read,
}

pub(crate) enum Reply {
    Write(oneshot::Sender<Result<AlignedBuf, DiskError>>),
    Read(oneshot::Sender<Result<(AlignedBuf, usize), DiskError>>),
}

/// One read or write of `len` bytes at `offset`; `done` counts the bytes
/// already transferred (short transfers are resubmitted for the rest).
pub(crate) struct Request {
    pub kind: Kind,
    pub file: Arc<FileInner>,
    pub buf: AlignedBuf,
    pub offset: u64,
    pub len: usize,
    pub done: usize,
    pub reply: Reply,
}

impl Request {
    /// Hands the buffer back. A caller that went away just drops it here.
    pub fn complete(self, res: Result<(), DiskError>) {
        let Request {
            mut buf,
            done,
            reply,
            ..
        } = self;
        match reply {
            Reply::Write(tx) => {
                let _ = tx.send(res.map(|()| buf));
            }
            Reply::Read(tx) => {
                let _ = tx.send(res.map(|()| {
                    buf.set_len(done);
                    (buf, done)
                }));
            }
        }
    }

    /// The file offset of the next byte to transfer.
    pub fn position(&self) -> u64 {
        self.offset + self.done as u64
    }
}

/// Wakes the I/O thread after a request was queued.
pub(crate) trait Waker: Send + Sync {
    fn wake(&self);
}

pub(crate) struct Engine {
    tx: Option<mpsc::Sender<Request>>,
    waker: Option<Box<dyn Waker>>,
    backend: Backend,
}

impl Engine {
    pub fn start(opts: &DiskOptions) -> Result<Engine, DiskError> {
        let (tx, rx) = mpsc::channel();
        match opts.backend {
            BackendChoice::Sync => Self::start_sync(tx, rx),
            BackendChoice::Uring => match super::uring::start(opts, rx) {
                Ok(waker) => Ok(Engine {
                    tx: Some(tx),
                    waker: Some(waker),
                    backend: Backend::Uring,
                }),
                Err((e, _)) => Err(DiskError::Setup(e)),
            },
            BackendChoice::Auto => match super::uring::start(opts, rx) {
                Ok(waker) => Ok(Engine {
                    tx: Some(tx),
                    waker: Some(waker),
                    backend: Backend::Uring,
                }),
                Err((e, rx)) => {
                    tracing::warn!(
                        error = %e,
                        "kernel refuses io_uring; disk I/O falls back to pread/pwrite"
                    );
                    Self::start_sync(tx, rx)
                }
            },
        }
    }

    fn start_sync(
        tx: mpsc::Sender<Request>,
        rx: mpsc::Receiver<Request>,
    ) -> Result<Engine, DiskError> {
        super::sync_engine::start(rx).map_err(DiskError::Setup)?;
        Ok(Engine {
            tx: Some(tx),
            waker: None,
            backend: Backend::Sync,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn submit(&self, req: Request) {
        let Some(tx) = &self.tx else {
            req.complete(Err(DiskError::Stopped));
            return;
        };
        if let Err(mpsc::SendError(req)) = tx.send(req) {
            req.complete(Err(DiskError::Stopped));
            return;
        }
        if let Some(w) = &self.waker {
            w.wake();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Closing the channel first, then waking, lets the thread see the
        // disconnect, finish what is in flight and exit.
        self.tx = None;
        if let Some(w) = &self.waker {
            w.wake();
        }
    }
}
