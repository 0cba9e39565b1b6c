//! The data stream of a backup, and the digest that proves a restore
//! gave back the same bytes.

use std::io::{self, Read, Seek, SeekFrom};

/// A backup's data stream. A retry on another device starts the stream
/// again from its first byte (the failed attempt's partial set is never
/// used), so a source says whether it can.
pub trait BackupSource: Read + Send {
    /// Goes back to the first byte; `Ok(false)` when the stream cannot be
    /// replayed (a pipe), which turns a device failure into a failed job.
    fn restart(&mut self) -> io::Result<bool>;
}

impl<T: AsRef<[u8]> + Send> BackupSource for io::Cursor<T> {
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
pub struct OneShot<R: Read + Send> {
    inner: R,
    started: bool,
}

impl<R: Read + Send> OneShot<R> {
    pub fn new(inner: R) -> OneShot<R> {
        OneShot {
            inner,
            started: false,
        }
    }
}

impl<R: Read + Send> Read for OneShot<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.started = true;
        self.inner.read(buf)
    }
}

impl<R: Read + Send> BackupSource for OneShot<R> {
    fn restart(&mut self) -> io::Result<bool> {
        Ok(!self.started)
    }
}

/// What feeds a [`Spool`]: chunks in stream order, an empty chunk for the
/// end of the stream, an error when the producer failed. A sender
/// dropped without the end marker counts as a broken stream.
pub type SpoolSender = std::sync::mpsc::SyncSender<io::Result<bytes::Bytes>>;

/// A stream that arrives once (a gRPC client stream) made replayable: each
/// chunk is teed into a spool file as it is read, so a retry on another
/// device ([`BackupSource::restart`]) reads the file from its start and
/// then goes on with the live stream. The live reader is served from the
/// chunk in memory: the file is only read back by a replay. The channel
/// is bounded: a client faster than the device waits (backpressure)
/// instead of filling memory. The file is removed when the spool is
/// dropped. [`Spool::unspooled`] keeps no file: it replays only while the
/// first chunk is still in memory.
pub struct Spool {
    /// The spool file and its path; None when unspooled.
    file: Option<(std::fs::File, std::path::PathBuf)>,
    rx: std::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    /// Bytes received.
    written: u64,
    /// Next byte to hand out.
    pos: u64,
    /// The last chunk received: bytes `written - chunk.len()..written`.
    chunk: bytes::Bytes,
    /// Where the next writeback kick starts.
    writeback_from: u64,
    ended: bool,
}

/// Bytes of the spool file between two writeback kicks.
const SPOOL_WRITEBACK: u64 = 32 << 20;

impl Spool {
    /// Creates the spool file `path` and the channel that feeds it
    /// (`depth` chunks in flight).
    pub fn create(path: &std::path::Path, depth: usize) -> io::Result<(SpoolSender, Spool)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        let (tx, mut spool) = Spool::unspooled(depth);
        spool.file = Some((file, path.to_path_buf()));
        Ok((tx, spool))
    }

    /// The channel alone, no spool file.
    pub fn unspooled(depth: usize) -> (SpoolSender, Spool) {
        let (tx, rx) = std::sync::mpsc::sync_channel(depth.max(1));
        let spool = Spool {
            file: None,
            rx,
            written: 0,
            pos: 0,
            chunk: bytes::Bytes::new(),
            writeback_from: 0,
            ended: false,
        };
        (tx, spool)
    }

    /// Bytes received from the stream so far.
    pub fn received(&self) -> u64 {
        self.written
    }

    /// First byte of the chunk in memory.
    fn chunk_start(&self) -> u64 {
        self.written - self.chunk.len() as u64
    }

    /// Every [`SPOOL_WRITEBACK`] bytes: starts writing the new range to
    /// disk and drops the range before it (clean by now) from the page
    /// cache; POSIX_FADV_DONTNEED does both without waiting. A spool is
    /// read back only by a replay, so its pages need not stay cached, and
    /// the cache does not grow by the size of every stream.
    fn kick_writeback(&mut self) {
        let Some((file, _)) = &self.file else { return };
        if self.written - self.writeback_from < SPOOL_WRITEBACK {
            return;
        }
        let from = self.writeback_from.saturating_sub(SPOOL_WRITEBACK);
        let len = i64::try_from(self.written - from).unwrap_or(i64::MAX);
        let from_i = i64::try_from(from).unwrap_or(i64::MAX);
        use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
        if let Err(e) = posix_fadvise(file, from_i, len, PosixFadviseAdvice::POSIX_FADV_DONTNEED) {
            tracing::debug!("spool posix_fadvise: {e}");
        }
        self.writeback_from = self.written;
    }
}

