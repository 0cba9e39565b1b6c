//! Sequential reader with read-ahead, seek and random access.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{AlignedBuf, DiskDriver, DiskError, DiskFile, OpenMode, Pending, round_down, round_up};

/// A block of the file in memory: `n` valid bytes from file offset `start`.
struct Block {
    start: u64,
    buf: AlignedBuf,
    n: usize,
}

/// Sequential reader with read-ahead (queue_depth requests of buffer_size),
/// and seek. The length is the file's at open.
pub struct DiskReader {
    file: DiskFile,
    len: u64,
    pos: u64,
    align: usize,
    bufsize: usize,
    depth: usize,
    cur: Option<Block>,
    ahead: VecDeque<(u64, Pending<(AlignedBuf, usize)>)>,
    /// Offset of the next read-ahead request.
    next: u64,
    spare: Vec<AlignedBuf>,
}

impl DiskReader {
    pub fn open(driver: &DiskDriver, path: &Path) -> Result<DiskReader, DiskError> {
        let file = driver.open(path, OpenMode::Read)?;
        DiskReader::from_file(file)
    }

    /// Reads an already open file (its length taken now).
    pub fn from_file(file: DiskFile) -> Result<DiskReader, DiskError> {
        let len = file.len()?;
        let opts = file.driver_options();
        let align = file.alignment();
        Ok(DiskReader {
            bufsize: round_up(opts.buffer_size as u64, align as u64) as usize,
            // Twice the ring's depth submitted (see DiskWriter).
            depth: 2 * opts.queue_depth.max(1) as usize,
            file,
            len,
            pos: 0,
            align,
            cur: None,
            ahead: VecDeque::new(),
            next: 0,
            spare: Vec::new(),
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn file(&self) -> &DiskFile {
        &self.file
    }

    /// Random access: fills `out` from `offset` or fails with
    /// UnexpectedEof naming where the file ends. Leaves the sequential
    /// position alone.
    pub fn read_exact_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskError> {
        let end = offset.saturating_add(out.len() as u64);
        if end > self.len {
            return Err(self.eof(self.len.max(offset)));
        }
        if let Some(b) = &self.cur
            && offset >= b.start
            && end <= b.start + b.n as u64
        {
            let s = (offset - b.start) as usize;
            out.copy_from_slice(&b.buf[s..s + out.len()]);
            return Ok(());
        }
        let mut scratch = self.take_buf();
        let mut at = offset;
        let mut filled = 0;
        while filled < out.len() {
            let start = round_down(at, self.align as u64);
            let want = round_up(end - start, self.align as u64).min(self.bufsize as u64) as usize;
            let (buf, n) = self.file.read_at(scratch, start, want)?;
            scratch = buf;
            let skip = (at - start) as usize;
            if n <= skip {
                return Err(self.eof(start + n as u64));
            }
            let c = (n - skip).min(out.len() - filled);
            out[filled..filled + c].copy_from_slice(&scratch[skip..skip + c]);
            filled += c;
            at += c as u64;
        }
        self.spare.push(scratch);
        Ok(())
    }

    fn eof(&self, offset: u64) -> DiskError {
        DiskError::UnexpectedEof {
            path: self.file.path().to_path_buf(),
            offset,
        }
    }

    fn take_buf(&mut self) -> AlignedBuf {
        match self.spare.pop() {
            Some(mut b) => {
                b.set_len(self.bufsize);
                b
            }
            None => AlignedBuf::new(self.bufsize, self.align),
        }
    }

    /// Reads into `out` from the current position; 0 at the end.
    pub fn read_some(&mut self, out: &mut [u8]) -> Result<usize, DiskError> {
        let avail = self.available()?;
        let c = avail.len().min(out.len());
        out[..c].copy_from_slice(&avail[..c]);
        self.pos += c as u64;
        Ok(c)
    }

    /// The bytes from the current position to the end of the block in
    /// memory (empty at the end of the file), without copying them; the
    /// position does not move (see `BufRead::consume`).
    pub fn available(&mut self) -> Result<&[u8], DiskError> {
        if self.pos >= self.len {
            return Ok(&[]);
        }
        if !self
            .cur
            .as_ref()
            .is_some_and(|b| self.pos >= b.start && self.pos < b.start + b.n as u64)
        {
            self.load_block()?;
        }
        match &self.cur {
            Some(b) => {
                let s = (self.pos - b.start) as usize;
                let e = b.n.min((self.len - b.start) as usize);
                Ok(&b.buf[s..e])
            }
            None => Err(self.eof(self.pos)),
        }
    }

    /// Makes `cur` the block holding `pos`, from read-ahead when it is
    /// there, and keeps queue_depth reads ahead.
    fn load_block(&mut self) -> Result<(), DiskError> {
        let want = round_down(self.pos, self.bufsize as u64);
        if self.ahead.front().is_some_and(|(o, _)| *o != want) {
            // A seek: what was read ahead is of no use.
            for (_, p) in self.ahead.drain(..) {
                if let Ok((b, _)) = p.wait() {
                    self.spare.push(b);
                }
            }
        }
        if self.ahead.is_empty() {
            self.next = want;
        }
        if let Some(old) = self.cur.take() {
            self.spare.push(old.buf);
        }
        self.fill_ahead();
        let Some((start, p)) = self.ahead.pop_front() else {
            return Err(self.eof(self.pos));
        };
        let (buf, n) = p.wait()?;
        if start + (n as u64) <= self.pos {
            // The file shrank under us.
            return Err(self.eof(start + n as u64));
        }
        self.cur = Some(Block { start, buf, n });
        self.fill_ahead();
        Ok(())
    }

    fn fill_ahead(&mut self) {
        while self.ahead.len() < self.depth && self.next < self.len {
            let buf = self.take_buf();
            let p = self.file.submit_read(buf, self.next, self.bufsize);
            self.ahead.push_back((self.next, p));
            self.next += self.bufsize as u64;
        }
    }
}

impl std::fmt::Debug for DiskReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskReader")
            .field("path", &self.file.path())
            .field("len", &self.len)
            .field("position", &self.pos)
            .finish()
    }
}

impl Read for DiskReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.read_some(out)?)
    }
}

/// Zero-copy reading: `fill_buf` lends the block the read-ahead filled.
impl std::io::BufRead for DiskReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(self.available()?)
    }

    fn consume(&mut self, n: usize) {
        self.pos = self
            .pos
            .saturating_add(n as u64)
            .min(self.len.max(self.pos));
    }
}

impl Seek for DiskReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )),
        }
    }
}

impl Drop for DiskReader {
    fn drop(&mut self) {
        // Pending reads finish on the I/O thread, which owns their buffers.
        self.ahead.clear();
    }
}
