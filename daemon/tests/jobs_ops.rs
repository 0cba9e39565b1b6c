//! Operations jobs (inventory, label, erase, clean, verify) against the
//! in-process VTL with tiny cartridges, each dispatched by the scheduler
//! and run through `jobs::ops::run_assigned`.

mod jobs_common;

use std::io::Cursor;

use jobs_common::{DAY, MIB, Rig, data, open_sched, opts, rig};
use reel_drivers::scsi::attributes::mam;
use reel_drivers::tape::tape_alert::Severity;
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::changer::{Location as VtlLocation, Medium};
use reeld::db::catalog::{self, SetState};
use reeld::db::{self, unix_now};
use reeld::devices::alerts::{Alert, AlertCategory, AlertKey};
use reeld::jobs::ops::{
    self, OpOutcome, auto_clean_needed, run_assigned, submit_auto_clean, submit_clean,
    submit_erase, submit_inventory, submit_label, submit_verify,
};
use reeld::jobs::run::{dispatch_job, run_backup_job, submit_backup};
use reeld::jobs::setup::ensure_media_set;
use reeld::jobs::tape::{DriveSeat, read_first_block, scan_label};
use reeld::jobs::{DeviceAccess, ExecError, store};
use reeld::media::guard::{OnMedium, WriteRefused};
use reeld::media::{Location, MediaState, is_protected};
use reeld::scheduler::Failure;
use reeld::scheduler::device::{Device, DeviceKind, Health};
use reeld::scheduler::job::{JobState, Target};

const DRIVE: &str = "lib1/drive0";

/// Dispatches `job`, runs it and completes or fails it as the daemon's
/// runner does.
fn run_job(r: &mut Rig, job: i64) -> Result<OpOutcome, ExecError> {
    let a = dispatch_job(&mut r.sched, job).unwrap();
    let res = run_assigned(&mut r.sched, &r.devs, &a, &opts());
    match &res {
        Ok(_) => r.sched.complete(job, unix_now()).unwrap(),
        Err(e) => {
            let f = Failure {
                device: a.device.clone(),
                message: e.to_string(),
                device_failed: e.device_failed(),
                retry: e.retryable(),
            };
            let state = r.sched.fail_attempt(job, &f, unix_now()).unwrap();
            assert_eq!(state, JobState::Failed);
        }
    }
    assert!(db::leases::all(r.sched.db().conn()).unwrap().is_empty());
    res
}

fn backup(r: &mut Rig, set: &str, bytes: &[u8]) -> reeld::jobs::BackupOutcome {
    let job = submit_backup(&mut r.sched, "tape", Some(set), 1).unwrap();
    let mut src = Cursor::new(bytes.to_vec());
    run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts()).unwrap()
}

/// The raw first block at BOT and the MAM attributes of `barcode`.
fn raw_bot(
    r: &mut Rig,
    barcode: &str,
) -> (Vec<u8>, Vec<reel_drivers::scsi::attributes::Attribute>) {
    let seat = DriveSeat::new(&r.devs, DRIVE).unwrap();
    seat.mount(r.sched.db_mut(), barcode).unwrap();
    let (block, attrs) = r
        .devs
        .with_drive(DRIVE, |d| {
            let b = read_first_block(d)?;
            Ok::<_, reel_drivers::ScsiError>((b, d.read_mam()?))
        })
        .unwrap()
        .unwrap();
    seat.unmount(r.sched.db_mut(), barcode).unwrap();
    (block.expect("blank cartridge"), attrs)
}

/// Writes `block` as the first record of `barcode` (another application's
/// tape).
fn write_foreign(r: &mut Rig, barcode: &str, block: Vec<u8>) {
    let seat = DriveSeat::new(&r.devs, DRIVE).unwrap();
    seat.mount(r.sched.db_mut(), barcode).unwrap();
    r.devs
        .with_drive(DRIVE, move |d| {
            d.rewind(false)?;
            d.write(&block)?;
            d.write_filemarks(1, false).map(|_| ())
        })
        .unwrap()
        .unwrap();
    seat.unmount(r.sched.db_mut(), barcode).unwrap();
}

fn media(r: &Rig, barcode: &str) -> reeld::media::Media {
    db::media::get_media(r.sched.db().conn(), barcode).unwrap()
}

