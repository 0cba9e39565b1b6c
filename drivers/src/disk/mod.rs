//! The disk driver: sequential and positioned I/O on files for disk storage,
//! staging and the dedup store.
//!
//! One [`DiskDriver`] per storage directory owns one I/O thread. With the
//! io_uring backend that thread owns a ring: callers hand requests over a
//! channel, wake it through an eventfd the ring itself waits on, and get the
//! completion back through a `tokio::sync::oneshot` (async callers await it,
//! blocking callers block on it). The sync backend's thread does plain
//! `pread`/`pwrite` instead; it is used when the kernel refuses io_uring
//! (ENOSYS/EPERM, e.g. under seccomp) and is reported once.
//!
//! Files are opened with O_DIRECT where the filesystem allows it (EINVAL at
//! open falls back to buffered I/O, reported once per driver); all requests
//! then must be aligned to [`DiskFile::alignment`], which [`AlignedBuf`]
//! guarantees for memory. [`DiskWriter`] and [`DiskReader`] hide alignment
//! and pipelining for sequential streams of any length.
//!
//! Buffers belong to the I/O thread while a request is in flight: a caller
//! that drops a [`Pending`] or a future never leaves the kernel writing into
//! freed memory.

mod buf;
mod engine;
mod error;
mod file;
mod fsops;
mod reader;
mod sync_engine;
mod uring;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use buf::AlignedBuf;
pub use error::DiskError;
pub use file::{DiskFile, Pending, PendingFuture};
pub use fsops::{rename_durable, sync_dir};
pub use reader::DiskReader;
pub use writer::DiskWriter;

use engine::Engine;

/// Default request size of [`DiskWriter`]/[`DiskReader`].
pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;
/// Default alignment when the filesystem does not tell.
pub const DEFAULT_ALIGN: usize = 4096;

#[derive(Clone, Debug)]
pub struct DiskOptions {
    /// Auto (default): io_uring if the kernel allows, else sync.
    pub backend: BackendChoice,
    /// O_DIRECT, default true; falls back to buffered if refused.
    pub direct: bool,
    /// Requests in flight per driver (ring size) and per writer/reader; default 8.
    pub queue_depth: u32,
    /// Kernel submission polling thread; default false (it costs a core).
    pub sqpoll: bool,
    /// DiskWriter/DiskReader request size, default 1 MiB.
    pub buffer_size: usize,
    /// fallocate ahead of the writer, default 64 MiB (0 = off).
    pub prealloc_extent: u64,
    /// Register the files with the ring (fixed files); default true.
    pub register_files: bool,
    /// Register writer/reader buffers with the ring (fixed buffers); default false.
    pub register_buffers: bool,
}

impl Default for DiskOptions {
    fn default() -> DiskOptions {
        DiskOptions {
            backend: BackendChoice::Auto,
            direct: true,
            queue_depth: 8,
            sqpoll: false,
            buffer_size: DEFAULT_BUFFER_SIZE,
            prealloc_extent: 64 << 20,
            register_files: true,
            register_buffers: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    #[default]
    Auto,
    Uring,
    Sync,
}

/// The backend actually in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Uring,
    Sync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    Read,
    ReadWrite,
    /// Create or truncate.
    Create,
    /// Fail if the file exists.
    CreateNew,
}

pub(crate) struct DriverInner {
    opts: DiskOptions,
    engine: Engine,
    /// The O_DIRECT fallback is reported once per driver.
    direct_warned: AtomicBool,
}

/// One ring (or the sync fallback) per device, owned by one thread; cheap to
/// clone; Send + Sync.
#[derive(Clone)]
pub struct DiskDriver {
    inner: Arc<DriverInner>,
}

impl std::fmt::Debug for DiskDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskDriver")
            .field("backend", &self.backend())
            .field("options", &self.inner.opts)
            .finish()
    }
}

impl DiskDriver {
    pub fn new(opts: DiskOptions) -> Result<DiskDriver, DiskError> {
        let mut opts = opts;
        opts.queue_depth = opts.queue_depth.clamp(1, 4096);
        opts.buffer_size = round_up(opts.buffer_size.max(1) as u64, DEFAULT_ALIGN as u64) as usize;
        let engine = Engine::start(&opts)?;
        Ok(DiskDriver {
            inner: Arc::new(DriverInner {
                opts,
                engine,
                direct_warned: AtomicBool::new(false),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.engine.backend()
    }

    pub fn options(&self) -> &DiskOptions {
        &self.inner.opts
    }

    pub fn open(&self, path: &Path, mode: OpenMode) -> Result<DiskFile, DiskError> {
        let (file, direct) = fsops::open(path, mode, self.inner.opts.direct)?;
        if self.inner.opts.direct
            && !direct
            && !self.inner.direct_warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                path = %path.display(),
                "filesystem refuses O_DIRECT; using buffered I/O (slower, page cache)"
            );
        }
        DiskFile::new(self.inner.clone(), path, file, direct)
    }
}

pub(crate) fn round_up(v: u64, align: u64) -> u64 {
    v.div_ceil(align) * align
}

pub(crate) fn round_down(v: u64, align: u64) -> u64 {
    v / align * align
}
