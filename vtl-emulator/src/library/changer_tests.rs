//! The changer wired to the library: drives, persistence, configuration.

use std::path::Path;
use std::time::{Duration, Instant};

use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiStatus, ScsiTransport};
use tempfile::TempDir;

use super::*;
use crate::changer::PickerFault;

const T: Duration = Duration::from_secs(10);

fn cmd(t: &mut dyn ScsiTransport, cdb: &[u8]) -> Completion {
    t.execute(cdb, DataDirection::None, T).unwrap()
}

fn asc(c: &Completion) -> Option<(u8, u8, u8)> {
    (c.status == ScsiStatus::CHECK_CONDITION).then(|| (c.sense[2] & 0x0f, c.sense[12], c.sense[13]))
}

fn good(c: &Completion) {
    assert_eq!(c.status, ScsiStatus::GOOD, "sense {:02x?}", c.sense);
}

fn mv(src: u16, dst: u16) -> [u8; 12] {
    let s = src.to_be_bytes();
    let d = dst.to_be_bytes();
    [0xa5, 0, 0, 0x01, s[0], s[1], d[0], d[1], 0, 0, 0, 0]
}

fn res(t: &mut dyn ScsiTransport, kind: u8, start: u16, n: u16) -> Vec<u8> {
    let s = start.to_be_bytes();
    let c = n.to_be_bytes();
    let cdb = [
        0xb8,
        0x10 | kind,
        s[0],
        s[1],
        c[0],
        c[1],
        0,
        0,
        0xff,
        0xff,
        0,
        0,
    ];
    let mut buf = vec![0u8; 0xffff];
    let r = t
        .execute(&cdb, DataDirection::FromDevice(&mut buf), T)
        .unwrap();
    good(&r);
    buf.truncate(0xffff - r.residual);
    buf
}

/// A changer transport past its power-on unit attention.
fn changer(lib: &VirtualLibrary) -> VtlChangerTransport {
    let mut t = lib.changer_transport();
    let c = cmd(&mut t, &[0, 0, 0, 0, 0, 0]);
    assert_eq!(asc(&c), Some((6, 0x29, 0)));
    good(&cmd(&mut t, &[0, 0, 0, 0, 0, 0]));
    t
}

fn default_lib() -> (TempDir, VirtualLibrary) {
    let dir = TempDir::new().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    (dir, lib)
}

#[test]
fn default_library() {
    let (dir, lib) = default_lib();
    assert!(dir.path().join("library.toml").is_file());
    assert_eq!(lib.drive_count(), 4);
    assert_eq!(lib.config().drives[3].serial, "VTL0000004");
    let mut t = changer(&lib);
    let all = res(&mut t, 0, 0, 0xffff);
    // 1 picker + 4 drives + 4 mail slots + 50 slots, first the picker.
    assert_eq!(&all[..4], &[0x00, 0x01, 0x00, 59]);
    let slots = res(&mut t, 2, 0x0400, 50);
    assert_eq!(&slots[16..20], &[0x04, 0x00, 0x09, 0x00]);
    assert_eq!(&slots[28..36], b"RL0001L8");
    let last = 16 + 49 * 48;
    assert_eq!(&slots[last..last + 2], &[0x04, 0x31]);
    assert_eq!(slots[last + 9], 0x02, "cleaning medium");
    assert_eq!(&slots[last + 12..last + 20], b"CLN001L1");
    let empty = 16 + 20 * 48;
    assert_eq!(slots[empty + 2], 0x08, "slot 21 empty");
    let carts = lib.list().unwrap();
    assert_eq!(carts.len(), 20);
    assert_eq!(carts[4].spec.barcode, "RL0005L8");
    assert_eq!(carts[4].location, Some(Location::Slot(4)));
    assert_eq!(carts[4].spec.generation, Generation::Lto8);
    // Mode page 1Dh shows the documented map.
    let mut buf = [0u8; 24];
    good(
        &t.execute(
            &[0x1a, 0x08, 0x1d, 0, 24, 0],
            DataDirection::FromDevice(&mut buf),
            T,
        )
        .unwrap(),
    );
    assert_eq!(
        &buf[4..22],
        &[
            0x1d, 0x12, 0, 1, 0, 1, 0x04, 0, 0, 50, 0x03, 0, 0, 4, 0x01, 0, 0, 4
        ]
    );
    drop(t);
    drop(lib);
    assert!(matches!(
        VirtualLibrary::create_default(dir.path()),
        Err(LibraryError::AlreadyExists(_))
    ));
    let lib = VirtualLibrary::open_or_create_default(dir.path()).unwrap();
    assert_eq!(lib.location("RL0020L8"), Some(Location::Slot(19)));
}

