//! The executors over the daemon's device layer: every drive and changer
//! operation through the registry's worker threads (RegistryAccess), a
//! spanning backup and its restore.

mod jobs_common;

use std::io::Cursor;
use std::time::Duration;

use jobs_common::{DAY, MIB, data, opts};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibrarySpec, VirtualLibrary};
use reeld::db::{Db, unix_now};
use reeld::devices::{DevicesConfig, NoSerial, Registry, RegistryOptions};
use reeld::jobs::access::RegistryAccess;
use reeld::jobs::run::{run_backup_job, run_restore_job, submit_backup, submit_restore};
use reeld::jobs::setup::{ensure_media_set, ensure_tape_pool};
use reeld::scheduler::Scheduler;
use reeld::scheduler::device::DeviceKind;

#[test]
fn spanning_backup_and_restore_through_the_registry_workers() {
    let dir = tempfile::tempdir().unwrap();
    let vtl = dir.path().join("vtl");
    let lib =
        VirtualLibrary::create_with(&vtl, &LibrarySpec::empty(20, 2, 2, Generation::Lto8)).unwrap();
    for i in 0..4 {
        let mut spec = CartridgeSpec::new(format!("RG{i:04}L8"), Generation::Lto8);
        spec.capacity = 4 * MIB;
        lib.create_cartridge(&spec).unwrap();
    }
    let config = DevicesConfig::parse(&format!(
        "[devices]\nsysfs = false\n[[library]]\naddress = \"vtl:{}\"\n",
        vtl.display()
    ))
    .unwrap();
    let reg = Registry::start(
        config,
        RegistryOptions {
            serials: Box::new(NoSerial),
            vtls: vec![lib.clone()],
            background_polls: false,
            poll_wait: Duration::from_secs(60),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let devices: Vec<_> = reg
        .devices()
        .iter()
        .filter(|d| d.kind == DeviceKind::TapeDrive)
        .map(|d| d.sched_device())
        .collect();
    assert_eq!(devices.len(), 2);
    let library = devices[0].library.clone().unwrap();

    let db = Db::open(&dir.path().join("catalog.db")).unwrap();
    let (mut sched, _) = Scheduler::start(db, unix_now()).unwrap();
    let devs = RegistryAccess::new(&reg);
    ensure_media_set(&mut sched, "weekly", 7 * DAY, DAY).unwrap();
    ensure_tape_pool(&mut sched, &devs, &devices, &library, "tape", "weekly", DAY).unwrap();

    let input = data(7 * MIB as usize, 21);
    let job = submit_backup(&mut sched, "tape", Some("weekly"), 2).unwrap();
    let out = run_backup_job(
        &mut sched,
        &devs,
        job,
        &mut Cursor::new(input.clone()),
        &opts(),
    )
    .unwrap();
    assert!(out.cartridges.len() >= 2, "{:?}", out.cartridges);
    // After a poll the registry sees both drives empty again.
    reg.poll_now();
    for d in reg.devices() {
        if d.kind == DeviceKind::TapeDrive {
            assert_eq!(d.loaded, None, "{}", d.id);
        }
    }

    let r = submit_restore(&mut sched, "tape", out.set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut sched, &devs, r, out.set, &mut back, &opts()).unwrap();
    assert!(back == input);
}