fn events(r: &Rig, job: i64) -> Vec<(String, String)> {
    r.sched
        .events(job)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.message))
        .collect()
}

#[test]
fn label_writes_a_scratch_reel_label_at_bot() {
    let mut r = rig(1, 3, 4 * MIB, DAY);
    let before = unix_now();
    let job = submit_label(
        &mut r.sched,
        Target::Device(DRIVE.into()),
        "TP0001L8",
        false,
    )
    .unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("TP0001L8"), "{}", out.summary);
    assert!(out.summary.contains("was blank"), "{}", out.summary);

    let m = media(&r, "TP0001L8");
    assert_eq!(m.state, MediaState::Scratch);
    assert_eq!(m.media_set, None);
    assert!(
        matches!(m.location, Location::Slot { .. }),
        "{:?}",
        m.location
    );
    assert_eq!(m.mount_count, 1);
    let uuid = m.label_uuid.expect("label uuid in the catalog");
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Completed);

    let (b, attrs) = raw_bot(&mut r, "TP0001L8");
    assert_eq!(b.len(), 512);
    assert_eq!(&b[0..16], b"REELLABL\x00\x01\x02\x00\x00\x00\x00\x00");
    assert_eq!(&b[16..32], uuid.as_bytes());
    assert_eq!(&b[32..48], &[0u8; 16], "no media set instance");
    assert_eq!(&b[48..80], b"TP0001L8                        ");
    assert_eq!(&b[80..144], &[0u8; 64], "no media set name");
    assert_eq!(&b[144..148], &[0, 0, 0, 0], "sequence 0");
    let written = i64::from_be_bytes(b[148..156].try_into().unwrap());
    assert!(written >= before && written <= unix_now(), "{written}");
    assert_eq!(&b[156..164], &b[148..156], "protected until written");
    assert!(b[164..508].iter().all(|&x| x == 0));
    assert_eq!(
        u32::from_be_bytes(b[508..512].try_into().unwrap()),
        crc32c::crc32c(&b[..508])
    );
    // The same label in MAM.
    let text = attrs
        .iter()
        .find(|a| a.id == mam::USER_MEDIUM_TEXT_LABEL)
        .expect("text label in MAM");
    let want = format!(
        "reel1 {} 00000000000000000000000000000000 0 {written} {written}",
        uuid.simple()
    );
    assert_eq!(
        String::from_utf8_lossy(&text.value).trim_end_matches('\0'),
        want
    );

    // A backup allocates and relabels the scratch cartridge.
    let out = backup(&mut r, "weekly", &data(MIB as usize, 1));
    assert_eq!(out.cartridges, ["TP0000L8"]);
    let out = backup(&mut r, "weekly", &data(MIB as usize, 2));
    assert_eq!(out.cartridges, ["TP0000L8"]);
}

fn drop_catalog(r: &mut Rig) {
    let path = jobs_common::catalog(r.dir.path());
    let tmp = reeld::db::Db::open_in_memory().unwrap();
    r.sched = reeld::scheduler::Scheduler::attach(tmp, 1);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    assert!(!path.exists());
}

