//! Byte vectors for the on-disk layouts. The expected bytes (including the
//! CRC32C values) were computed independently from the table in the
//! module docs, not with the encoder.

use super::super::layout::*;

const DATA_RECORD_ABC_BLOCK5: [u8; 32] = [
    0x52, 0x45, 0x43, 0x44, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xb7, 0x3f, 0x4b, 0x36, 0x72, 0x9e, 0xca, 0x57,
];
const FILEMARK_BLOCK_0102030405060708: [u8; 32] = [
    0x52, 0x45, 0x43, 0x44, 0x02, 0x00, 0x00, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x2e, 0xad, 0x78,
];
const DATA_FILE_HEADER_P2: [u8; 32] = [
    0x52, 0x45, 0x45, 0x4c, 0x44, 0x41, 0x54, 0x41, 0x01, 0x00, 0x02, 0x00, 0x88, 0x77, 0x66, 0x55,
    0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd3, 0xb4, 0xc7, 0xc1,
];
const SYNC_ENTRY_7_1000: [u8; 24] = [
    0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x47, 0x78, 0xa6, 0xac,
];

fn abc_header() -> RecordHeader {
    RecordHeader {
        kind: RecordKind::Data,
        flags: 0,
        block: 5,
        logical_len: 3,
        stored_len: 3,
        data_crc: crc32c::crc32c(b"abc"),
    }
}

#[test]
fn crc32c_is_castagnoli() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn data_record_header_bytes() {
    assert_eq!(abc_header().encode(), DATA_RECORD_ABC_BLOCK5);
    assert_eq!(
        RecordHeader::decode(&DATA_RECORD_ABC_BLOCK5),
        Ok(abc_header())
    );
}

#[test]
fn filemark_header_bytes() {
    let fm = RecordHeader::filemark(0x0102_0304_0506_0708);
    assert_eq!(fm.encode(), FILEMARK_BLOCK_0102030405060708);
    assert_eq!(
        RecordHeader::decode(&FILEMARK_BLOCK_0102030405060708),
        Ok(fm)
    );
    assert_eq!(fm.disk_len(), 32);
}

#[test]
fn file_header_bytes() {
    let h = FileHeader {
        magic: DATA_MAGIC,
        partition: 2,
        cartridge_id: 0x1122_3344_5566_7788,
    };
    assert_eq!(h.encode(), DATA_FILE_HEADER_P2);
    assert_eq!(FileHeader::decode(&DATA_FILE_HEADER_P2, DATA_MAGIC), Ok(h));
    assert_eq!(
        FileHeader::decode(&DATA_FILE_HEADER_P2, INDEX_MAGIC),
        Err(LayoutError::BadMagic)
    );
}

#[test]
fn index_entry_bytes() {
    let e = IndexEntry {
        kind: IndexKind::Sync,
        block: 7,
        offset: 0x1000,
    };
    assert_eq!(e.encode(), SYNC_ENTRY_7_1000);
    assert_eq!(IndexEntry::decode(&SYNC_ENTRY_7_1000), Ok(e));
}

#[test]
fn truncated_inputs_are_short() {
    for n in 0..32 {
        assert_eq!(
            RecordHeader::decode(&DATA_RECORD_ABC_BLOCK5[..n]),
            Err(LayoutError::Short { need: 32, got: n })
        );
        assert!(FileHeader::decode(&DATA_FILE_HEADER_P2[..n], DATA_MAGIC).is_err());
    }
    for n in 0..24 {
        assert!(IndexEntry::decode(&SYNC_ENTRY_7_1000[..n]).is_err());
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    for i in 0..32 * 8 {
        let mut b = DATA_RECORD_ABC_BLOCK5;
        b[i / 8] ^= 1 << (i % 8);
        assert!(RecordHeader::decode(&b).is_err(), "bit {i}");
        let mut f = DATA_FILE_HEADER_P2;
        f[i / 8] ^= 1 << (i % 8);
        assert!(FileHeader::decode(&f, DATA_MAGIC).is_err(), "bit {i}");
    }
    for i in 0..24 * 8 {
        let mut b = SYNC_ENTRY_7_1000;
        b[i / 8] ^= 1 << (i % 8);
        assert!(IndexEntry::decode(&b).is_err(), "bit {i}");
    }
}

/// Builds a header with a valid CRC from raw field bytes, to test the
/// semantic checks behind the CRC.
fn with_crc(mut b: [u8; 32]) -> [u8; 32] {
    let crc = crc32c::crc32c(&b[..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn semantic_checks_behind_a_valid_crc() {
    // Unknown kind.
    let mut b = DATA_RECORD_ABC_BLOCK5;
    b[4] = 9;
    assert_eq!(
        RecordHeader::decode(&with_crc(b)),
        Err(LayoutError::BadField("record kind"))
    );
    // Unknown flag bit.
    let mut b = DATA_RECORD_ABC_BLOCK5;
    b[5] = 0x80;
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // Length above the 16 MiB maximum (a hostile allocation size).
    let mut b = DATA_RECORD_ABC_BLOCK5;
    b[16..20].copy_from_slice(&0x0100_0001u32.to_le_bytes());
    b[20..24].copy_from_slice(&0x0100_0001u32.to_le_bytes());
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // Uncompressed record whose stored and logical lengths differ.
    let mut b = DATA_RECORD_ABC_BLOCK5;
    b[16] = 4;
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // Filemark with data.
    let mut b = FILEMARK_BLOCK_0102030405060708;
    b[20] = 1;
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // File header of a newer version.
    let mut b = DATA_FILE_HEADER_P2;
    b[8] = 2;
    assert_eq!(
        FileHeader::decode(&with_crc(b), DATA_MAGIC),
        Err(LayoutError::BadVersion(2))
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(|(b in proptest::collection::vec(any::<u8>(), 0..80))| {
        let _ = RecordHeader::decode(&b);
        let _ = IndexEntry::decode(&b);
        let _ = FileHeader::decode(&b, DATA_MAGIC);
    });
}
