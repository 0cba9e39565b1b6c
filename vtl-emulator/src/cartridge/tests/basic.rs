use super::super::*;

pub(super) fn spec(capacity: u64) -> CartridgeSpec {
    CartridgeSpec {
        barcode: "TST001L8".into(),
        generation: Generation::Lto8,
        capacity,
        worm: false,
        partitions: 1,
    }
}

/// A fresh cartridge at `DIR/c`.
pub(super) fn new_cart(s: CartridgeSpec) -> (tempfile::TempDir, Cartridge) {
    let dir = tempfile::tempdir().unwrap();
    let c = Cartridge::create(&dir.path().join("c"), &s).unwrap();
    (dir, c)
}

#[test]
fn write_read_round_trip_with_filemark() {
    let (_dir, mut c) = new_cart(spec(1 << 20));
    c.write(b"hello", false).unwrap();
    c.write(&[7u8; 1000], true).unwrap();
    c.write_filemarks(1).unwrap();
    c.write(b"after", false).unwrap();
    c.rewind();
    let mut buf = [0u8; 2000];
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 5, copied: 5 }
    );
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data {
            len: 1000,
            copied: 1000
        }
    );
    assert_eq!(&buf[..1000], &[7u8; 1000][..]);
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::Filemark);
    assert_eq!(
        c.position(),
        TapePosition {
            partition: 0,
            block: 3,
            file: 1
        }
    );
    assert_eq!(
        c.read(&mut buf).unwrap(),
        ReadRecord::Data { len: 5, copied: 5 }
    );
    assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::EndOfData);
    assert!(c.at_eod());
}

/// Past the background-writeback chunk (32 MiB), and again after an
/// overwrite in the middle moved end of data back: every record reads
/// back intact, before and after reopening.
#[test]
fn streaming_past_writeback_chunks_and_overwrite() {
    let (dir, mut c) = new_cart(spec(1 << 30));
    let rec = |i: u64| -> Vec<u8> { (0..1 << 20).map(|j| (i * 31 + j / 7) as u8).collect() };
    for i in 0..80 {
        c.write(&rec(i), false).unwrap();
    }
    c.locate(0, 50).unwrap();
    for i in 50..70 {
        c.write(&rec(i + 1000), false).unwrap();
    }
    c.sync().unwrap();
    let check = |c: &mut Cartridge| {
        c.rewind();
        let mut buf = vec![0u8; 1 << 20];
        for i in 0..70 {
            let want = rec(if i < 50 { i } else { i + 1000 });
            assert_eq!(
                c.read(&mut buf).unwrap(),
                ReadRecord::Data {
                    len: 1 << 20,
                    copied: 1 << 20
                }
            );
            assert!(buf == want, "record {i}");
        }
        assert_eq!(c.read(&mut buf).unwrap(), ReadRecord::EndOfData);
    };
    check(&mut c);
    drop(c);
    check(&mut Cartridge::open(&dir.path().join("c")).unwrap());
}