#[test]
fn load_makes_the_drive_report_28_00_and_unload_needs_eject() {
    let (_dir, lib) = default_lib();
    let mut ch = changer(&lib);
    let mut d = lib.drive_transport(1).unwrap();
    assert_eq!(asc(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), Some((6, 0x29, 0)));
    assert_eq!(asc(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), Some((2, 0x3a, 0)));
    good(&cmd(&mut ch, &mv(0x0402, 0x0101)));
    assert_eq!(asc(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), Some((6, 0x28, 0)));
    good(&cmd(&mut d, &[0, 0, 0, 0, 0, 0]));
    assert_eq!(
        lib.drive_state(1).unwrap().cartridge.as_deref(),
        Some("RL0003L8")
    );
    // The drive element reports it, with its source slot and the serial.
    let mut buf = vec![0u8; 512];
    let cdb = [0xb8, 0x14, 0x01, 0x01, 0, 1, 0x01, 0, 0x02, 0, 0, 0];
    good(
        &ch.execute(&cdb, DataDirection::FromDevice(&mut buf), T)
            .unwrap(),
    );
    assert_eq!(
        &buf[16..28],
        &[0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0x81, 0x04, 0x02]
    );
    assert_eq!(&buf[28..36], b"RL0003L8");
    assert_eq!(&buf[64..68], &[0x02, 0x01, 0x00, 34]);
    assert_eq!(&buf[68..102], b"IBM     ULT3580-TD8     VTL0000002");
    // Still threaded: the robot refuses (auto_unload is off by default).
    let c = cmd(&mut ch, &mv(0x0101, 0x0402));
    assert_eq!(asc(&c), Some((5, 0x3b, 0x90)));
    assert_eq!(&c.sense[15..18], &[0xc0, 0, 4]);
    // The host prevents removal and unloads: still 53/02... no: UNLOAD is
    // refused while prevented, so the robot sees a threaded, prevented tape.
    good(&cmd(&mut d, &[0x1e, 0, 0, 0, 1, 0]));
    assert_eq!(
        asc(&cmd(&mut ch, &mv(0x0101, 0x0402))),
        Some((5, 0x53, 0x02))
    );
    good(&cmd(&mut d, &[0x1e, 0, 0, 0, 0, 0]));
    good(&cmd(&mut d, &[0x1b, 0, 0, 0, 0, 0]));
    good(&cmd(&mut ch, &mv(0x0101, 0x0402)));
    assert_eq!(lib.drive_state(1).unwrap().cartridge, None);
    assert_eq!(lib.location("RL0003L8"), Some(Location::Slot(2)));
    // With auto_unload the robot unloads a threaded tape itself.
    lib.with_changer(|c| c.options_mut().auto_unload = true)
        .unwrap();
    good(&cmd(&mut ch, &mv(0x0402, 0x0101)));
    good(&cmd(&mut ch, &mv(0x0101, 0x0420)));
    assert_eq!(lib.location("RL0003L8"), Some(Location::Slot(32)));
    // A cartridge whose file vanished: MEDIUM ERROR 53/00, it stays home.
    std::fs::remove_dir_all(lib.dir().join("cartridges/RL0005L8")).unwrap();
    assert_eq!(asc(&cmd(&mut ch, &mv(0x0404, 0x0100))), Some((3, 0x53, 0)));
    assert_eq!(lib.location("RL0005L8"), Some(Location::Slot(4)));
}

#[test]
fn exchange_through_a_drive() {
    let (_dir, lib) = default_lib();
    lib.with_changer(|c| c.options_mut().auto_unload = true)
        .unwrap();
    let mut ch = changer(&lib);
    good(&cmd(&mut ch, &mv(0x0400, 0x0100)));
    let x = [0xa6, 0, 0, 1, 0x04, 0x01, 0x01, 0x00, 0x04, 0x00, 0, 0];
    good(&cmd(&mut ch, &x));
    assert_eq!(
        lib.drive_state(0).unwrap().cartridge.as_deref(),
        Some("RL0002L8")
    );
    assert_eq!(lib.location("RL0001L8"), Some(Location::Slot(0)));
    assert_eq!(lib.location("RL0002L8"), Some(Location::Drive(0)));
}

