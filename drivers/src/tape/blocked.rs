//! Buffered `std::io::Write`/`Read` over fixed-size records on a
//! [`TapeDrive`], so a byte stream (tar, a backup archive) goes to tape in
//! records of one size.
//!
//! The writer never hides end-of-medium: after each call the caller can ask
//! [`TapeWriter::early_warning`] (or [`TapeWriter::state`]) and span to the
//! next cartridge. VOLUME OVERFLOW surfaces as `ErrorKind::StorageFull`
//! with the [`ScsiError`] inside.

use std::io::{self, ErrorKind};

use crate::scsi::error::{ErrorClass, ScsiError};
use crate::scsi::transport::ScsiTransport;

use super::drive::TapeDrive;
use super::rw::{ReadOutcome, WriteStatus};

fn to_io(e: ScsiError) -> io::Error {
    let kind = match e.class() {
        ErrorClass::VolumeOverflow => ErrorKind::StorageFull,
        ErrorClass::DataProtect => ErrorKind::PermissionDenied,
        ErrorClass::NotReady => ErrorKind::NotConnected,
        _ => ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// Writes a byte stream as records of `record_size` bytes.
pub struct TapeWriter<'a, T: ScsiTransport> {
    drive: &'a mut TapeDrive<T>,
    record_size: usize,
    buf: Vec<u8>,
    state: WriteStatus,
    records: u64,
}

impl<'a, T: ScsiTransport> TapeWriter<'a, T> {
    /// `record_size` must be non-zero; in fixed-block mode it must be a
    /// multiple of the drive's block size (checked by the first write).
    pub fn new(drive: &'a mut TapeDrive<T>, record_size: usize) -> io::Result<Self> {
        if record_size == 0 {
            return Err(io::Error::new(ErrorKind::InvalidInput, "record size 0"));
        }
        Ok(TapeWriter {
            drive,
            record_size,
            buf: Vec::with_capacity(record_size),
            state: WriteStatus::Ok,
            records: 0,
        })
    }

    /// The most advanced warning seen so far.
    pub fn state(&self) -> WriteStatus {
        self.state
    }

    /// Past EW or PEW: time to finish this cartridge and span.
    pub fn early_warning(&self) -> bool {
        self.state != WriteStatus::Ok
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn put(&mut self, rec: &[u8]) -> io::Result<()> {
        let s = self.drive.write(rec).map_err(to_io)?;
        self.records += 1;
        self.state = match (self.state, s) {
            (WriteStatus::EarlyWarning, _) | (_, WriteStatus::EarlyWarning) => {
                WriteStatus::EarlyWarning
            }
            (WriteStatus::Ok, s) => s,
            (s, _) => s,
        };
        Ok(())
    }

    /// Writes out the last partial record (as a shorter record) and, with
    /// `filemark`, a filemark that also synchronises the drive buffer.
    pub fn finish(mut self, filemark: bool) -> io::Result<WriteStatus> {
        io::Write::flush(&mut self)?;
        if filemark {
            let s = self.drive.write_filemarks(1, false).map_err(to_io)?;
            if s != WriteStatus::Ok {
                self.state = s;
            }
        }
        Ok(self.state)
    }
}

impl<T: ScsiTransport> io::Write for TapeWriter<'_, T> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Whole records straight from the caller's buffer when possible.
        if self.buf.is_empty() && data.len() >= self.record_size {
            let rec = &data[..self.record_size];
            self.put(rec)?;
            return Ok(self.record_size);
        }
        let n = (self.record_size - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.record_size {
            let rec = std::mem::take(&mut self.buf);
            let r = self.put(&rec);
            self.buf = rec;
            self.buf.clear();
            r?;
        }
        Ok(n)
    }

    /// Writes the buffered partial record. Meant for the end of a stream: a
    /// flush mid-stream produces a short record.
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let rec = std::mem::take(&mut self.buf);
        self.put(&rec)?;
        Ok(())
    }
}

/// Why a [`TapeReader`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderStop {
    Filemark,
    EndOfData,
}

/// Reads a stream written as records of at most `record_size` bytes, up to
/// the next filemark or end of data (both read as end of stream).
pub struct TapeReader<'a, T: ScsiTransport> {
    drive: &'a mut TapeDrive<T>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    stop: Option<ReaderStop>,
}

impl<'a, T: ScsiTransport> TapeReader<'a, T> {
    pub fn new(drive: &'a mut TapeDrive<T>, record_size: usize) -> io::Result<Self> {
        if record_size == 0 {
            return Err(io::Error::new(ErrorKind::InvalidInput, "record size 0"));
        }
        Ok(TapeReader {
            drive,
            buf: vec![0; record_size],
            pos: 0,
            len: 0,
            stop: None,
        })
    }

    /// Why the stream ended, once it has.
    pub fn stop(&self) -> Option<ReaderStop> {
        self.stop
    }

    fn fill(&mut self) -> io::Result<()> {
        let o = self.drive.read(&mut self.buf).map_err(to_io)?;
        let n = match o {
            ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => len,
            ReadOutcome::LongBlock { len, .. } => {
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    format!(
                        "record of {len} bytes is larger than the reader's record size {}",
                        self.buf.len()
                    ),
                ));
            }
            ReadOutcome::Filemark => {
                self.stop = Some(ReaderStop::Filemark);
                0
            }
            ReadOutcome::EndOfData => {
                self.stop = Some(ReaderStop::EndOfData);
                0
            }
        };
        self.pos = 0;
        self.len = n;
        Ok(())
    }
}

impl<T: ScsiTransport> io::Read for TapeReader<'_, T> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.stop.is_some() || out.is_empty() {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = (self.len - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