impl Read for Spool {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos >= self.written {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.ended = true,
                Ok(Ok(chunk)) => {
                    if let Some((file, _)) = &self.file {
                        file.write_all_at(&chunk, self.written)?;
                    }
                    self.written += chunk.len() as u64;
                    self.chunk = chunk;
                    self.kick_writeback();
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the data stream broke off before its end",
                    ));
                }
            }
        }
        let want = usize::try_from(self.written - self.pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let chunk_start = self.chunk_start();
        let n = if self.pos >= chunk_start {
            // Live: the bytes are still in memory.
            let at = (self.pos - chunk_start) as usize;
            buf[..want].copy_from_slice(&self.chunk[at..at + want]);
            want
        } else {
            // Replay after a restart (only a spool with a file goes back
            // before its chunk).
            let want = want.min((chunk_start - self.pos) as usize);
            match &self.file {
                Some((file, _)) => file.read_at(&mut buf[..want], self.pos)?,
                None => 0,
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spool file is shorter than what was written to it",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl BackupSource for Spool {
    fn restart(&mut self) -> io::Result<bool> {
        // Without a file, only what is still in memory can be replayed.
        if self.file.is_none() && self.chunk_start() > 0 {
            return Ok(false);
        }
        self.pos = 0;
        Ok(true)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.file
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::warn!(path = %path.display(), "spool file not removed: {e}");
        }
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

/// Bytes hashed right after they were read: the slice is still in the
/// core's cache (a whole feeder buffer is larger than L2).
const HASH_SLICE: usize = 128 * 1024;

/// [`fill`], hashing each slice into `digest` as soon as it was read.
fn fill_hashed(src: &mut dyn Read, buf: &mut [u8], digest: &mut StreamDigest) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let end = (n + HASH_SLICE).min(buf.len());
        let k = fill(src, &mut buf[n..end])?;
        digest.update(&buf[n..n + k]);
        n += k;
        if n < end {
            break;
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

/// One filled buffer from a [`Feeder`]: `len` bytes valid, `last` when the
/// stream ended with it.
pub struct Filled {
    pub buf: Vec<u8>,
    pub len: usize,
    pub last: bool,
}

/// Read-ahead on its own thread: the stream is read and hashed into a few
/// rotating buffers while the drive writes the previous one, so the
/// digest and the copy out of the source cost no drive time.
pub struct Feeder {
    full: std::sync::mpsc::Receiver<io::Result<Filled>>,
    empty: std::sync::mpsc::SyncSender<Vec<u8>>,
}

/// Buffers in flight between the reader thread and the writer.
const FEED_BUFFERS: usize = 3;

impl Feeder {
    /// Starts the reader thread in `scope`; it returns the stream's digest
    /// when joined (or `None` if the writer stopped early).
    pub fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        src: &'env mut dyn BackupSource,
        buf_len: usize,
    ) -> (Feeder, std::thread::ScopedJoinHandle<'scope, StreamDigest>) {
        let (full_tx, full) = std::sync::mpsc::sync_channel::<io::Result<Filled>>(FEED_BUFFERS);
        let (empty, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(FEED_BUFFERS);
        for _ in 0..FEED_BUFFERS {
            // Cannot fail: the channel has room for every buffer.
            let _ = empty.try_send(vec![0u8; buf_len]);
        }
        let h = scope.spawn(move || {
            let mut digest = StreamDigest::new();
            // Ends when the writer drops its side (done, or failed).
            while let Ok(mut buf) = empty_rx.recv() {
                let r = fill_hashed(&mut *src, &mut buf, &mut digest).map(|len| {
                    let last = len < buf.len();
                    Filled { buf, len, last }
                });
                let stop = !matches!(&r, Ok(f) if !f.last);
                if full_tx.send(r).is_err() || stop {
                    break;
                }
            }
            digest
        });
        (Feeder { full, empty }, h)
    }

    /// The next buffer, in stream order.
    pub fn next(&self) -> io::Result<Filled> {
        self.full
            .recv()
            .map_err(|_| io::Error::other("stream reader stopped"))?
    }

    /// Hands a consumed buffer back for refilling.
    pub fn give_back(&self, buf: Vec<u8>) {
        // The reader may have finished: the buffer is then just dropped.
        let _ = self.empty.try_send(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_replays_what_it_received_then_goes_on_live() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("spool/job-1");
        let (tx, mut s) = Spool::create(&path, 2).unwrap();
        let t = std::thread::spawn(move || {
            for c in [&b"hello "[..], b"spooled ", b"world"] {
                tx.send(Ok(bytes::Bytes::copy_from_slice(c))).unwrap();
            }
            tx.send(Ok(bytes::Bytes::new())).unwrap();
        });
        let mut first = [0u8; 9];
        assert_eq!(fill(&mut s, &mut first).unwrap(), 9);
        assert_eq!(&first, b"hello spo");
        assert!(s.restart().unwrap());
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"hello spooled world");
        assert!(s.restart().unwrap());
        let mut again = Vec::new();
        s.read_to_end(&mut again).unwrap();
        assert_eq!(again, all);
        assert_eq!(s.received(), 19);
        t.join().unwrap();
        // The live reader was served from memory; the file holds it all.
        assert_eq!(std::fs::read(&path).unwrap(), all);
        drop(s);
        assert!(!path.exists(), "the spool file goes with the spool");
    }

    #[test]
    fn an_unspooled_stream_replays_only_its_first_chunk() {
        let (tx, mut s) = Spool::unspooled(4);
        for c in [&b"first "[..], b"second"] {
            tx.send(Ok(bytes::Bytes::copy_from_slice(c))).unwrap();
        }
        tx.send(Ok(bytes::Bytes::new())).unwrap();
        let mut head = [0u8; 4];
        assert_eq!(fill(&mut s, &mut head).unwrap(), 4);
        // Still inside the first chunk: it can start again.
        assert!(s.restart().unwrap());
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"first second");
        // The first chunk is gone: no replay, the job fails instead.
        assert!(!s.restart().unwrap());
    }

    #[test]
    fn spool_reports_a_broken_or_failed_stream() {
        let d = tempfile::tempdir().unwrap();
        let (tx, mut s) = Spool::create(&d.path().join("a"), 1).unwrap();
        std::thread::spawn(move || {
            tx.send(Ok(bytes::Bytes::from_static(b"abc"))).unwrap();
        });
        let mut v = Vec::new();
        let e = s.read_to_end(&mut v).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(v, b"abc");

        let (tx, mut s) = Spool::create(&d.path().join("b"), 1).unwrap();
        tx.send(Err(io::Error::other("client reset"))).unwrap();
        let e = s.read(&mut [0u8; 4]).unwrap_err();
        assert!(e.to_string().contains("client reset"), "{e}");
    }
}