#[test]
fn mail_slot_import_export_and_door() {
    let (_dir, lib) = default_lib();
    let mut ch = changer(&lib);
    lib.create_cartridge(&CartridgeSpec::new("NEW001L8", Generation::Lto8))
        .unwrap();
    // Fresh cartridges go to the first empty slot; send it out first.
    assert_eq!(lib.location("NEW001L8"), Some(Location::Slot(20)));
    good(&cmd(&mut ch, &mv(0x0414, 0x0302)));
    assert_eq!(lib.export(2).unwrap(), "NEW001L8");
    assert_eq!(lib.location("NEW001L8"), None);
    assert_eq!(
        asc(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0])),
        Some((6, 0x28, 0x01))
    );
    lib.import(0, "NEW001L8").unwrap();
    assert!(matches!(
        lib.import(1, "NEW001L8"),
        Err(LibraryError::AlreadyInLibrary(_))
    ));
    assert!(matches!(
        lib.import(1, "NOPE"),
        Err(LibraryError::NoSuchCartridge(_))
    ));
    assert_eq!(
        asc(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0])),
        Some((6, 0x28, 0x01))
    );
    let mail = res(&mut ch, 3, 0x0300, 1);
    assert_eq!(&mail[16..19], &[0x03, 0x00, 0x3b]);
    good(&cmd(&mut ch, &mv(0x0300, 0x0414)));
    // PREVENT locks the mail slots against the operator.
    good(&cmd(&mut ch, &mv(0x0431, 0x0301)));
    good(&cmd(&mut ch, &[0x1e, 0, 0, 0, 1, 0]));
    assert!(matches!(
        lib.export(1),
        Err(LibraryError::Operator {
            source: OperatorError::Prevented,
            ..
        })
    ));
    good(&cmd(&mut ch, &[0x1e, 0, 0, 0, 0, 0]));
    // Cleaning cartridges survive a trip to the shelf.
    assert_eq!(lib.export(1).unwrap(), "CLN001L1");
    lib.import(3, "CLN001L1").unwrap();
    assert_eq!(lib.location("CLN001L1"), Some(Location::MailSlot(3)));
    let _ = cmd(&mut ch, &[0, 0, 0, 0, 0, 0]);
    // Door: NOT READY while open, hand moves, 28/00 and an inventory after.
    lib.open_door().unwrap();
    assert_eq!(
        asc(&cmd(&mut ch, &mv(0x0400, 0x0401))),
        Some((2, 0x04, 0x03))
    );
    lib.manual_move(Location::Slot(0), Location::Slot(30))
        .unwrap();
    lib.with_changer(|c| c.options_mut().init_delay = Duration::from_millis(100))
        .unwrap();
    lib.close_door().unwrap();
    assert!(matches!(
        lib.manual_move(Location::Slot(30), Location::Slot(0)),
        Err(LibraryError::Operator {
            source: OperatorError::DoorClosed,
            ..
        })
    ));
    assert_eq!(
        asc(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0])),
        Some((6, 0x28, 0x00))
    );
    assert_eq!(
        asc(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0])),
        Some((2, 0x04, 0x01))
    );
    std::thread::sleep(Duration::from_millis(150));
    good(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0]));
    assert_eq!(lib.location("RL0001L8"), Some(Location::Slot(30)));
}

