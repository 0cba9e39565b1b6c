//! Benchmark support: a fast PRNG for incompressible test data, the `dd`
//! baseline and the report. The tape side lives with the driver glue in
//! [`crate::tapebench`].
//!
//! Fairness (documented in the README): both sides move the same number of
//! bytes with the same block size on the same filesystem, and both end
//! their write pass with one fdatasync (the tape side through a synchronous
//! WRITE FILEMARKS, dd through `conv=fdatasync`). dd reads `/dev/zero`
//! because a non-compressing filesystem stores zeros and random bytes at the
//! same cost, which keeps dd's own source cost near zero (the tape side's
//! data is generated before the timer starts).
//!
//! Reads are measured twice on each side. First from disk: after the write
//! pass (whose data is durable, so its pages are clean) the page cache of
//! the written files is dropped with `posix_fadvise(DONTNEED)`, which needs
//! no privileges; this is what a restore sees. Then again from the page
//! cache, which measures only CPU cost: there the VTL verifies the CRC32C of
//! every record, a second pass over the data that dd does not make. The goal
//! applies to the write and disk-read ratios; the cached ratio is printed
//! for what it shows about per-record CPU cost.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// xoshiro256** (Blackman/Vigna): fast, not cryptographic.
#[derive(Debug, Clone)]
pub struct Prng {
    s: [u64; 4],
}

impl Prng {
    pub fn new(seed: u64) -> Prng {
        // splitmix64 expands the seed so no state word is zero.
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Prng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// One timed pass.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Pass {
    pub bytes: u64,
    pub seconds: f64,
}

impl Pass {
    pub fn new(bytes: u64, elapsed: Duration) -> Pass {
        Pass {
            bytes,
            seconds: elapsed.as_secs_f64(),
        }
    }

    /// Decimal megabytes per second (as dd reports them).
    pub fn mb_per_s(&self) -> f64 {
        if self.seconds <= 0.0 {
            return f64::INFINITY;
        }
        self.bytes as f64 / 1e6 / self.seconds
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DdError {
    #[error("cannot run dd: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("dd failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
}

fn run_dd(args: &[String]) -> Result<Duration, DdError> {
    let start = Instant::now();
    let out = Command::new("dd").args(args).output()?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(DdError::Failed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(elapsed)
}

/// `dd if=/dev/zero of=FILE bs=B count=N conv=fdatasync`, timed from spawn
/// to exit.
pub fn dd_write(file: &Path, block: usize, count: u64) -> Result<Pass, DdError> {
    let elapsed = run_dd(&[
        "if=/dev/zero".into(),
        format!("of={}", file.display()),
        format!("bs={block}"),
        format!("count={count}"),
        "conv=fdatasync".into(),
        "status=none".into(),
    ])?;
    Ok(Pass::new(block as u64 * count, elapsed))
}

/// `dd if=FILE of=/dev/null bs=B`.
pub fn dd_read(file: &Path, block: usize, count: u64) -> Result<Pass, DdError> {
    let elapsed = run_dd(&[
        format!("if={}", file.display()),
        "of=/dev/null".into(),
        format!("bs={block}"),
        format!("count={count}"),
        "status=none".into(),
    ])?;
    Ok(Pass::new(block as u64 * count, elapsed))
}

/// Drops the page cache of `path` (a file, or every file below a
/// directory). The data must already be durable: only clean pages go.
pub fn drop_cache(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        for e in std::fs::read_dir(path)? {
            drop_cache(&e?.path())?;
        }
        return Ok(());
    }
    let f = std::fs::File::open(path)?;
    nix::fcntl::posix_fadvise(
        &f,
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .map_err(std::io::Error::from)
}

/// Results for one block size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockResult {
    pub block_size: usize,
    pub tape_write: Pass,
    pub tape_read: Pass,
    pub dd_write: Pass,
    pub dd_read: Pass,
    pub tape_read_warm: Pass,
    pub dd_read_warm: Pass,
}

impl BlockResult {
    pub fn write_ratio(&self) -> f64 {
        self.tape_write.mb_per_s() / self.dd_write.mb_per_s()
    }
    pub fn read_ratio(&self) -> f64 {
        self.tape_read.mb_per_s() / self.dd_read.mb_per_s()
    }
    /// Per-field median of several rounds of the same block size.
    pub fn median(rounds: &[BlockResult]) -> BlockResult {
        let med = |f: fn(&BlockResult) -> Pass| {
            let mut v: Vec<Pass> = rounds.iter().map(f).collect();
            v.sort_by(|a, b| a.mb_per_s().total_cmp(&b.mb_per_s()));
            v[v.len() / 2]
        };
        BlockResult {
            block_size: rounds.first().map_or(0, |r| r.block_size),
            tape_write: med(|r| r.tape_write),
            tape_read: med(|r| r.tape_read),
            dd_write: med(|r| r.dd_write),
            dd_read: med(|r| r.dd_read),
            tape_read_warm: med(|r| r.tape_read_warm),
            dd_read_warm: med(|r| r.dd_read_warm),
        }
    }

    pub fn read_warm_ratio(&self) -> f64 {
        self.tape_read_warm.mb_per_s() / self.dd_read_warm.mb_per_s()
    }
}

pub fn human_size(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (u, name) in UNITS {
        if n >= *u && n.is_multiple_of(*u) {
            return format!("{} {name}", n / u);
        }
    }
    for (u, name) in UNITS {
        if n >= *u {
            return format!("{:.2} {name}", n as f64 / *u as f64);
        }
    }
    format!("{n} B")
}

/// The human-readable table.
pub fn format_report(size: u64, dir: &Path, results: &[BlockResult]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reel tape benchmark: {} per pass, in-process VTL vs dd, both in {}",
        human_size(size),
        dir.display()
    );
    let _ = writeln!(
        out,
        "{:<8} {:>12} {:>12} {:>6}   {:>12} {:>12} {:>6}   {:>12} {:>12} {:>6}",
        "block",
        "tape write",
        "dd write",
        "ratio",
        "tape read",
        "dd read",
        "ratio",
        "cached read",
        "dd cached",
        "ratio"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<8} {:>7.1} MB/s {:>7.1} MB/s {:>6.2}   {:>7.1} MB/s {:>7.1} MB/s {:>6.2}   {:>7.1} MB/s {:>7.1} MB/s {:>6.2}",
            human_size(r.block_size as u64),
            r.tape_write.mb_per_s(),
            r.dd_write.mb_per_s(),
            r.write_ratio(),
            r.tape_read.mb_per_s(),
            r.dd_read.mb_per_s(),
            r.read_ratio(),
            r.tape_read_warm.mb_per_s(),
            r.dd_read_warm.mb_per_s(),
            r.read_warm_ratio()
        );
    }
    let min = results
        .iter()
        .flat_map(|r| [r.write_ratio(), r.read_ratio()])
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        let _ = writeln!(
            out,
            "lowest write/disk-read ratio {:.2} (goal >= 0.90): {}",
            min,
            if min >= 0.9 { "met" } else { "NOT met" }
        );
    }
    out
}

