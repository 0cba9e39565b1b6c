//! A catalog and an in-process VTL library with tiny cartridges, for the
//! executor tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibrarySpec, VirtualLibrary};
use reeld::db::{Db, unix_now};
use reeld::jobs::access::VtlAccess;
use reeld::jobs::run::ExecOptions;
use reeld::jobs::setup::{ensure_media_set, ensure_tape_pool};
use reeld::scheduler::Scheduler;

pub const MIB: u64 = 1 << 20;
pub const DAY: i64 = 86_400;

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub lib: VirtualLibrary,
    pub devs: VtlAccess,
    pub sched: Scheduler,
}

pub fn catalog(dir: &Path) -> PathBuf {
    dir.join("catalog.db")
}

/// `drives` LTO-8 drives, `carts` cartridges TP0000L8.. of `capacity`
/// bytes, pool `tape` over the drives, media set `weekly` protected for
/// `protect` seconds.
pub fn rig(drives: usize, carts: usize, capacity: u64, protect: i64) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_with(
        &dir.path().join("vtl"),
        &LibrarySpec::empty(20, 2, drives, Generation::Lto8),
    )
    .unwrap();
    for i in 0..carts {
        let mut spec = CartridgeSpec::new(format!("TP{i:04}L8"), Generation::Lto8);
        spec.capacity = capacity;
        lib.create_cartridge(&spec).unwrap();
    }
    let mut devs = VtlAccess::new();
    devs.add_library("lib1", &lib).unwrap();
    let sched = open_sched(dir.path(), &devs, protect);
    Rig {
        dir,
        lib,
        devs,
        sched,
    }
}

/// Opens (or re-creates) the catalog of `dir` with the pool set up.
pub fn open_sched(dir: &Path, devs: &VtlAccess, protect: i64) -> Scheduler {
    let db = Db::open(&catalog(dir)).unwrap();
    let (mut sched, _) = Scheduler::start(db, unix_now()).unwrap();
    ensure_media_set(&mut sched, "weekly", 7 * DAY, protect).unwrap();
    let devices = devs.sched_devices();
    ensure_tape_pool(
        &mut sched, devs, &devices, "lib1", "tape", "weekly", protect,
    )
    .unwrap();
    sched
}

/// Deterministic incompressible-looking data.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    reeld::bench::Prng::new(seed).fill(&mut v);
    v
}

pub fn opts() -> ExecOptions {
    let mut o = ExecOptions::default();
    o.tape.record_size = 64 * 1024;
    o
}
