//! Disk storage pools: backup and restore through the executor, and a
//! duplicate job that stages a disk set to a tape pool.

mod jobs_common;

use std::io::Cursor;

use jobs_common::{DAY, MIB, data, opts, rig};
use reel_drivers::storage::DiskStorage;
use reeld::db::catalog::{self, PieceLocation, SetState};
use reeld::jobs::duplicate::{run_duplicate_job, submit_duplicate};
use reeld::jobs::run::{run_backup_job, run_restore_job, submit_backup, submit_restore};
use reeld::jobs::setup::ensure_pool;
use reeld::scheduler::device::DeviceKind;

#[test]
fn disk_pool_backup_restore_and_duplicate_to_tape() {
    let mut r = rig(1, 4, 6 * MIB, DAY);
    let disk = r.dir.path().join("disk0");
    DiskStorage::init(&disk, Some(1 << 30), None).unwrap();
    r.devs
        .add_storage("disk0", DeviceKind::DiskStorage, disk.clone());
    let devices = r.devs.sched_devices();
    ensure_pool(&mut r.sched, &devices, "disk", &["disk0".to_string()]).unwrap();

    let input = data(9 * MIB as usize + 77, 11);
    let job = submit_backup(&mut r.sched, "disk", None, 2).unwrap();
    let out = run_backup_job(
        &mut r.sched,
        &r.devs,
        job,
        &mut Cursor::new(input.clone()),
        &opts(),
    )
    .unwrap();
    assert_eq!(out.device, "disk0");
    assert!(out.cartridges.is_empty());
    let set = catalog::get_set(r.sched.db().conn(), out.set).unwrap();
    assert_eq!(set.state, SetState::Complete);
    assert_eq!(
        set.pieces[0].location,
        PieceLocation::Disk {
            container: format!("set-{}", out.set)
        }
    );
    assert_eq!(set.pieces[0].bytes, input.len() as u64);
    let store = DiskStorage::open(&disk).unwrap();
    assert!(store.container_path(&format!("set-{}", out.set)).is_file());

    let rj = submit_restore(&mut r.sched, "disk", out.set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut r.sched, &r.devs, rj, out.set, &mut back, &opts()).unwrap();
    assert!(back == input);

    // Stage the disk set to tape: it spans two cartridges there.
    let dj = submit_duplicate(&mut r.sched, out.set, "tape", Some("weekly"), 2).unwrap();
    let copy = run_duplicate_job(&mut r.sched, &r.devs, dj, &opts()).unwrap();
    assert_ne!(copy.set, out.set);
    assert_eq!(copy.digest, out.digest);
    assert!(copy.cartridges.len() >= 2, "{:?}", copy.cartridges);
    let c = r.sched.db().conn();
    assert_eq!(
        catalog::get_set(c, copy.set).unwrap().state,
        SetState::Complete
    );
    let rj = submit_restore(&mut r.sched, "tape", copy.set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut r.sched, &r.devs, rj, copy.set, &mut back, &opts()).unwrap();
    assert!(back == input);
}
