//! Ownership leases: the state machine, exclusivity under concurrent
//! threads, recovery after a restart and after a lapsed heartbeat.

use std::collections::HashMap;
use std::sync::{Arc, Barrier, Mutex};

use reeld::db::catalog::{self, SetState};
use reeld::db::{self, Db};
use reeld::media::{Location, MediaState, manager};
use reeld::scheduler::Scheduler;
use reeld::scheduler::device::{Device, DeviceKind};
use reeld::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Target};
use reeld::scheduler::lease::{self, LeaseError, LeaseEvent, LeaseRecord, Ownership, Resource};

fn rec(job: i64, epoch: i64, expires_at: i64) -> LeaseRecord {
    LeaseRecord {
        resource: Resource::device("d0"),
        unit: 0,
        job,
        epoch,
        acquired_at: 0,
        heartbeat_at: 0,
        expires_at,
    }
}

#[test]
fn state_machine_transitions() {
    let r = Resource::device("d0");
    let acq = |job| LeaseEvent::Acquire {
        job,
        epoch: 1,
        now: 0,
        ttl: 10,
    };
    let held = lease::next(&Ownership::Free, &acq(1), &r, 0).unwrap();
    assert_eq!(held, Ownership::Held(rec(1, 1, 10)));
    // Another job: busy, with the holder named.
    let e = lease::next(&held, &acq(2), &r, 0).unwrap_err();
    assert_eq!(e.to_string(), "device d0 is held by job 1");
    let hb = LeaseEvent::Heartbeat {
        job: 1,
        now: 5,
        ttl: 10,
    };
    let Ownership::Held(l) = lease::next(&held, &hb, &r, 0).unwrap() else {
        panic!("heartbeat must keep the lease");
    };
    assert_eq!((l.heartbeat_at, l.expires_at), (5, 15));
    let wrong = LeaseEvent::Release { job: 2 };
    assert!(matches!(
        lease::next(&held, &wrong, &r, 0),
        Err(LeaseError::NotHolder {
            holder: 1,
            job: 2,
            ..
        })
    ));
    assert_eq!(
        lease::next(&held, &LeaseEvent::Release { job: 1 }, &r, 0).unwrap(),
        Ownership::Free
    );
    assert!(matches!(
        lease::next(&Ownership::Free, &LeaseEvent::Release { job: 1 }, &r, 0),
        Err(LeaseError::NotHeld { .. })
    ));
    // Alive: same epoch, before expiry.
    let check = |live_epoch, now| LeaseEvent::Check { live_epoch, now };
    assert_eq!(lease::next(&held, &check(1, 9), &r, 0).unwrap(), held);
    // Dead: expired, or another process epoch.
    let exp = lease::next(&held, &check(1, 10), &r, 0).unwrap();
    assert_eq!(exp, Ownership::Expired(rec(1, 1, 10)));
    assert_eq!(
        lease::next(&held, &check(2, 0), &r, 0).unwrap(),
        Ownership::Expired(rec(1, 1, 10))
    );
    // An expired lease is recovered before anyone else gets the unit.
    assert!(matches!(
        lease::next(&exp, &acq(2), &r, 0),
        Err(LeaseError::AwaitsRecovery { holder: 1, .. })
    ));
    assert_eq!(
        lease::next(&exp, &LeaseEvent::Recover, &r, 0).unwrap(),
        Ownership::Free
    );
}

fn submit_n(s: &mut Scheduler, n: usize, spec: &JobSpec) -> Vec<i64> {
    (0..n).map(|_| s.submit(spec, 0).unwrap()).collect()
}

#[test]
fn sql_refuses_a_second_holder() {
    let (mut s, _) = Scheduler::start(Db::open_in_memory().unwrap(), 0).unwrap();
    s.add_device(&Device::tape_drive("d0", "lib1", 8), 0)
        .unwrap();
    s.create_pool("p", &["d0"]).unwrap();
    let spec = JobSpec::new(JobKind::Verify, Target::Pool("p".into()), MediaNeed::None);
    let jobs = submit_n(&mut s, 2, &spec);
    let epoch = s.epoch();
    let c = s.db().conn();
    let cart = Resource::cartridge("A00001L8");
    lease::acquire(c, &cart, 0, jobs[0], epoch, 0, 60).unwrap();
    let e = lease::acquire(c, &cart, 0, jobs[1], epoch, 0, 60).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cartridge A00001L8 is held by job {}", jobs[0])
    );
    // Even a raw INSERT of another unit for the same job is refused by the
    // UNIQUE (resource, job) constraint.
    let mut r = lease::acquire(c, &cart, 0, jobs[0], epoch, 0, 60).unwrap_err();
    assert!(matches!(r, LeaseError::Busy { .. }));
    r = lease::acquire(c, &cart, 1, jobs[0], epoch, 0, 60).unwrap_err();
    assert!(matches!(r, LeaseError::Busy { .. }));
    // A lease for a job that does not exist is a bug, not contention.
    assert!(matches!(
        lease::acquire(c, &Resource::cartridge("B"), 0, 999, epoch, 0, 60),
        Err(LeaseError::Db(_))
    ));
    lease::release(c, &cart, jobs[0]).unwrap();
    lease::acquire(c, &cart, 0, jobs[1], epoch, 0, 60).unwrap();
}

