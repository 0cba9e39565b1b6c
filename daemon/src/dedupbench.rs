//! `reelctl bench dedup`: reel's dedup store against restic and
//! borgbackup on generations of real files, chunking + hashing speed,
//! and optimized duplication over a slow, lossy link.
//!
//! Per generation (dataset: [`dataset`]) and in an order rotated each
//! generation, so no tool always runs on a warm or cold page cache:
//! - reel given the generation's tar stream (file on stdin-like Read),
//! - restic and borg given the directory,
//! - restic and borg given the same tar stream on stdin,
//! - reel given the directory (`put_dir`), for reference.
//!
//! Each ingest goes to its own repository; stored bytes are the sizes of
//! all files in it, measured the same way for every tool. Ingest runs
//! cannot be repeated on the same state, so they are single runs;
//! chunking + hashing is the median of `--runs`.
//!
//! Optimized duplication copies the first `--copy-generations` reel sets
//! to a fresh store per link: direct (0 ms), 50 ms RTT, 250 ms RTT with
//! 1 % loss (the [`crate::dedup_copy::lossy_proxy`] model).

mod dataset;
mod peers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::dedup::{DedupError, IngestKind, SetId, Store, StoreConfig, TenantId};
use crate::dedup_copy::lossy_proxy::{LossyProxy, ProxyConfig};
use crate::dedup_copy::{self, CopyError, CopyOptions, CopyServer, tls};
use peers::{PeerRepo, Tool};

