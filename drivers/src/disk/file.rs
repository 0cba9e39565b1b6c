//! An open file of the driver and the handle of a request in flight.

use std::fs::File;
use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::engine::{FileInner, Kind, Reply, Request};
use super::{AlignedBuf, DEFAULT_ALIGN, DiskError, DriverInner, fsops};

#[derive(Clone)]
pub struct DiskFile {
    inner: Arc<FileInner>,
    driver: Arc<DriverInner>,
}

impl std::fmt::Debug for DiskFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskFile")
            .field("path", &self.inner.path)
            .field("direct", &self.inner.direct)
            .finish()
    }
}

impl DiskFile {
    pub(crate) fn new(
        driver: Arc<DriverInner>,
        path: &Path,
        file: File,
        direct: bool,
    ) -> Result<DiskFile, DiskError> {
        Ok(DiskFile {
            inner: Arc::new(FileInner {
                file,
                path: path.to_path_buf(),
                direct,
                align: DEFAULT_ALIGN,
            }),
            driver,
        })
    }

    pub(crate) fn driver_options(&self) -> &super::DiskOptions {
        &self.driver.opts
    }

    /// The backend of the driver that opened this file.
    pub fn backend(&self) -> super::Backend {
        self.driver.engine.backend()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// O_DIRECT is in effect (requests must be aligned).
    pub fn direct(&self) -> bool {
        self.inner.direct
    }

    /// Alignment of offsets, lengths and memory for this file's requests.
    pub fn alignment(&self) -> usize {
        self.inner.align
    }

    /// Whole buffer written at offset (short writes, EINTR, EAGAIN retried).
    /// Buffer handed back for reuse.
    pub fn write_at(&self, buf: AlignedBuf, offset: u64) -> Result<AlignedBuf, DiskError> {
        self.submit_write(buf, offset).wait()
    }

    /// Reads `len` bytes (at most the capacity) at offset; returns the buffer
    /// (its length set to the bytes read) and that count, short only at the
    /// end of the file.
    pub fn read_at(
        &self,
        buf: AlignedBuf,
        offset: u64,
        len: usize,
    ) -> Result<(AlignedBuf, usize), DiskError> {
        self.submit_read(buf, offset, len).wait()
    }

    pub async fn write_at_async(
        &self,
        buf: AlignedBuf,
        offset: u64,
    ) -> Result<AlignedBuf, DiskError> {
        self.submit_write(buf, offset).await
    }

    pub async fn read_at_async(
        &self,
        buf: AlignedBuf,
        offset: u64,
        len: usize,
    ) -> Result<(AlignedBuf, usize), DiskError> {
        self.submit_read(buf, offset, len).await
    }

    /// Submits without waiting (for pipelining up to the queue depth).
    pub fn submit_write(&self, buf: AlignedBuf, offset: u64) -> Pending<AlignedBuf> {
        let len = buf.len();
        if let Err(e) = self.check(&buf, offset, len) {
            return Pending::ready(Err(e));
        }
        let (tx, rx) = oneshot::channel();
        self.submit(Kind::Write, buf, offset, len, Reply::Write(tx));
        Pending::waiting(rx)
    }

    pub fn submit_read(
        &self,
        buf: AlignedBuf,
        offset: u64,
        len: usize,
    ) -> Pending<(AlignedBuf, usize)> {
        let len = len.min(buf.capacity());
        if let Err(e) = self.check(&buf, offset, len) {
            return Pending::ready(Err(e));
        }
        let (tx, rx) = oneshot::channel();
        self.submit(Kind::Read, buf, offset, len, Reply::Read(tx));
        Pending::waiting(rx)
    }

    fn submit(&self, kind: Kind, buf: AlignedBuf, offset: u64, len: usize, reply: Reply) {
        self.driver.engine.submit(Request {
            kind,
            file: self.inner.clone(),
            buf,
            offset,
            len,
            done: 0,
            reply,
        });
    }

    /// O_DIRECT needs aligned memory, offset and length; say so clearly
    /// instead of passing the kernel's bare EINVAL on.
    fn check(&self, buf: &AlignedBuf, offset: u64, len: usize) -> Result<(), DiskError> {
        let align = self.inner.align;
        if self.inner.direct
            && (!offset.is_multiple_of(align as u64)
                || !len.is_multiple_of(align)
                || !buf.is_aligned_to(align))
        {
            return Err(DiskError::Unaligned {
                path: self.inner.path.clone(),
                offset,
                len,
                align,
            });
        }
        Ok(())
    }

    /// fdatasync.
    pub fn sync_data(&self) -> Result<(), DiskError> {
        self.inner
            .file
            .sync_data()
            .map_err(|e| DiskError::op(&self.inner.path, "fdatasync", e))
    }

    /// fallocate(KEEP_SIZE): reserves blocks, the length stays.
    pub fn allocate(&self, offset: u64, len: u64) -> Result<(), DiskError> {
        fsops::allocate(&self.inner.file, &self.inner.path, offset, len)
    }

    pub(crate) fn release_beyond(&self, from: u64, to: u64) {
        fsops::release_beyond(&self.inner.file, from, to)
    }

    /// ftruncate.
    pub fn set_len(&self, len: u64) -> Result<(), DiskError> {
        self.inner
            .file
            .set_len(len)
            .map_err(|e| DiskError::op(&self.inner.path, "ftruncate", e))
    }

    pub fn len(&self) -> Result<u64, DiskError> {
        self.inner
            .file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| DiskError::op(&self.inner.path, "fstat", e))
    }

    pub fn is_empty(&self) -> Result<bool, DiskError> {
        Ok(self.len()? == 0)
    }
}

/// A request in flight. `wait` blocks the calling thread (not from inside an
/// async runtime: await the `Pending` there). Dropping it is safe: the I/O
/// thread keeps the buffer until the kernel is done with it.
pub struct Pending<T> {
    state: State<T>,
}

enum State<T> {
    Ready(Option<Result<T, DiskError>>),
    Waiting(oneshot::Receiver<Result<T, DiskError>>),
}

impl<T> Pending<T> {
    fn ready(r: Result<T, DiskError>) -> Pending<T> {
        Pending {
            state: State::Ready(Some(r)),
        }
    }

    fn waiting(rx: oneshot::Receiver<Result<T, DiskError>>) -> Pending<T> {
        Pending {
            state: State::Waiting(rx),
        }
    }

    pub fn wait(self) -> Result<T, DiskError> {
        match self.state {
            State::Ready(r) => r.unwrap_or(Err(DiskError::Stopped)),
            State::Waiting(rx) => rx.blocking_recv().unwrap_or(Err(DiskError::Stopped)),
        }
    }
}

/// The future of a [`Pending`].
pub struct PendingFuture<T> {
    state: State<T>,
}

// The result is moved out, never pinned in place.
impl<T> Unpin for PendingFuture<T> {}

impl<T> IntoFuture for Pending<T> {
    type Output = Result<T, DiskError>;
    type IntoFuture = PendingFuture<T>;
    fn into_future(self) -> PendingFuture<T> {
        PendingFuture { state: self.state }
    }
}

impl<T> Future for PendingFuture<T> {
    type Output = Result<T, DiskError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both the Option and the oneshot receiver are Unpin.
        let this = self.get_mut();
        match &mut this.state {
            State::Ready(r) => Poll::Ready(r.take().unwrap_or(Err(DiskError::Stopped))),
            State::Waiting(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.unwrap_or(Err(DiskError::Stopped))),
        }
    }
}
