//! Pools, dispatch, waiting reasons, priorities, pause/resume/cancel,
//! failover with bounded retries.

use reeld::db::catalog::{self, PieceLocation, SetState};
use reeld::db::{self, Db};
use reeld::media::Location;
use reeld::media::manager;
use reeld::scheduler::device::{Device, DeviceKind, Health};
use reeld::scheduler::dispatch::pool_reason;
use reeld::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Progress, Target};
use reeld::scheduler::pool::PoolError;
use reeld::scheduler::{Failure, SchedError, Scheduler};

fn sched() -> Scheduler {
    Scheduler::start(Db::open_in_memory().unwrap(), 0)
        .unwrap()
        .0
}

/// Library lib1 with `drives` LTO-8 drives in pool lto8, `scratch`
/// cartridges, and media set "weekly".
fn tape_setup(drives: usize, scratch: u32) -> Scheduler {
    let mut s = sched();
    let mut ids = Vec::new();
    for i in 0..drives {
        let id = format!("lib1/drive{i}");
        s.add_device(&Device::tape_drive(&id, "lib1", 8), 0)
            .unwrap();
        ids.push(id);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    s.create_pool("lto8", &refs).unwrap();
    s.db_mut()
        .write(|c| {
            manager::create_set(c, "weekly", None, 86_400, 604_800)?;
            for i in 0..scratch {
                let loc = Location::Slot {
                    library: "lib1".into(),
                    element: 1000 + i,
                };
                manager::import_barcode(c, &format!("S{i:05}L8"), &loc, 0)?;
            }
            Ok::<_, manager::MediaError>(())
        })
        .unwrap();
    s
}

fn backup() -> JobSpec {
    JobSpec::new(
        JobKind::Backup,
        Target::Pool("lto8".into()),
        MediaNeed::Writable {
            media_set: "weekly".into(),
        },
    )
}

fn disk_backup(pool: &str) -> JobSpec {
    JobSpec::new(JobKind::Backup, Target::Pool(pool.into()), MediaNeed::None)
}

#[test]
fn mixed_pools_are_refused() {
    let mut s = sched();
    s.add_device(&Device::tape_drive("d8", "lib1", 8), 0)
        .unwrap();
    s.add_device(&Device::tape_drive("d6", "lib1", 6), 0)
        .unwrap();
    s.add_device(&Device::tape_drive("d9", "lib1", 9), 0)
        .unwrap();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 4), 0)
        .unwrap();
    s.add_device(&Device::store("dd0", DeviceKind::DedupStore, 4), 0)
        .unwrap();
    s.add_device(
        &Device {
            kind: DeviceKind::Changer,
            ..Device::store("lib1", DeviceKind::Changer, 1)
        },
        0,
    )
    .unwrap();

    let e = s.create_pool("p", &["d8", "disk0"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pool p: refusing a mixed pool: disk0 is a disk storage, the pool holds drives (a pool holds devices of one type only)"
    );
    let e = s.create_pool("p", &["disk0", "dd0"]).unwrap_err();
    assert!(matches!(e, SchedError::Pool(PoolError::MixedKinds { .. })));
    let e = s.create_pool("p", &["d8", "d6"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pool p: refusing a mixed pool: d6 is LTO-6, not write-compatible with LTO-8..LTO-8 already in the pool"
    );
    let e = s.create_pool("p", &["lib1"]).unwrap_err();
    assert!(matches!(e, SchedError::Pool(PoolError::NotPoolable { .. })));
    // Compatible neighbours are fine; nothing was half-created before.
    s.create_pool("p", &["d8", "d9"]).unwrap();
    let e = s.add_pool_member("p", "disk0").unwrap_err();
    assert!(matches!(e, SchedError::Pool(PoolError::MixedKinds { .. })));
    // A member re-registered as another kind is refused as well.
    let e = s
        .add_device(&Device::store("d9", DeviceKind::DiskStorage, 1), 0)
        .unwrap_err();
    assert!(matches!(e, SchedError::Pool(PoolError::MixedKinds { .. })));
    assert_eq!(
        db::devices::pool_members(s.db().conn(), "p").unwrap().len(),
        2
    );
}

#[test]
fn pool_reason_texts() {
    use Health::*;
    let k = DeviceKind::TapeDrive;
    assert_eq!(
        pool_reason("lto8", k, &[(Online, false), (Online, true)]),
        None
    );
    assert_eq!(
        pool_reason("lto8", k, &[(Online, true), (Online, true)]).unwrap(),
        "waiting: all 2 drives of pool lto8 busy"
    );
    assert_eq!(
        pool_reason("lto8", k, &[(Online, true)]).unwrap(),
        "waiting: the only drive of pool lto8 busy"
    );
    assert_eq!(
        pool_reason("lto8", k, &[(Online, true), (Down, false), (Failed, false)]).unwrap(),
        "waiting: no free drive in pool lto8 (1 busy, 1 down, 1 failed)"
    );
    assert_eq!(
        pool_reason("lto8", k, &[(Offline, false), (Down, false)]).unwrap(),
        "waiting: no usable drive in pool lto8 (1 down, 1 offline)"
    );
    assert_eq!(
        pool_reason("dd", DeviceKind::DedupStore, &[]).unwrap(),
        "waiting: pool dd has no dedup stores"
    );
    assert_eq!(
        pool_reason(
            "disks",
            DeviceKind::DiskStorage,
            &[(Online, true), (Online, true)]
        )
        .unwrap(),
        "waiting: all 2 disk storages of pool disks busy"
    );
}

#[test]
fn busy_pool_and_missing_scratch_are_visible_reasons() {
    let mut s = tape_setup(2, 2);
    let ids: Vec<i64> = (0..4).map(|_| s.submit(&backup(), 1).unwrap()).collect();
    let a = s.dispatch_all(1).unwrap();
    assert_eq!(a.len(), 2);
    assert_ne!(a[0].device, a[1].device);
    assert_ne!(a[0].cartridge, a[1].cartridge);
    assert!(a.iter().all(|x| x.cartridge.is_some() && x.slot.is_some()));
    let j = s.job(ids[2]).unwrap();
    assert_eq!(j.state, JobState::Queued);
    assert_eq!(
        j.waiting.as_deref(),
        Some("waiting: all 2 drives of pool lto8 busy")
    );
    // One drive frees up, but both cartridges are held by running jobs and
    // there is no other scratch cartridge.
    s.complete(a[0].job, 2).unwrap();
    // The completed job's cartridge is appendable again: job 3 gets it.
    let b = s.dispatch_all(2).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].cartridge, a[0].cartridge);
    s.set_health(&a[0].device, Health::Down, 3).unwrap();
    s.complete(b[0].job, 3).unwrap();
    assert!(s.dispatch_all(3).unwrap().is_empty());
    assert_eq!(
        s.job(ids[3]).unwrap().waiting.as_deref(),
        Some("waiting: no free drive in pool lto8 (1 busy, 1 down)")
    );
    s.set_health(&a[0].device, Health::Online, 4).unwrap();
    // Drive free, both cartridges: one appendable (free), so it runs.
    assert_eq!(s.dispatch_all(4).unwrap().len(), 1);
}

