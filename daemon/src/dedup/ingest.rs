//! Splits an input stream into chunks: tar-aware when the stream is a tar
//! archive, plain FastCDC otherwise.
//!
//! Every input byte goes to exactly one chunk, in order, so the restored
//! stream is the concatenation of the chunks whatever the parser decided:
//! tar parsing only chooses *where* to cut. Rules in tar mode:
//! - headers (including GNU 'L'/'K', pax 'x'/'g', GNU sparse extension
//!   blocks) and the data of small members accumulate in a "pack" chunk;
//! - a pack is cut before a member whose name hashes to an anchor value (one
//!   name in two) once it holds at least `pack_min` bytes (avg/64: 16 KiB at
//!   the default 1 MiB), so pack boundaries depend on the file names and a
//!   changed small file only changes its own small pack in the next
//!   generation (per-file chunking, what restic and borg do, stored 5-10 %
//!   per generation on real trees where blind 1 MiB CDC stored 42-46 %),
//!   while runs of tiny files still share a chunk; it is also cut before it
//!   would pass `max`;
//! - a large member's data starts a new chunk and is cut with CDC inside the
//!   member, so it dedups as the file would on its own;
//! - anything that stops parsing as tar (or two zero blocks: the archive's
//!   end) switches to CDC for the rest of the stream, never to an error.

use std::io::{self, Read};

use super::chunker::Cdc;
use super::tar::{self, BLOCK};
use super::{DedupError, IngestKind};

/// Receives the chunks in stream order.
pub trait ChunkSink {
    fn chunk(&mut self, data: &[u8]) -> Result<(), DedupError>;
}

/// Ingest parameters derived from the store's chunk sizes.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub cdc: Cdc,
    /// Members with less data than this are packed with the headers.
    pub small_max: u64,
    /// A pack is not cut at a name anchor before it holds this much.
    pub pack_min: usize,
    /// One name in `anchor_every` is an anchor.
    pub anchor_every: u64,
}

impl Params {
    pub fn new(cdc: Cdc) -> Params {
        Params {
            cdc,
            small_max: cdc.min as u64,
            pack_min: (cdc.avg / 64).max(BLOCK),
            anchor_every: 2,
        }
    }
}

/// Largest pax/GNU extension data we parse (larger ones pass through as bytes).
const MAX_EXTENSION: u64 = 16 << 20;

/// Buffered source with explicit fill/consume, so chunks are cut from the
/// buffer without copying.
struct Src<'a> {
    r: &'a mut dyn Read,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
}

impl<'a> Src<'a> {
    fn new(r: &'a mut dyn Read, cap: usize) -> Src<'a> {
        Src {
            r,
            buf: vec![0; cap],
            pos: 0,
            len: 0,
            eof: false,
        }
    }

    /// Makes at least `want` bytes available unless the input ends first;
    /// returns how many are available.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        let want = want.min(self.buf.len());
        if self.len - self.pos >= want || self.eof {
            return Ok(self.len - self.pos);
        }
        if self.pos + want > self.buf.len() {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        while self.len - self.pos < want {
            match self.r.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.len - self.pos)
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.pos..self.len]
    }

    fn consume(&mut self, n: usize) {
        self.pos += n.min(self.len - self.pos);
    }
}

struct Chunker<'s> {
    p: Params,
    sink: &'s mut dyn ChunkSink,
    pack: Vec<u8>,
}