#[derive(Debug, Clone, Args)]
pub struct DedupBenchArgs {
    /// Work directory (default: a temporary one, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Generations of the dataset.
    #[arg(long, default_value_t = 4)]
    pub generations: usize,
    /// Size of a generation in MB.
    #[arg(long, default_value_t = 1000)]
    pub size_mb: u64,
    /// Share of files changed, added or deleted per generation, in %.
    #[arg(long, default_value_t = 5.0)]
    pub change_pct: f64,
    /// Seed of the dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Source trees of the dataset.
    #[arg(long, value_delimiter = ',', default_value = "/usr/lib,/usr/share")]
    pub sources: Vec<PathBuf>,
    /// Leave out restic and borg.
    #[arg(long)]
    pub no_peers: bool,
    /// Generations copied per link in the duplication benchmark (0: skip).
    #[arg(long, default_value_t = 2)]
    pub copy_generations: usize,
    /// Runs of the chunking + hashing measurement (median reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DedupBenchError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Peer(String),
    #[error("reel store: {0}")]
    Store(#[from] DedupError),
    #[error("copy: {0}")]
    Copy(#[from] CopyError),
    #[error("keys: {0}")]
    Tls(#[from] tls::TlsError),
}

impl DedupBenchError {
    pub(crate) fn io(what: impl std::fmt::Display, source: std::io::Error) -> DedupBenchError {
        DedupBenchError::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// One ingest of one generation by one tool.
#[derive(Debug, Clone, Serialize)]
pub struct IngestRow {
    pub generation: usize,
    /// "reel", "restic", "borg".
    pub tool: String,
    /// "dir" or "tar" (the tar stream on stdin).
    pub input: String,
    pub input_bytes: u64,
    pub seconds: f64,
    pub mb_per_s: f64,
    /// Repository size after this generation.
    pub stored_bytes: u64,
    /// All input so far / repository size.
    pub cumulative_ratio: f64,
}

/// One set copied over one link.
#[derive(Debug, Clone, Serialize)]
pub struct CopyRow {
    pub rtt_ms: u64,
    pub loss_pct: f64,
    pub generation: usize,
    pub seconds: f64,
    pub logical_mb_per_s: f64,
    pub wire_mb_per_s: f64,
    pub bytes_sent: u64,
    pub unique_bytes: u64,
    pub naive_bytes: u64,
    pub sent_vs_unique: f64,
    pub sent_vs_naive: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DedupBenchReport {
    pub generations: Vec<dataset::Generation>,
    pub ingest: Vec<IngestRow>,
    /// FastCDC + BLAKE3 in one pass, one thread, GB/s (median).
    pub chunk_hash_gb_per_s: f64,
    pub copy: Vec<CopyRow>,
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs.max(1e-9) / 1e6
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// Runs the benchmark; `log` gets progress lines.
pub fn run(
    args: &DedupBenchArgs,
    log: &mut dyn FnMut(&str),
) -> Result<DedupBenchReport, DedupBenchError> {
    let tmp;
    let root = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| DedupBenchError::io(d.display(), e))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().map_err(|e| DedupBenchError::io("temp dir", e))?;
            tmp.path().to_path_buf()
        }
    };
    let data = root.join("data");
    let gens = dataset::build(
        &data,
        &args.sources,
        args.size_mb * 1_000_000,
        args.generations.max(1),
        args.change_pct,
        args.seed,
        log,
    )
    .map_err(|e| DedupBenchError::io("dataset", e))?;

    let tenant = TenantId::new("bench")?;
    let reel_tar_dir = root.join("reel-tar");
    let reel_dir_dir = root.join("reel-dir");
    let reel_tar = Store::init(&reel_tar_dir, StoreConfig::default())?;
    let reel_dir = Store::init(&reel_dir_dir, StoreConfig::default())?;
    let mut peers: Vec<(PeerRepo, &'static str)> = Vec::new();
    if !args.no_peers {
        for tool in [Tool::Restic, Tool::Borg] {
            for input in ["dir", "tar"] {
                let name = format!("{}-{input}", tool.name());
                let repo =
                    PeerRepo::init(tool, root.join(&name), root.join(format!("{name}-home")))?;
                peers.push((repo, input));
            }
        }
    }

    let mut ingest = Vec::new();
    let mut reel_sets: Vec<SetId> = Vec::new();
    let mut cumulative: std::collections::HashMap<String, u64> = Default::default();
    let mut chunk_hash = 0.0;
    for (g, generation) in gens.iter().enumerate() {
        let tar = root.join(format!("gen{g}.tar"));
        make_tar(&generation.dir, &tar)?;
        let tar_bytes = std::fs::metadata(&tar)
            .map_err(|e| DedupBenchError::io(tar.display(), e))?
            .len();
        if g == 0 {
            chunk_hash = chunk_hash_speed(&tar, args.runs.max(1))?;
            log(&format!(
                "chunking + hashing: {chunk_hash:.2} GB/s on one core"
            ));
        }
        // Jobs: 0 = reel tar, 1 = reel dir, 2.. = peers; rotated per generation.
        let jobs = 2 + peers.len();
        for k in 0..jobs {
            let job = (k + g) % jobs;
            let label = format!("gen{g}");
            let (tool, input, input_bytes, secs, stored) = match job {
                0 => {
                    let mut f = std::fs::File::open(&tar)
                        .map_err(|e| DedupBenchError::io(tar.display(), e))?;
                    let t = Instant::now();
                    let r = reel_tar.put(&tenant, &label, &mut f, IngestKind::Tar, &mut |_| {})?;
                    let secs = t.elapsed().as_secs_f64();
                    reel_sets.push(r.set);
                    (
                        "reel",
                        "tar",
                        tar_bytes,
                        secs,
                        peers::dir_size(&reel_tar_dir),
                    )
                }
                1 => {
                    let t = Instant::now();
                    reel_dir.put_dir(&tenant, &label, &generation.dir, &mut |_| {})?;
                    let secs = t.elapsed().as_secs_f64();
                    (
                        "reel",
                        "dir",
                        generation.bytes,
                        secs,
                        peers::dir_size(&reel_dir_dir),
                    )
                }
                j => {
                    let (repo, input) = &peers[j - 2];
                    let (secs, bytes) = if *input == "dir" {
                        (repo.backup_dir(&generation.dir, &label)?, generation.bytes)
                    } else {
                        (repo.backup_stdin(&tar, &label)?, tar_bytes)
                    };
                    (
                        repo.tool.name(),
                        *input,
                        bytes,
                        secs,
                        peers::dir_size(&repo.repo),
                    )
                }
            };
            let key = format!("{tool}-{input}");
            let total = cumulative.entry(key).or_default();
            *total += input_bytes;
            let row = IngestRow {
                generation: g,
                tool: tool.into(),
                input: input.into(),
                input_bytes,
                seconds: secs,
                mb_per_s: mbps(input_bytes, secs),
                stored_bytes: stored,
                cumulative_ratio: ratio(*total as f64, stored as f64),
            };
            log(&format!(
                "gen{g} {tool:>6} {input:<3} {:>8.1} MB/s  stored {:>8.1} MB  ratio {:.2}",
                row.mb_per_s,
                stored as f64 / 1e6,
                row.cumulative_ratio
            ));
            ingest.push(row);
        }
        let _ = std::fs::remove_file(&tar);
    }
    drop(reel_dir);

    let copy = if args.copy_generations > 0 {
        copy_bench(
            &root,
            &reel_tar,
            &tenant,
            &reel_sets,
            args.copy_generations,
            log,
        )?
    } else {
        Vec::new()
    };
    Ok(DedupBenchReport {
        generations: gens,
        ingest,
        chunk_hash_gb_per_s: chunk_hash,
        copy,
    })
}

fn make_tar(dir: &Path, out: &Path) -> Result<(), DedupBenchError> {
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(out)
        .arg(".")
        .status()
        .map_err(|e| DedupBenchError::io("tar", e))?;
    if !status.success() {
        return Err(DedupBenchError::Peer(format!("tar failed: {status}")));
    }
    Ok(())
}

/// Chunking + keyed hashing (as the store does) in one pass on one thread over (up to 512 MB of)
/// the first generation's tar, in memory: GB/s, median of `runs`.
fn chunk_hash_speed(tar: &Path, runs: usize) -> Result<f64, DedupBenchError> {
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(tar)
        .map_err(|e| DedupBenchError::io(tar.display(), e))?
        .take(512 << 20)
        .read_to_end(&mut data)
        .map_err(|e| DedupBenchError::io(tar.display(), e))?;
    let cfg = StoreConfig::default();
    let cdc = crate::dedup::chunker::Cdc::new(cfg.min_chunk, cfg.avg_chunk, cfg.max_chunk)?;
    let key = blake3::derive_key("reel dedup bench key", b"bench");
    let mut speeds = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut rest = &data[..];
        let mut sink = 0u8;
        while !rest.is_empty() {
            let n = cdc.cut(rest).clamp(1, rest.len());
            sink ^= blake3::keyed_hash(&key, &rest[..n]).as_bytes()[0];
            rest = &rest[n..];
        }
        std::hint::black_box(sink);
        speeds.push(data.len() as f64 / t.elapsed().as_secs_f64().max(1e-9) / 1e9);
    }
    speeds.sort_by(f64::total_cmp);
    Ok(speeds[speeds.len() / 2])
}

fn copy_bench(
    root: &Path,
    source: &Store,
    tenant: &TenantId,
    sets: &[SetId],
    generations: usize,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<CopyRow>, DedupBenchError> {
    let keys = root.join("keys");
    tls::init_keys(&keys, &[])?;
    let (cert, key) = tls::issue_client(&keys, "bench", &[tenant.as_str().to_string()])?;
    let server_tls = tls::server_config(
        &keys.join("server.pem"),
        &keys.join("server.key"),
        &keys.join("ca.pem"),
    )?;
    let client_tls = tls::client_config(Some((&cert, &key)), &keys.join("ca.pem"))?;
    let mut rows = Vec::new();
    for (rtt_ms, loss) in [(0u64, 0.0), (50, 0.0), (250, 0.01)] {
        let dest_dir = root.join(format!("copy-dest-{rtt_ms}"));
        // An independent store: the copy hands it the tenant's key.
        let dest = Arc::new(Store::init(&dest_dir, StoreConfig::default())?);
        let server = CopyServer::start(
            dest,
            "127.0.0.1:0"
                .parse()
                .map_err(|_| DedupBenchError::Peer("address".into()))?,
            server_tls.clone(),
        )?;
        let proxy = if rtt_ms > 0 {
            Some(
                LossyProxy::start(
                    server.addr(),
                    ProxyConfig::wan(Duration::from_millis(rtt_ms), loss),
                )
                .map_err(|e| DedupBenchError::io("proxy", e))?,
            )
        } else {
            None
        };
        let addr = proxy
            .as_ref()
            .map_or(server.addr(), LossyProxy::addr)
            .to_string();
        for (g, set) in sets.iter().take(generations).enumerate() {
            let r = dedup_copy::copy_set(
                source,
                tenant,
                set,
                &addr,
                "127.0.0.1",
                client_tls.clone(),
                &CopyOptions::default(),
            )?;
            log(&format!(
                "copy rtt {rtt_ms:>3} ms loss {:.0}% gen{g}: {:>7.1} MB/s logical, sent/unique {:.3}, sent/naive {:.3}",
                loss * 100.0,
                r.logical_mb_per_s,
                r.sent_vs_unique,
                r.sent_vs_naive
            ));
            rows.push(CopyRow {
                rtt_ms,
                loss_pct: loss * 100.0,
                generation: g,
                seconds: r.seconds,
                logical_mb_per_s: r.logical_mb_per_s,
                wire_mb_per_s: r.wire_mb_per_s,
                bytes_sent: r.bytes_sent,
                unique_bytes: r.unique_bytes,
                naive_bytes: r.naive_bytes,
                sent_vs_unique: r.sent_vs_unique,
                sent_vs_naive: r.sent_vs_naive,
            });
        }
        drop(proxy);
        drop(server);
        let _ = std::fs::remove_dir_all(&dest_dir);
    }
    Ok(rows)
}

impl DedupBenchReport {
    /// The human table, with the ratios against restic the issue asks for.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "dataset (real files, {} generations):",
            self.generations.len()
        );
        for (g, gen_) in self.generations.iter().enumerate() {
            let _ = writeln!(
                s,
                "  gen{g}: {} files, {:.1} MB ({} modified, {} added, {} deleted)",
                gen_.files,
                gen_.bytes as f64 / 1e6,
                gen_.modified,
                gen_.added,
                gen_.deleted
            );
        }
        let _ = writeln!(s, "\ningest (MB/s, stored MB, cumulative dedup ratio):");
        let _ = writeln!(
            s,
            "  {:<4} {:<7} {:<5} {:>9} {:>10} {:>7}",
            "gen", "tool", "input", "MB/s", "stored MB", "ratio"
        );
        for r in &self.ingest {
            let _ = writeln!(
                s,
                "  {:<4} {:<7} {:<5} {:>9.1} {:>10.1} {:>7.2}",
                r.generation,
                r.tool,
                r.input,
                r.mb_per_s,
                r.stored_bytes as f64 / 1e6,
                r.cumulative_ratio
            );
        }
        let find = |g: usize, tool: &str, input: &str| {
            self.ingest
                .iter()
                .find(|r| r.generation == g && r.tool == tool && r.input == input)
        };
        let _ = writeln!(
            s,
            "\nreel vs restic (goals: throughput >= 2.00x, stored bytes <= 1.02x):"
        );
        for g in 0..self.generations.len() {
            let reel = find(g, "reel", "tar");
            for (peer_input, label) in [
                ("dir", "reel tar vs restic dir"),
                ("tar", "reel tar vs restic tar"),
            ] {
                if let (Some(reel), Some(p)) = (reel, find(g, "restic", peer_input)) {
                    let _ = writeln!(
                        s,
                        "  gen{g} {label}: throughput {:.2}x, stored {:.3}x",
                        ratio(reel.mb_per_s, p.mb_per_s),
                        ratio(reel.stored_bytes as f64, p.stored_bytes as f64)
                    );
                }
            }
        }
        let _ = writeln!(
            s,
            "\nchunking + hashing (FastCDC + BLAKE3, one pass): {:.2} GB/s per core (goal >= 1)",
            self.chunk_hash_gb_per_s
        );
        if !self.copy.is_empty() {
            let _ = writeln!(
                s,
                "\noptimized duplication (mutual TLS over loopback; sent/unique goal <= 1.02):"
            );
            let _ = writeln!(
                s,
                "  {:>7} {:>5} {:<4} {:>8} {:>10} {:>12} {:>12} {:>11} {:>10}",
                "RTT ms",
                "loss",
                "gen",
                "seconds",
                "MB/s",
                "sent MB",
                "unique MB",
                "sent/uniq",
                "sent/naive"
            );
            for r in &self.copy {
                let _ = writeln!(
                    s,
                    "  {:>7} {:>4.0}% {:<4} {:>8.2} {:>10.1} {:>12.2} {:>12.2} {:>11.4} {:>10.4}",
                    r.rtt_ms,
                    r.loss_pct,
                    r.generation,
                    r.seconds,
                    r.logical_mb_per_s,
                    r.bytes_sent as f64 / 1e6,
                    r.unique_bytes as f64 / 1e6,
                    r.sent_vs_unique,
                    r.sent_vs_naive
                );
            }
        }
        s
    }
}