#[test]
fn no_scratch_cartridge_reason() {
    let mut s = tape_setup(2, 1);
    let j1 = s.submit(&backup(), 0).unwrap();
    let j2 = s.submit(&backup(), 0).unwrap();
    let a = s.dispatch_all(0).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].job, j1);
    assert_eq!(
        s.job(j2).unwrap().waiting.as_deref(),
        Some("waiting: no scratch cartridge in library lib1")
    );
    // A cartridge arrives in the mail slot and is imported into a slot.
    s.db_mut()
        .write(|c| {
            let loc = Location::Slot {
                library: "lib1".into(),
                element: 2000,
            };
            manager::import_barcode(c, "NEW001L8", &loc, 5).map(|_| ())
        })
        .unwrap();
    let b = s.dispatch_all(5).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].cartridge.as_deref(), Some("NEW001L8"));
    assert_eq!(s.job(j2).unwrap().waiting, None);
}

#[test]
fn least_loaded_member_first() {
    let mut s = sched();
    for id in ["disk0", "disk1"] {
        s.add_device(&Device::store(id, DeviceKind::DiskStorage, 2), 0)
            .unwrap();
    }
    s.create_pool("disks", &["disk0", "disk1"]).unwrap();
    for _ in 0..5 {
        s.submit(&disk_backup("disks"), 0).unwrap();
    }
    let a = s.dispatch_all(0).unwrap();
    let devs: Vec<(&str, u32)> = a.iter().map(|x| (x.device.as_str(), x.unit)).collect();
    assert_eq!(
        devs,
        vec![("disk0", 0), ("disk1", 0), ("disk0", 1), ("disk1", 1)]
    );
    assert_eq!(
        s.job(5).unwrap().waiting.as_deref(),
        Some("waiting: all 2 disk storages of pool disks busy")
    );
    // disk1 has a free unit after a completion: the next job goes there
    // even though disk0 comes first by name.
    s.complete(a[1].job, 1).unwrap();
    let b = s.dispatch_all(1).unwrap();
    assert_eq!((b[0].device.as_str(), b[0].unit), ("disk1", 0));
}

