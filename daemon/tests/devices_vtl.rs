//! The device registry against the VTL (`reel_vtl::library::VirtualLibrary`,
//! the default library: 4 drives, 50 slots, 4 mail slots): discovery from
//! the configuration with drives matched to elements, health polls with
//! injected faults and TapeAlert flags, busy devices skipped, operator
//! down/up, the async handle.

use std::sync::mpsc;
use std::time::Duration;

use reel_drivers::tape::tape_alert::Severity;
use reel_vtl::library::VirtualLibrary;
use reeld::devices::{
    AlertCategory, AlertKey, DeviceError, DeviceState, DevicesConfig, NoSerial, PollOutcome,
    Registry, RegistryEvent, RegistryOptions,
};
use reeld::scheduler::device::{DeviceKind, Health};

fn opts(vtls: Vec<VirtualLibrary>) -> RegistryOptions {
    RegistryOptions {
        serials: Box::new(NoSerial),
        vtls,
        background_polls: false,
        poll_wait: Duration::from_secs(60),
        ..RegistryOptions::default()
    }
}

fn config(dir: &std::path::Path, extra: &str) -> DevicesConfig {
    DevicesConfig::parse(&format!(
        "[devices]\nsysfs = false\n[[library]]\naddress = \"vtl:{}\"\n{extra}",
        dir.display()
    ))
    .unwrap()
}

/// A registry over a fresh default VTL; the test keeps the library for
/// fault injection.
struct Rig {
    reg: Registry,
    lib: VirtualLibrary,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let reg = Registry::start(config(dir.path(), ""), opts(vec![lib.clone()])).unwrap();
    Rig {
        reg,
        lib,
        _dir: dir,
    }
}

fn outcome(out: &[(String, PollOutcome)], id: &str) -> PollOutcome {
    out.iter()
        .find(|(d, _)| d == id)
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| panic!("{id} not polled: {out:?}"))
}

fn drain(rx: &mpsc::Receiver<RegistryEvent>) -> Vec<RegistryEvent> {
    rx.try_iter().collect()
}

#[test]
fn vtl_library_from_config_with_drives_matched_to_elements() {
    let dir = tempfile::tempdir().unwrap();
    // Created and closed: the registry opens the directory itself.
    drop(VirtualLibrary::create_default(dir.path()).unwrap());
    let reg = Registry::start(config(dir.path(), ""), opts(Vec::new())).unwrap();
    assert!(reg.warnings().is_empty(), "{:?}", reg.warnings());
    let devs = reg.devices();
    let ids: Vec<&str> = devs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "lib1",
            "lib1/drive0",
            "lib1/drive1",
            "lib1/drive2",
            "lib1/drive3"
        ]
    );
    let ch = &devs[0];
    assert_eq!(ch.kind, DeviceKind::Changer);
    assert_eq!(ch.state, DeviceState::Online, "{}", ch.status_text());
    assert_eq!(ch.address, format!("vtl:{}#changer", dir.path().display()));
    assert!(!ch.vendor.is_empty());
    assert!(ch.last_poll.is_some());
    let mut elements = Vec::new();
    for (n, d) in devs[1..].iter().enumerate() {
        assert_eq!(d.kind, DeviceKind::TapeDrive);
        assert_eq!(
            d.state,
            DeviceState::Online,
            "{}: {}",
            d.id,
            d.status_text()
        );
        assert_eq!(d.address, format!("vtl:{}#drive{n}", dir.path().display()));
        assert_eq!(d.vendor, "IBM");
        assert!(d.model.starts_with("ULT3580-TD"), "{}", d.model);
        assert_eq!(d.generation, Some(8));
        assert!(d.serial.is_some());
        assert_eq!(d.library.as_deref(), Some("lib1"));
        // Matched by serial: drive n of the VTL is drive n of the changer.
        assert_eq!(d.drive_number, Some(n), "{}", d.id);
        elements.push(d.element.expect("element"));
        assert_eq!(d.loaded, None);
        assert!(d.alerts.is_empty());
        let s = d.sched_device();
        assert_eq!(s.health, Health::Online);
        assert_eq!(s.generation, Some(8));
        assert_eq!(s.library.as_deref(), Some("lib1"));
        assert_eq!(s.max_jobs, 1);
    }
    elements.dedup();
    assert_eq!(elements.len(), 4, "distinct elements {elements:?}");
    // Rescanning finds nothing new.
    let r = reg.rescan().unwrap();
    assert!(r.added.is_empty() && r.missing.is_empty(), "{r:?}");
}