#[test]
fn label_refused_on_a_protected_cartridge_even_without_its_catalog_rows() {
    let mut r = rig(1, 3, 8 * MIB, 30 * DAY);
    let first = backup(&mut r, "weekly", &data(MIB as usize, 3));
    assert_eq!(first.cartridges, ["TP0000L8"]);

    // The catalog knows: refused before any robot move.
    let job = submit_label(&mut r.sched, Target::Device(DRIVE.into()), "TP0000L8", true).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Refused {
            refused: WriteRefused::Protected { .. },
            ..
        }) => {}
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(media(&r, "TP0000L8").mount_count, 1);
    let on_tape = match scan_label(&mut r.sched, &r.devs, DRIVE, "TP0000L8").unwrap() {
        OnMedium::Label(l) => l,
        other => panic!("{other:?}"),
    };

    // The catalog is lost; the cartridge comes back by barcode as scratch.
    drop_catalog(&mut r);
    r.sched = open_sched(r.dir.path(), &r.devs, 30 * DAY);
    assert_eq!(media(&r, "TP0000L8").state, MediaState::Scratch);
    // Even forced, the label on the medium wins.
    let job = submit_label(&mut r.sched, Target::Device(DRIVE.into()), "TP0000L8", true).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Refused {
            refused: WriteRefused::Protected { uuid, .. },
            ..
        }) => assert_eq!(uuid, on_tape.uuid),
        other => panic!("not refused: {other:?}"),
    }
    let ev = events(&r, job);
    assert!(
        ev.iter()
            .any(|(k, m)| k == "refused" && m.contains("protected")),
        "{ev:?}"
    );
    match scan_label(&mut r.sched, &r.devs, DRIVE, "TP0000L8").unwrap() {
        OnMedium::Label(l) => assert_eq!(l, on_tape),
        other => panic!("{other:?}"),
    }
    // The catalog learnt the label from the medium.
    let m = media(&r, "TP0000L8");
    assert_eq!(m.state, MediaState::Full);
    assert_eq!(m.label_uuid, Some(on_tape.uuid));
    assert!(is_protected(&m, unix_now()));
    // Erase goes through the same guard.
    let job = submit_erase(&mut r.sched, Target::Device(DRIVE.into()), "TP0000L8", true).unwrap();
    assert!(matches!(
        run_job(&mut r, job),
        Err(ExecError::Refused { .. })
    ));
}

#[test]
fn foreign_data_is_relabelled_only_when_forced() {
    let mut r = rig(1, 3, 4 * MIB, DAY);
    write_foreign(
        &mut r,
        "TP0002L8",
        b"ustar\0foreign backup software".repeat(40),
    );
    let job = submit_label(
        &mut r.sched,
        Target::Device(DRIVE.into()),
        "TP0002L8",
        false,
    )
    .unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Refused {
            refused: WriteRefused::Foreign,
            ..
        }) => {}
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(media(&r, "TP0002L8").state, MediaState::Foreign);
    let (b, _) = raw_bot(&mut r, "TP0002L8");
    assert!(b.starts_with(b"ustar\0"));

    let job = submit_label(&mut r.sched, Target::Device(DRIVE.into()), "TP0002L8", true).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("was foreign data"), "{}", out.summary);
    let ev = events(&r, job);
    assert!(ev.iter().any(|(k, _)| k == ops::FORCE_EVENT), "{ev:?}");
    assert!(ev.iter().any(|(k, _)| k == "overwrite"), "{ev:?}");
    let m = media(&r, "TP0002L8");
    assert_eq!(m.state, MediaState::Scratch);
    match scan_label(&mut r.sched, &r.devs, DRIVE, "TP0002L8").unwrap() {
        OnMedium::Label(l) => {
            assert_eq!(Some(l.uuid), m.label_uuid);
            assert!(l.set_uuid.is_nil());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn damaged_label_is_relabelled_only_when_forced() {
    let mut r = rig(1, 2, 4 * MIB, DAY);
    // A reel label block (magic, version 1, 512 bytes) whose CRC-32C is
    // wrong.
    let mut block = vec![0u8; 512];
    block[..12].copy_from_slice(b"REELLABL\x00\x01\x02\x00");
    block[48..56].copy_from_slice(b"TP0001L8");
    block[508..].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    write_foreign(&mut r, "TP0001L8", block);
    let job = submit_erase(&mut r.sched, Target::Pool("tape".into()), "TP0001L8", false).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Refused {
            refused: WriteRefused::Damaged(_),
            ..
        }) => {}
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(media(&r, "TP0001L8").state, MediaState::Foreign);
    let job = submit_erase(&mut r.sched, Target::Pool("tape".into()), "TP0001L8", true).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(
        out.summary.contains("damaged reel label"),
        "{}",
        out.summary
    );
    assert_eq!(media(&r, "TP0001L8").state, MediaState::Scratch);
}

#[test]
fn erase_clears_the_cartridge_and_a_backup_reuses_it() {
    let mut r = rig(1, 2, 8 * MIB, DAY);
    // A media set that protects nothing: its cartridges may be erased.
    ensure_media_set(&mut r.sched, "daily", 0, 0).unwrap();
    let old = backup(&mut r, "daily", &data(2 * MIB as usize, 4));
    assert_eq!(old.cartridges, ["TP0000L8"]);

    let job = submit_erase(
        &mut r.sched,
        Target::Device(DRIVE.into()),
        "TP0000L8",
        false,
    )
    .unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("erased"), "{}", out.summary);
    assert!(out.summary.contains("1 set"), "{}", out.summary);
    let c = r.sched.db().conn();
    assert_eq!(
        catalog::get_set(c, old.set).unwrap().state,
        SetState::Incomplete
    );
    let m = media(&r, "TP0000L8");
    assert_eq!(m.state, MediaState::Scratch);
    assert_eq!((m.media_set, m.set_uuid, m.first_write), (None, None, None));

    // Only the new label is left on the tape: label, filemark, end of data.
    let seat = DriveSeat::new(&r.devs, DRIVE).unwrap();
    seat.mount(r.sched.db_mut(), "TP0000L8").unwrap();
    let after = r
        .devs
        .with_drive(DRIVE, |d| {
            d.space(reel_drivers::tape::SpaceKind::EndOfData, 0)?;
            d.read_position()
        })
        .unwrap()
        .unwrap();
    seat.unmount(r.sched.db_mut(), "TP0000L8").unwrap();
    assert_eq!((after.file, after.block), (Some(1), Some(2)));

    // The next backup takes the erased cartridge (the oldest scratch one).
    let input = data(MIB as usize, 5);
    let new = backup(&mut r, "weekly", &input);
    assert_eq!(new.cartridges, ["TP0000L8"]);
    let job = reeld::jobs::run::submit_restore(&mut r.sched, "tape", new.set).unwrap();
    let mut back = Vec::new();
    reeld::jobs::run::run_restore_job(&mut r.sched, &r.devs, job, new.set, &mut back, &opts())
        .unwrap();
    assert!(back == input);
}

