//! `reelctl bench disk`: the disk driver against fio and buffered std::fs.
//!
//! Every side moves SIZE bytes with 1 MiB requests on the same filesystem:
//! - driver raw: [`DiskFile`] with queue_depth requests in flight, O_DIRECT,
//!   the file preallocated before the clock starts (as fio lays out its
//!   file), fdatasync at the end of the write, inside the time;
//! - driver stream: [`DiskWriter`] (copying from memory, preallocating as it
//!   goes, finish = fdatasync) and [`DiskReader`] (read-ahead);
//! - fio `--ioengine=io_uring --direct=1 --bs=1M --iodepth=8 --end_fsync=1`,
//!   its own bandwidth from `--output-format=json` (which leaves out its
//!   file setup: the comparison is conservative for the driver);
//! - std::fs: `write_all` + fdatasync, read after `posix_fadvise(DONTNEED)`.
//!
//! Plus the ring options: SQPOLL on, registered buffers on, registered
//! files off, and the writer without preallocation. Each round runs every
//! side once in a rotated order (noise spreads over all sides); medians of
//! the rounds are reported.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;
use reel_drivers::disk::{
    AlignedBuf, BackendChoice, DiskDriver, DiskError, DiskOptions, DiskReader, DiskWriter, OpenMode,
};

use crate::bench::{self, Pass, Prng};

/// Request size of every side.
const REQ: usize = 1 << 20;
/// Random data the writers copy from (generated before any timer).
const POOL: usize = 64 << 20;

#[derive(Debug, Clone, Args)]
pub struct DiskBenchArgs {
    /// Bytes per pass: GiB as a number (4, 0.5) or with a unit (512M).
    #[arg(long, default_value = "4", value_parser = crate::tapebench::parse_gib)]
    pub size: u64,
    /// Directory on the filesystem to measure (default: the current one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rounds (every side once per round, order rotated; medians reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub rounds: u32,
    /// Requests in flight for the driver and fio.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub queue_depth: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DiskBenchError {
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("fio failed ({status}): {stderr}")]
    Fio { status: String, stderr: String },
    #[error("cannot parse fio's JSON output: {0}")]
    FioOutput(String),
    #[error("{side}: moved {got} bytes, expected {want}")]
    Short { side: String, got: u64, want: u64 },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DiskBenchError {
    let what = what.into();
    move |source| DiskBenchError::Io { what, source }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Raw,
    Stream,
    Fio,
    Std,
    RawSqpoll,
    RawRegBufs,
    RawNoRegFiles,
    StreamNoPrealloc,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Raw => "driver raw (DiskFile)",
            Side::Stream => "driver DiskWriter/Reader",
            Side::Fio => "fio io_uring",
            Side::Std => "std::fs buffered",
            Side::RawSqpoll => "driver raw, SQPOLL on",
            Side::RawRegBufs => "driver raw, reg. buffers on",
            Side::RawNoRegFiles => "driver raw, reg. files off",
            Side::StreamNoPrealloc => "DiskWriter, prealloc off",
        }
    }
}

const SIDES: [Side; 8] = [
    Side::Raw,
    Side::Fio,
    Side::Stream,
    Side::Std,
    Side::RawSqpoll,
    Side::RawRegBufs,
    Side::RawNoRegFiles,
    Side::StreamNoPrealloc,
];

struct Bench {
    size: u64,
    depth: u32,
    file: PathBuf,
    pool: Vec<u8>,
    fio: bool,
}

