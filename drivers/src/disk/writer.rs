//! Sequential writer over any byte lengths, pipelined and preallocating.

use std::collections::VecDeque;
use std::path::Path;

use super::{AlignedBuf, DiskDriver, DiskError, DiskFile, OpenMode, Pending, round_down, round_up};

/// Sequential writer over any byte lengths: copies into aligned buffers of
/// buffer_size, keeps up to queue_depth writes in flight, preallocates ahead,
/// pads only the tail block on sync and truncates to the logical length.
///
/// After an error the writer refuses further writes
/// ([`DiskError::WriterFailed`]); what was synced before stays intact.
/// Dropping it without [`finish`](DiskWriter::finish) writes what it holds
/// (best effort) but does not make it durable.
pub struct DiskWriter {
    file: DiskFile,
    align: usize,
    bufsize: usize,
    depth: usize,
    /// The buffer being filled; it starts at `cur_start` in the file.
    cur: AlignedBuf,
    fill: usize,
    cur_start: u64,
    inflight: VecDeque<Pending<AlignedBuf>>,
    spare: Vec<AlignedBuf>,
    extent: u64,
    /// Blocks up to here are preallocated.
    prealloc_end: u64,
    /// Highest end ever preallocated, released beyond the length at finish.
    prealloc_high: u64,
    failed: bool,
    done: bool,
}

impl DiskWriter {
    /// Creates a new file (fails if it exists).
    pub fn create(driver: &DiskDriver, path: &Path) -> Result<DiskWriter, DiskError> {
        let file = driver.open(path, OpenMode::CreateNew)?;
        Ok(DiskWriter::new(file, 0, 0))
    }

    /// Continues an existing file at its end (the tail block is re-read).
    pub fn append(driver: &DiskDriver, path: &Path) -> Result<DiskWriter, DiskError> {
        let file = driver.open(path, OpenMode::ReadWrite)?;
        let len = file.len()?;
        let align = file.alignment() as u64;
        let start = round_down(len, align);
        let fill = (len - start) as usize;
        let mut w = DiskWriter::new(file, start, fill);
        if fill > 0 {
            let buf = std::mem::replace(&mut w.cur, AlignedBuf::new(0, 1));
            let (mut buf, n) = w.file.read_at(buf, start, align as usize)?;
            if n < fill {
                return Err(DiskError::UnexpectedEof {
                    path: w.file.path().to_path_buf(),
                    offset: start + n as u64,
                });
            }
            buf.set_len(w.bufsize);
            w.cur = buf;
        }
        Ok(w)
    }

    fn new(file: DiskFile, cur_start: u64, fill: usize) -> DiskWriter {
        let opts = file.driver_options();
        let align = file.alignment();
        let bufsize = round_up(opts.buffer_size as u64, align as u64) as usize;
        let depth = opts.queue_depth.max(1) as usize;
        let extent = round_up(opts.prealloc_extent, align as u64);
        let end = round_up(cur_start + fill as u64, align as u64);
        DiskWriter {
            cur: AlignedBuf::new(bufsize, align),
            file,
            align,
            bufsize,
            depth,
            fill,
            cur_start,
            inflight: VecDeque::new(),
            spare: Vec::new(),
            extent,
            prealloc_end: end,
            prealloc_high: end,
            failed: false,
            done: false,
        }
    }

    pub fn file(&self) -> &DiskFile {
        &self.file
    }

    /// Logical bytes in the file.
    pub fn position(&self) -> u64 {
        self.cur_start + self.fill as u64
    }

