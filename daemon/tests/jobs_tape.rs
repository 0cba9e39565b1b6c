//! Tape pool executors against the in-process VTL with tiny cartridges:
//! spanning at early warning, restore across cartridges, fail-over on a
//! drive fault, and the on-medium protection check at BOT.

mod jobs_common;

use std::io::{Cursor, Read};

use jobs_common::{DAY, MIB, Rig, data, open_sched, opts, rig};
use reel_vtl::library::VirtualLibrary;
use reeld::db::catalog::{self, PieceLocation, SetState};
use reeld::db::{self, unix_now};
use reeld::jobs::run::{run_backup_job, run_restore_job, submit_backup, submit_restore};
use reeld::jobs::source::BackupSource;
use reeld::jobs::tape::scan_label;
use reeld::jobs::{ExecError, store};
use reeld::media::guard::OnMedium;
use reeld::media::{Location, MediaState, is_protected};
use reeld::scheduler::device::Health;
use reeld::scheduler::job::JobState;

fn backup(r: &mut Rig, bytes: &[u8]) -> reeld::jobs::BackupOutcome {
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 3).unwrap();
    let mut src = Cursor::new(bytes.to_vec());
    run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts()).unwrap()
}

fn restore(r: &mut Rig, set: uuid::Uuid) -> Result<Vec<u8>, ExecError> {
    let job = submit_restore(&mut r.sched, "tape", set).unwrap();
    let mut out = Vec::new();
    run_restore_job(&mut r.sched, &r.devs, job, set, &mut out, &opts())?;
    Ok(out)
}

#[test]
fn backup_spans_three_cartridges_and_restores_bit_for_bit() {
    let mut r = rig(2, 6, 6 * MIB, DAY);
    let input = data(15 * MIB as usize + 12_345, 1);
    let out = backup(&mut r, &input);
    assert_eq!(out.bytes, input.len() as u64);
    assert_eq!(out.digest, blake3::hash(&input).to_hex().to_string());
    assert!(out.cartridges.len() >= 3, "{:?}", out.cartridges);
    assert_eq!(out.attempts, 1);

    let c = r.sched.db().conn();
    let set = catalog::get_set(c, out.set).unwrap();
    assert_eq!(set.state, SetState::Complete);
    assert_eq!(set.bytes, input.len() as u64);
    assert_eq!(set.pieces.len(), out.cartridges.len());
    let mut total = 0;
    for (p, bc) in set.pieces.iter().zip(&out.cartridges) {
        let PieceLocation::Tape {
            barcode,
            file_number,
            first_block,
            last_block,
        } = &p.location
        else {
            panic!("not a tape piece: {p:?}");
        };
        assert_eq!(barcode, bc);
        // File 0 is the label block and its filemark (objects 0 and 1).
        assert_eq!((*file_number, *first_block), (1, 2), "{p:?}");
        let records = p.bytes.div_ceil(64 * 1024);
        assert_eq!(last_block - first_block + 1, records, "{p:?}");
        total += p.bytes;
    }
    assert_eq!(total, input.len() as u64);
    // Every cartridge but the last reached early warning.
    let n = out.cartridges.len();
    for (i, bc) in out.cartridges.iter().enumerate() {
        let m = db::media::get_media(c, bc).unwrap();
        let want = if i + 1 < n {
            MediaState::Full
        } else {
            MediaState::Allocated
        };
        assert_eq!(m.state, want, "{bc}");
        assert_eq!(m.set_seq, Some(i as u32 + 1), "{bc}");
        assert!(
            matches!(m.location, Location::Slot { .. }),
            "{bc}: {:?}",
            m.location
        );
        assert!(is_protected(&m, unix_now()), "{bc}");
    }
    assert!(db::leases::all(c).unwrap().is_empty());
    let spans = r
        .sched
        .events(out.job)
        .unwrap()
        .iter()
        .filter(|e| e.kind == "span")
        .count();
    assert!(spans >= 2, "span events: {spans}");

    let back = restore(&mut r, out.set).unwrap();
    assert!(back == input, "restored stream differs");
    assert!(db::leases::all(r.sched.db().conn()).unwrap().is_empty());

    // The label at BOT names the cartridge, its set and its place in it.
    let first = out.cartridges[0].clone();
    match scan_label(&mut r.sched, &r.devs, "lib1/drive0", &first).unwrap() {
        OnMedium::Label(l) => {
            assert_eq!(l.barcode, first);
            assert_eq!(l.media_set, "weekly");
            assert_eq!(l.sequence, 1);
            assert!(l.is_protected(unix_now()));
        }
        other => panic!("no label: {other:?}"),
    }
}