#[test]
fn clean_now_flag_is_one_alert_until_it_clears() {
    let rig = rig();
    let events = rig.reg.subscribe();
    rig.lib.with_drive(0, |d| d.set_tape_alert(0x14)).unwrap();
    let out = rig.reg.poll_now();
    assert_eq!(outcome(&out, "lib1/drive0"), PollOutcome::Polled);
    let alerts = rig.reg.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.device, "lib1/drive0");
    assert_eq!(a.key, AlertKey::TapeAlert(0x14));
    assert_eq!(a.category, AlertCategory::Cleaning);
    assert_eq!(a.severity, Severity::Critical);
    assert!(a.message.contains("Cleaning required"), "{}", a.message);
    assert_eq!(drain(&events), [RegistryEvent::AlertRaised(a.clone())]);
    // The flag stays set (page 12h does not clear it): no second alert.
    rig.reg.poll_now();
    assert_eq!(rig.reg.alerts(), alerts);
    assert!(drain(&events).is_empty());
    assert_eq!(rig.reg.device("lib1/drive0").unwrap().alerts, alerts);
    // A job reads page 2Eh, which clears the flags on the drive.
    let seen = rig
        .reg
        .worker("lib1/drive0")
        .unwrap()
        .run(|d| d.tape_alerts_clearing())
        .unwrap()
        .unwrap();
    assert!(seen.is_set(0x14));
    rig.reg.poll_now();
    assert!(rig.reg.alerts().is_empty());
    assert_eq!(drain(&events), [RegistryEvent::AlertCleared(a.clone())]);
}

#[test]
fn hardware_fault_takes_a_drive_offline_and_it_recovers() {
    let rig = rig();
    let events = rig.reg.subscribe();
    rig.lib
        .with_drive(1, |d| d.faults_mut().hardware_error = Some((0x44, 0x00)))
        .unwrap();
    rig.reg.poll_now();
    let d = rig.reg.device("lib1/drive1").unwrap();
    assert_eq!(d.state, DeviceState::Offline);
    assert!(!d.online);
    assert!(
        d.status_text().starts_with("offline: "),
        "{}",
        d.status_text()
    );
    assert!(
        d.detail.as_deref().unwrap_or("").contains("44"),
        "{:?}",
        d.detail
    );
    let keys: Vec<AlertKey> = d.alerts.iter().map(|a| a.key).collect();
    assert!(keys.contains(&AlertKey::Offline), "{keys:?}");
    // The VTL raises TapeAlert 1Eh (hardware A) with the error.
    let hw = d
        .alerts
        .iter()
        .find(|a| a.key == AlertKey::TapeAlert(0x1e))
        .expect("hardware A alert");
    assert_eq!(hw.category, AlertCategory::Hardware);
    let ev = drain(&events);
    assert!(
        ev.contains(&RegistryEvent::Health {
            device: "lib1/drive1".into(),
            health: Health::Offline
        }),
        "{ev:?}"
    );
    // Other drives are untouched.
    assert_eq!(
        rig.reg.device("lib1/drive0").unwrap().state,
        DeviceState::Online
    );
    // Still failing: no duplicate alerts.
    rig.reg.poll_now();
    assert!(drain(&events).is_empty());
    // Repaired.
    rig.lib
        .with_drive(1, |d| d.faults_mut().hardware_error = None)
        .unwrap();
    rig.reg.poll_now();
    let d = rig.reg.device("lib1/drive1").unwrap();
    assert_eq!(d.state, DeviceState::Online, "{}", d.status_text());
    assert!(!d.alerts.iter().any(|a| a.key == AlertKey::Offline));
    let ev = drain(&events);
    assert!(
        ev.contains(&RegistryEvent::Health {
            device: "lib1/drive1".into(),
            health: Health::Online
        }),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, RegistryEvent::AlertCleared(a) if a.key == AlertKey::Offline)),
        "{ev:?}"
    );
}

