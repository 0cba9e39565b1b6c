//! `reelctl bench backup`: end-to-end backup throughput into a VTL, three
//! ways in the same run, rounds alternating, medians compared:
//! - through reeld: the demo daemon as a child process, the data streamed
//!   over gRPC with mutual TLS (spool, scheduler, job runner; see
//!   [`crate::reeldbench`]) — the figure;
//! - through the job executor alone, in this process (catalog, scheduler,
//!   leases, label, spanning checks, digest);
//! - the raw driver path: TapeDrive WRITE of the same records to the same
//!   kind of cartridge.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use reel_drivers::tape::TapeDrive;
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibrarySpec, VirtualLibrary};

use crate::bench::{Prng, parse_size};
use crate::db::{Db, unix_now};
use crate::jobs::access::VtlAccess;
use crate::jobs::run::{ExecOptions, run_backup_job, submit_backup};
use crate::jobs::setup::{ensure_media_set, ensure_tape_pool};
use crate::jobs::source::Feeder;
use crate::jobs::{ExecError, ExecResult};
use crate::reeldbench::ReeldSide;
use crate::scheduler::Scheduler;

#[derive(Debug, Clone, Args)]
pub struct BackupBenchArgs {
    /// Bytes per backup (e.g. 512M, 2G).
    #[arg(long, default_value = "512M", value_parser = parse_bytes)]
    pub size: u64,
    /// Record size on tape.
    #[arg(long, default_value = "256K", value_parser = parse_bytes)]
    pub record_size: u64,
    /// Rounds (executor and raw alternate; medians are compared).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub rounds: u32,
    /// Leave out the side through reeld (it needs the reeld binary next to
    /// reelctl).
    #[arg(long)]
    pub no_reeld: bool,
    /// Directory for the VTLs and the catalog (default: a temporary one
    /// under the current directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    parse_size(s)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("bad size {s:?}"))
}

/// The result of the benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupBench {
    pub bytes: u64,
    pub record_size: u64,
    pub executor_mb_s: Vec<f64>,
    pub raw_mb_s: Vec<f64>,
    pub executor_median: f64,
    pub raw_median: f64,
    /// Through reeld, spooling (the default) and not (empty with
    /// --no-reeld).
    pub reeld: Vec<DaemonSide>,
    /// executor / raw.
    pub ratio: f64,
    /// The stream's read-ahead alone (copy out of the source and BLAKE3),
    /// no drive: the CPU the executor adds per byte.
    pub feed_mb_s: f64,
    /// CPU seconds (all threads of the process) per GB written, median
    /// per side: what each path costs whatever the machine's load. On an
    /// oversubscribed machine the wall ratio tends towards the CPU ratio,
    /// as the read-ahead thread no longer gets a core of its own.
    pub executor_cpu_s_per_gb: f64,
    pub raw_cpu_s_per_gb: f64,
    /// raw / executor CPU per byte.
    pub cpu_ratio: f64,
    /// Median wall time of a one-record backup through the executor: the
    /// per-backup cost that a larger backup spreads over more bytes.
    pub fixed_ms: f64,
}

/// Backups through one demo reeld.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DaemonSide {
    pub spool: bool,
    pub mb_s: Vec<f64>,
    pub median: f64,
    /// median / raw median: the figure (goal >= 0.9).
    pub ratio: f64,
    /// CPU seconds per GB: the client (this process) and the daemon
    /// together, then the daemon's part.
    pub cpu_s_per_gb: f64,
    pub daemon_cpu_s_per_gb: f64,
}

fn rounded(v: &[f64]) -> Vec<f64> {
    v.iter().map(|v| v.round()).collect()
}