/// Puts cleaning cartridge `barcode` with `uses` cycles left into VTL slot
/// `slot` (0-based) and imports it.
fn add_cleaning(r: &mut Rig, slot: usize, barcode: &str, uses: u32) {
    r.lib
        .with_changer(|ch| {
            ch.set_element(
                VtlLocation::Slot(slot),
                Some(Medium::cleaning(barcode, uses)),
            )
        })
        .unwrap()
        .unwrap();
    reeld::jobs::tape::import_inventory(&mut r.sched, &r.devs, "lib1").unwrap();
    assert_eq!(media(r, barcode).state, MediaState::Cleaning);
}

fn clean_alert(drive: &str, flag: u8, raised: i64) -> Alert {
    Alert {
        id: 1,
        device: drive.into(),
        key: AlertKey::TapeAlert(flag),
        category: AlertCategory::Cleaning,
        severity: Severity::Critical,
        message: "TapeAlert 14h: Clean now".into(),
        raised: raised as u64,
    }
}

fn vtl_uses(r: &Rig, barcode: &str) -> u32 {
    let st = r.lib.changer_state();
    st.slots
        .iter()
        .flatten()
        .find(|m| m.barcode == barcode)
        .map(|m| m.cleaning_uses)
        .expect("cleaning cartridge back in a slot")
}