/// Copies a library directory as it is on disk now: what a crash leaves.
fn crash_image(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            crash_image(&e.path(), &target);
        } else if e.file_name() != "lock" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn state_persists_across_reopen_and_crash() {
    let (dir, lib) = default_lib();
    let mut ch = changer(&lib);
    good(&cmd(&mut ch, &mv(0x0400, 0x0100)));
    good(&cmd(&mut ch, &mv(0x0401, 0x0302)));
    lib.with_changer(|c| c.faults_mut().picker = Some(PickerFault::positioning(true)))
        .unwrap();
    // Crash image taken while the library is open.
    let img = TempDir::new().unwrap();
    crash_image(dir.path(), img.path());
    drop(ch);
    drop(lib);

    let lib = VirtualLibrary::open(dir.path()).unwrap();
    assert_eq!(lib.location("RL0001L8"), Some(Location::Drive(0)));
    assert_eq!(lib.location("RL0002L8"), Some(Location::MailSlot(2)));
    let st = lib.changer_state();
    assert_eq!(st.drives[0].as_ref().unwrap().source, Some(0x0400));
    assert!(st.faults.picker.is_some());
    // A clean close keeps the nexus: no 29/00 for initiator 0.
    let mut ch = lib.changer_transport();
    assert_eq!(
        asc(&cmd(&mut ch, &mv(0x0302, 0x0401))),
        Some((4, 0x15, 0x01))
    );
    drop(ch);
    drop(lib);

    let lib = VirtualLibrary::open(img.path()).unwrap();
    assert_eq!(lib.location("RL0001L8"), Some(Location::Drive(0)));
    assert_eq!(lib.location("RL0002L8"), Some(Location::MailSlot(2)));
    assert_eq!(
        lib.drive_state(0).unwrap().cartridge.as_deref(),
        Some("RL0001L8")
    );
    let mut ch = lib.changer_transport();
    assert_eq!(
        asc(&cmd(&mut ch, &[0, 0, 0, 0, 0, 0])),
        Some((6, 0x29, 0)),
        "power cycle"
    );
}

#[test]
fn crash_between_drive_and_changer_is_reconciled() {
    let (dir, lib) = default_lib();
    lib.insert(2, "RL0007L8").unwrap();
    assert_eq!(lib.location("RL0007L8"), Some(Location::Drive(2)));
    drop(lib);
    // Lose the changer's half: the cartridge is in drive 2 and in slot 7.
    let path = dir.path().join(STATE_FILE);
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    st["changer"]["drives"][2] = serde_json::Value::Null;
    st["changer"]["slots"][6] = serde_json::json!({ "barcode": "RL0007L8" });
    st["clean"] = serde_json::Value::Bool(false);
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();
    let lib = VirtualLibrary::open(dir.path()).unwrap();
    assert_eq!(lib.location("RL0007L8"), Some(Location::Drive(2)));
    assert!(lib.changer_state().slots[6].is_none());
    // Operator eject puts it back into its slot (its source is unknown
    // now, so the first empty one).
    assert_eq!(lib.eject(2).unwrap(), "RL0007L8");
    assert_eq!(lib.location("RL0007L8"), Some(Location::Slot(6)));
}

#[test]
fn foundation_library_gets_robotics() {
    let dir = TempDir::new().unwrap();
    let lib =
        VirtualLibrary::create(dir.path(), LibraryConfig::single_drive(Generation::Lto8)).unwrap();
    for b in ["B00002L8", "B00001L8"] {
        lib.create_cartridge(&CartridgeSpec::new(b, Generation::Lto8))
            .unwrap();
    }
    assert_eq!(lib.location("B00002L8"), Some(Location::Slot(0)));
    lib.insert(0, "B00002L8").unwrap();
    drop(lib);
    assert!(dir.path().join("library.json").is_file());
    // A directory written by the foundation: no changer state at all.
    let path = dir.path().join(STATE_FILE);
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    st.as_object_mut().unwrap().remove("changer");
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();
    let lib = VirtualLibrary::open(dir.path()).unwrap();
    assert_eq!(lib.spec().library.slots, 50);
    assert_eq!(lib.location("B00001L8"), Some(Location::Slot(0)));
    assert_eq!(lib.location("B00002L8"), Some(Location::Drive(0)));
    let mut ch = changer(&lib);
    let d = res(&mut ch, 4, 0, 10);
    assert_eq!(&d[..4], &[0x01, 0x00, 0x00, 0x01]);
    assert_eq!(&d[28..36], b"B00002L8");
    // Eject by the operator: the first empty slot.
    drop(ch);
    lib.eject(0).unwrap();
    assert_eq!(lib.location("B00002L8"), Some(Location::Slot(1)));
}

const EXAMPLE: &str = r#"
[library]
vendor = "HP"
product = "MSL G3 Series"
serial = "DEC1234"
slots = 24
mail_slots = 1