impl BackupBench {
    pub fn text(&self) -> String {
        let mut reeld = String::new();
        for d in &self.reeld {
            reeld += &format!(
                "  through reeld, spool {} (gRPC + mTLS + scheduler): {:.0} MB/s (median of {:?})\n    ratio reeld/raw: {:.3} (goal >= 0.9: {}); CPU per GB {:.2} s (daemon {:.2} s, client {:.2} s)\n",
                if d.spool { "on" } else { "off" },
                d.median,
                rounded(&d.mb_s),
                d.ratio,
                if d.ratio >= 0.9 { "met" } else { "NOT met" },
                d.cpu_s_per_gb,
                d.daemon_cpu_s_per_gb,
                d.cpu_s_per_gb - d.daemon_cpu_s_per_gb
            );
        }
        if self.reeld.is_empty() {
            reeld = "  through reeld: not run (--no-reeld)\n".into();
        }
        format!(
            "backup {} MiB, records of {} KiB\n{reeld}  executor in process: {:.0} MB/s (median of {:?})\n  raw drive: {:.0} MB/s (median of {:?})\n  ratio executor/raw: {:.3}\n  stream copy + BLAKE3 alone: {:.0} MB/s\n  CPU per GB: executor {:.2} s, raw {:.2} s; ratio raw/executor {:.3}\n  fixed cost of a backup (one record): {:.0} ms\n",
            self.bytes >> 20,
            self.record_size >> 10,
            self.executor_median,
            rounded(&self.executor_mb_s),
            self.raw_median,
            rounded(&self.raw_mb_s),
            self.ratio,
            self.feed_mb_s,
            self.executor_cpu_s_per_gb,
            self.raw_cpu_s_per_gb,
            self.cpu_ratio,
            self.fixed_ms
        )
    }
}