#[test]
fn not_ready_manual_intervention_is_offline_but_no_medium_is_not() {
    let rig = rig();
    // An empty drive (NOT READY 3A/00) is healthy.
    rig.reg.poll_now();
    assert_eq!(
        rig.reg.device("lib1/drive2").unwrap().state,
        DeviceState::Online
    );
    rig.lib
        .with_drive(2, |d| d.faults_mut().not_ready = Some((0x04, 0x03)))
        .unwrap();
    rig.reg.poll_now();
    assert_eq!(
        rig.reg.device("lib1/drive2").unwrap().state,
        DeviceState::Offline
    );
    rig.lib
        .with_drive(2, |d| d.faults_mut().not_ready = None)
        .unwrap();
    rig.reg.poll_now();
    assert_eq!(
        rig.reg.device("lib1/drive2").unwrap().state,
        DeviceState::Online
    );
}

#[test]
fn a_long_operation_makes_the_drive_busy_and_its_poll_is_skipped() {
    let rig = rig();
    let before = rig.reg.device("lib1/drive2").unwrap().last_poll;
    let handle = rig.reg.worker("lib1/drive2").unwrap().for_job("42");
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let job = std::thread::spawn(move || {
        handle.run(move |d| {
            started_tx.send(()).unwrap();
            // The "moving tape": held until the test lets go.
            release_rx.recv().unwrap();
            d.test_unit_ready().is_err()
        })
    });
    started_rx.recv().unwrap();
    // Make the last poll time comparable (whole seconds).
    std::thread::sleep(Duration::from_millis(1100));
    let out = rig.reg.poll_now();
    assert_eq!(
        outcome(&out, "lib1/drive2"),
        PollOutcome::Busy { job: "42".into() }
    );
    assert_eq!(outcome(&out, "lib1/drive1"), PollOutcome::Polled);
    let d = rig.reg.device("lib1/drive2").unwrap();
    assert_eq!(d.state, DeviceState::Busy);
    assert_eq!(d.busy_job.as_deref(), Some("42"));
    assert_eq!(d.status_text(), "busy (job 42)");
    assert_eq!(d.last_poll, before, "a busy drive is not polled");
    assert_eq!(d.sched_device().health, Health::Online);
    assert!(rig.reg.device("lib1/drive1").unwrap().last_poll > before);
    release_tx.send(()).unwrap();
    // No medium: TEST UNIT READY fails, as the job saw.
    assert!(job.join().unwrap().unwrap());
    let d = rig.reg.device("lib1/drive2").unwrap();
    assert_eq!(d.state, DeviceState::Online);
    assert_eq!(d.busy_job, None);
    let out = rig.reg.poll_now();
    assert_eq!(outcome(&out, "lib1/drive2"), PollOutcome::Polled);
}

#[test]
fn operator_down_and_up() {
    let rig = rig();
    let events = rig.reg.subscribe();
    rig.reg.poll_now();
    let last = rig.reg.device("lib1/drive3").unwrap().last_poll;
    rig.reg.set_down("lib1/drive3", true).unwrap();
    let d = rig.reg.device("lib1/drive3").unwrap();
    assert_eq!(d.state, DeviceState::Down);
    assert!(d.online, "a down drive keeps its last health");
    assert_eq!(d.status_text(), "down (was online)");
    assert_eq!(d.sched_device().health, Health::Down);
    assert_eq!(
        drain(&events),
        [RegistryEvent::Health {
            device: "lib1/drive3".into(),
            health: Health::Down
        }]
    );
    std::thread::sleep(Duration::from_millis(1100));
    let out = rig.reg.poll_now();
    assert_eq!(outcome(&out, "lib1/drive3"), PollOutcome::Down);
    assert_eq!(rig.reg.device("lib1/drive3").unwrap().last_poll, last);
    let h = rig.reg.worker("lib1/drive3").unwrap();
    assert!(matches!(h.run(|_| ()), Err(DeviceError::Down(_))));
    rig.reg.set_down("lib1/drive3", false).unwrap();
    assert_eq!(
        rig.reg.device("lib1/drive3").unwrap().state,
        DeviceState::Online
    );
    assert!(h.run(|_| ()).is_ok());
    assert!(matches!(
        rig.reg.set_down("nope", true),
        Err(DeviceError::NoSuchDevice(_))
    ));
}