    pub fn write_all(&mut self, mut data: &[u8]) -> Result<(), DiskError> {
        self.check()?;
        while !data.is_empty() {
            let n = (self.bufsize - self.fill).min(data.len());
            self.cur.full_mut()[self.fill..self.fill + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == self.bufsize {
                let r = self.submit_cur();
                self.fail_on(r)?;
            }
        }
        Ok(())
    }

    /// Everything written so far is durable: in-flight writes done, tail
    /// written, length set, fdatasync.
    pub fn sync(&mut self) -> Result<(), DiskError> {
        self.flush_tail()?;
        let r = self.file.sync_data();
        self.fail_on(r)
    }

    /// sync + close; returns the length.
    pub fn finish(mut self) -> Result<u64, DiskError> {
        self.sync()?;
        let end = round_up(self.position(), self.align as u64);
        if self.prealloc_high > end {
            self.file.release_beyond(end, self.prealloc_high);
        }
        self.done = true;
        Ok(self.position())
    }

    /// Waits for the writes in flight, writes the tail block (padded with
    /// zeros) and sets the length: readers see every byte, not yet durable.
    pub fn flush_tail(&mut self) -> Result<(), DiskError> {
        self.check()?;
        let r = self.drain();
        self.fail_on(r)?;
        if self.fill > 0 {
            let padded = round_up(self.fill as u64, self.align as u64) as usize;
            let mut buf = std::mem::replace(&mut self.cur, AlignedBuf::new(0, 1));
            buf.full_mut()[self.fill..padded].fill(0);
            buf.set_len(padded);
            let r = self.file.write_at(buf, self.cur_start);
            let mut buf = self.fail_on(r)?;
            buf.set_len(self.bufsize);
            self.cur = buf;
        }
        let r = self.file.set_len(self.position());
        self.fail_on(r)?;
        // Truncation frees preallocated blocks past the end on most
        // filesystems: allocate again from here.
        self.prealloc_end = round_up(self.position(), self.align as u64);
        Ok(())
    }

    fn check(&self) -> Result<(), DiskError> {
        if self.failed || self.done {
            return Err(DiskError::WriterFailed {
                path: self.file.path().to_path_buf(),
            });
        }
        Ok(())
    }

    /// Marks the writer failed on an error, after the requests still in
    /// flight are done (their buffers and results are dropped).
    fn fail_on<T>(&mut self, r: Result<T, DiskError>) -> Result<T, DiskError> {
        if r.is_err() {
            self.failed = true;
            for p in self.inflight.drain(..) {
                let _ = p.wait();
            }
        }
        r
    }

    fn drain(&mut self) -> Result<(), DiskError> {
        while let Some(p) = self.inflight.pop_front() {
            let buf = p.wait()?;
            self.spare.push(buf);
        }
        Ok(())
    }

    fn submit_cur(&mut self) -> Result<(), DiskError> {
        let end = self.cur_start + self.bufsize as u64;
        self.preallocate(end);
        let next = self.next_buf()?;
        let mut buf = std::mem::replace(&mut self.cur, next);
        buf.set_len(self.bufsize);
        self.inflight
            .push_back(self.file.submit_write(buf, self.cur_start));
        self.cur_start = end;
        self.fill = 0;
        Ok(())
    }

    /// A free buffer: a spare one, a new one while fewer than queue_depth
    /// are in flight, else the oldest write's once it completes.
    fn next_buf(&mut self) -> Result<AlignedBuf, DiskError> {
        if let Some(b) = self.spare.pop() {
            return Ok(b);
        }
        if self.inflight.len() < self.depth {
            return Ok(AlignedBuf::new(self.bufsize, self.align));
        }
        match self.inflight.pop_front() {
            Some(p) => p.wait(),
            None => Ok(AlignedBuf::new(self.bufsize, self.align)),
        }
    }

    /// Keeps at least half an extent preallocated ahead of `end`. A full
    /// filesystem or one without fallocate only stops preallocation: the
    /// writes themselves then report where the space ran out.
    fn preallocate(&mut self, end: u64) {
        if self.extent == 0 || end + self.extent / 2 <= self.prealloc_end {
            return;
        }
        let from = self.prealloc_end.max(self.cur_start);
        let to = round_up(end, self.align as u64) + self.extent;
        match self.file.allocate(from, to - from) {
            Ok(()) => {
                self.prealloc_end = to;
                self.prealloc_high = self.prealloc_high.max(to);
            }
            Err(e) => {
                tracing::debug!(error = %e, "preallocation stopped");
                self.extent = 0;
            }
        }
    }
}

impl std::fmt::Debug for DiskWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskWriter")
            .field("path", &self.file.path())
            .field("position", &self.position())
            .field("in_flight", &self.inflight.len())
            .finish()
    }
}

impl std::io::Write for DiskWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        DiskWriter::write_all(self, buf)?;
        Ok(())
    }

    /// Makes everything written visible to readers (not durable: see sync).
    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_tail()?;
        Ok(())
    }
}

impl Drop for DiskWriter {
    fn drop(&mut self) {
        if !self.done && !self.failed {
            let _ = self.flush_tail();
        }
        for p in self.inflight.drain(..) {
            let _ = p.wait();
        }
    }
}
