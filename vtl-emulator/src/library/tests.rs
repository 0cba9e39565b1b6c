use std::time::Duration;

use reel_drivers::scsi::transport::{DataDirection, ScsiStatus, ScsiTransport};
use tempfile::TempDir;

use super::*;

const T: Duration = Duration::from_secs(10);

fn lib() -> (TempDir, VirtualLibrary) {
    let dir = TempDir::new().unwrap();
    let lib =
        VirtualLibrary::create(dir.path(), LibraryConfig::single_drive(Generation::Lto8)).unwrap();
    let mut spec = CartridgeSpec::new("ABC123L8", Generation::Lto8);
    spec.capacity = 1 << 30;
    lib.create_cartridge(&spec).unwrap();
    (dir, lib)
}

fn cmd(t: &mut VtlTransport, cdb: &[u8]) -> Completion {
    t.execute(cdb, DataDirection::None, T).unwrap()
}

use reel_drivers::scsi::transport::Completion;

/// Issues TEST UNIT READY until GOOD, returning the ASC/ASCQ seen before.
fn settle(t: &mut VtlTransport) -> Vec<(u8, u8)> {
    let mut seen = Vec::new();
    for _ in 0..5 {
        let c = cmd(t, &[0, 0, 0, 0, 0, 0]);
        if c.status == ScsiStatus::GOOD {
            return seen;
        }
        seen.push((c.sense[12], c.sense[13]));
    }
    panic!("drive never became ready: {seen:?}");
}

