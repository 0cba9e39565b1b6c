//! The data stream of a backup, and the digest that proves a restore
//! gave back the same bytes.

use std::io::{self, Read, Seek, SeekFrom};

/// A backup's data stream. A retry on another device starts the stream
/// again from its first byte (the failed attempt's partial set is never
/// used), so a source says whether it can.
pub trait BackupSource: Read {
    /// Goes back to the first byte; `Ok(false)` when the stream cannot be
    /// replayed (a pipe), which turns a device failure into a failed job.
    fn restart(&mut self) -> io::Result<bool>;
}

impl<T: AsRef<[u8]>> BackupSource for io::Cursor<T> {
    fn restart(&mut self) -> io::Result<bool> {
        self.set_position(0);
        Ok(true)
    }
}

impl BackupSource for std::fs::File {
    fn restart(&mut self) -> io::Result<bool> {
        match self.seek(SeekFrom::Start(0)) {
            Ok(_) => Ok(true),
            // A pipe or terminal on stdin.
            Err(e) if e.raw_os_error() == Some(nix::libc::ESPIPE) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A stream read once (stdin, a network stream): no retry possible.
pub struct OneShot<R: Read> {
    inner: R,
    started: bool,
}

impl<R: Read> OneShot<R> {
    pub fn new(inner: R) -> OneShot<R> {
        OneShot {
            inner,
            started: false,
        }
    }
}

impl<R: Read> Read for OneShot<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.started = true;
        self.inner.read(buf)
    }
}

impl<R: Read> BackupSource for OneShot<R> {
    fn restart(&mut self) -> io::Result<bool> {
        Ok(!self.started)
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub fn fill(src: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// BLAKE3 over a whole stream, with its length.
#[derive(Debug, Clone, Default)]
pub struct StreamDigest {
    hasher: blake3::Hasher,
    bytes: u64,
}

impl StreamDigest {
    pub fn new() -> StreamDigest {
        StreamDigest::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Lower-case hex of the 32-byte hash.
    pub fn hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }
}