/// Many threads, each with its own connection, race to dispatch and
/// complete jobs on few devices and cartridges: nobody ever shares one.
#[test]
fn concurrent_dispatchers_never_share_a_drive_or_cartridge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.db");
    let (mut s, _) = Scheduler::start(Db::open(&path).unwrap(), 0).unwrap();
    let drives: Vec<String> = (0..3).map(|i| format!("lib1/drive{i}")).collect();
    for d in &drives {
        s.add_device(&Device::tape_drive(d, "lib1", 8), 0).unwrap();
    }
    let refs: Vec<&str> = drives.iter().map(String::as_str).collect();
    s.create_pool("lto8", &refs).unwrap();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 2), 0)
        .unwrap();
    s.create_pool("disks", &["disk0"]).unwrap();
    s.db_mut()
        .write(|c| {
            manager::create_set(c, "weekly", None, 1_000_000, 0)?;
            for i in 0..4u32 {
                let loc = Location::Slot {
                    library: "lib1".into(),
                    element: 100 + i,
                };
                manager::import_barcode(c, &format!("T{i:05}L8"), &loc, 0)?;
            }
            Ok::<_, manager::MediaError>(())
        })
        .unwrap();
    const THREADS: usize = 6;
    const PER_THREAD: usize = 12;
    let epoch = s.epoch();
    let owners: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let dispatched: Arc<Mutex<Vec<i64>>> = Arc::default();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (path, owners, dispatched, barrier) = (
                path.clone(),
                owners.clone(),
                dispatched.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                let mut s = Scheduler::attach(Db::open(&path).unwrap(), epoch);
                let spec = if t % 2 == 0 {
                    JobSpec::new(
                        JobKind::Backup,
                        Target::Pool("lto8".into()),
                        MediaNeed::Writable {
                            media_set: "weekly".into(),
                        },
                    )
                } else {
                    JobSpec::new(
                        JobKind::Backup,
                        Target::Pool("disks".into()),
                        MediaNeed::None,
                    )
                };
                barrier.wait();
                let mut mine = 0;
                let mut spins = 0;
                while mine < PER_THREAD && spins < 10_000 {
                    spins += 1;
                    s.submit(&spec, 0).unwrap();
                    let Some(a) = s.dispatch_next(0).unwrap() else {
                        std::thread::yield_now();
                        continue;
                    };
                    let keys: Vec<String> = std::iter::once(format!("{}#{}", a.device, a.unit))
                        .chain(a.cartridge.iter().map(|c| format!("cart {c}")))
                        .chain(a.slot.iter().map(|r| r.to_string()))
                        .collect();
                    {
                        let mut o = owners.lock().unwrap();
                        for k in &keys {
                            if let Some(other) = o.insert(k.clone(), a.job) {
                                panic!("{k} given to job {} while job {other} holds it", a.job);
                            }
                        }
                    }
                    dispatched.lock().unwrap().push(a.job);
                    std::thread::yield_now();
                    {
                        let mut o = owners.lock().unwrap();
                        for k in &keys {
                            o.remove(k);
                        }
                    }
                    s.complete(a.job, 1).unwrap();
                    mine += 1;
                }
                mine
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, THREADS * PER_THREAD);
    let mut d = dispatched.lock().unwrap().clone();
    let n = d.len();
    d.sort();
    d.dedup();
    assert_eq!(d.len(), n, "a job was dispatched twice");
    assert!(db::leases::all(s.db().conn()).unwrap().is_empty());
}

/// Raw lease races without any enclosing transaction: per round exactly
/// one of the threads wins the cartridge.
#[test]
fn racing_acquires_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.db");
    let (mut s, _) = Scheduler::start(Db::open(&path).unwrap(), 0).unwrap();
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 1), 0)
        .unwrap();
    s.create_pool("p", &["disk0"]).unwrap();
    let spec = JobSpec::new(JobKind::Label, Target::Pool("p".into()), MediaNeed::None);
    let jobs = submit_n(&mut s, 4, &spec);
    let epoch = s.epoch();
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(jobs.len()));
        let res = Resource::cartridge(&format!("R{round:05}L8"));
        let handles: Vec<_> = jobs
            .iter()
            .map(|&job| {
                let (path, barrier, res) = (path.clone(), barrier.clone(), res.clone());
                std::thread::spawn(move || {
                    let db = Db::open(&path).unwrap();
                    barrier.wait();
                    lease::acquire(db.conn(), &res, 0, job, epoch, 0, 60).is_ok()
                })
            })
            .collect();
        let wins = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        assert_eq!(wins, 1, "round {round}");
    }
}