#[test]
fn priority_then_submission_order() {
    let mut s = sched();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 1), 0)
        .unwrap();
    s.create_pool("disks", &["disk0"]).unwrap();
    let low = s.submit(&disk_backup("disks").priority(10), 0).unwrap();
    let mid1 = s.submit(&disk_backup("disks"), 0).unwrap();
    let high = s.submit(&disk_backup("disks").priority(90), 0).unwrap();
    let mid2 = s.submit(&disk_backup("disks"), 0).unwrap();
    let mut order = Vec::new();
    for t in 1..=4 {
        let a = s.dispatch_all(t).unwrap();
        assert_eq!(a.len(), 1);
        order.push(a[0].job);
        s.complete(a[0].job, t).unwrap();
    }
    assert_eq!(order, vec![high, mid1, mid2, low]);
}

#[test]
fn a_job_that_cannot_run_does_not_block_the_next() {
    // Three drives, so that a drive stays free and the job's own reason
    // (not the pool's) is what shows.
    let mut s = tape_setup(3, 3);
    // High-priority restore of a cartridge that a backup holds.
    let b = s.submit(&backup(), 0).unwrap();
    let a = s.dispatch_all(0).unwrap();
    let held = a[0].cartridge.clone().unwrap();
    let restore = s
        .submit(
            &JobSpec::new(
                JobKind::Restore,
                Target::Pool("lto8".into()),
                MediaNeed::Specific {
                    barcode: held.clone(),
                },
            )
            .priority(99),
            1,
        )
        .unwrap();
    let later = s.submit(&backup(), 1).unwrap();
    let a = s.dispatch_all(1).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].job, later);
    assert_eq!(
        s.job(restore).unwrap().waiting,
        Some(format!("waiting: cartridge {held} busy (job {b})"))
    );
    // Unknown and out-of-library cartridges have their own reasons.
    let unknown = s
        .submit(
            &JobSpec::new(
                JobKind::Verify,
                Target::Pool("lto8".into()),
                MediaNeed::Specific {
                    barcode: "NOPE01L8".into(),
                },
            ),
            1,
        )
        .unwrap();
    s.complete(later, 2).unwrap();
    s.dispatch_all(2).unwrap();
    assert_eq!(
        s.job(unknown).unwrap().waiting.as_deref(),
        Some("waiting: cartridge NOPE01L8 is not in the catalog")
    );
}

#[test]
fn pause_resume_cancel() {
    let mut s = sched();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 1), 0)
        .unwrap();
    s.create_pool("disks", &["disk0"]).unwrap();
    let j1 = s.submit(&disk_backup("disks"), 0).unwrap();
    let j2 = s.submit(&disk_backup("disks"), 0).unwrap();
    s.pause(j1, 0).unwrap();
    let a = s.dispatch_all(0).unwrap();
    assert_eq!(a[0].job, j2, "a paused job is skipped");
    assert_eq!(s.job(j1).unwrap().state, JobState::Paused);
    s.resume(j1, 1).unwrap();
    assert_eq!(s.job(j1).unwrap().state, JobState::Queued);

    // Pausing a running job keeps its device.
    s.pause(j2, 1).unwrap();
    assert!(s.dispatch_all(1).unwrap().is_empty());
    s.resume(j2, 2).unwrap();
    assert_eq!(s.job(j2).unwrap().state, JobState::Running);

    // Cancel a running job: the set it wrote is incomplete, the device free.
    let set = s
        .db_mut()
        .write(|c| catalog::begin_set(c, Some(j2), Some("disks"), None, 2))
        .unwrap();
    s.cancel(j2, 3).unwrap();
    assert_eq!(s.job(j2).unwrap().state, JobState::Cancelled);
    assert_eq!(
        catalog::get_set(s.db().conn(), set).unwrap().state,
        SetState::Incomplete
    );
    assert!(db::leases::of_job(s.db().conn(), j2).unwrap().is_empty());
    assert_eq!(s.dispatch_all(3).unwrap()[0].job, j1);
    // Terminal states stay terminal.
    assert!(matches!(
        s.resume(j2, 4),
        Err(SchedError::Transition { .. })
    ));
    s.complete(j1, 4).unwrap();
    assert!(matches!(
        s.cancel(j1, 5),
        Err(SchedError::Transition { .. })
    ));
    let kinds: Vec<String> = s.events(j2).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec!["submitted", "started", "paused", "resumed", "cancelled"]
    );
}