impl Chunker<'_> {
    fn flush_pack(&mut self) -> Result<(), DedupError> {
        if !self.pack.is_empty() {
            self.sink.chunk(&self.pack)?;
            self.pack.clear();
        }
        Ok(())
    }

    /// Appends to the pack, cutting it first when it would pass `max`.
    /// Returns true when a cut happened.
    fn pack_push(&mut self, mut data: &[u8]) -> Result<bool, DedupError> {
        let mut cut = false;
        while !data.is_empty() {
            if self.pack.len() >= self.p.cdc.max
                || (self.pack.len() + data.len() > self.p.cdc.max && !self.pack.is_empty())
            {
                self.flush_pack()?;
                cut = true;
            }
            let n = data.len().min(self.p.cdc.max - self.pack.len());
            self.pack.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(cut)
    }

    /// Moves `n` bytes of input into the pack (fewer if the input ends).
    fn pack_copy(&mut self, src: &mut Src, mut n: u64) -> Result<bool, DedupError> {
        let mut cut = false;
        while n > 0 {
            let want = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20);
            let got = src.fill(want)?.min(want);
            if got == 0 {
                break;
            }
            let data = &src.buf[src.pos..src.pos + got];
            cut |= pack_push_split(self, data)?;
            src.consume(got);
            n -= got as u64;
        }
        Ok(cut)
    }

    /// CDC over the next `limit` bytes (or to the end of input).
    fn cdc(&mut self, src: &mut Src, limit: Option<u64>) -> Result<(), DedupError> {
        let max = self.p.cdc.max;
        let mut left = limit.unwrap_or(u64::MAX);
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(max);
            let got = src.fill(want)?.min(want);
            if got == 0 {
                break;
            }
            let data = &src.buf[src.pos..src.pos + got];
            let n = self.p.cdc.cut(data);
            self.sink.chunk(&data[..n])?;
            src.consume(n);
            left -= n as u64;
        }
        Ok(())
    }

    fn tar(&mut self, src: &mut Src) -> Result<(), DedupError> {
        let mut pax_size: Option<u64> = None;
        // Where in the pack the current member's first header starts.
        let mut group_start: Option<usize> = None;
        let mut zeros = 0;
        loop {
            let n = src.fill(BLOCK)?;
            if n == 0 {
                return self.flush_pack();
            }
            if n < BLOCK {
                break;
            }
            let mut block = [0u8; BLOCK];
            block.copy_from_slice(&src.avail()[..BLOCK]);
            if tar::is_zero_block(&block) {
                zeros += 1;
                self.pack_push(&block)?;
                src.consume(BLOCK);
                if zeros >= 2 {
                    break;
                }
                continue;
            }
            zeros = 0;
            let Ok(h) = tar::parse_header(&block) else {
                break;
            };
            if group_start.is_none() {
                group_start = Some(self.pack.len());
            }
            if self.pack_push(&block)? {
                group_start = None;
            }
            src.consume(BLOCK);
            if h.sparse_extended {
                loop {
                    if src.fill(BLOCK)? < BLOCK {
                        break;
                    }
                    block.copy_from_slice(&src.avail()[..BLOCK]);
                    if self.pack_push(&block)? {
                        group_start = None;
                    }
                    src.consume(BLOCK);
                    if !tar::sparse_block_continues(&block) {
                        break;
                    }
                }
            }
            if h.is_extension() {
                if h.typeflag == b'x' && h.size <= MAX_EXTENSION {
                    let want = tar::padded(h.size) as usize;
                    let got = src.fill(want)?.min(want);
                    let size = h.size as usize;
                    if got >= size {
                        pax_size = tar::pax_size(&src.avail()[..size]).ok().flatten();
                    }
                }
                if self.pack_copy(src, tar::padded(h.size))? {
                    group_start = None;
                }
                continue;
            }
            let size = pax_size.take().unwrap_or(h.size);
            if let Some(gs) = group_start.take()
                && gs >= self.p.pack_min
                && fnv1a(&h.name).is_multiple_of(self.p.anchor_every)
            {
                self.sink.chunk(&self.pack[..gs])?;
                self.pack.drain(..gs);
            }
            if size < self.p.small_max {
                self.pack_copy(src, tar::padded(size))?;
            } else {
                self.flush_pack()?;
                self.cdc(src, Some(size))?;
                self.pack_copy(src, tar::padded(size) - size)?;
            }
        }
        // Not tar (any more): the rest is a plain byte stream.
        self.flush_pack()?;
        self.cdc(src, None)
    }
}

/// `pack_push` over a slice borrowed from the source buffer.
fn pack_push_split(c: &mut Chunker, data: &[u8]) -> Result<bool, DedupError> {
    c.pack_push(data)
}

fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Cuts `input` into chunks for `sink`.
pub fn ingest(
    input: &mut dyn Read,
    kind: IngestKind,
    p: Params,
    sink: &mut dyn ChunkSink,
) -> Result<(), DedupError> {
    let cap = (4 * p.cdc.max).max(8 << 20);
    let mut src = Src::new(input, cap);
    let mut c = Chunker {
        p,
        sink,
        pack: Vec::with_capacity(p.cdc.max),
    };
    let tar_mode = match kind {
        IngestKind::Bytes => false,
        IngestKind::Tar => true,
        IngestKind::Auto => {
            let n = src.fill(BLOCK)?;
            n >= BLOCK && {
                let mut block = [0u8; BLOCK];
                block.copy_from_slice(&src.avail()[..BLOCK]);
                !tar::is_zero_block(&block) && tar::parse_header(&block).is_ok()
            }
        }
    };
    if tar_mode {
        c.tar(&mut src)
    } else {
        c.cdc(&mut src, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<Vec<u8>>);
    impl ChunkSink for Collect {
        fn chunk(&mut self, data: &[u8]) -> Result<(), DedupError> {
            assert!(!data.is_empty());
            self.0.push(data.to_vec());
            Ok(())
        }
    }

    fn params() -> Params {
        Params::new(Cdc::new(1024, 4096, 16384).unwrap())
    }

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn header(name: &str, size: u64, typeflag: u8) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[100..108].copy_from_slice(b"0000644\0");
        b[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        b[156] = typeflag;
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum::<u32>() + 8 * 32;
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    fn run(input: &[u8], kind: IngestKind) -> Vec<Vec<u8>> {
        let mut c = Collect(Vec::new());
        ingest(&mut &input[..], kind, params(), &mut c).unwrap();
        assert_eq!(c.0.concat(), input, "chunks concatenate to the input");
        c.0
    }

    #[test]
    fn large_member_data_starts_a_chunk() {
        let big = noise(50_000, 3);
        let mut t = Vec::new();
        t.extend_from_slice(&header("small", 10, b'0'));
        t.extend_from_slice(&[7u8; 512]);
        t.extend_from_slice(&header("big", big.len() as u64, b'0'));
        t.extend_from_slice(&big);
        t.resize(tar::padded(t.len() as u64) as usize, 0);
        t.extend_from_slice(&[0u8; 1024]);
        let chunks = run(&t, IngestKind::Auto);
        assert_eq!(
            chunks[0].len(),
            3 * 512,
            "headers and the small file packed"
        );
        let data: Vec<u8> = chunks[1..].concat();
        assert!(data.starts_with(&big));
        // The member's data ends on a chunk boundary too.
        let mut pos = 0;
        let mut ends = Vec::new();
        for c in &chunks[1..] {
            pos += c.len();
            ends.push(pos);
        }
        assert!(ends.contains(&big.len()));
    }

    #[test]
    fn garbage_after_a_header_falls_back_to_cdc() {
        let mut t = Vec::new();
        t.extend_from_slice(&header("a", 3, b'0'));
        t.extend_from_slice(&[1u8; 512]);
        t.extend_from_slice(&noise(40_000, 9));
        let chunks = run(&t, IngestKind::Tar);
        assert_eq!(chunks[0].len(), 1024);
        assert!(chunks.len() > 3);
    }

    #[test]
    fn non_tar_and_truncated_inputs_round_trip() {
        run(&noise(100_000, 5), IngestKind::Auto);
        run(&noise(100_000, 5), IngestKind::Tar);
        run(&[], IngestKind::Auto);
        run(&[0u8; 700], IngestKind::Tar);
        let mut t = header("cut", 100_000, b'0').to_vec();
        t.extend_from_slice(&noise(30_000, 1));
        run(&t, IngestKind::Auto);
    }

    #[test]
    fn pax_size_overrides_the_header_size() {
        let big = noise(40_000, 11);
        let rec = format!("14 size={}\n", big.len());
        assert_eq!(rec.len(), 14);
        let mut t = Vec::new();
        t.extend_from_slice(&header("PaxHeaders/big", rec.len() as u64, b'x'));
        let mut d = rec.into_bytes();
        d.resize(512, 0);
        t.extend_from_slice(&d);
        // The ustar size field says 0; pax says 40000.
        t.extend_from_slice(&header("big", 0, b'0'));
        t.extend_from_slice(&big);
        t.resize(tar::padded(t.len() as u64) as usize, 0);
        let chunks = run(&t, IngestKind::Auto);
        assert_eq!(chunks[0].len(), 3 * 512);
        assert!(chunks[1..].concat().starts_with(&big));
    }
}