/// A backup interrupted by a daemon crash: after restart no lease is lost
/// or duplicated, the set is incomplete, the cartridge consistent, and the
/// job runs again.
#[test]
fn restart_recovers_leases_of_the_dead_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reel.db");
    let (job, cart, set) = {
        let (mut s, rec) = Scheduler::start(Db::open(&path).unwrap(), 100).unwrap();
        assert_eq!(rec, Default::default());
        s.add_device(&Device::tape_drive("lib1/drive0", "lib1", 8), 100)
            .unwrap();
        s.create_pool("lto8", &["lib1/drive0"]).unwrap();
        s.db_mut()
            .write(|c| {
                manager::create_set(c, "weekly", None, 86_400, 86_400)?;
                let loc = Location::Slot {
                    library: "lib1".into(),
                    element: 1000,
                };
                manager::import_barcode(c, "K00001L8", &loc, 100).map(|_| ())
            })
            .unwrap();
        let spec = JobSpec::new(
            JobKind::Backup,
            Target::Pool("lto8".into()),
            MediaNeed::Writable {
                media_set: "weekly".into(),
            },
        );
        let job = s.submit(&spec, 100).unwrap();
        let a = s.dispatch_next(100).unwrap().unwrap();
        let set = s
            .db_mut()
            .write(|c| catalog::begin_set(c, Some(job), Some("lto8"), Some("weekly"), 100))
            .unwrap();
        assert_eq!(db::leases::of_job(s.db().conn(), job).unwrap().len(), 3);
        (job, a.cartridge.unwrap(), set)
        // The process "dies" here: nothing released.
    };
    let (mut s, rec) = Scheduler::start(Db::open(&path).unwrap(), 110).unwrap();
    assert_eq!(s.epoch(), 2);
    assert_eq!(rec.leases_freed, 3);
    assert_eq!(rec.requeued, vec![job]);
    assert_eq!(rec.sets_incomplete, 1);
    assert!(db::leases::all(s.db().conn()).unwrap().is_empty());
    assert_eq!(
        catalog::get_set(s.db().conn(), set).unwrap().state,
        SetState::Incomplete
    );
    let m = db::media::get_media(s.db().conn(), &cart).unwrap();
    assert_eq!(m.state, MediaState::Allocated);
    let j = s.job(job).unwrap();
    assert_eq!(j.state, JobState::Queued);
    let ev = s.events(job).unwrap();
    assert!(ev.iter().any(|e| e.kind == "interrupted"
        && e.message == "attempt 1 interrupted: its daemon process ended"));
    // A new run gets the same appendable cartridge, leases exactly once.
    let a = s.dispatch_next(111).unwrap().unwrap();
    assert_eq!((a.job, a.attempt), (job, 2));
    assert_eq!(a.cartridge.as_deref(), Some(cart.as_str()));
    let leases = db::leases::all(s.db().conn()).unwrap();
    assert_eq!(leases.len(), 3);
    assert!(leases.iter().all(|l| l.epoch == 2 && l.job == job));
    // A second restart with nothing running recovers the new leases too.
    s.complete(job, 112).unwrap();
    drop(s);
    let (_, rec) = Scheduler::start(Db::open(&path).unwrap(), 120).unwrap();
    assert_eq!(rec, Default::default());
}

#[test]
fn lapsed_heartbeat_expires_the_lease() {
    let (mut s, _) = Scheduler::start(Db::open_in_memory().unwrap(), 0).unwrap();
    s.set_lease_ttl(10);
    s.add_device(&Device::store("disk0", DeviceKind::DiskStorage, 1), 0)
        .unwrap();
    s.create_pool("p", &["disk0"]).unwrap();
    let spec =
        JobSpec::new(JobKind::Backup, Target::Pool("p".into()), MediaNeed::None).max_attempts(1);
    let job = s.submit(&spec, 0).unwrap();
    s.dispatch_next(0).unwrap().unwrap();
    assert_eq!(s.recover(5).unwrap(), Default::default());
    assert_eq!(s.heartbeat(job, 8).unwrap(), 1);
    assert_eq!(s.recover(17).unwrap(), Default::default());
    let rec = s.recover(18).unwrap();
    assert_eq!(rec.leases_freed, 1);
    assert_eq!(rec.failed, vec![job], "one attempt only");
    let j = s.job(job).unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(
        j.error.as_deref(),
        Some("attempt 1 interrupted: its lease expired without a heartbeat")
    );
    let own =
        lease::ownership(s.db().conn(), &Resource::device("disk0"), 0, s.epoch(), 18).unwrap();
    assert_eq!(own, Ownership::Free);
}