#[test]
fn auto_clean_submits_once_and_the_clean_job_counts_the_use() {
    let mut r = rig(2, 2, 4 * MIB, DAY);
    // No cleaning cartridge yet: nothing to submit.
    assert_eq!(submit_auto_clean(&mut r.sched, DRIVE).unwrap(), None);
    // A drive the scheduler does not know.
    let unknown = vec![clean_alert("lib9/drive0", 0x14, unix_now())];
    assert!(
        auto_clean_needed(&mut r.sched, &unknown)
            .unwrap()
            .is_empty()
    );
    add_cleaning(&mut r, 19, "CLN001L1", 5);
    r.lib.with_drive(0, |d| d.set_tape_alert(0x14)).unwrap();
    let raised = unix_now() - 5;
    let alerts = vec![
        clean_alert(DRIVE, 0x14, raised),
        clean_alert(DRIVE, 0x15, raised + 1),
        // Not a cleaning request.
        Alert {
            key: AlertKey::TapeAlert(0x1e),
            category: AlertCategory::Hardware,
            ..clean_alert("lib1/drive1", 0x1e, raised)
        },
    ];
    assert_eq!(
        ops::drives_needing_clean(&alerts),
        [(DRIVE.to_string(), raised as u64)]
    );
    let jobs = auto_clean_needed(&mut r.sched, &alerts).unwrap();
    assert_eq!(jobs.len(), 1);
    // Never two at once for one drive.
    assert!(auto_clean_needed(&mut r.sched, &alerts).unwrap().is_empty());
    assert_eq!(submit_auto_clean(&mut r.sched, DRIVE).unwrap(), None);

    let a = dispatch_job(&mut r.sched, jobs[0]).unwrap();
    assert_eq!(a.device, DRIVE);
    assert_eq!(a.cartridge.as_deref(), Some("CLN001L1"));
    let out = run_assigned(&mut r.sched, &r.devs, &a, &opts()).unwrap();
    r.sched.complete(a.job, unix_now()).unwrap();
    assert!(out.summary.contains("use 1 of 50"), "{}", out.summary);
    let m = media(&r, "CLN001L1");
    assert_eq!(m.mount_count, 1);
    assert_eq!(m.state, MediaState::Cleaning);
    assert!(
        matches!(m.location, Location::Slot { .. }),
        "{:?}",
        m.location
    );
    assert_eq!(vtl_uses(&r, "CLN001L1"), 4);
    assert_eq!(r.lib.with_drive(0, |d| d.tape_alert_flags()).unwrap(), 0);
    assert!(db::leases::all(r.sched.db().conn()).unwrap().is_empty());

    // The same (stale) alert does not clean again; a new one does.
    assert!(auto_clean_needed(&mut r.sched, &alerts).unwrap().is_empty());
    let later = vec![clean_alert(DRIVE, 0x14, unix_now() + 10)];
    assert_eq!(auto_clean_needed(&mut r.sched, &later).unwrap().len(), 1);
}

#[test]
fn a_cartridge_left_in_the_drive_goes_home_before_the_cleaning() {
    let mut r = rig(1, 2, 4 * MIB, DAY);
    add_cleaning(&mut r, 19, "CLN002L1", 5);
    // A data cartridge left in the drive (say, a failed unload earlier).
    r.devs
        .with_changer("lib1", |l| {
            let Some(reel_changer::Location::Slot(s)) = l.find_barcode("TP0000L8") else {
                panic!("TP0000L8 not in a slot");
            };
            l.load(s, 0)
        })
        .unwrap()
        .unwrap();
    let job = submit_clean(&mut r.sched, DRIVE).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("CLN002L1"), "{}", out.summary);
    let events = r.sched.events(job).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "unloaded"
            && e.message
                .starts_with("TP0000L8 was in the drive: put back to slot")),
        "{events:?}"
    );
    // Both cartridges are in slots, in the library and in the catalog.
    let st = r.lib.changer_state();
    assert!(st.drives.iter().all(Option::is_none), "{:?}", st.drives);
    for bc in ["TP0000L8", "CLN002L1"] {
        assert!(st.slots.iter().flatten().any(|m| m.barcode == bc), "{bc}");
        assert!(
            matches!(media(&r, bc).location, Location::Slot { .. }),
            "{bc}"
        );
    }
}