pub fn run(args: &DiskBenchArgs, say: &mut dyn FnMut(&str)) -> Result<String, DiskBenchError> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(io_err("current directory"))?,
    };
    let size = (args.size / REQ as u64).max(1) * REQ as u64;
    let tmp = tempfile::Builder::new()
        .prefix(".reel-diskbench")
        .tempdir_in(&dir)
        .map_err(io_err(format!("temporary directory in {}", dir.display())))?;
    let mut pool = vec![0u8; POOL];
    Prng::new(0x5eed_d15c).fill(&mut pool);
    let fio = Command::new("fio")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !fio {
        say("fio not found (scripts/setup.sh installs it): fio ratios left out");
    }
    let b = Bench {
        size,
        depth: args.queue_depth,
        file: tmp.path().join("data"),
        pool,
        fio,
    };
    let probe = DiskDriver::new(b.opts(|_| {}))?;
    let f = probe.open(&b.file, OpenMode::Create)?;
    let (backend, direct) = (probe.backend(), f.direct());
    drop(f);
    let _ = std::fs::remove_file(&b.file);

    let mut results: Vec<(Side, Vec<Pass>, Vec<Pass>)> =
        SIDES.iter().map(|s| (*s, Vec::new(), Vec::new())).collect();
    for round in 0..args.rounds as usize {
        for k in 0..SIDES.len() {
            let i = (round + k) % SIDES.len();
            let side = SIDES[i];
            if side == Side::Fio && !b.fio {
                continue;
            }
            let (w, r) = b.side(side)?;
            say(&format!(
                "round {}: {:<28} write {:>8.1} MB/s   read {:>8.1} MB/s",
                round + 1,
                side.label(),
                w.mb_per_s(),
                r.mb_per_s()
            ));
            results[i].1.push(w);
            results[i].2.push(r);
            let _ = std::fs::remove_file(&b.file);
        }
    }
    Ok(report(size, &dir, args, backend, direct, &results))
}