[elements]
transport = 0
drives = 1
mail_slots = 0x10
slots = 0x20

[options]
auto_unload = true
alternate_tags = true
move_delay_ms = 5

[[drive]]
vendor = "HP"
product = "Ultrium 9-SCSI"
serial = "HU1234"
generation = "LTO-9"

[[drive]]
serial = "HU1235"
generation = "lto8"

[[cartridge]]
barcode = "AAA001L9"
slot = 3
alternate_tag = "VAULT-1"

[[cartridge]]
barcode = "AAA002LX"
mail_slot = 1
write_protect = true

[[cartridge]]
barcode = "CLN007L1"
slot = 24
cleaning_uses = 2

[[cartridge]]
barcode = "NOLBL1L9"
slot = 4
label = false

[[cartridge]]
barcode = "SHELF1L9"
"#;

#[test]
fn toml_configuration() {
    let spec = LibrarySpec::parse(EXAMPLE).unwrap();
    let dir = TempDir::new().unwrap();
    let lib = VirtualLibrary::create_with(dir.path(), &spec).unwrap();
    drop(lib);
    // Reopened from the file it wrote.
    let lib = VirtualLibrary::open(dir.path()).unwrap();
    assert_eq!(lib.spec(), &spec);
    assert_eq!(lib.config().drives[0].product, "Ultrium 9-SCSI");
    assert_eq!(lib.config().drives[1].generation, Generation::Lto8);
    assert_eq!(lib.config().drives[1].product, "ULT3580-TD8");
    let carts = lib.list().unwrap();
    let worm = carts.iter().find(|c| c.spec.barcode == "AAA002LX").unwrap();
    assert!(worm.spec.worm && worm.write_protected);
    assert_eq!(worm.spec.generation, Generation::Lto8);
    assert_eq!(worm.location, Some(Location::MailSlot(0)));
    let shelf = carts.iter().find(|c| c.spec.barcode == "SHELF1L9").unwrap();
    assert_eq!(shelf.location, None);
    let mut ch = changer(&lib);
    let mut inq = [0u8; 36];
    good(
        &ch.execute(
            &[0x12, 0, 0, 0, 36, 0],
            DataDirection::FromDevice(&mut inq),
            T,
        )
        .unwrap(),
    );
    assert_eq!(&inq[8..32], b"HP      MSL G3 Series   ");
    // Picker 0x0000, drives 0x0001.., mail 0x0010, slots 0x0020...
    let s = res(&mut ch, 2, 0x0022, 3);
    assert_eq!(&s[8..16], &[0x02, 0xc0, 0, 84, 0, 0, 0, 252]);
    assert_eq!(&s[16..18], &[0x00, 0x22]);
    assert_eq!(&s[28..36], b"AAA001L9");
    assert_eq!(&s[64..71], b"VAULT-1");
    assert_eq!(&s[100..102], &[0x00, 0x23]);
    assert_eq!(s[102], 0x09, "unlabelled but full");
    assert_eq!(&s[112..148], &[0u8; 36]);
    let m = res(&mut ch, 3, 0, 1);
    assert_eq!(m[16 + 9], 0x04, "WORM medium type");
    // The picker is 0x0000 here: 0x0001 is a drive, not a transport.
    let c = cmd(&mut ch, &mv(0x0022, 0x0001));
    assert_eq!(&c.sense[12..18], &[0x21, 0x01, 0, 0xc0, 0, 2]);
    let mv = |s: u16, d: u16| {
        let mut c = mv(s, d);
        c[3] = 0;
        c
    };
    good(&cmd(&mut ch, &mv(0x0022, 0x0001)));
    assert_eq!(
        lib.drive_state(0).unwrap().cartridge.as_deref(),
        Some("AAA001L9")
    );
    // auto_unload is on in this library.
    good(&cmd(&mut ch, &mv(0x0001, 0x0022)));
    // The cleaning cartridge.
    good(&cmd(&mut ch, &mv(0x0037, 0x0002)));
    assert_eq!(
        lib.changer_state().drives[1]
            .as_ref()
            .unwrap()
            .cleaning_uses,
        1
    );
    assert_eq!(lib.drive_state(1).unwrap().cartridge, None);
}

