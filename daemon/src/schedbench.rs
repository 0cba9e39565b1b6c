//! `reelctl bench scheduler`: the scheduler alone. 10 000 queued jobs over
//! 100 simulated devices (6 tape libraries of 10 LTO-8 drives with 20
//! cartridges each, 3 pools of 10 disk storages running 2 jobs each, one
//! pool of 10 dedup stores running 4 each); jobs are tape backups (60 %,
//! each needs a cartridge of a media set), disk and dedup backups, with
//! random priorities. The loop dispatches until nothing more fits, then
//! completes the older half of the running jobs, until every job ran.
//! Each `dispatch_next` (one IMMEDIATE transaction: pool load, queue scan,
//! leases, job update) is timed, wall and thread CPU; the calls slower
//! than the goal are attributed to preemption or blocking I/O (context
//! switches of the thread). Runs on an in-memory catalog, on a catalog
//! file (WAL) and on one checkpointed only while the loop idles,
//! alternated; medians of the runs are reported against the goal of a p99
//! dispatch latency under 5 ms.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;

use crate::bench::Prng;
use crate::db::Db;
use crate::media::{Location, manager};
use crate::scheduler::device::{Device, DeviceKind};
use crate::scheduler::job::{JobKind, JobSpec, MediaNeed, Target};
use crate::scheduler::{SchedError, Scheduler};

/// Catalog kinds, run alternated: in memory; a WAL file with SQLite's
/// automatic checkpoints (each one copies the WAL back and fsyncs, inside
/// whichever commit crossed the threshold: a dispatch call blocked on
/// I/O); and a WAL file checkpointed only while the loop idles, the policy
/// a daemon would need to keep those fsyncs off the dispatch path (reeld
/// does not do that yet: this run shows what it would gain).
const CATALOGS: [&str; 3] = ["memory", "file", IDLE_CHECKPOINT];
const IDLE_CHECKPOINT: &str = "file-idle-checkpoint";

