//! Tape streaming throughput through reel's [`TapeDrive`], the same code
//! path for every transport: write `size` bytes in `block`-sized records,
//! write a filemark, rewind, read them back and verify the first and last
//! records.

use std::time::{Duration, Instant};

use reel_drivers::scsi::transport::ScsiTransport;
use reel_drivers::tape::{ReadOutcome, TapeDrive};

/// Measured rates of one leg.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub bytes: u64,
    pub write: Duration,
    pub read: Duration,
}

impl Throughput {
    fn mbs(bytes: u64, d: Duration) -> f64 {
        bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
    }

    pub fn write_mbs(&self) -> f64 {
        Throughput::mbs(self.bytes, self.write)
    }

    pub fn read_mbs(&self) -> f64 {
        Throughput::mbs(self.bytes, self.read)
    }

    /// Bytes moved both ways over the total time.
    pub fn total_mbs(&self) -> f64 {
        Throughput::mbs(2 * self.bytes, self.write + self.read)
    }
}

/// Why a leg failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Scsi(#[from] reel_drivers::ScsiError),
    #[error("read back: {0}")]
    Verify(String),
}

/// Record `i` of a run: a counter stamped in front of a fixed pattern, so
/// a lost or repeated record is noticed without hashing every byte.
fn fill(buf: &mut [u8], i: u64) {
    if let Some(head) = buf.get_mut(..8) {
        head.copy_from_slice(&i.to_be_bytes());
    }
}

/// Writes then reads `size` bytes (rounded down to whole `block`s, at least
/// one) from beginning of tape of a ready drive.
pub fn stream<T: ScsiTransport>(
    d: &mut TapeDrive<T>,
    size: u64,
    block: usize,
) -> Result<Throughput, BenchError> {
    let block = block.max(8);
    let records = (size / block as u64).max(1);
    let mut buf: Vec<u8> = (0..block).map(|i| (i % 251) as u8).collect();
    d.rewind(false)?;

    let t = Instant::now();
    for i in 0..records {
        fill(&mut buf, i);
        d.write(&buf)?;
    }
    d.write_filemarks(1, false)?;
    let write = t.elapsed();

    d.rewind(false)?;
    let t = Instant::now();
    for i in 0..records {
        match d.read(&mut buf)? {
            ReadOutcome::Block { len } if len == block => {}
            other => return Err(BenchError::Verify(format!("record {i}: {other:?}"))),
        }
        if buf.get(..8) != Some(&i.to_be_bytes()[..]) {
            return Err(BenchError::Verify(format!("record {i}: wrong counter")));
        }
    }
    let read = t.elapsed();
    Ok(Throughput {
        bytes: records * block as u64,
        write,
        read,
    })
}

/// Parses sizes like `2G`, `256K`, `64M`, `1000` (binary multiples).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("256K"), Some(256 << 10));
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("x1"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn rates() {
        let t = Throughput {
            bytes: 1_000_000,
            write: Duration::from_secs(1),
            read: Duration::from_millis(500),
        };
        assert!((t.write_mbs() - 1.0).abs() < 1e-9);
        assert!((t.read_mbs() - 2.0).abs() < 1e-9);
        assert!((t.total_mbs() - 2.0 / 1.5).abs() < 1e-9);
    }
}
