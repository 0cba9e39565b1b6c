//! Corrupt and hostile cartridge files: clear errors naming the file and
//! offset, never a panic.

use proptest::prelude::*;

use super::super::*;
use super::basic::spec;

fn sample(path: &std::path::Path) {
    let mut c = Cartridge::create(path, &spec(1 << 20)).unwrap();
    for i in 0u8..70 {
        if i % 9 == 8 {
            c.write_filemarks(1).unwrap();
        } else {
            c.write(&vec![i; usize::from(i) * 3 + 1], i % 2 == 0)
                .unwrap();
        }
        if i == 40 {
            c.sync().unwrap();
        }
    }
    c.close().unwrap();
}

/// Opens and reads everything reachable; returns the first error.
fn exercise(path: &std::path::Path) -> Result<(), CartridgeError> {
    let mut c = Cartridge::open(path)?;
    let mut buf = vec![0u8; 64];
    for _ in 0..200 {
        match c.read(&mut buf) {
            Ok(ReadRecord::EndOfData) => break,
            Ok(_) | Err(CartridgeError::CrcMismatch { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    c.locate(0, 33)?;
    c.space_filemarks(-2)?;
    c.space_blocks(5)?;
    c.space_to_eod()?;
    c.abandon();
    Ok(())
}

#[test]
fn errors_name_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c");
    sample(&p);
    // A damaged record header inside the synced part.
    let mut data = std::fs::read(p.join("p0.data")).unwrap();
    data[32 + 33 + 4] ^= 0xFF; // header of block 1 (block 0 is 1 byte of data)
    std::fs::write(p.join("p0.data"), &data).unwrap();
    let mut c = Cartridge::open(&p).unwrap();
    let mut buf = [0u8; 16];
    c.read(&mut buf).unwrap();
    match c.read(&mut buf) {
        Err(CartridgeError::Corrupt { path, offset, .. }) => {
            assert!(path.ends_with("p0.data"));
            assert_eq!(offset, 65);
        }
        other => panic!("{other:?}"),
    }
    let e = c.locate(0, 2).unwrap_err();
    assert!(e.to_string().contains("p0.data at offset 65"), "{e}");
}

#[test]
fn bad_metadata_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    sample(&a);
    sample(&b);
    // Data file of another cartridge.
    std::fs::copy(b.join("p0.data"), a.join("p0.data")).unwrap();
    let e = Cartridge::open(&a).unwrap_err();
    assert!(
        matches!(&e, CartridgeError::Corrupt { path, offset: 12, .. } if path.ends_with("p0.data")),
        "{e}"
    );
    // Metadata that is not JSON, or lies about partitions.
    std::fs::write(b.join("cartridge.json"), b"{nope").unwrap();
    assert!(matches!(
        Cartridge::open(&b),
        Err(CartridgeError::Corrupt { .. })
    ));
    let c = dir.path().join("c");
    sample(&c);
    let meta = std::fs::read_to_string(c.join("cartridge.json")).unwrap();
    std::fs::write(
        c.join("cartridge.json"),
        meta.replace("\"partitions\": 1", "\"partitions\": 2"),
    )
    .unwrap();
    let e = Cartridge::open(&c).unwrap_err();
    assert!(e.to_string().contains("cartridge.json"), "{e}");
    // A missing index file.
    let d = dir.path().join("d");
    sample(&d);
    std::fs::remove_file(d.join("p0.index")).unwrap();
    assert!(matches!(
        Cartridge::open(&d),
        Err(CartridgeError::Io { .. })
    ));
    assert!(matches!(
        Cartridge::open(&dir.path().join("none")),
        Err(CartridgeError::Io { .. })
    ));
}

#[test]
fn hostile_index_entries_with_valid_crcs() {
    use super::super::layout::{IndexEntry, IndexKind};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c");
    sample(&p);
    let mut idx = std::fs::read(p.join("p0.index")).unwrap();
    idx.truncate(32);
    // Lies that pass the ordering checks: a "filemark" that is a record,
    // and a sync marker at an offset that is no record boundary.
    for e in [
        IndexEntry {
            kind: IndexKind::Sync,
            block: 0,
            offset: 32,
        },
        IndexEntry {
            kind: IndexKind::Checkpoint,
            block: 0,
            offset: 32,
        },
        IndexEntry {
            kind: IndexKind::Filemark,
            block: 3,
            offset: 200,
        },
        IndexEntry {
            kind: IndexKind::Sync,
            block: 10,
            offset: 600,
        },
    ] {
        idx.extend_from_slice(&e.encode());
    }
    std::fs::write(p.join("p0.index"), &idx).unwrap();
    // Open trusts the marker; reading must then fail cleanly.
    let r = exercise(&p);
    assert!(matches!(r, Err(CartridgeError::Corrupt { .. })), "{r:?}");

    // An entry out of order ends the trusted index: the earlier marker
    // wins and the data is rescanned, so nothing is lost.
    let q = dir.path().join("q");
    sample(&q);
    let mut idx = std::fs::read(q.join("p0.index")).unwrap();
    idx.truncate(32);
    for e in [
        IndexEntry {
            kind: IndexKind::Sync,
            block: 0,
            offset: 32,
        },
        IndexEntry {
            kind: IndexKind::Checkpoint,
            block: 0,
            offset: 40,
        },
        IndexEntry {
            kind: IndexKind::Sync,
            block: 10,
            offset: 600,
        },
    ] {
        idx.extend_from_slice(&e.encode());
    }
    std::fs::write(q.join("p0.index"), &idx).unwrap();
    let c = Cartridge::open(&q).unwrap();
    assert_eq!(c.eod_block(0), Some(70));
    drop(c);
    exercise(&q).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn mutated_files_never_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<u32>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        sample(&p);
        let file = p.join(["p0.data", "p0.index", "cartridge.json"][which]);
        let mut bytes = std::fs::read(&file).unwrap();
        for (at, x) in flips {
            let i = at as usize % bytes.len();
            bytes[i] ^= x;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut as usize % (bytes.len() + 1));
        }
        std::fs::write(&file, &bytes).unwrap();
        let _ = exercise(&p);
    }

    #[test]
    fn arbitrary_data_or_index_file_never_panics(
        index in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        sample(&p);
        let name = if index { "p0.index" } else { "p0.data" };
        let file = p.join(name);
        // Keep the real file header so the body is what gets parsed.
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.truncate(32);
        bytes.extend_from_slice(&body);
        std::fs::write(&file, &bytes).unwrap();
        let _ = exercise(&p);
    }
}