/// A source that arms a hardware fault on a VTL drive once `after` bytes
/// were read (first attempt only).
struct FaultAfter {
    inner: Cursor<Vec<u8>>,
    lib: VirtualLibrary,
    drive: usize,
    after: u64,
    armed: bool,
}

impl Read for FaultAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.armed && self.inner.position() >= self.after {
            self.armed = false;
            self.lib
                .with_drive(self.drive, |d| {
                    d.faults_mut().hardware_error = Some((0x44, 0x00));
                })
                .unwrap();
        }
        self.inner.read(buf)
    }
}

impl BackupSource for FaultAfter {
    fn restart(&mut self) -> std::io::Result<bool> {
        self.inner.set_position(0);
        Ok(true)
    }
}

#[test]
fn drive_fault_mid_job_fails_over_to_the_other_drive() {
    let mut r = rig(2, 6, 6 * MIB, DAY);
    let input = data(8 * MIB as usize, 2);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 3).unwrap();
    let mut src = FaultAfter {
        inner: Cursor::new(input.clone()),
        lib: r.lib.clone(),
        drive: 0,
        after: 3 * MIB,
        armed: true,
    };
    let out = run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts()).unwrap();
    assert_eq!(out.device, "lib1/drive1");
    assert_eq!(out.attempts, 2);
    assert_eq!(out.digest, blake3::hash(&input).to_hex().to_string());

    // History: the failure on drive0, the retry, the completion.
    let events = r.sched.events(job).unwrap();
    let failed = events
        .iter()
        .find(|e| e.kind == "failed")
        .expect("failed event");
    assert_eq!(failed.device.as_deref(), Some("lib1/drive0"));
    assert!(failed.message.contains("attempt 1"), "{}", failed.message);
    assert!(events.iter().any(|e| e.kind == "retry"));
    assert_eq!(events.last().unwrap().kind, "completed");
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Completed);

    // The alert names the drive and the job.
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].device.as_deref(), Some("lib1/drive0"));
    assert_eq!(alerts[0].job, Some(job));
    let c = r.sched.db().conn();
    assert_eq!(
        db::devices::get_device(c, "lib1/drive0").unwrap().health,
        Health::Failed
    );

    // Two sets: the partial one incomplete, never restored; the copy good.
    let sets = catalog::sets_of_job(c, job).unwrap();
    assert_eq!(sets.len(), 2);
    // (Both began in the same second: their catalog order is by UUID.)
    assert!(sets.contains(&out.set));
    let partial = *sets.iter().find(|s| **s != out.set).unwrap();
    assert_eq!(
        catalog::get_set(c, out.set).unwrap().state,
        SetState::Complete
    );
    assert_eq!(
        catalog::get_set(c, partial).unwrap().state,
        SetState::Incomplete
    );
    assert!(db::leases::all(c).unwrap().is_empty());
    match restore(&mut r, partial) {
        Err(ExecError::NotComplete { state, .. }) => assert_eq!(state, "incomplete"),
        other => panic!("incomplete set restored: {:?}", other.map(|v| v.len())),
    }
    // drive0 is failed: the restore runs on drive1.
    assert!(restore(&mut r, out.set).unwrap() == input);
}

fn drop_catalog(r: &mut Rig) {
    let path = jobs_common::catalog(r.dir.path());
    // Replace the scheduler so the old connection closes first.
    let tmp = reeld::db::Db::open_in_memory().unwrap();
    r.sched = reeld::scheduler::Scheduler::attach(tmp, 1);
    for ext in ["", "-wal", "-shm"] {
        let p = format!("{}{ext}", path.display());
        let _ = std::fs::remove_file(p);
    }
    assert!(!path.exists());
}