fn median(v: &[Pass]) -> f64 {
    let mut m: Vec<f64> = v.iter().map(Pass::mb_per_s).collect();
    m.sort_by(f64::total_cmp);
    m.get(m.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(
    size: u64,
    dir: &Path,
    args: &DiskBenchArgs,
    backend: reel_drivers::disk::Backend,
    direct: bool,
    results: &[(Side, Vec<Pass>, Vec<Pass>)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reel disk benchmark: {} per pass, 1 MiB requests, queue depth {}, in {} \
         (backend {backend:?}, O_DIRECT {direct}), medians of {} rounds",
        bench::human_size(size),
        args.queue_depth,
        dir.display(),
        args.rounds
    );
    let med = |s: Side| -> (f64, f64) {
        results
            .iter()
            .find(|(x, _, _)| *x == s)
            .map_or((f64::NAN, f64::NAN), |(_, w, r)| (median(w), median(r)))
    };
    let _ = writeln!(out, "{:<30} {:>12} {:>12}", "side", "write", "read");
    for (s, w, _) in results {
        if w.is_empty() {
            continue;
        }
        let (mw, mr) = med(*s);
        let _ = writeln!(out, "{:<30} {:>7.1} MB/s {:>7.1} MB/s", s.label(), mw, mr);
    }
    let (rw, rr) = med(Side::Raw);
    let (sw, sr) = med(Side::Stream);
    let (fw, fr) = med(Side::Fio);
    let (stdw, _) = med(Side::Std);
    let goal = |v: f64, g: f64| if v >= g { "met" } else { "NOT met" };
    if fw.is_finite() {
        let _ = writeln!(
            out,
            "driver raw / fio:    write {:.2}  read {:.2}  (goal >= 0.95: {} / {})",
            rw / fw,
            rr / fr,
            goal(rw / fw, 0.95),
            goal(rr / fr, 0.95)
        );
        let _ = writeln!(
            out,
            "driver stream / fio: write {:.2}  read {:.2}",
            sw / fw,
            sr / fr
        );
    }
    let _ = writeln!(
        out,
        "driver / std::fs write: raw {:.2}, stream {:.2}  (goal >= 1.5: {} / {})",
        rw / stdw,
        sw / stdw,
        goal(rw / stdw, 1.5),
        goal(sw / stdw, 1.5)
    );
    let ratio = |a: Side, b: Side| {
        let (aw, ar) = med(a);
        let (bw, br) = med(b);
        format!("write {:.2}  read {:.2}", aw / bw, ar / br)
    };
    let _ = writeln!(
        out,
        "SQPOLL on / off:            {}",
        ratio(Side::RawSqpoll, Side::Raw)
    );
    let _ = writeln!(
        out,
        "registered buffers on / off: {}",
        ratio(Side::RawRegBufs, Side::Raw)
    );
    let _ = writeln!(
        out,
        "registered files off / on:  {}",
        ratio(Side::RawNoRegFiles, Side::Raw)
    );
    let (nw, _) = med(Side::StreamNoPrealloc);
    let _ = writeln!(
        out,
        "DiskWriter preallocation on / off: write {:.2}",
        sw / nw
    );
    out
}

impl Bench {
    fn opts(&self, f: impl FnOnce(&mut DiskOptions)) -> DiskOptions {
        let mut o = DiskOptions {
            backend: BackendChoice::Auto,
            direct: true,
            queue_depth: self.depth,
            buffer_size: REQ,
            ..DiskOptions::default()
        };
        f(&mut o);
        o
    }

    fn side(&self, side: Side) -> Result<(Pass, Pass), DiskBenchError> {
        match side {
            Side::Raw => self.raw(self.opts(|_| {})),
            Side::RawSqpoll => self.raw(self.opts(|o| o.sqpoll = true)),
            Side::RawRegBufs => self.raw(self.opts(|o| o.register_buffers = true)),
            Side::RawNoRegFiles => self.raw(self.opts(|o| o.register_files = false)),
            Side::Stream => self.stream(self.opts(|_| {})),
            Side::StreamNoPrealloc => self.stream(self.opts(|o| o.prealloc_extent = 0)),
            Side::Fio => Ok((self.fio("write")?, self.fio("read")?)),
            Side::Std => self.std_fs(),
        }
    }

    fn short(&self, side: Side, got: u64) -> DiskBenchError {
        DiskBenchError::Short {
            side: side.label().into(),
            got,
            want: self.size,
        }
    }

    /// DiskFile with queue_depth requests in the kernel and as many more
    /// queued behind them (so the ring thread starts the next request as
    /// soon as one completes, as fio's single thread does), buffers reused.
    fn raw(&self, opts: DiskOptions) -> Result<(Pass, Pass), DiskBenchError> {
        let depth = 2 * opts.queue_depth as usize;
        let driver = DiskDriver::new(opts)?;
        let mut free: Vec<AlignedBuf> = (0..depth)
            .map(|i| {
                let mut b = AlignedBuf::new(REQ, 4096);
                let at = (i * REQ) % (POOL - REQ);
                b.copy_from_slice(&self.pool[at..at + REQ]);
                b
            })
            .collect();

        // fio lays out (fallocates) its file before its clock starts; so
        // does this side.
        let f = driver.open(&self.file, OpenMode::Create)?;
        f.allocate(0, self.size)?;
        f.set_len(self.size)?;
        let start = Instant::now();
        let mut inflight = VecDeque::new();
        let mut off = 0;
        while off < self.size {
            let buf = match free.pop() {
                Some(b) => b,
                None => match inflight.pop_front() {
                    Some(p) => reel_drivers::disk::Pending::wait(p)?,
                    None => AlignedBuf::new(REQ, 4096),
                },
            };
            inflight.push_back(f.submit_write(buf, off));
            off += REQ as u64;
        }
        for p in inflight.drain(..) {
            free.push(p.wait()?);
        }
        f.sync_data()?;
        let write = Pass::new(self.size, start.elapsed());
        drop(f);

        bench::drop_cache(&self.file).map_err(io_err("posix_fadvise"))?;
        let start = Instant::now();
        let f = driver.open(&self.file, OpenMode::Read)?;
        let mut got = 0u64;
        let mut off = 0;
        let mut rinflight = VecDeque::new();
        loop {
            while rinflight.len() < depth && off < self.size {
                let buf = free.pop().unwrap_or_else(|| AlignedBuf::new(REQ, 4096));
                rinflight.push_back(f.submit_read(buf, off, REQ));
                off += REQ as u64;
            }
            let Some(p) = rinflight.pop_front() else {
                break;
            };
            let (buf, n) = p.wait()?;
            got += n as u64;
            free.push(buf);
        }
        let read = Pass::new(got, start.elapsed());
        if got != self.size {
            return Err(self.short(Side::Raw, got));
        }
        Ok((write, read))
    }

    /// DiskWriter copying 1 MiB slices of the pool; DiskReader lending its
    /// blocks (`BufRead`, no copy, as a hashing or parsing consumer reads).
    fn stream(&self, opts: DiskOptions) -> Result<(Pass, Pass), DiskBenchError> {
        let driver = DiskDriver::new(opts)?;
        let start = Instant::now();
        let mut w = DiskWriter::create(&driver, &self.file)?;
        let mut off = 0u64;
        let mut at = 0usize;
        while off < self.size {
            w.write_all(&self.pool[at..at + REQ])?;
            at = (at + REQ + 4096) % (POOL - REQ);
            off += REQ as u64;
        }
        let len = w.finish()?;
        let write = Pass::new(len, start.elapsed());

        bench::drop_cache(&self.file).map_err(io_err("posix_fadvise"))?;
        let start = Instant::now();
        let mut r = DiskReader::open(&driver, &self.file)?;
        let mut got = 0u64;
        loop {
            let n = r.fill_buf().map_err(io_err("DiskReader"))?.len();
            if n == 0 {
                break;
            }
            r.consume(n);
            got += n as u64;
        }
        let read = Pass::new(got, start.elapsed());
        if got != self.size {
            return Err(self.short(Side::Stream, got));
        }
        Ok((write, read))
    }

    fn std_fs(&self) -> Result<(Pass, Pass), DiskBenchError> {
        let start = Instant::now();
        let mut f = std::fs::File::create(&self.file).map_err(io_err("create"))?;
        let mut off = 0u64;
        let mut at = 0usize;
        while off < self.size {
            f.write_all(&self.pool[at..at + REQ])
                .map_err(io_err("write"))?;
            at = (at + REQ + 4096) % (POOL - REQ);
            off += REQ as u64;
        }
        f.sync_data().map_err(io_err("fdatasync"))?;
        let write = Pass::new(self.size, start.elapsed());
        drop(f);

        bench::drop_cache(&self.file).map_err(io_err("posix_fadvise"))?;
        let start = Instant::now();
        let mut f = std::fs::File::open(&self.file).map_err(io_err("open"))?;
        let mut buf = vec![0u8; REQ];
        let mut got = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(io_err("read"))?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        let read = Pass::new(got, start.elapsed());
        if got != self.size {
            return Err(self.short(Side::Std, got));
        }
        Ok((write, read))
    }

    fn fio(&self, rw: &str) -> Result<Pass, DiskBenchError> {
        let out = Command::new("fio")
            .arg(format!("--name=reel-{rw}"))
            .arg(format!("--filename={}", self.file.display()))
            .args(["--ioengine=io_uring", "--direct=1", "--bs=1M"])
            .arg(format!("--iodepth={}", self.depth))
            .arg(format!("--size={}", self.size))
            .arg(format!("--rw={rw}"))
            .args(["--end_fsync=1", "--output-format=json"])
            .output()
            .map_err(io_err("fio"))?;
        if !out.status.success() {
            return Err(DiskBenchError::Fio {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        parse_fio(&out.stdout, rw)
    }
}

/// Bytes and runtime of the first job's `rw` ("read"/"write") section of
/// fio's JSON output. fio may print warnings before the JSON object.
pub fn parse_fio(stdout: &[u8], rw: &str) -> Result<Pass, DiskBenchError> {
    let text = String::from_utf8_lossy(stdout);
    let json = text.find('{').map_or("", |i| &text[i..]);
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| DiskBenchError::FioOutput(e.to_string()))?;
    let sec = &v["jobs"][0][rw];
    let bytes = sec["io_bytes"].as_u64();
    let ms = sec["runtime"].as_u64();
    match (bytes, ms) {
        (Some(b), Some(ms)) if ms > 0 => Ok(Pass {
            bytes: b,
            seconds: ms as f64 / 1000.0,
        }),
        _ => Err(DiskBenchError::FioOutput(format!(
            "no jobs[0].{rw}.io_bytes/runtime"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fio_json_after_warnings() {
        let out = br#"fio: some warning
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "reel-write",
      "read" : { "io_bytes" : 0, "runtime" : 0 },
      "write" : { "io_bytes" : 4294967296, "bw_bytes" : 1073741824, "runtime" : 4000 }
    }
  ]
}"#;
        let p = parse_fio(out, "write").unwrap();
        assert_eq!(p.bytes, 4_294_967_296);
        assert!((p.seconds - 4.0).abs() < 1e-9);
        assert!(matches!(
            parse_fio(out, "read"),
            Err(DiskBenchError::FioOutput(_))
        ));
        assert!(matches!(
            parse_fio(b"garbage", "read"),
            Err(DiskBenchError::FioOutput(_))
        ));
    }
}
