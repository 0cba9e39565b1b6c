//! The backup stream side of the executors: replayable sources, the
//! read-ahead feeder and the whole-stream digest.

use std::io::{Cursor, Read};

use reeld::jobs::source::{BackupSource, Feeder, OneShot, StreamDigest};

#[test]
fn digest_of_known_inputs() {
    // BLAKE3 test vectors (empty input, "abc").
    let d = StreamDigest::new();
    assert_eq!(
        d.hex(),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    let mut d = StreamDigest::new();
    d.update(b"a");
    d.update(b"bc");
    assert_eq!(d.bytes(), 3);
    assert_eq!(
        d.hex(),
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    );
}

#[test]
fn one_shot_streams_replay_only_before_the_first_read() {
    let mut s = OneShot::new(&b"hello"[..]);
    assert!(s.restart().unwrap());
    let mut b = [0u8; 2];
    s.read_exact(&mut b).unwrap();
    assert!(!s.restart().unwrap());

    let mut c = Cursor::new(b"hello".to_vec());
    c.read_exact(&mut b).unwrap();
    assert!(c.restart().unwrap());
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"hello");
}

fn feed(data: &[u8], buf_len: usize) -> (Vec<(usize, bool)>, Vec<u8>, StreamDigest) {
    let mut src = Cursor::new(data.to_vec());
    std::thread::scope(|s| {
        let (feeder, reader) = Feeder::start(s, &mut src, buf_len);
        let (mut shape, mut out) = (Vec::new(), Vec::new());
        loop {
            let f = feeder.next().unwrap();
            shape.push((f.len, f.last));
            out.extend_from_slice(&f.buf[..f.len]);
            let last = f.last;
            feeder.give_back(f.buf);
            if last {
                break;
            }
        }
        drop(feeder);
        (shape, out, reader.join().unwrap())
    })
}

#[test]
fn feeder_hands_out_the_stream_in_order_and_hashes_it() {
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (shape, out, digest) = feed(&data, 4096);
    assert_eq!(shape, [(4096, false), (4096, false), (1808, true)]);
    assert_eq!(out, data);
    assert_eq!(digest.bytes(), 10_000);
    assert_eq!(digest.hex(), blake3::hash(&data).to_hex().to_string());

    // A stream of whole buffers ends with an empty last one.
    let (shape, out, _) = feed(&data[..8192], 4096);
    assert_eq!(shape, [(4096, false), (4096, false), (0, true)]);
    assert_eq!(out.len(), 8192);
    let (shape, _, d) = feed(&[], 4096);
    assert_eq!(shape, [(0, true)]);
    assert_eq!(d.bytes(), 0);
}

/// An endless stream.
struct Endless;

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(1);
        Ok(buf.len())
    }
}

impl BackupSource for Endless {
    fn restart(&mut self) -> std::io::Result<bool> {
        Ok(true)
    }
}

#[test]
fn feeder_reader_stops_when_the_writer_gives_up() {
    let mut src = Endless;
    let bytes = std::thread::scope(|s| {
        let (feeder, reader) = Feeder::start(s, &mut src, 1024);
        let f = feeder.next().unwrap();
        assert_eq!((f.len, f.last), (1024, false));
        // The writer fails here: dropping the feeder must end the reader.
        drop(feeder);
        reader.join().unwrap().bytes()
    });
    assert!((1024..=5 * 1024).contains(&bytes), "{bytes}");
}

/// A source that hands out at most `max` bytes per read, like a pipe.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    max: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.max).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl BackupSource for Trickle {
    fn restart(&mut self) -> std::io::Result<bool> {
        self.pos = 0;
        Ok(true)
    }
}

#[test]
fn feeder_hashes_buffers_larger_than_its_hash_slice_from_short_reads() {
    // Buffers of 200 000 bytes are filled (and hashed) in several slices,
    // from reads of at most 7 000 bytes; a short read is not the end.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let mut src = Trickle {
        data: data.clone(),
        pos: 0,
        max: 7_000,
    };
    let (shape, out, digest) = std::thread::scope(|s| {
        let (feeder, reader) = Feeder::start(s, &mut src, 200_000);
        let (mut shape, mut out) = (Vec::new(), Vec::new());
        loop {
            let f = feeder.next().unwrap();
            shape.push((f.len, f.last));
            out.extend_from_slice(&f.buf[..f.len]);
            let last = f.last;
            feeder.give_back(f.buf);
            if last {
                break;
            }
        }
        drop(feeder);
        (shape, out, reader.join().unwrap())
    });
    assert_eq!(shape, [(200_000, false), (100_000, true)]);
    assert_eq!(out, data);
    assert_eq!(digest.bytes(), 300_000);
    assert_eq!(digest.hex(), blake3::hash(&data).to_hex().to_string());
}
