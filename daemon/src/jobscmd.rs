//! `reelctl job ...`: the job executors over a local data directory (a
//! VTL library in `DIR/vtl`, the catalog in `DIR/catalog.db`), without the
//! daemon: what the crash tests run as a child process, and a way to try
//! spanning backups by hand.
//!
//! Every command starts like a daemon does: [`recover_after_restart`]
//! (new process epoch, dead leases freed, interrupted sets incomplete,
//! cartridges home) and then the pool set-up.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibraryError, LibrarySpec, VirtualLibrary};
use uuid::Uuid;

use crate::db::Db;
use crate::jobs::access::VtlAccess;
use crate::jobs::run::{
    ExecOptions, run_backup_job, run_restore_job, submit_backup, submit_restore,
};
use crate::jobs::setup::{ensure_media_set, ensure_tape_pool};
use crate::jobs::{ExecError, OneShot, recover_after_restart};
use crate::scheduler::Scheduler;

/// The library's name in the catalog.
pub const LIBRARY: &str = "lib1";

#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// Data directory: `vtl/` and `catalog.db`.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Tape pool (all drives of the library).
    #[arg(long, default_value = "tape")]
    pub pool: String,
    /// Media set written to.
    #[arg(long, default_value = "default")]
    pub media_set: String,
    /// Record size on tape, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub record_size: usize,
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobCommand {
    /// Creates the VTL (drives, cartridges) and the catalog.
    Init {
        #[command(flatten)]
        dir: DataDir,
        #[arg(long, default_value_t = 2)]
        drives: usize,
        #[arg(long, default_value_t = 8)]
        cartridges: usize,
        /// Capacity of each cartridge in bytes.
        #[arg(long, default_value_t = 8 << 20)]
        capacity: u64,
        /// Overwrite protection of the media set, seconds.
        #[arg(long, default_value_t = 86_400)]
        protect_secs: i64,
    },
    /// Backs up standard input to the tape pool; prints the outcome.
    Backup {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Restores a set to standard output.
    Restore {
        #[command(flatten)]
        dir: DataDir,
        #[arg(long)]
        set: Uuid,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JobCmdError {
    #[error("{0}")]
    Exec(#[from] ExecError),
    #[error("VTL: {0}")]
    Library(#[from] LibraryError),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::db::DbError> for JobCmdError {
    fn from(e: crate::db::DbError) -> JobCmdError {
        JobCmdError::Exec(e.into())
    }
}

fn open(d: &DataDir) -> Result<(VirtualLibrary, VtlAccess, Scheduler), JobCmdError> {
    let lib = VirtualLibrary::open(&d.data_dir.join("vtl"))?;
    let mut devs = VtlAccess::new();
    devs.add_library(LIBRARY, &lib)?;
    let db = Db::open(&catalog_path(&d.data_dir))?;
    let (mut sched, report) = recover_after_restart(db, &devs, &[LIBRARY.to_string()], true)?;
    if report.scheduler.leases_freed > 0 || !report.unloaded.is_empty() {
        tracing::warn!(?report, "recovered the previous process's work");
    }
    let devices = devs.sched_devices();
    ensure_tape_pool(
        &mut sched,
        &devs,
        &devices,
        LIBRARY,
        &d.pool,
        &d.media_set,
        0,
    )?;
    Ok((lib, devs, sched))
}

pub fn catalog_path(dir: &Path) -> PathBuf {
    dir.join("catalog.db")
}

fn options(d: &DataDir) -> ExecOptions {
    let mut o = ExecOptions::default();
    o.tape.record_size = d.record_size;
    o
}

/// Runs a job command; JSON for stdout (backup, init) or nothing (restore
/// writes the data itself).
pub fn run(cmd: &JobCommand) -> Result<Option<serde_json::Value>, JobCmdError> {
    match cmd {
        JobCommand::Init {
            dir,
            drives,
            cartridges,
            capacity,
            protect_secs,
        } => {
            let spec = LibrarySpec::empty(50, 2, *drives, Generation::Lto8);
            let lib = VirtualLibrary::create_with(&dir.data_dir.join("vtl"), &spec)?;
            for i in 0..*cartridges {
                let mut c = CartridgeSpec::new(format!("JB{i:04}L8"), Generation::Lto8);
                c.capacity = *capacity;
                lib.create_cartridge(&c)?;
            }
            drop(lib);
            let mut devs = VtlAccess::new();
            let lib = VirtualLibrary::open(&dir.data_dir.join("vtl"))?;
            devs.add_library(LIBRARY, &lib)?;
            let db = Db::open(&catalog_path(&dir.data_dir))?;
            let (mut sched, _) = recover_after_restart(db, &devs, &[LIBRARY.to_string()], true)?;
            ensure_media_set(&mut sched, &dir.media_set, 7 * 86_400, *protect_secs)?;
            let devices = devs.sched_devices();
            ensure_tape_pool(
                &mut sched,
                &devs,
                &devices,
                LIBRARY,
                &dir.pool,
                &dir.media_set,
                0,
            )?;
            Ok(Some(
                serde_json::json!({ "data_dir": dir.data_dir, "cartridges": cartridges }),
            ))
        }
        JobCommand::Backup { dir } => {
            let (_lib, devs, mut sched) = open(dir)?;
            let job = submit_backup(&mut sched, &dir.pool, Some(&dir.media_set), 3)?;
            // Tells a watching test (or person) the job id before data flows.
            eprintln!("job {job} running");
            let mut src = OneShot::new(std::io::stdin());
            let out = run_backup_job(&mut sched, &devs, job, &mut src, &options(dir))?;
            Ok(Some(
                serde_json::to_value(&out).map_err(std::io::Error::other)?,
            ))
        }
        JobCommand::Restore { dir, set } => {
            let (_lib, devs, mut sched) = open(dir)?;
            let job = submit_restore(&mut sched, &dir.pool, *set)?;
            let mut out = std::io::stdout().lock();
            run_restore_job(&mut sched, &devs, job, *set, &mut out, &options(dir))?;
            out.flush()?;
            Ok(None)
        }
    }
}
