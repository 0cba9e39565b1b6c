//! The daemon's way of running a streamed backup, without the network: a
//! stream that arrives once goes through a spool, the attempts come from
//! a dispatcher on another scheduler handle through the runner's channel
//! (`RunnerPlacement`), and a drive that fails mid-stream makes the job
//! fail over to the other drive, replaying the spool.

mod jobs_common;

use std::io::Cursor;
use std::sync::mpsc;
use std::time::Duration;

use jobs_common::{DAY, MIB, catalog, data, opts, rig};
use reeld::db::{Db, unix_now};
use reeld::jobs::run::{run_backup, run_restore_job, submit_backup, submit_restore};
use reeld::jobs::source::Spool;
use reeld::jobs::store;
use reeld::scheduler::Scheduler;
use reeld::scheduler::job::JobState;
use reeld::server::dispatch::RunnerPlacement;

/// Dispatches on its own handle and hands `job`'s assignments to `tx`
/// until the job ends.
fn dispatcher(
    path: std::path::PathBuf,
    epoch: i64,
    job: i64,
    tx: mpsc::Sender<reeld::scheduler::dispatch::Assignment>,
) -> std::thread::JoinHandle<u32> {
    std::thread::spawn(move || {
        let mut s = Scheduler::attach(Db::open(&path).unwrap(), epoch);
        let mut handed = 0;
        loop {
            for a in s.dispatch_all(unix_now()).unwrap() {
                assert_eq!(a.job, job);
                handed += 1;
                if tx.send(a).is_err() {
                    return handed;
                }
            }
            if s.job(job).unwrap().state.is_terminal() {
                return handed;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn streamed_backup_fails_over_by_replaying_its_spool() {
    let mut r = rig(2, 6, 6 * MIB, DAY);
    let input = data(8 * MIB as usize, 11);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 3).unwrap();

    // The "client": chunks into the spool; drive0 breaks once 6 MiB were
    // sent (at least 1 MiB of them went to tape: the spool channel and
    // the feeder's buffers hold less than 5 MiB).
    let spool_path = r.dir.path().join("spool/job-1");
    let (feed, mut spool) = Spool::create(&spool_path, 8).unwrap();
    let (lib, chunks) = (r.lib.clone(), input.clone());
    let client = std::thread::spawn(move || {
        let mut sent = 0usize;
        for c in chunks.chunks(256 * 1024) {
            feed.send(Ok(bytes::Bytes::copy_from_slice(c))).unwrap();
            sent += c.len();
            if sent == 6 * MIB as usize {
                lib.with_drive(0, |d| {
                    d.faults_mut().hardware_error = Some((0x44, 0x00));
                })
                .unwrap();
            }
        }
        feed.send(Ok(bytes::Bytes::new())).unwrap();
    });

    let (tx, rx) = mpsc::channel();
    let disp = dispatcher(catalog(r.dir.path()), r.sched.epoch(), job, tx);
    let mut place = RunnerPlacement {
        rx,
        limit: Duration::from_secs(60),
    };
    let out = run_backup(&mut r.sched, &r.devs, job, &mut spool, &opts(), &mut place).unwrap();
    client.join().unwrap();
    drop(place);
    assert_eq!(disp.join().unwrap(), 2, "two attempts handed to the runner");
    assert_eq!(out.device, "lib1/drive1");
    assert_eq!(out.attempts, 2);
    assert_eq!(out.bytes, input.len() as u64);
    assert_eq!(out.digest, blake3::hash(&input).to_hex().to_string());
    assert_eq!(spool.received(), input.len() as u64);
    drop(spool);
    assert!(!spool_path.exists(), "spool file removed");

    let events = r.sched.events(job).unwrap();
    let failed = events.iter().find(|e| e.kind == "failed").unwrap();
    assert_eq!(failed.device.as_deref(), Some("lib1/drive0"));
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Completed);
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].job, Some(job));

    let rjob = submit_restore(&mut r.sched, "tape", out.set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut r.sched, &r.devs, rjob, out.set, &mut back, &opts()).unwrap();
    assert!(back == input, "restored data differs");
}

#[test]
fn a_runner_whose_job_is_cancelled_in_the_queue_gives_up() {
    let mut r = rig(1, 2, 6 * MIB, DAY);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 1).unwrap();
    r.sched.cancel(job, unix_now()).unwrap();
    let (_tx, rx) = mpsc::channel();
    let mut place = RunnerPlacement {
        rx,
        limit: Duration::from_secs(60),
    };
    let mut src = Cursor::new(vec![1u8; 10]);
    let e = run_backup(&mut r.sched, &r.devs, job, &mut src, &opts(), &mut place).unwrap_err();
    assert!(e.to_string().contains("cancelled before it started"), "{e}");

    // Never dispatched within the limit: the job is cancelled, with why.
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 1).unwrap();
    let (_tx, rx) = mpsc::channel();
    let mut place = RunnerPlacement {
        rx,
        limit: Duration::from_millis(600),
    };
    let e = run_backup(&mut r.sched, &r.devs, job, &mut src, &opts(), &mut place).unwrap_err();
    assert!(e.to_string().contains("not placed within"), "{e}");
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Cancelled);
    let events = r.sched.events(job).unwrap();
    assert!(events.iter().any(|e| e.kind == "not_placed"), "{events:?}");
}
