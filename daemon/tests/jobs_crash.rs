//! `kill -9` of a process in the middle of a spanning backup (the real
//! `reelctl job backup`, fed through a pipe), then the restart: no lease
//! lost or duplicated, the interrupted set incomplete, cartridges home and
//! consistent with their labels, and a new backup that succeeds.

mod jobs_common;

use std::io::{Cursor, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobs_common::{MIB, data, opts};
use reel_vtl::library::VirtualLibrary;
use reeld::db::catalog::{self, SetState};
use reeld::db::{self, Db};
use reeld::jobs::access::VtlAccess;
use reeld::jobs::recover_after_restart;
use reeld::jobs::run::{run_backup_job, run_restore_job, submit_backup, submit_restore};
use reeld::media::{Location, MediaState};
use reeld::scheduler::job::JobState;

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");

/// Kills the child on drop (a failing assertion must not leave it).
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn reelctl(args: &[&str]) {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("REEL_LOG")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// (pieces recorded, cartridges the catalog places in a drive).
fn progress(dir: &std::path::Path) -> (i64, i64) {
    let Ok(db) = Db::open(&dir.join("catalog.db")) else {
        return (0, 0);
    };
    let count = |sql: &str| {
        db.conn()
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
    };
    (
        count("SELECT COUNT(*) FROM set_pieces"),
        count("SELECT COUNT(*) FROM media WHERE location_kind = 'drive'"),
    )
}

#[test]
fn kill_9_mid_backup_then_recovery_and_a_new_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    reelctl(&[
        "job",
        "init",
        "--data-dir",
        d,
        "--drives",
        "2",
        "--cartridges",
        "6",
        "--capacity",
        "4194304",
    ]);

    let mut child = Killer(
        Command::new(BIN)
            .args(["job", "backup", "--data-dir", d])
            .env_remove("REEL_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdin = child.0.stdin.take().unwrap();
    // More than one cartridge, then the pipe stays open: the child waits
    // for data, mid-job, with a piece on tape and a cartridge in a drive.
    stdin.write_all(&data(6 * MIB as usize, 9)).unwrap();
    stdin.flush().unwrap();
    let t = Instant::now();
    // The first cartridge is full and the second one loaded; the child
    // then waits for more data with it in the drive.
    while progress(dir) != (1, 1) {
        assert!(t.elapsed() < Duration::from_secs(15), "no spanning seen");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        progress(dir),
        (1, 1),
        "the child should be waiting for data"
    );
    // SIGKILL.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(stdin);

    // Before recovery: the dead process's leases are still there.
    let db = Db::open(&dir.join("catalog.db")).unwrap();
    let held = db::leases::all(db.conn()).unwrap();
    assert!(!held.is_empty());
    let job = held[0].job;
    assert!(held.iter().all(|l| l.job == job));
    drop(db);

    let lib = VirtualLibrary::open(&dir.join("vtl")).unwrap();
    let mut devs = VtlAccess::new();
    devs.add_library("lib1", &lib).unwrap();
    let db = Db::open(&dir.join("catalog.db")).unwrap();
    let (mut sched, report) =
        recover_after_restart(db, &devs, &["lib1".to_string()], true).unwrap();
    assert_eq!(report.scheduler.leases_freed, held.len());
    assert_eq!(report.scheduler.sets_incomplete, 1);
    assert_eq!(report.cancelled, [job]);
    assert_eq!(report.unloaded.len(), 1, "{report:?}");

    let c = sched.db().conn();
    assert!(db::leases::all(c).unwrap().is_empty());
    let j = sched.job(job).unwrap();
    assert_eq!(j.state, JobState::Cancelled);
    let events = sched.events(job).unwrap();
    assert!(events.iter().any(|e| e.kind == "interrupted"), "{events:?}");
    let sets = catalog::sets_of_job(c, job).unwrap();
    assert_eq!(sets.len(), 1);
    let partial = catalog::get_set(c, sets[0]).unwrap();
    assert_eq!(partial.state, SetState::Incomplete);
    assert!(!partial.pieces.is_empty());

    // Every cartridge is in a slot; written ones carry their label.
    for m in db::media::list_media(c).unwrap() {
        assert!(
            matches!(m.location, Location::Slot { .. }),
            "{}: {:?}",
            m.barcode,
            m.location
        );
        if m.first_write.is_some() {
            assert!(matches!(m.state, MediaState::Allocated | MediaState::Full));
            assert!(m.label_uuid.is_some());
        }
    }

    // A new backup succeeds and restores.
    let input = data(5 * MIB as usize, 10);
    let job2 = submit_backup(&mut sched, "tape", Some("default"), 1).unwrap();
    let out = run_backup_job(
        &mut sched,
        &devs,
        job2,
        &mut Cursor::new(input.clone()),
        &opts(),
    )
    .unwrap();
    assert!(out.cartridges.len() >= 2);
    let r = submit_restore(&mut sched, "tape", out.set).unwrap();
    let mut back = Vec::new();
    run_restore_job(&mut sched, &devs, r, out.set, &mut back, &opts()).unwrap();
    assert!(back == input);
    assert!(db::leases::all(sched.db().conn()).unwrap().is_empty());
}