#[test]
fn progress_without_a_rate_gets_the_average_since_the_start() {
    let mut s = tape_setup(1, 2);
    let job = s.submit(&backup(), 0).unwrap();
    s.dispatch_all(100).unwrap();
    let p = |bytes, rate| Progress {
        bytes_done: bytes,
        rate_bps: rate,
        ..Progress::default()
    };
    s.progress(job, &p(5_000, None), 110).unwrap();
    assert_eq!(s.job(job).unwrap().progress.rate_bps, Some(500));
    // In the first second: no division by zero.
    s.progress(job, &p(7, None), 100).unwrap();
    assert_eq!(s.job(job).unwrap().progress.rate_bps, Some(7));
    // A rate the executor measured itself is kept.
    s.progress(job, &p(9_000, Some(42)), 120).unwrap();
    assert_eq!(s.job(job).unwrap().progress.rate_bps, Some(42));
}

#[test]
fn failover_to_another_member_marks_the_partial_set_incomplete() {
    let mut s = tape_setup(2, 4);
    let job = s.submit(&backup(), 0).unwrap();
    let a = s.dispatch_all(0).unwrap().remove(0);
    let first_set = s
        .db_mut()
        .write(|c| {
            let set = catalog::begin_set(c, Some(job), Some("lto8"), Some("weekly"), 0)?;
            let loc = PieceLocation::Tape {
                barcode: a.cartridge.clone().unwrap_or_default(),
                file_number: 1,
                first_block: 0,
                last_block: 99,
            };
            catalog::add_piece(c, set, &loc, 100)?;
            Ok::<_, db::DbError>(set)
        })
        .unwrap();
    s.progress(
        job,
        &Progress {
            bytes_done: 100,
            bytes_total: Some(1000),
            rate_bps: Some(50),
            device: None,
            barcode: None,
        },
        1,
    )
    .unwrap();
    let f = Failure {
        device: a.device.clone(),
        message: "MEDIUM ERROR 03/11".into(),
        device_failed: true,
        retry: true,
    };
    assert_eq!(s.fail_attempt(job, &f, 2).unwrap(), JobState::Queued);
    assert_eq!(
        catalog::get_set(s.db().conn(), first_set).unwrap().state,
        SetState::Incomplete
    );
    let dev = db::devices::get_device(s.db().conn(), &a.device).unwrap();
    assert_eq!(dev.health, Health::Failed);
    let b = s.dispatch_all(2).unwrap().remove(0);
    assert_eq!(b.job, job);
    assert_ne!(b.device, a.device);
    assert_eq!(b.attempt, 2);
    s.complete(job, 3).unwrap();
    let j = s.job(job).unwrap();
    assert_eq!((j.state, j.attempts), (JobState::Completed, 2));
    let history: Vec<String> = s
        .events(job)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        history.contains(&format!(
            "attempt 1 failed on {}: MEDIUM ERROR 03/11",
            a.device
        )),
        "{history:?}"
    );
    assert!(history.contains(&"retry 2 of 3".to_string()), "{history:?}");
    // The partial set of attempt 1 is never presented as good.
    assert_eq!(
        catalog::get_set(s.db().conn(), first_set).unwrap().state,
        SetState::Incomplete
    );
    // Failing a job on a device it does not run on is refused.
    assert!(matches!(
        s.fail_attempt(job, &f, 4),
        Err(SchedError::NotOnDevice { .. })
    ));
}

#[test]
fn retries_are_bounded() {
    let mut s = sched();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 1), 0)
        .unwrap();
    s.create_pool("disks", &["disk0"]).unwrap();
    let job = s.submit(&disk_backup("disks").max_attempts(2), 0).unwrap();
    for t in 0..2 {
        let a = s.dispatch_all(t).unwrap();
        // A job that failed on every member may go back to them.
        assert_eq!(a.len(), 1, "attempt {t}");
        let f = Failure {
            device: "disk0".into(),
            message: "ENOSPC".into(),
            device_failed: false,
            retry: true,
        };
        let st = s.fail_attempt(job, &f, t).unwrap();
        assert_eq!(
            st,
            if t == 0 {
                JobState::Queued
            } else {
                JobState::Failed
            }
        );
    }
    let j = s.job(job).unwrap();
    assert_eq!(j.attempts, 2);
    assert_eq!(
        j.error.as_deref(),
        Some("attempt 2 failed on disk0: ENOSPC")
    );
    assert!(s.dispatch_all(5).unwrap().is_empty());
}