#[test]
fn used_up_and_expired_cleaning_cartridges_are_retired_with_an_alert() {
    let mut r = rig(1, 1, 4 * MIB, DAY);
    add_cleaning(&mut r, 18, "CLN001L1", 5);
    r.sched
        .db_mut()
        .write(|c| {
            c.execute(
                "UPDATE media SET mount_count = 49 WHERE barcode = 'CLN001L1'",
                [],
            )?;
            Ok::<_, ExecError>(())
        })
        .unwrap();
    let job = submit_clean(&mut r.sched, DRIVE).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("retired"), "{}", out.summary);
    assert_eq!(media(&r, "CLN001L1").state, MediaState::Retired);
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].message.contains("CLN001L1"), "{alerts:?}");
    // A retired cartridge is no cleaning cartridge any more.
    assert_eq!(submit_auto_clean(&mut r.sched, DRIVE).unwrap(), None);

    // The drive says the next one is expired: no cleaning happened.
    add_cleaning(&mut r, 19, "CLN002L1", 0);
    r.lib.with_drive(0, |d| d.set_tape_alert(0x16)).unwrap();
    let job = submit_clean(&mut r.sched, DRIVE).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Job { detail, .. }) => {
            assert!(detail.contains("expired cleaning media"), "{detail}")
        }
        other => panic!("not failed: {other:?}"),
    }
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Failed);
    let m = media(&r, "CLN002L1");
    assert_eq!(m.state, MediaState::Retired);
    assert!(
        matches!(m.location, Location::Slot { .. }),
        "{:?}",
        m.location
    );
    assert_eq!(store::alerts(r.sched.db().conn()).unwrap().len(), 2);
    // A retired cartridge never becomes data media through a label job.
    let job = submit_label(&mut r.sched, Target::Device(DRIVE.into()), "CLN002L1", true).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Media(reeld::media::manager::MediaError::Transition { from, .. })) => {
            assert_eq!(from, "retired")
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn verify_passes_on_a_good_set_and_fails_on_a_damaged_one() {
    let mut r = rig(1, 3, 8 * MIB, DAY);
    let input = data(2 * MIB as usize, 6);
    let set = backup(&mut r, "weekly", &input).set;

    let job = submit_verify(&mut r.sched, set).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert_eq!(out.bytes, input.len() as u64);
    let digest = blake3::hash(&input).to_hex().to_string();
    let ev = events(&r, job);
    assert!(
        ev.iter().any(|(k, m)| k == "verify" && m.contains(&digest)),
        "{ev:?}"
    );
    assert!(store::alerts(r.sched.db().conn()).unwrap().is_empty());
    let done = r.sched.job(job).unwrap().progress;
    assert_eq!(done.bytes_done, input.len() as u64);
    assert_eq!(done.device.as_deref(), Some(DRIVE));

    // A record in the middle of the set cannot be read.
    r.lib
        .with_drive(0, |d| {
            d.faults_mut().read_error_at.insert(10);
        })
        .unwrap();
    let job = submit_verify(&mut r.sched, set).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Drive { source, .. }) => {
            assert_eq!(source.class(), reel_drivers::ErrorClass::MediumError)
        }
        other => panic!("verify passed: {other:?}"),
    }
    assert_eq!(r.sched.job(job).unwrap().state, JobState::Failed);
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].message.contains("failed verification"),
        "{alerts:?}"
    );
    assert_eq!(alerts[0].job, Some(job));
    // The cartridge went home; the drive stays in service.
    let m = media(&r, "TP0000L8");
    assert!(
        matches!(m.location, Location::Slot { .. }),
        "{:?}",
        m.location
    );
    let c = r.sched.db().conn();
    assert_eq!(
        db::devices::get_device(c, DRIVE).unwrap().health,
        Health::Online
    );

    // Readable again, but the stored digest disagrees.
    r.lib
        .with_drive(0, |d| d.faults_mut().read_error_at.clear())
        .unwrap();
    r.sched
        .db_mut()
        .write(|c| {
            c.execute("UPDATE exec_set_digests SET digest = ?1", [&"0".repeat(64)])?;
            Ok::<_, ExecError>(())
        })
        .unwrap();
    let job = submit_verify(&mut r.sched, set).unwrap();
    assert!(matches!(
        run_job(&mut r, job),
        Err(ExecError::Mismatch { .. })
    ));
    assert_eq!(store::alerts(r.sched.db().conn()).unwrap().len(), 2);
}