/// Parses "4G", "512M", "64k", "1GiB", "100MB" or plain bytes (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic_and_not_zero() {
        let mut a = Prng::new(1);
        let mut b = Prng::new(1);
        let mut x = vec![0u8; 1003];
        let mut y = vec![0u8; 1003];
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert!(x.iter().filter(|&&v| v == 0).count() < 40);
        let mut c = Prng::new(2);
        c.fill(&mut y);
        assert_ne!(x, y);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("5T"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
        assert_eq!(human_size(256 << 10), "256 KiB");
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(4 << 30), "4 GiB");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(10), "10 B");
    }

    #[test]
    fn report_and_ratios() {
        let p = |bytes, s| Pass { bytes, seconds: s };
        let r = BlockResult {
            block_size: 1 << 20,
            tape_write: p(2_000_000_000, 2.0),
            dd_write: p(2_000_000_000, 1.8),
            tape_read: p(2_000_000_000, 1.0),
            dd_read: p(2_000_000_000, 1.0),
            tape_read_warm: p(2_000_000_000, 1.0),
            dd_read_warm: p(2_000_000_000, 0.5),
        };
        assert!((r.write_ratio() - 0.9).abs() < 1e-9);
        assert!((r.read_ratio() - 1.0).abs() < 1e-9);
        assert!((r.read_warm_ratio() - 0.5).abs() < 1e-9);
        let s = format_report(2_000_000_000, Path::new("/x"), std::slice::from_ref(&r));
        assert!(s.contains("1 MiB"), "{s}");
        assert!(s.contains("1000.0 MB/s"), "{s}");
        let mut slow = r.clone();
        slow.tape_write = p(2_000_000_000, 4.0);
        let mut fast = r.clone();
        fast.tape_write = p(2_000_000_000, 1.0);
        let m = BlockResult::median(&[slow, fast, r.clone()]);
        assert_eq!(m.tape_write.seconds, 2.0);
        // The cached-read ratio is shown but not held to the goal.
        assert!(s.contains(" 0.50\n"), "{s}");
        assert!(
            s.contains("lowest write/disk-read ratio 0.90 (goal >= 0.90): met"),
            "{s}"
        );
    }

    #[test]
    fn dd_roundtrip_small() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dd.bin");
        let w = dd_write(&f, 4096, 4).unwrap();
        assert_eq!(w.bytes, 16384);
        assert_eq!(std::fs::metadata(&f).unwrap().len(), 16384);
        let r = dd_read(&f, 4096, 4).unwrap();
        assert_eq!(r.bytes, 16384);
        assert!(dd_read(&dir.path().join("missing"), 4096, 1).is_err());
        drop_cache(dir.path()).unwrap();
        assert!(drop_cache(&dir.path().join("missing")).is_err());
    }
}
