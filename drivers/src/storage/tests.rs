//! The device end to end on a temporary directory.

use super::*;

fn text(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(format!("line {i}: the quick brown fox\n").as_bytes());
        i += 1;
    }
    v.truncate(n);
    v
}

fn random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn read(dev: &DiskStorage, name: &str, file: u64) -> Result<Vec<u8>, DiskStorageError> {
    let mut r = dev.open_container(name)?;
    let mut out = Vec::new();
    r.read_file(file, &mut |d| {
        out.extend_from_slice(d);
        Ok(())
    })?;
    Ok(out)
}

fn small_records(dev: &mut DiskStorage) {
    dev.set_write_options(WriteOptions {
        record_size: 64 * 1024,
        ..WriteOptions::default()
    });
}

#[test]
fn files_round_trip_with_and_without_compression() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dev = DiskStorage::init(tmp.path(), Some(64 << 20), None).unwrap();
    small_records(&mut dev);
    let a = text(300_000);
    let b = random(200_000);
    let mut w = dev.create("job1").unwrap();
    w.write(&a[..1000]).unwrap();
    w.write(&a[1000..]).unwrap();
    w.write_filemark().unwrap();
    w.write_filemark().unwrap(); // an empty file
    w.write(&b).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(s.files, 3);
    assert_eq!(s.plain_bytes, 500_000);
    assert!(s.codec.compressed >= 4, "{:?}", s.codec);
    assert!(s.codec.skipped_estimate >= 3, "{:?}", s.codec);
    assert!(s.stored_bytes < 300_000);
    assert_eq!(read(&dev, "job1", 0).unwrap(), a);
    assert_eq!(read(&dev, "job1", 1).unwrap(), b"");
    assert_eq!(read(&dev, "job1", 2).unwrap(), b);
    let v = dev.verify("job1").unwrap();
    assert_eq!(v.files, 3);
    assert_eq!(v.plain_bytes, 500_000);
    // Compression off: same bytes back, stored plain.
    dev.set_write_options(WriteOptions {
        compression: Compression::off(),
        record_size: 64 * 1024,
    });
    let mut w = dev.create("plain").unwrap();
    w.write(&a).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(s.stored_bytes, 300_000);
    assert_eq!(read(&dev, "plain", 0).unwrap(), a);
    let names: Vec<_> = dev.list().unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["job1", "plain"]);
}

#[test]
fn names_are_never_overwritten_and_protection_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = DiskStorage::init(tmp.path(), Some(16 << 20), None).unwrap();
    let mut w = dev.create("c").unwrap();
    w.write(b"first").unwrap();
    w.finish().unwrap();
    let e = dev.create("c").err().unwrap();
    assert!(e.to_string().contains("a container named c exists"), "{e}");
    // A writer that raced to the same name is refused at publish time.
    std::fs::rename(dev.container_path("c"), tmp.path().join("aside")).unwrap();
    let mut w = dev.create("c").unwrap();
    std::fs::rename(tmp.path().join("aside"), dev.container_path("c")).unwrap();
    w.write(b"second").unwrap();
    assert!(matches!(w.finish(), Err(DiskStorageError::Exists { .. })));
    assert_eq!(read(&dev, "c", 0).unwrap(), b"first");
    assert!(!dev.partial_path("c").exists());
    dev.set_protected("c", true).unwrap();
    let e = dev.delete("c").unwrap_err();
    assert_eq!(e.class(), crate::ErrorClass::DataProtect);
    assert!(
        e.to_string().ends_with("container c is write-protected"),
        "{e}"
    );
    assert!(dev.list().unwrap()[0].protected);
    dev.set_protected("c", false).unwrap();
    dev.delete("c").unwrap();
    assert!(matches!(
        dev.verify("c"),
        Err(DiskStorageError::NotFound { .. })
    ));
    assert!(matches!(
        dev.create("../x"),
        Err(DiskStorageError::BadName { .. })
    ));
}