#[test]
fn inventory_picks_up_new_moved_and_vanished_cartridges() {
    let mut r = rig(1, 2, 4 * MIB, DAY);
    let changer = Device {
        id: "lib1".into(),
        kind: DeviceKind::Changer,
        generation: None,
        library: None,
        health: Health::Online,
        max_jobs: 1,
    };
    r.sched.add_device(&changer, unix_now()).unwrap();

    // An operator puts a new cartridge in; another leaves through a mail
    // slot.
    let mut spec = CartridgeSpec::new("TP0099L8", Generation::Lto8);
    spec.capacity = 4 * MIB;
    r.lib.create_cartridge(&spec).unwrap();
    let mail = r
        .devs
        .with_changer("lib1", |l| {
            let Some(reel_changer::Location::Slot(s)) = l.find_barcode("TP0001L8") else {
                panic!("TP0001L8 not in a slot");
            };
            l.export(s, None)
        })
        .unwrap()
        .unwrap();
    assert!(mail > 0);

    let job = submit_inventory(&mut r.sched, "lib1").unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert_eq!(
        out.summary,
        "library lib1: 3 cartridges seen, 1 imported, 1 moved, 0 offline, 0 busy"
    );
    let m = media(&r, "TP0099L8");
    assert_eq!(m.state, MediaState::Scratch);
    assert_eq!(m.media_type, "LTO-8");
    assert!(
        matches!(m.location, Location::Slot { .. }),
        "{:?}",
        m.location
    );
    assert!(matches!(
        media(&r, "TP0001L8").location,
        Location::MailSlot { .. }
    ));

    // The operator takes it out of the mail slot.
    r.lib.export(0).unwrap();
    let job = submit_inventory(&mut r.sched, "lib1").unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert!(out.summary.contains("1 offline"), "{}", out.summary);
    assert_eq!(media(&r, "TP0001L8").location, Location::Offline);
    // A cartridge a job holds is left to the job.
    let epoch = r.sched.epoch();
    let counts = r
        .sched
        .db_mut()
        .write(|c| {
            c.execute(
                "INSERT INTO leases (resource_kind, resource, unit, job_id, epoch, acquired_at, heartbeat_at, expires_at)
                 VALUES ('cartridge', 'TP0000L8', 0, ?1, ?2, 0, 0, 0)",
                (job, epoch),
            )?;
            let mut seen = std::collections::BTreeMap::new();
            seen.insert("TP0099L8".to_string(), ops::inventory::Seen::Slot(0x400));
            let r = ops::inventory::apply(c, "lib1", &seen, &Default::default(), unix_now())?;
            c.execute("DELETE FROM leases", [])?;
            Ok::<_, ExecError>(r)
        })
        .unwrap();
    assert_eq!(counts.busy, ["TP0000L8"]);
    assert_eq!(counts.moved, ["TP0099L8"]);
}

#[test]
fn verify_reads_disk_sets_too() {
    let mut r = rig(1, 1, 4 * MIB, DAY);
    let disk = r.dir.path().join("disk0");
    reel_drivers::storage::DiskStorage::init(&disk, Some(1 << 30), None).unwrap();
    r.devs
        .add_storage("disk0", DeviceKind::DiskStorage, disk.clone());
    let devices = r.devs.sched_devices();
    reeld::jobs::setup::ensure_pool(&mut r.sched, &devices, "disk", &["disk0".to_string()])
        .unwrap();
    let input = data(MIB as usize + 5, 7);
    let job = submit_backup(&mut r.sched, "disk", None, 1).unwrap();
    let mut src = Cursor::new(input.clone());
    let set = run_backup_job(&mut r.sched, &r.devs, job, &mut src, &opts())
        .unwrap()
        .set;

    let job = submit_verify(&mut r.sched, set).unwrap();
    let out = run_job(&mut r, job).unwrap();
    assert_eq!(out.bytes, input.len() as u64);
    assert_eq!(
        r.sched.job(job).unwrap().progress.device.as_deref(),
        Some("disk0")
    );

    // One byte of the container flipped on disk.
    let ds = reel_drivers::storage::DiskStorage::open(&disk).unwrap();
    let path = ds.container_path(&format!("set-{set}"));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let job = submit_verify(&mut r.sched, set).unwrap();
    let err = run_job(&mut r, job).unwrap_err();
    assert!(
        matches!(err, ExecError::Mismatch { .. } | ExecError::Storage { .. }),
        "{err:?}"
    );
    let alerts = store::alerts(r.sched.db().conn()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].device.as_deref(), Some("disk0"));
}

#[test]
fn jobs_that_are_not_operations_are_refused() {
    let mut r = rig(1, 1, 4 * MIB, DAY);
    let job = submit_backup(&mut r.sched, "tape", Some("weekly"), 1).unwrap();
    match run_job(&mut r, job) {
        Err(ExecError::Job { detail, .. }) => assert!(detail.contains("data job"), "{detail}"),
        other => panic!("{other:?}"),
    }
}