#[test]
fn changer_moves_show_the_loaded_barcode_and_async_handles_work() {
    let rig = rig();
    let ch = rig.reg.worker("lib1").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let slots = rt
        .block_on(ch.run_changer_async(|l| l.slot_count()))
        .unwrap();
    assert_eq!(slots, 54);
    ch.run_changer(|l| l.load(1, 0)).unwrap().unwrap();
    rig.reg.poll_now();
    assert_eq!(
        rig.reg.device("lib1/drive0").unwrap().loaded.as_deref(),
        Some("RL0001L8")
    );
    let drive = rig.reg.worker("lib1/drive0").unwrap();
    rt.block_on(drive.run_async(|d| {
        d.load()?;
        d.test_unit_ready()
    }))
    .unwrap()
    .unwrap();
    // Unloaded by the changer's robot: the drive shows empty again.
    drive.run(|d| d.unload()).unwrap().unwrap();
    // The tape was unloaded through the drive above.
    ch.run_changer(|l| {
        l.changer().options_mut().eject_before_move = false;
        l.unload(0, None, None)
    })
    .unwrap()
    .unwrap();
    rig.reg.poll_now();
    assert_eq!(rig.reg.device("lib1/drive0").unwrap().loaded, None);
    // Wrong kinds and unknown devices are refused.
    assert!(matches!(ch.run(|_| ()), Err(DeviceError::WrongKind { .. })));
    assert!(matches!(
        drive.run_changer(|_| ()),
        Err(DeviceError::WrongKind { .. })
    ));
    assert!(matches!(
        rig.reg.worker("lib9"),
        Err(DeviceError::NoSuchDevice(_))
    ));
}

#[test]
fn a_panicking_operation_does_not_kill_the_worker() {
    let rig = rig();
    let h = rig.reg.worker("lib1/drive0").unwrap();
    let r = h.run(|_| -> () { panic!("job bug") });
    assert!(matches!(r, Err(DeviceError::Aborted(_))), "{r:?}");
    assert_eq!(
        rig.reg.device("lib1/drive0").unwrap().state,
        DeviceState::Online
    );
    // The worker reopens its transport and goes on.
    assert!(h.run(|d| d.inquiry().is_ok()).unwrap());
}

#[test]
fn storages_and_configured_devices() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let disk = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[device]]\nid = \"solo\"\naddress = \"vtl:{d}#drive1\"\n\
         [[device]]\naddress = \"vtl:{d}#drive0\"\nlibrary = \"lib1\"\n\
         [[storage]]\nid = \"disk0\"\nkind = \"disk\"\npath = \"{disk}\"\nmax_jobs = 3\n\
         [[storage]]\nid = \"dd0\"\nkind = \"dedup\"\npath = \"{disk}/missing\"\n",
        d = dir.path().display(),
        disk = disk.path().display()
    );
    let reg = Registry::start(config(dir.path(), &extra), opts(vec![lib])).unwrap();
    let ids: Vec<String> = reg.devices().into_iter().map(|d| d.id).collect();
    // Entries naming a drive of a configured library are not listed twice.
    assert_eq!(
        ids,
        [
            "lib1",
            "lib1/drive0",
            "lib1/drive1",
            "lib1/drive2",
            "lib1/drive3",
            "disk0",
            "dd0"
        ]
    );
    let disk0 = reg.device("disk0").unwrap();
    assert_eq!(disk0.kind, DeviceKind::DiskStorage);
    assert_eq!(disk0.state, DeviceState::Online);
    assert_eq!(disk0.max_jobs, 3);
    let dd0 = reg.device("dd0").unwrap();
    assert_eq!(dd0.kind, DeviceKind::DedupStore);
    assert_eq!(dd0.state, DeviceState::Offline);
    assert!(dd0.detail.unwrap().contains("not a directory"));
    assert!(matches!(
        reg.worker("disk0"),
        Err(DeviceError::WrongKind { .. })
    ));
    std::fs::create_dir(disk.path().join("missing")).unwrap();
    reg.poll_now();
    assert_eq!(reg.device("dd0").unwrap().state, DeviceState::Online);
}

#[test]
fn a_locked_vtl_is_an_offline_library_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // Held open here and not handed over: the registry cannot open it.
    let _held = VirtualLibrary::create_default(dir.path()).unwrap();
    let reg = Registry::start(config(dir.path(), ""), opts(Vec::new())).unwrap();
    assert_eq!(reg.warnings().len(), 1, "{:?}", reg.warnings());
    let devs = reg.devices();
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].state, DeviceState::Offline);
    assert!(
        devs[0].status_text().contains("in use"),
        "{}",
        devs[0].status_text()
    );
}