#[test]
fn write_close_reopen_keeps_state() {
    let (dir, lib) = lib();
    lib.insert(0, "ABC123L8").unwrap();
    let mut t = lib.drive_transport(0).unwrap();
    assert_eq!(settle(&mut t), vec![(0x29, 0x00)]);
    // Fixed 512-byte blocks, two of them, a filemark.
    let mode = [0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0, 0x02, 0x00];
    let c = t
        .execute(
            &[0x15, 0x10, 0, 0, 12, 0],
            DataDirection::ToDevice(&mode),
            T,
        )
        .unwrap();
    assert_eq!(c.status, ScsiStatus::GOOD);
    let data = vec![0x5a; 1024];
    let c = t
        .execute(&[0x0a, 0x01, 0, 0, 2, 0], DataDirection::ToDevice(&data), T)
        .unwrap();
    assert_eq!(c.status, ScsiStatus::GOOD);
    cmd(&mut t, &[0x10, 0, 0, 0, 1, 0]);
    cmd(&mut t, &[0x1e, 0, 0, 0, 1, 0]);
    drop(t);
    drop(lib);

    let lib = VirtualLibrary::open(dir.path()).unwrap();
    let st = lib.drive_state(0).unwrap();
    assert_eq!(st.cartridge.as_deref(), Some("ABC123L8"));
    assert!(st.loaded);
    assert_eq!((st.partition, st.block), (0, 3));
    assert_eq!(st.settings.block_size, 512);
    assert!(st.settings.prevent.contains(&0));
    let mut t = lib.drive_transport(0).unwrap();
    // Same "power-on": no new unit attention for a known initiator.
    assert_eq!(settle(&mut t), vec![]);
    let mut pos = [0u8; 20];
    t.execute(
        &[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        DataDirection::FromDevice(&mut pos),
        T,
    )
    .unwrap();
    assert_eq!(pos[4..8], [0, 0, 0, 3]);
    // Prevented: neither the operator nor UNLOAD may remove it.
    assert!(matches!(
        lib.eject(0),
        Err(LibraryError::Drive {
            source: DriveError::RemovalPrevented,
            ..
        })
    ));
    cmd(&mut t, &[0x1e, 0, 0, 0, 0, 0]);
    assert_eq!(lib.eject(0).unwrap(), "ABC123L8");
    assert_eq!(lib.list().unwrap()[0].drive, None);
}

#[test]
fn second_open_is_refused_with_pid() {
    let (dir, lib) = lib();
    match VirtualLibrary::open(dir.path()) {
        Err(LibraryError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("second open succeeded"),
    }
    let msg = VirtualLibrary::open(dir.path()).err().unwrap().to_string();
    assert!(
        msg.contains(&format!("PID {}", std::process::id())),
        "{msg}"
    );
    drop(lib);
    VirtualLibrary::open(dir.path()).unwrap();
}

#[test]
fn unclean_close_is_a_power_cycle() {
    let (dir, lib) = lib();
    lib.insert(0, "ABC123L8").unwrap();
    let mut t = lib.drive_transport(0).unwrap();
    settle(&mut t);
    let rec = [1u8; 100];
    t.execute(&[0x0a, 0, 0, 0, 100, 0], DataDirection::ToDevice(&rec), T)
        .unwrap();
    cmd(&mut t, &[0x10, 0, 0, 0, 1, 0]);
    drop(t);
    drop(lib);
    // What a killed process leaves: clean = false.
    let path = dir.path().join(STATE_FILE);
    let mut st: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    st["clean"] = serde_json::Value::Bool(false);
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();

    let lib = VirtualLibrary::open(dir.path()).unwrap();
    let mut t = lib.drive_transport(0).unwrap();
    assert_eq!(settle(&mut t), vec![(0x29, 0x00)]);
    assert_eq!(lib.drive_state(0).unwrap().block, 0);
    // The data written before is still there.
    let mut buf = [0u8; 100];
    let c = t
        .execute(
            &[0x08, 0, 0, 0, 100, 0],
            DataDirection::FromDevice(&mut buf),
            T,
        )
        .unwrap();
    assert_eq!(c.status, ScsiStatus::GOOD);
    assert_eq!(buf, rec);
}

#[test]
fn operator_actions_and_errors() {
    let (_dir, lib) = lib();
    let mut spec = CartridgeSpec::new("WORM01L8", Generation::Lto8);
    spec.worm = true;
    spec.capacity = 1 << 30;
    lib.create_cartridge(&spec).unwrap();
    let list = lib.list().unwrap();
    assert_eq!(
        list.iter()
            .map(|c| c.spec.barcode.as_str())
            .collect::<Vec<_>>(),
        ["ABC123L8", "WORM01L8"]
    );
    assert!(list[1].spec.worm);
    assert!(matches!(
        lib.insert(0, "NOPE"),
        Err(LibraryError::NoSuchCartridge(_))
    ));
    assert!(matches!(
        lib.insert(3, "ABC123L8"),
        Err(LibraryError::NoSuchDrive(3))
    ));
    lib.insert(0, "ABC123L8").unwrap();
    assert!(matches!(
        lib.insert(0, "ABC123L8"),
        Err(LibraryError::CartridgeInUse { drive: 0, .. })
    ));
    assert!(matches!(
        lib.insert(0, "WORM01L8"),
        Err(LibraryError::Drive {
            source: DriveError::Occupied,
            ..
        })
    ));
    assert_eq!(lib.list().unwrap()[0].drive, Some(0));
    lib.eject(0).unwrap();
    lib.set_write_protect("ABC123L8", true).unwrap();
    assert!(lib.list().unwrap()[0].write_protected);
    assert!(matches!(
        lib.eject(0),
        Err(LibraryError::Drive {
            source: DriveError::Empty,
            ..
        })
    ));
}

#[test]
fn faults_persist_and_transport_limits() {
    let (dir, lib) = lib();
    lib.with_drive(0, |d| {
        d.faults_mut().hardware_error = Some((0x44, 0x00));
    })
    .unwrap();
    drop(lib);
    let lib = VirtualLibrary::open(dir.path()).unwrap();
    assert_eq!(
        lib.drive_state(0).unwrap().faults.hardware_error,
        Some((0x44, 0x00))
    );
    let mut t = lib.drive_transport(0).unwrap().with_max_transfer(4096);
    let big = vec![0u8; 8192];
    assert!(matches!(
        t.execute(&[0x0a, 0, 0, 0x20, 0, 0], DataDirection::ToDevice(&big), T),
        Err(TransportError::TooLarge {
            requested: 8192,
            max: 4096
        })
    ));
    assert_eq!(t.describe(), format!("vtl:{}#drive0", dir.path().display()));
    assert!(lib.drive_transport(1).is_err());
}

use reel_drivers::scsi::transport::TransportError;

#[test]
fn addresses() {
    // Parsing is the drivers' (their tests cover the grammar); opening is ours.
    for bad in [
        "vtl:/x",
        "/dev/nst0",
        "vtl:#drive0",
        "vtl:/x#drivex",
        "iscsi://h/iqn.x/0",
    ] {
        assert!(
            matches!(open_device(bad), Err(LibraryError::BadAddress(_))),
            "{bad}"
        );
    }
    let (dir, lib) = lib();
    drop(lib);
    let mut t = open_device(&format!("vtl:{}#drive0", dir.path().display())).unwrap();
    assert!(matches!(t, VtlDevice::Drive(_)));
    let mut inq = [0u8; 36];
    let c = t
        .execute(
            &[0x12, 0, 0, 0, 36, 0],
            DataDirection::FromDevice(&mut inq),
            T,
        )
        .unwrap();
    assert_eq!(c.status, ScsiStatus::GOOD);
    assert_eq!(&inq[8..11], b"IBM");
    assert_eq!(inq[0], 0x01);
    drop(t);
    let mut t = open_device(&format!("vtl:{}#changer", dir.path().display())).unwrap();
    assert_eq!(
        t.describe(),
        format!("vtl:{}#changer", dir.path().display())
    );
    let c = t
        .execute(
            &[0x12, 0, 0, 0, 36, 0],
            DataDirection::FromDevice(&mut inq),
            T,
        )
        .unwrap();
    assert_eq!(c.status, ScsiStatus::GOOD);
    assert_eq!(inq[0], 0x08, "medium changer");
    // A drive number past the library's drives.
    drop(t);
    assert!(matches!(
        open_device(&format!("vtl:{}#drive7", dir.path().display())),
        Err(LibraryError::NoSuchDrive(7))
    ));
}
