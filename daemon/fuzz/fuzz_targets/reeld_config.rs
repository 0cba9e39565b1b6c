#![no_main]
//! reeld.toml as an operator writes it: parsing never panics, and what
//! parses resolves its paths and applies to a fresh catalog (pools, media
//! sets, barcode rules) with a clear error at worst, never a panic.
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use reeld::db::Db;
use reeld::scheduler::Scheduler;
use reeld::devices::config::StorageKind;
use reeld::server::config::Config;
use reeld::server::setup::apply_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = Config::parse(text, Path::new("reeld.toml")) else {
        return;
    };
    let dir = Path::new("/var/lib/reel");
    let _ = cfg.resolved_devices(dir);
    let _ = cfg.vtl_dirs(dir);
    let _ = cfg.storage_dirs(dir, StorageKind::Disk);
    let _ = cfg.storage_dirs(dir, StorageKind::Dedup);
    let db = Db::open_in_memory().expect("an in-memory catalog opens");
    let (mut sched, _) = Scheduler::start(db, 0).expect("a fresh catalog starts");
    let _ = apply_config(&mut sched, &cfg);
});
