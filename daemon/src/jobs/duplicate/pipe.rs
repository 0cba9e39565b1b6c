//! The bounded pipe between the two sides of a copy: the reading side
//! fills buffers of [`PIPE_CHUNK`] bytes and sends them on; at most
//! [`PIPE_BUFFERS`] are in flight, so a slow writer holds the reader back
//! instead of memory filling up. The end of the stream is the sender
//! dropped; a failure of the reading side is sent as an error, so the
//! writer never takes a short stream for a complete one.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::jobs::source::{BackupSource, StreamDigest};
use crate::jobs::{ExecError, ExecResult};

/// Buffers in flight between the reader thread and the writer.
pub const PIPE_BUFFERS: usize = 4;
/// Bytes per buffer.
pub const PIPE_CHUNK: usize = 1 << 20;

/// A pipe: its writing and its reading end.
pub fn pipe() -> (PipeWriter, PipeSource) {
    let (tx, rx) = sync_channel(PIPE_BUFFERS);
    (
        PipeWriter::new(tx),
        PipeSource {
            rx,
            cur: Vec::new(),
            pos: 0,
            started: false,
            ended: false,
        },
    )
}

/// The writing end of the pipe: fills buffers and sends them on.
pub struct PipeWriter {
    tx: SyncSender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    digest: StreamDigest,
    /// The writer went away: its own error is the one to report.
    gone: bool,
}

impl PipeWriter {
    fn new(tx: SyncSender<io::Result<Vec<u8>>>) -> PipeWriter {
        PipeWriter {
            tx,
            buf: Vec::with_capacity(PIPE_CHUNK),
            digest: StreamDigest::new(),
            gone: false,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(PIPE_CHUNK));
        self.tx.send(Ok(full)).map_err(|_| {
            self.gone = true;
            io::Error::other("the copy's writer stopped")
        })
    }

    /// What was written so far.
    pub fn digest(&self) -> &StreamDigest {
        &self.digest
    }

    /// Sends what is buffered; then the source's end may be signalled.
    pub fn finish(&mut self) -> ExecResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send().map_err(ExecError::Stream)
    }

    /// Passes a failure of the reading side to the writer (so it never
    /// takes a short stream for a complete one) and says which error
    /// tells what happened: the writer's own when it went away first.
    pub fn fail(&self, e: ExecError) -> ReadFail {
        if self.gone {
            return ReadFail::WriterGone;
        }
        let _ = self.tx.send(Err(io::Error::other(e.to_string())));
        ReadFail::Source(e)
    }
}

/// Why the reading side of a copy stopped.
pub enum ReadFail {
    /// The writer stopped first; its error is reported.
    WriterGone,
    /// The source could not be read, or did not match its digest.
    Source(ExecError),
}

/// The attempt's result from both sides of the pipe.
pub fn outcome<T>(read: Result<(), ReadFail>, written: ExecResult<T>) -> ExecResult<T> {
    match (read, written) {
        (Ok(()), w) => w,
        (Err(ReadFail::Source(e)), _) => Err(e),
        (Err(ReadFail::WriterGone), Err(e)) => Err(e),
        (Err(ReadFail::WriterGone), Ok(_)) => {
            Err(ExecError::Layout("the copy ended before its source".into()))
        }
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(PIPE_CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.digest.update(&data[..n]);
        if self.buf.len() == PIPE_CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: the backup executor's data stream. It cannot be
/// replayed once read; a retry is a new attempt with a new reader.
pub struct PipeSource {
    rx: Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
    started: bool,
    ended: bool,
}

impl Read for PipeSource {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.started = true;
        while self.pos == self.cur.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(buf)) => {
                    self.cur = buf;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                // The reader finished (after its digest check).
                Err(_) => self.ended = true,
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl BackupSource for PipeSource {
    fn restart(&mut self) -> io::Result<bool> {
        Ok(!self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_in_order_and_end_after_the_writer_drops() {
        let (mut w, mut r) = pipe();
        let data: Vec<u8> = (0..(PIPE_CHUNK * 2 + 1000))
            .map(|i| (i % 251) as u8)
            .collect();
        let back = std::thread::scope(|s| {
            let h = s.spawn(move || {
                let mut v = Vec::new();
                r.read_to_end(&mut v).map(|_| v)
            });
            for part in data.chunks(70_001) {
                w.write_all(part).unwrap();
            }
            w.finish().unwrap();
            assert_eq!(w.digest().bytes(), data.len() as u64);
            drop(w);
            h.join().unwrap().unwrap()
        });
        assert!(back == data);
    }

    #[test]
    fn a_reading_side_failure_reaches_the_writer_as_an_error() {
        let (mut w, mut r) = pipe();
        w.write_all(&[7u8; 100]).unwrap();
        w.finish().unwrap();
        let f = w.fail(ExecError::Layout("source broken".into()));
        assert!(matches!(f, ReadFail::Source(_)));
        drop(w);
        let mut v = Vec::new();
        let e = r.read_to_end(&mut v).unwrap_err();
        assert!(e.to_string().contains("source broken"), "{e}");
        assert_eq!(v, vec![7u8; 100]);
        // Not replayable once read.
        assert!(!r.restart().unwrap());
        // The error ends the stream for good.
        assert_eq!(r.read(&mut [0u8; 8]).unwrap(), 0);
    }

    #[test]
    fn a_stopped_writer_is_reported_with_its_own_error() {
        let (mut w, r) = pipe();
        assert!(!w.gone);
        drop(r);
        let e = w.write_all(&vec![0u8; PIPE_CHUNK]).unwrap_err();
        assert!(e.to_string().contains("writer stopped"));
        let f = w.fail(ExecError::Stream(e));
        assert!(matches!(f, ReadFail::WriterGone));
        let written: ExecResult<u32> = Err(ExecError::NotFound("tape drive gone".into()));
        let got = outcome(Err(f), written).unwrap_err();
        assert!(matches!(got, ExecError::NotFound(_)), "{got:?}");
        // A source failure wins over whatever the writer made of it.
        let got = outcome(
            Err(ReadFail::Source(ExecError::Layout("bad".into()))),
            Ok(5u32),
        )
        .unwrap_err();
        assert!(matches!(got, ExecError::Layout(_)));
        assert_eq!(outcome(Ok(()), Ok(5u32)).unwrap(), 5);
    }

    #[test]
    fn an_unread_source_may_start_over() {
        let (_w, mut r) = pipe();
        assert!(r.restart().unwrap());
    }
}