#[test]
fn capacity_is_a_hard_limit_with_early_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dev = DiskStorage::init(
        tmp.path(),
        Some(1 << 20),
        Some(Thresholds {
            low_space: 512 * 1024,
            reserve: 0,
        }),
    )
    .unwrap();
    dev.set_write_options(WriteOptions {
        compression: Compression::off(),
        record_size: 64 * 1024,
    });
    let mut w = dev.create("big").unwrap();
    let chunk = random(64 * 1024);
    let mut warned_at = None;
    let mut err = None;
    for i in 0..32 {
        if let Err(e) = w.write(&chunk) {
            err = Some(e);
            break;
        }
        if warned_at.is_none() && w.space_state() == SpaceState::Low {
            warned_at = Some(i);
        }
    }
    let e = err.expect("capacity not enforced");
    assert!(e.is_full(), "{e}");
    assert!(e.to_string().contains("disk storage is full"), "{e}");
    assert!(warned_at.is_some_and(|i| i >= 6), "{warned_at:?}");
    assert_eq!(w.space_state(), SpaceState::Full);
    // What was written before still commits (the reserve holds the end).
    let s = w.finish().unwrap();
    assert!(s.container_bytes <= 1 << 20);
    dev.verify("big").unwrap();
    assert_eq!(dev.info().unwrap().space.state, SpaceState::Full);
    assert!(dev.create("more").is_err());
}

#[test]
fn recover_keeps_every_valid_record_of_a_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dev = DiskStorage::init(tmp.path(), Some(64 << 20), None).unwrap();
    small_records(&mut dev);
    let a = text(200_000);
    let mut w = dev.create("r").unwrap();
    w.write(&a).unwrap();
    w.write_filemark().unwrap();
    w.write(&a[..100_000]).unwrap(); // one full 64 KiB record + pending
    w.sync().unwrap();
    // Snapshot the partial as a crash would leave it, plus a torn tail.
    let mut snap = std::fs::read(w.partial_path()).unwrap();
    snap.extend_from_slice(b"RREC torn");
    w.abort();
    assert!(!dev.partial_path("r").exists());
    std::fs::write(dev.partial_path("r"), &snap).unwrap();
    assert_eq!(dev.list().unwrap()[0].status, "partial");
    assert!(matches!(
        dev.verify("r"),
        Err(DiskStorageError::Incomplete { .. })
    ));
    let rep = dev.recover("r").unwrap();
    assert_eq!(rep.kept.files, 2);
    assert!(rep.closed_open_file);
    assert_eq!(rep.dropped_bytes, 9);
    assert_eq!(read(&dev, "r", 0).unwrap(), a);
    assert_eq!(read(&dev, "r", 1).unwrap(), &a[..65536]);
    dev.verify("r").unwrap();
    assert!(matches!(
        dev.recover("r"),
        Err(DiskStorageError::NoPartial { .. })
    ));
    // A partial with a torn header becomes an empty container.
    std::fs::write(dev.partial_path("e"), b"REELC").unwrap();
    let rep = dev.recover("e").unwrap();
    assert!(rep.new_header);
    assert_eq!(dev.verify("e").unwrap().files, 0);
}

#[test]
fn config_round_trips_and_rejects_nonsense() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = DiskStorage::init(tmp.path(), Some(123_456_789), None).unwrap();
    let again = DiskStorage::open(tmp.path()).unwrap();
    assert_eq!(again.config(), dev.config());
    assert_eq!(again.config().thresholds.low_space, 12_345_678);
    assert!(matches!(
        DiskStorage::init(tmp.path(), None, None),
        Err(DiskStorageError::AlreadyInitialized { .. })
    ));
    let text = "format = 1\nmedia_id = 00\ncapacity = 5\n";
    assert_eq!(
        DeviceConfig::decode(text).unwrap_err(),
        "media_id: not 32 hex digits"
    );
    let e = DiskStorage::open(&tmp.path().join("nope")).err().unwrap();
    assert!(e.to_string().contains("not a disk storage device"), "{e}");
}
