//! `reelctl bench tape`: writes then reads SIZE bytes through the SSC
//! driver into the in-process VTL, per block size, and runs `dd` over the
//! same amount on the same filesystem in the same run (see [`crate::bench`]
//! for the fairness rules).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use reel_drivers::ScsiError;
use reel_drivers::tape::{ReadOutcome, TapeDrive};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibraryError, VirtualLibrary, VtlTransport};

use crate::bench::{self, BlockResult, DdError, Pass, Prng};
use crate::vtlcmd::library_config;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Bytes per pass: GiB as a number (4, 0.5) or with a unit (512M).
    #[arg(long, default_value = "4", value_parser = parse_gib)]
    pub size: u64,
    /// Directory on the filesystem to measure (default: the current one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Block sizes to run.
    #[arg(long, value_delimiter = ',', default_value = "256K,1M", value_parser = parse_block)]
    pub block_sizes: Vec<usize>,
    /// Rounds per block size (tape and dd alternate; medians are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub rounds: u32,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Scsi(#[from] ScsiError),
    #[error(transparent)]
    Dd(#[from] DdError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("read back {got} bytes, wrote {want}")]
    Short { got: u64, want: u64 },
}

/// "4" and "0.5" are GiB; "512M" etc. use [`bench::parse_size`].
pub fn parse_gib(s: &str) -> Result<u64, String> {
    if let Ok(g) = s.trim().parse::<f64>() {
        if !(g.is_finite() && g > 0.0 && g <= 1024.0) {
            return Err(format!("size {s} GiB out of range"));
        }
        return Ok((g * f64::from(1u32 << 30)) as u64);
    }
    bench::parse_size(s)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("bad size {s:?} (GiB, or with a unit: 512M)"))
}

fn parse_block(s: &str) -> Result<usize, String> {
    bench::parse_size(s)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0 && n <= 16 << 20)
        .ok_or_else(|| format!("bad block size {s:?}"))
}

/// Incompressible data for the tape side, generated before any timer
/// starts: a pool larger than the drive model's buffers, read at shifting
/// offsets so consecutive records differ.
struct Pool {
    data: Vec<u8>,
}

impl Pool {
    const SIZE: usize = 32 << 20;

    fn new(block: usize) -> Pool {
        let mut data = vec![0u8; Self::SIZE + block];
        Prng::new(0xbe4c_0001).fill(&mut data);
        Pool { data }
    }

    fn record(&self, i: u64, block: usize) -> &[u8] {
        // 4099 is prime: offsets cycle through the whole pool.
        let off = (i.wrapping_mul(4099 * 64) % Self::SIZE as u64) as usize;
        &self.data[off..off + block]
    }
}

/// Write, then read from disk (cache dropped), then read again from the
/// page cache.
fn tape_pass(
    dir: &Path,
    block: usize,
    count: u64,
    pool: &Pool,
) -> Result<(Pass, Pass, Pass), BenchError> {
    let lib = VirtualLibrary::create(dir, library_config(1, Generation::Lto8))?;
    let mut spec = CartridgeSpec::new("BENCH0L8", Generation::Lto8);
    // Room for the run and then some, so EW never triggers.
    spec.capacity = spec.capacity.max(block as u64 * count * 2);
    lib.create_cartridge(&spec)?;
    lib.insert(0, &spec.barcode)?;
    let mut d: TapeDrive<VtlTransport> = TapeDrive::new(lib.drive_transport(0)?);
    d.wait_ready(Duration::from_secs(60))?;
    d.set_block_size(0)?;
    d.set_compression(false)?;
    d.rewind(false)?;

    let start = Instant::now();
    for i in 0..count {
        d.write(pool.record(i, block))?;
    }
    // Synchronous filemark: everything is on the medium (fdatasync), as
    // dd's conv=fdatasync.
    d.write_filemarks(1, false)?;
    let write = Pass::new(block as u64 * count, start.elapsed());

    bench::drop_cache(dir)?;
    let cold = tape_read(&mut d, block, count)?;
    let warm = tape_read(&mut d, block, count)?;
    Ok((write, cold, warm))
}

fn tape_read(
    d: &mut TapeDrive<VtlTransport>,
    block: usize,
    count: u64,
) -> Result<Pass, BenchError> {
    d.rewind(false)?;
    let mut buf = vec![0u8; block];
    let mut got = 0u64;
    let start = Instant::now();
    loop {
        match d.read(&mut buf)? {
            ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => got += len as u64,
            ReadOutcome::LongBlock { len, .. } => got += len as u64,
            ReadOutcome::Filemark | ReadOutcome::EndOfData => break,
        }
    }
    let read = Pass::new(got, start.elapsed());
    if got != block as u64 * count {
        return Err(BenchError::Short {
            got,
            want: block as u64 * count,
        });
    }
    Ok(read)
}