#[test]
fn a_failure_that_is_not_the_devices_is_not_retried() {
    let mut s = sched();
    for id in ["disk0", "disk1"] {
        s.add_device(&Device::store(id, DeviceKind::DiskStorage, 1), 0)
            .unwrap();
    }
    s.create_pool("disks", &["disk0", "disk1"]).unwrap();
    let job = s.submit(&disk_backup("disks").max_attempts(3), 0).unwrap();
    let a = s.dispatch_all(0).unwrap();
    let f = Failure {
        device: a[0].device.clone(),
        message: "client went away".into(),
        device_failed: false,
        retry: false,
    };
    assert_eq!(s.fail_attempt(job, &f, 1).unwrap(), JobState::Failed);
    let j = s.job(job).unwrap();
    assert_eq!(j.attempts, 1, "no attempt spent on the other member");
    let events = s.events(job).unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "gave_up");
    assert!(last.message.starts_with("not retried"), "{}", last.message);
    assert!(s.dispatch_all(2).unwrap().is_empty());
}

#[test]
fn failed_member_is_avoided_while_another_exists() {
    let mut s = sched();
    for id in ["disk0", "disk1"] {
        s.add_device(&Device::store(id, DeviceKind::DiskStorage, 1), 0)
            .unwrap();
    }
    s.create_pool("disks", &["disk0", "disk1"]).unwrap();
    let blocker = s.submit(&disk_backup("disks"), 0).unwrap();
    let job = s.submit(&disk_backup("disks"), 0).unwrap();
    let a = s.dispatch_all(0).unwrap();
    let on_job = a.iter().find(|x| x.job == job).unwrap().device.clone();
    let f = Failure {
        device: on_job.clone(),
        message: "checksum".into(),
        device_failed: false,
        retry: true,
    };
    s.fail_attempt(job, &f, 1).unwrap();
    // Only the failed member is free: the job waits for the other one.
    assert!(s.dispatch_all(1).unwrap().is_empty());
    assert_eq!(
        s.job(job).unwrap().waiting.as_deref(),
        Some("waiting: no free disk storage of pool disks that this job has not failed on")
    );
    s.complete(blocker, 2).unwrap();
    let b = s.dispatch_all(2).unwrap();
    assert_eq!(b.len(), 1);
    assert_ne!(b[0].device, on_job);
}

#[test]
fn cleaning_job_pinned_to_a_drive() {
    let mut s = tape_setup(1, 0);
    let spec = JobSpec::new(
        JobKind::Clean,
        Target::Device("lib1/drive0".into()),
        MediaNeed::Cleaning,
    );
    let j = s.submit(&spec, 0).unwrap();
    assert!(s.dispatch_all(0).unwrap().is_empty());
    assert_eq!(
        s.job(j).unwrap().waiting.as_deref(),
        Some("waiting: no cleaning cartridge in library lib1")
    );
    s.db_mut()
        .write(|c| {
            let loc = Location::Slot {
                library: "lib1".into(),
                element: 7,
            };
            manager::import_barcode(c, "CLN001L1", &loc, 0).map(|_| ())
        })
        .unwrap();
    let a = s.dispatch_all(1).unwrap();
    assert_eq!(a[0].cartridge.as_deref(), Some("CLN001L1"));
    assert_eq!(a[0].device, "lib1/drive0");
    // Pinned jobs report the device's own state.
    let j2 = s.submit(&spec, 1).unwrap();
    s.dispatch_all(1).unwrap();
    assert_eq!(
        s.job(j2).unwrap().waiting,
        Some(format!("waiting: drive lib1/drive0 busy (job {j})"))
    );
    s.complete(j, 2).unwrap();
    s.set_health("lib1/drive0", Health::Offline, 2).unwrap();
    s.dispatch_all(2).unwrap();
    assert_eq!(
        s.job(j2).unwrap().waiting.as_deref(),
        Some("waiting: drive lib1/drive0 is offline")
    );
}