#[test]
fn protected_cartridge_refused_at_bot_after_the_catalog_is_lost() {
    let mut r = rig(1, 4, 8 * MIB, 30 * DAY);
    let first = backup(&mut r, &data(MIB as usize, 3));
    assert_eq!(first.cartridges, ["TP0000L8"]);
    let before = match scan_label(&mut r.sched, &r.devs, "lib1/drive0", "TP0000L8").unwrap() {
        OnMedium::Label(l) => l,
        other => panic!("{other:?}"),
    };

    // The catalog is gone; the cartridges come back by barcode only, so
    // the catalog thinks TP0000L8 is scratch (and the oldest one).
    drop_catalog(&mut r);
    r.sched = open_sched(r.dir.path(), &r.devs, 30 * DAY);
    let m = db::media::get_media(r.sched.db().conn(), "TP0000L8").unwrap();
    assert_eq!(m.state, MediaState::Scratch);

    let input = data(2 * MIB as usize, 4);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 1).unwrap();
    let mut src = Cursor::new(input.clone());
    let out = run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts()).unwrap();
    assert!(
        !out.cartridges.contains(&"TP0000L8".to_string()),
        "{:?}",
        out.cartridges
    );
    let events = r.sched.events(job).unwrap();
    let refused = events
        .iter()
        .find(|e| e.kind == "refused")
        .expect("refused event");
    assert!(refused.message.contains("TP0000L8"), "{}", refused.message);
    assert!(refused.message.contains("protected"), "{}", refused.message);

    // The label on the medium is untouched, and the catalog learnt it.
    match scan_label(&mut r.sched, &r.devs, "lib1/drive0", "TP0000L8").unwrap() {
        OnMedium::Label(l) => assert_eq!(l, before),
        other => panic!("{other:?}"),
    }
    let m = db::media::get_media(r.sched.db().conn(), "TP0000L8").unwrap();
    assert_eq!(m.state, MediaState::Full);
    assert_eq!(m.label_uuid, Some(before.uuid));
    assert!(is_protected(&m, unix_now()));
    assert!(restore(&mut r, out.set).unwrap() == input);
}

#[test]
fn rescanned_protected_cartridge_is_never_allocated() {
    let mut r = rig(1, 3, 8 * MIB, 30 * DAY);
    backup(&mut r, &data(MIB as usize, 5));
    drop_catalog(&mut r);
    r.sched = open_sched(r.dir.path(), &r.devs, 30 * DAY);
    // Re-import by scanning the label.
    let on = scan_label(&mut r.sched, &r.devs, "lib1/drive0", "TP0000L8").unwrap();
    let loc = db::media::get_media(r.sched.db().conn(), "TP0000L8")
        .unwrap()
        .location;
    r.sched
        .db_mut()
        .write(|c| reeld::media::manager::import_scan(c, "TP0000L8", &on, &loc, unix_now()))
        .unwrap();
    let out = backup(&mut r, &data(MIB as usize, 6));
    assert_eq!(out.cartridges, ["TP0001L8"]);
    let events = r.sched.events(out.job).unwrap();
    assert!(!events.iter().any(|e| e.kind == "refused"));
}

/// A source that cancels its job (through a second catalog handle, as the
/// API would) once `after` bytes were read.
struct CancelAfter {
    inner: Cursor<Vec<u8>>,
    db: std::path::PathBuf,
    job: i64,
    epoch: i64,
    after: u64,
}

impl Read for CancelAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.after > 0 && self.inner.position() >= self.after {
            self.after = 0;
            let db = reeld::db::Db::open(&self.db).unwrap();
            let mut other = reeld::scheduler::Scheduler::attach(db, self.epoch);
            other.cancel(self.job, unix_now()).unwrap();
        }
        self.inner.read(buf)
    }
}

impl BackupSource for CancelAfter {
    fn restart(&mut self) -> std::io::Result<bool> {
        Ok(false)
    }
}

#[test]
fn cancelled_job_stops_and_leaves_an_incomplete_set() {
    let mut r = rig(1, 6, 6 * MIB, DAY);
    let input = data(14 * MIB as usize, 12);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 3).unwrap();
    let mut src = CancelAfter {
        inner: Cursor::new(input),
        db: jobs_common::catalog(r.dir.path()),
        job,
        epoch: r.sched.epoch(),
        after: 2 * MIB,
    };
    match run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts()) {
        Err(ExecError::Job { detail, .. }) => assert_eq!(detail, "cancelled"),
        other => panic!("not cancelled: {other:?}"),
    }
    let c = r.sched.db().conn();
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Cancelled);
    let sets = catalog::sets_of_job(c, job).unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(
        catalog::get_set(c, sets[0]).unwrap().state,
        SetState::Incomplete
    );
    assert!(db::leases::all(c).unwrap().is_empty());
    // The cartridge went home.
    for m in db::media::list_media(c).unwrap() {
        assert!(matches!(m.location, Location::Slot { .. }), "{}", m.barcode);
    }
}