/// Runs every block size; `say` gets progress lines.
pub fn run(args: &BenchArgs, say: &mut dyn FnMut(&str)) -> Result<String, BenchError> {
    let base = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let work = tempfile::Builder::new()
        .prefix("reel-bench-")
        .tempdir_in(&base)?;
    let mut results = Vec::new();
    for &block in &args.block_sizes {
        let count = (args.size / block as u64).max(1);
        let pool = Pool::new(block);
        // Rounds alternate tape and dd so that load from other processes
        // hits both sides alike; each figure is the median of its rounds.
        let mut rounds = Vec::new();
        for round in 1..=args.rounds {
            say(&format!(
                "block {}, round {round}/{}: tape then dd, {} each ...",
                bench::human_size(block as u64),
                args.rounds,
                bench::human_size(block as u64 * count)
            ));
            let vtl = work.path().join(format!("vtl-{block}"));
            let (tape_write, tape_read, tape_read_warm) = tape_pass(&vtl, block, count, &pool)?;
            std::fs::remove_dir_all(&vtl)?;
            let file = work.path().join(format!("dd-{block}"));
            let dd_write = bench::dd_write(&file, block, count)?;
            bench::drop_cache(&file)?;
            let dd_read = bench::dd_read(&file, block, count)?;
            let dd_read_warm = bench::dd_read(&file, block, count)?;
            std::fs::remove_file(&file)?;
            rounds.push(BlockResult {
                block_size: block,
                tape_write,
                tape_read,
                dd_write,
                dd_read,
                tape_read_warm,
                dd_read_warm,
            });
        }
        results.push(BlockResult::median(&rounds));
    }
    let bytes = args
        .block_sizes
        .first()
        .map_or(args.size, |&b| (args.size / b as u64).max(1) * b as u64);
    if args.json {
        let v = serde_json::json!({
            "size": bytes,
            "dir": base,
            "results": results.iter().map(|r| serde_json::json!({
                "block_size": r.block_size,
                "tape_write": r.tape_write, "tape_read": r.tape_read,
                "dd_write": r.dd_write, "dd_read": r.dd_read,
                "tape_write_mb_s": r.tape_write.mb_per_s(),
                "tape_read_mb_s": r.tape_read.mb_per_s(),
                "dd_write_mb_s": r.dd_write.mb_per_s(),
                "dd_read_mb_s": r.dd_read.mb_per_s(),
                "write_ratio": r.write_ratio(), "read_ratio": r.read_ratio(),
                "tape_read_warm_mb_s": r.tape_read_warm.mb_per_s(),
                "dd_read_warm_mb_s": r.dd_read_warm.mb_per_s(),
                "read_warm_ratio": r.read_warm_ratio(),
            })).collect::<Vec<_>>(),
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    }
    Ok(bench::format_report(bytes, &base, &results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_gib("4"), Ok(4 << 30));
        assert_eq!(parse_gib("0.5"), Ok(512 << 20));
        assert_eq!(parse_gib("512M"), Ok(512 << 20));
        assert!(parse_gib("0").is_err());
        assert!(parse_gib("-1").is_err());
        assert!(parse_gib("lots").is_err());
        assert_eq!(parse_block("256K"), Ok(256 << 10));
        assert!(parse_block("0").is_err());
    }

    #[test]
    fn pool_records_stay_in_bounds_and_differ() {
        let p = Pool::new(1 << 20);
        assert_ne!(p.record(0, 1 << 20), p.record(1, 1 << 20));
        for i in [0, 1, 127, 128, u64::MAX] {
            assert_eq!(p.record(i, 1 << 20).len(), 1 << 20);
        }
    }

    #[test]
    fn tiny_run_reports_both_sides() {
        let d = tempfile::tempdir().unwrap();
        let args = BenchArgs {
            size: 4 << 20,
            dir: Some(d.path().to_path_buf()),
            block_sizes: vec![256 << 10, 1 << 20],
            rounds: 2,
            json: true,
        };
        let out = run(&args, &mut |_| {}).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let r = v["results"].as_array().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["tape_read"]["bytes"], 4 << 20);
        assert_eq!(r[1]["dd_write"]["bytes"], 4 << 20);
        assert!(r[1]["write_ratio"].as_f64().unwrap() > 0.0);
        // Nothing left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
