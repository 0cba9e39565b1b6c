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

#[test]
fn write_read_round_trip_with_filemark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c");
    let mut c = Cartridge::create(&path, &spec(1 << 20)).unwrap();
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
