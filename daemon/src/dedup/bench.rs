//! `reelctl bench dedup-chunking`: FastCDC cut points + keyed BLAKE3 chunk
//! ids in one pass over an in-memory buffer, on one core. Anchor: the
//! issue's goal of 1 GB/s per core (FastCDC + BLAKE3 measured ~2 GB/s here).

use std::time::Instant;

use super::DedupError;
use super::chunker::Cdc;

#[derive(Debug, clap::Args)]
pub struct ChunkingArgs {
    /// MiB of data per run.
    #[arg(long, default_value_t = 512)]
    pub mib: usize,
    /// Runs of each variant (alternated; medians reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Average chunk size.
    #[arg(long, default_value_t = 1 << 20)]
    pub avg_chunk: usize,
    /// Read the data from this file (first --mib MiB) instead of generating it.
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
}

const GOAL_GBPS: f64 = 1.0;

fn data(args: &ChunkingArgs) -> Result<Vec<u8>, DedupError> {
    let n = args.mib << 20;
    if let Some(p) = &args.file {
        let mut d = std::fs::read(p).map_err(DedupError::io(p))?;
        d.truncate(n);
        return Ok(d);
    }
    // Incompressible pseudo-random bytes: CDC and BLAKE3 cost does not
    // depend on content, and no chunk repeats.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    Ok(v)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Returns (seconds, chunks).
fn pass(cdc: &Cdc, key: &[u8; 32], data: &[u8], hash: bool, cut: bool) -> (f64, usize, u8) {
    let t = Instant::now();
    let mut pos = 0;
    let mut n = 0;
    let mut acc = 0u8;
    while pos < data.len() {
        let len = if cut {
            cdc.cut(&data[pos..])
        } else {
            (data.len() - pos).min(cdc.avg)
        };
        if hash {
            acc ^= blake3::keyed_hash(key, &data[pos..pos + len]).as_bytes()[0];
        }
        pos += len;
        n += 1;
    }
    (t.elapsed().as_secs_f64(), n, acc)
}

pub fn run(args: &ChunkingArgs) -> Result<String, DedupError> {
    let avg = args.avg_chunk;
    let cdc = Cdc::new((avg / 4).max(64), avg, (avg * 4).min(16 << 20))?;
    let data = data(args)?;
    let key = blake3::derive_key("reel dedup bench key", b"bench");
    let gb = data.len() as f64 / 1e9;
    let (mut both, mut cut, mut hash) = (Vec::new(), Vec::new(), Vec::new());
    let mut chunks = 0;
    let mut sink = 0u8;
    for _ in 0..args.runs.max(3) {
        let (s, n, a) = pass(&cdc, &key, &data, true, true);
        both.push(gb / s);
        chunks = n;
        sink ^= a;
        let (s, _, a) = pass(&cdc, &key, &data, false, true);
        cut.push(gb / s);
        sink ^= a;
        let (s, _, a) = pass(&cdc, &key, &data, true, false);
        hash.push(gb / s);
        sink ^= a;
    }
    let (b, c, h) = (median(&mut both), median(&mut cut), median(&mut hash));
    Ok(format!(
        "dedup chunking: {} MiB, {chunks} chunks (avg {} KiB), medians of {} alternated runs, one core\n\
         FastCDC + keyed BLAKE3, one pass: {b:.2} GB/s  ({:.2}x the 1 GB/s goal)\n\
         FastCDC cut points only:          {c:.2} GB/s\n\
         keyed BLAKE3 only:                {h:.2} GB/s\n\
         (checksum {sink:02x})\n",
        data.len() >> 20,
        data.len() / chunks.max(1) / 1024,
        both.len(),
        b / GOAL_GBPS,
    ))
}