#[test]
fn toml_errors_are_clear() {
    for (text, want) in [
        (
            "[library]\nslots = 2\n[[cartridge]]\nbarcode = \"A\"\nslot = 3\n",
            "slot 3 is not in 1..=2",
        ),
        (
            "[[cartridge]]\nbarcode = \"A1L8\"\nslot = 1\n[[cartridge]]\nbarcode = \"A1L8\"\n",
            "appears twice",
        ),
        (
            "[[cartridge]]\nbarcode = \"A1L8\"\nslot = 1\n[[cartridge]]\nbarcode = \"A2L8\"\nslot = 1\n",
            "taken",
        ),
        ("[library]\nslotz = 2\n", "slotz"),
        (
            "[[drive]]\nserial = \"X\"\ngeneration = \"LTO-4\"\n",
            "unknown generation",
        ),
        ("[elements]\nmail_slots = 0x410\n", "overlap"),
        ("[library]\nslots = 65000\n", "past address"),
    ] {
        let e = LibrarySpec::parse(text).unwrap_err();
        assert!(e.contains(want), "{text:?}: {e}");
    }
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("library.toml"), "[library]\nslots = -1\n").unwrap();
    assert!(matches!(
        VirtualLibrary::open(dir.path()),
        Err(LibraryError::BadConfig { .. })
    ));
}

#[test]
fn thousand_slots_sixteen_drives() {
    let mut spec = LibrarySpec::empty(1000, 16, 16, Generation::Lto9);
    for i in 0..40u16 {
        spec.cartridge.push(config::CartridgeSection::in_slot(
            &format!("BIG{i:03}L9"),
            i * 25 + 1,
        ));
    }
    let dir = TempDir::new().unwrap();
    let lib = VirtualLibrary::create_with(dir.path(), &spec).unwrap();
    let mut ch = changer(&lib);
    let t = Instant::now();
    let cdb = [
        0xb8, 0x12, 0x04, 0x00, 0x03, 0xe8, 0, 0x00, 0xff, 0xff, 0, 0,
    ];
    let mut buf = vec![0u8; 0xffff];
    let r = ch
        .execute(&cdb, DataDirection::FromDevice(&mut buf), T)
        .unwrap();
    good(&r);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(&buf[..8], &[0x04, 0x00, 0x03, 0xe8, 0, 0x00, 0xbb, 0x88]);
    assert_eq!(&buf[16 + 975 * 48 + 12..16 + 975 * 48 + 20], b"BIG039L9");
    let d = res(&mut ch, 4, 0, 0xffff);
    assert_eq!(&d[..4], &[0x01, 0x00, 0x00, 16]);
    good(&cmd(&mut ch, &mv(0x0400, 0x010f)));
    assert_eq!(
        lib.drive_state(15).unwrap().cartridge.as_deref(),
        Some("BIG000L9")
    );
}

/// A library.toml without an [options] section offers EXCHANGE MEDIUM, as
/// documented: page 1Fh lists storage, mail slot and drive exchanges.
#[test]
fn exchange_is_on_without_an_options_section() {
    let spec = LibrarySpec::parse(
        "[library]\nslots = 4\nmail_slots = 1\n\n\
         [[drive]]\nserial = \"X1\"\ngeneration = \"LTO-8\"\n",
    )
    .unwrap();
    assert!(spec.options.exchange);
    let dir = TempDir::new().unwrap();
    let lib = VirtualLibrary::create_with(dir.path(), &spec).unwrap();
    let mut ch = changer(&lib);
    // MODE SENSE(6), DBD, page 1Fh.
    let mut buf = [0u8; 255];
    let r = ch
        .execute(
            &[0x1a, 0x08, 0x1f, 0, 0xff, 0],
            DataDirection::FromDevice(&mut buf),
            T,
        )
        .unwrap();
    good(&r);
    assert_eq!(
        &buf[..255 - r.residual],
        [
            0x17, 0, 0, 0, // header, no block descriptors
            0x1f, 0x12, 0x0e, 0x00, // ST, I/E, DT store media
            0x00, 0x0e, 0x0e, 0x0e, // MT->, ST->, I/E->, DT-> (moves)
            0, 0, 0, 0, //
            0x00, 0x0e, 0x0e, 0x0e, // MT<>, ST<>, I/E<>, DT<> (exchanges)
            0, 0, 0, 0,
        ]
    );
}