fn lib_err(e: impl ToString) -> ExecError {
    ExecError::Unreachable {
        device: "vtl".into(),
        detail: e.to_string(),
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

/// CPU time of the whole process (zero if the clock is unavailable).
fn process_cpu() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

fn cpu_s_per_gb(cpu: Duration, bytes: u64) -> f64 {
    cpu.as_secs_f64() / (bytes as f64 / 1e9).max(1e-9)
}

/// A library of one LTO-8 drive and `carts` cartridges of `capacity`.
fn library(dir: &Path, carts: usize, capacity: u64) -> ExecResult<VirtualLibrary> {
    let lib = VirtualLibrary::create_with(dir, &LibrarySpec::empty(10, 1, 1, Generation::Lto8))
        .map_err(lib_err)?;
    for i in 0..carts {
        let mut spec = CartridgeSpec::new(format!("BN{i:04}L8"), Generation::Lto8);
        spec.capacity = capacity;
        lib.create_cartridge(&spec).map_err(lib_err)?;
    }
    Ok(lib)
}

/// Runs the benchmark; `say` gets a line per pass.
pub fn run(args: &BackupBenchArgs, say: &mut dyn FnMut(&str)) -> ExecResult<BackupBench> {
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(ExecError::Stream)?,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".reel-bench-backup")
        .tempdir_in(&base)
        .map_err(ExecError::Stream)?;
    let rs = usize::try_from(args.record_size).map_err(|_| lib_err("record size"))?;
    let size = usize::try_from(args.size).map_err(|_| lib_err("size"))?;
    let mut data = vec![0u8; size];
    Prng::new(7).fill(&mut data);
    // Room for the stream and the label on one cartridge.
    let capacity = args.size * 2 + (64 << 20);

    // One fresh cartridge per round on both sides: the cartridge files
    // grow the same way (overwriting a cached file is cheaper than
    // extending one, and would favour one side).
    let carts = args.rounds as usize;
    // The executor side also runs one-record backups (its fixed cost).
    let exec_lib = library(&tmp.path().join("exec"), carts * 2, capacity)?;
    let mut devs = VtlAccess::new();
    devs.add_library("lib1", &exec_lib)?;
    let db = Db::open(&tmp.path().join("catalog.db"))?;
    let (mut sched, _) = Scheduler::start(db, unix_now())?;
    let devices = devs.sched_devices();
    ensure_media_set(&mut sched, "bench", 0, 0)?;
    ensure_tape_pool(&mut sched, &devs, &devices, "lib1", "bench", "bench", 0)?;
    let mut opts = ExecOptions::default();
    opts.tape.record_size = rs;

    let raw_lib = library(&tmp.path().join("raw"), carts, capacity)?;
    let mut raw = TapeDrive::new(raw_lib.drive_transport(0).map_err(lib_err)?);
    // One demo daemon spooling (its default), one not.
    let mut daemons = Vec::new();
    if !args.no_reeld {
        for spool in [true, false] {
            say(&format!("starting a demo reeld (spool {spool})"));
            let dir = tmp
                .path()
                .join(if spool { "reeld" } else { "reeld-nospool" });
            let d = ReeldSide::start(&dir, spool).map_err(ExecError::Stream)?;
            // Per round: MB/s, CPU s/GB of both processes, of the daemon.
            daemons.push((d, Vec::new(), Vec::new(), Vec::new()));
        }
    }
    let shared = bytes::Bytes::copy_from_slice(&data);

    let (mut ex, mut rw) = (Vec::new(), Vec::new());
    let (mut ex_cpu, mut rw_cpu) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        for (d, rd, rd_cpu, rd_daemon_cpu) in &mut daemons {
            let (t, c, dc) = (Instant::now(), process_cpu(), d.cpu());
            let n = d.backup(&shared).map_err(ExecError::Stream)?;
            let r = mb_s(n, t.elapsed());
            let daemon_cpu = d.cpu().saturating_sub(dc);
            let cpu = process_cpu().saturating_sub(c) + daemon_cpu;
            rd_cpu.push(cpu_s_per_gb(cpu, n));
            rd_daemon_cpu.push(cpu_s_per_gb(daemon_cpu, n));
            rd.push(r);
            say(&format!(
                "round {round}: through reeld (spool {}) {r:.0} MB/s",
                d.spool
            ));
        }

        let job = submit_backup(&mut sched, "bench", Some("bench"), 1)?;
        let mut src = Cursor::new(data.as_slice());
        let (t, c) = (Instant::now(), process_cpu());
        let out = run_backup_job(&mut sched, &devs, job, &mut src, &opts)?;
        let e = mb_s(out.bytes, t.elapsed());
        ex_cpu.push(cpu_s_per_gb(process_cpu().saturating_sub(c), out.bytes));
        ex.push(e);
        say(&format!("round {round}: executor {e:.0} MB/s"));

        let (t, c) = (Instant::now(), process_cpu());
        let drive_err = |source| ExecError::Drive {
            device: "raw".into(),
            source,
        };
        if round > 1 {
            raw_lib.eject(0).map_err(lib_err)?;
        }
        raw_lib
            .insert(0, &format!("BN{:04}L8", round - 1))
            .map_err(lib_err)?;
        raw.wait_ready(Duration::from_secs(60)).map_err(drive_err)?;
        raw.rewind(false).map_err(drive_err)?;
        for rec in data.chunks(rs) {
            raw.write(rec).map_err(drive_err)?;
        }
        raw.write_filemarks(1, false).map_err(drive_err)?;
        let r = mb_s(args.size, t.elapsed());
        rw_cpu.push(cpu_s_per_gb(process_cpu().saturating_sub(c), args.size));
        rw.push(r);
        say(&format!("round {round}: raw drive {r:.0} MB/s"));
    }
    let t = Instant::now();
    let mut src = Cursor::new(data.as_slice());
    let fed = std::thread::scope(|s| -> ExecResult<u64> {
        let (feeder, reader) = Feeder::start(s, &mut src, rs * opts.tape.chunk_records);
        loop {
            let f = feeder.next().map_err(ExecError::Stream)?;
            let last = f.last;
            feeder.give_back(f.buf);
            if last {
                break;
            }
        }
        drop(feeder);
        Ok(reader.join().map(|d| d.bytes()).unwrap_or(0))
    })?;
    let feed_mb_s = mb_s(fed, t.elapsed());
    // What a backup costs besides its bytes (scheduling, mount, label at
    // BOT with its MAM copy, catalog, unmount): one-record backups.
    let mut fixed = Vec::new();
    for _ in 0..args.rounds {
        let job = submit_backup(&mut sched, "bench", Some("bench"), 1)?;
        let mut src = Cursor::new(&data[..rs.min(data.len())]);
        let t = Instant::now();
        run_backup_job(&mut sched, &devs, job, &mut src, &opts)?;
        fixed.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let fixed_ms = median(&fixed);
    let (em, rm) = (median(&ex), median(&rw));
    let (ec, rc) = (median(&ex_cpu), median(&rw_cpu));
    let reeld = daemons
        .iter()
        .map(|(d, rd, cpu, dcpu)| DaemonSide {
            spool: d.spool,
            mb_s: rd.clone(),
            median: median(rd),
            ratio: if rm > 0.0 { median(rd) / rm } else { 0.0 },
            cpu_s_per_gb: median(cpu),
            daemon_cpu_s_per_gb: median(dcpu),
        })
        .collect();
    Ok(BackupBench {
        reeld,
        bytes: args.size,
        record_size: args.record_size,
        executor_mb_s: ex,
        raw_mb_s: rw,
        executor_median: em,
        raw_median: rm,
        ratio: if rm > 0.0 { em / rm } else { 0.0 },
        feed_mb_s,
        executor_cpu_s_per_gb: ec,
        raw_cpu_s_per_gb: rc,
        cpu_ratio: if ec > 0.0 { rc / ec } else { 0.0 },
        fixed_ms,
    })
}