/// The goal for the p99 dispatch latency.
pub const GOAL_P99: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Args)]
pub struct SchedBenchArgs {
    /// Queued jobs.
    #[arg(long, default_value_t = 10_000)]
    pub jobs: u32,
    /// Simulated devices (multiple of 10).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(10..=10_000))]
    pub devices: u32,
    /// Runs per catalog kind (alternated); medians are reported.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Random seed for priorities and job kinds.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedBenchError {
    #[error(transparent)]
    Sched(#[from] SchedError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Stuck(String),
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunResult {
    pub catalog: &'static str,
    pub dispatched: u64,
    /// Jobs dispatched per second of time spent in dispatch calls.
    pub jobs_per_sec: f64,
    /// Jobs dispatched per second including completions and idle calls.
    pub jobs_per_sec_wall: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// p99 of the CPU time of the dispatching thread per call: the
    /// latency without the waits of an oversubscribed machine.
    pub p99_cpu_us: f64,
    /// Dispatch calls slower than the goal (wall).
    pub slow: u64,
    /// Of those, the calls during which the thread was preempted
    /// (involuntary context switch: another process had the core).
    pub slow_preempted: u64,
    /// Of those, the calls during which the thread blocked (voluntary
    /// switch: I/O such as a WAL checkpoint's fsync, or a lock).
    pub slow_blocked: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SchedBenchReport {
    pub jobs: u32,
    pub devices: u32,
    pub runs: Vec<RunResult>,
    /// Medians per catalog kind: (catalog, jobs/s, p99 µs, goal/p99,
    /// p99 CPU µs).
    pub medians: Vec<(String, f64, f64, f64, f64)>,
}

impl SchedBenchReport {
    pub fn text(&self) -> String {
        let mut s = format!(
            "scheduler: {} queued jobs over {} simulated devices\n",
            self.jobs, self.devices
        );
        for r in &self.runs {
            s += &format!(
                "  run {:<6} dispatched {:>6}  {:>8.0} jobs/s ({:>7.0} wall)  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  p99 cpu {:>7.1} µs\n",
                r.catalog,
                r.dispatched,
                r.jobs_per_sec,
                r.jobs_per_sec_wall,
                r.p50_us,
                r.p99_us,
                r.max_us,
                r.p99_cpu_us
            );
            s += &format!(
                "         calls over {} ms: {} (preempted in {}, blocked on I/O in {})\n",
                GOAL_P99.as_millis(),
                r.slow,
                r.slow_preempted,
                r.slow_blocked
            );
        }
        for (cat, jps, p99, ratio, cpu) in &self.medians {
            s += &format!(
                "median {cat:<6} {jps:>8.0} jobs/s  p99 dispatch {:>7.3} ms (cpu {:>6.3} ms)  goal {} ms: ratio goal/p99 {ratio:.1} ({})\n",
                p99 / 1000.0,
                cpu / 1000.0,
                GOAL_P99.as_millis(),
                if *ratio >= 1.0 { "met" } else { "NOT met" }
            );
        }
        s
    }
}

pub fn run(
    args: &SchedBenchArgs,
    progress: &mut dyn FnMut(&str),
) -> Result<SchedBenchReport, SchedBenchError> {
    let dir = tempfile::tempdir()?;
    let mut runs = Vec::new();
    for i in 0..args.runs.max(1) {
        for catalog in CATALOGS {
            let db = if catalog == "memory" {
                Db::open_in_memory()?
            } else {
                let path = dir.path().join(format!("bench-{catalog}-{i}.db"));
                let db = Db::open(&path)?;
                if catalog == IDLE_CHECKPOINT {
                    // Checkpoints only where the loop idles (see one_run).
                    db.conn()
                        .pragma_update(None, "wal_autocheckpoint", 0)
                        .map_err(crate::db::DbError::from)?;
                }
                db
            };
            let r = one_run(args, catalog, db, dir.path())?;
            progress(&format!(
                "run {} {catalog}: {:.0} jobs/s, p99 {:.1} µs",
                i + 1,
                r.jobs_per_sec,
                r.p99_us
            ));
            runs.push(r);
        }
    }
    let mut medians = Vec::new();
    for catalog in CATALOGS {
        let mut jps: Vec<f64> = runs
            .iter()
            .filter(|r| r.catalog == catalog)
            .map(|r| r.jobs_per_sec)
            .collect();
        let mut p99: Vec<f64> = runs
            .iter()
            .filter(|r| r.catalog == catalog)
            .map(|r| r.p99_us)
            .collect();
        let mut cpu: Vec<f64> = runs
            .iter()
            .filter(|r| r.catalog == catalog)
            .map(|r| r.p99_cpu_us)
            .collect();
        let (j, p, c) = (median(&mut jps), median(&mut p99), median(&mut cpu));
        let goal = GOAL_P99.as_secs_f64() * 1e6;
        medians.push((
            catalog.to_string(),
            j,
            p,
            goal / p.max(f64::MIN_POSITIVE),
            c,
        ));
    }
    Ok(SchedBenchReport {
        jobs: args.jobs,
        devices: args.devices,
        runs,
        medians,
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn one_run(
    args: &SchedBenchArgs,
    catalog: &'static str,
    db: Db,
    _dir: &Path,
) -> Result<RunResult, SchedBenchError> {
    let (mut s, _) = Scheduler::start(db, 0)?;
    let groups = args.devices / 10;
    // 6/10 of the device groups are tape libraries, 3/10 disk, 1/10 dedup.
    let tape_groups = (groups * 6 / 10).max(1);
    let disk_groups = (groups * 3 / 10).max(1);
    let dedup_groups = groups.saturating_sub(tape_groups + disk_groups).max(1);
    let mut pools: Vec<(String, bool)> = Vec::new();
    for g in 0..tape_groups {
        let lib = format!("lib{g}");
        let ids: Vec<String> = (0..10).map(|d| format!("{lib}/drive{d}")).collect();
        for id in &ids {
            s.add_device(&Device::tape_drive(id, &lib, 8), 0)?;
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        s.create_pool(&format!("tape{g}"), &refs)?;
        pools.push((format!("tape{g}"), true));
        s.db_mut()
            .write(|c| {
                for k in 0..20u32 {
                    let loc = Location::Slot {
                        library: lib.clone(),
                        element: 1000 + k,
                    };
                    manager::import_barcode(c, &format!("G{g:03}{k:03}L8"), &loc, 0)?;
                }
                Ok::<_, manager::MediaError>(())
            })
            .map_err(SchedError::from)?;
    }
    for (kind, n, max, prefix) in [
        (DeviceKind::DiskStorage, disk_groups, 2, "disk"),
        (DeviceKind::DedupStore, dedup_groups, 4, "dedup"),
    ] {
        for g in 0..n {
            let ids: Vec<String> = (0..10).map(|d| format!("{prefix}{g}-{d}")).collect();
            for id in &ids {
                s.add_device(&Device::store(id, kind, max), 0)?;
            }
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            s.create_pool(&format!("{prefix}{g}"), &refs)?;
            pools.push((format!("{prefix}{g}"), false));
        }
    }
    s.db_mut()
        .write(|c| manager::create_set(c, "bench", None, i64::MAX / 4, 0))
        .map_err(SchedError::from)?;
    let tape_pools: Vec<&String> = pools.iter().filter(|p| p.1).map(|p| &p.0).collect();
    let other_pools: Vec<&String> = pools.iter().filter(|p| !p.1).map(|p| &p.0).collect();
    let mut rng = Prng::new(args.seed);
    for _ in 0..args.jobs {
        let r = rng.next_u64();
        let tape = r % 10 < 6;
        let spec = if tape {
            let p = tape_pools[(r >> 8) as usize % tape_pools.len()];
            JobSpec::new(
                JobKind::Backup,
                Target::Pool(p.clone()),
                MediaNeed::Writable {
                    media_set: "bench".into(),
                },
            )
        } else {
            let p = other_pools[(r >> 8) as usize % other_pools.len()];
            JobSpec::new(JobKind::Backup, Target::Pool(p.clone()), MediaNeed::None)
        };
        s.submit(&spec.priority(((r >> 32) % 5) as i32 * 10), 0)?;
    }

    let mut lat: Vec<Duration> = Vec::with_capacity(args.jobs as usize);
    let mut cpu: Vec<Duration> = Vec::with_capacity(args.jobs as usize);
    let mut running: VecDeque<i64> = VecDeque::new();
    let mut in_dispatch = Duration::ZERO;
    let mut now = 1;
    let wall = Instant::now();
    let mut idle_rounds = 0;
    let (mut slow, mut slow_preempted, mut slow_blocked) = (0, 0, 0);
    while (lat.len() as u64) < u64::from(args.jobs) {
        let sw0 = ctx_switches();
        let c0 = thread_cpu();
        let t = Instant::now();
        let a = s.dispatch_next(now)?;
        let d = t.elapsed();
        let dc = thread_cpu().saturating_sub(c0);
        in_dispatch += d;
        match a {
            Some(a) => {
                if d > GOAL_P99 {
                    let sw1 = ctx_switches();
                    slow += 1;
                    slow_preempted += u64::from(sw1.1 > sw0.1);
                    slow_blocked += u64::from(sw1.0 > sw0.0);
                }
                lat.push(d);
                cpu.push(dc);
                running.push_back(a.job);
                idle_rounds = 0;
            }
            None => {
                idle_rounds += 1;
                if running.is_empty() || idle_rounds > 2 {
                    return Err(SchedBenchError::Stuck(format!(
                        "nothing runnable with {} jobs left",
                        u64::from(args.jobs) - lat.len() as u64
                    )));
                }
                now += 1;
                if catalog == IDLE_CHECKPOINT {
                    // What a daemon would do in its idle time: copy the
                    // WAL back (and fsync) outside any dispatch call.
                    s.db()
                        .conn()
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        .map_err(crate::db::DbError::from)?;
                }
                for _ in 0..running.len().div_ceil(2) {
                    if let Some(j) = running.pop_front() {
                        s.complete(j, now)?;
                    }
                }
            }
        }
    }
    let wall = wall.elapsed();
    lat.sort();
    cpu.sort();
    let pct_of = |v: &[Duration], p: f64| {
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len().max(1)) - 1;
        v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let pct = |p: f64| pct_of(&lat, p);
    let n = lat.len() as f64;
    Ok(RunResult {
        catalog,
        dispatched: lat.len() as u64,
        jobs_per_sec: n / in_dispatch.as_secs_f64().max(1e-9),
        jobs_per_sec_wall: n / wall.as_secs_f64().max(1e-9),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        max_us: pct(1.0),
        p99_cpu_us: pct_of(&cpu, 0.99),
        slow,
        slow_preempted,
        slow_blocked,
    })
}

/// (voluntary, involuntary) context switches of this thread so far, from
/// /proc (zeros where it is not mounted: the counts then stay zero).
fn ctx_switches() -> (u64, u64) {
    let Ok(st) = std::fs::read_to_string("/proc/thread-self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        st.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// CPU time of this thread (zero if the clock is unavailable).
fn thread_cpu() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}
