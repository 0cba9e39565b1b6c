//! Byte-vector tests of the container layout. The vectors are written out
//! here (computed by an independent script), not produced by the encoders.

use super::*;

pub(crate) const HEADER: [u8; 64] = [
    0x52, 0x45, 0x45, 0x4c, 0x43, 0x54, 0x4e, 0x52, 0x01, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x97, 0x77, 0x2f,
];
pub(crate) const RECORD_ABC: [u8; 35] = [
    0x52, 0x52, 0x45, 0x43, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0xb7, 0x3f, 0x4b, 0x36, 0xb7, 0x3f, 0x4b, 0x36, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xdd, 0x5f, 0x6e,
    0x61, 0x62, 0x63,
];
pub(crate) const MARK1: [u8; 32] = [
    0x52, 0x52, 0x45, 0x43, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x81, 0xba, 0xa1, 0x82,
];
pub(crate) const TRAILER: [u8; 68] = [
    0x52, 0x54, 0x52, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xf4, 0x71, 0x08, 0x56,
];
pub(crate) const FOOTER: [u8; 32] = [
    0x52, 0x45, 0x45, 0x4c, 0x45, 0x4e, 0x44, 0x31, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x44, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0xb7, 0xbb, 0x14,
];

const MEDIA: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

#[test]
fn header_layout() {
    let h = Header {
        flags: HEADER_FLAG_COMPRESSION,
        media_id: MEDIA,
        created_ns: 1_700_000_000_123_456_789,
    };
    assert_eq!(h.encode(), HEADER);
    assert_eq!(Header::decode(&HEADER).unwrap(), h);
}

#[test]
fn header_rejects_damage() {
    assert!(matches!(
        Header::decode(&HEADER[..63]),
        Err(FormatError::Short {
            need: 64,
            have: 63,
            ..
        })
    ));
    let mut b = HEADER;
    b[0] = b'X';
    assert_eq!(
        Header::decode(&b),
        Err(FormatError::BadMagic {
            what: "container header"
        })
    );
    let mut b = HEADER;
    b[20] ^= 1;
    assert!(Header::decode(&b).unwrap_err().is_crc());
    // Version 2 with a valid CRC.
    let mut b = HEADER;
    b[8] = 2;
    let crc = crc32c::crc32c(&b[..60]);
    b[60..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Header::decode(&b), Err(FormatError::Version(2)));
}

#[test]
fn record_header_layout() {
    let h = RecordHeader::decode(&RECORD_ABC).unwrap();
    assert_eq!(
        h,
        RecordHeader {
            kind: RecordKind::Data,
            flags: 0,
            stored_len: 3,
            plain_len: 3,
            stored_crc: 0x364b_3fb7,
            plain_crc: 0x364b_3fb7,
            seq: 0,
        }
    );
    assert_eq!(h.encode()[..], RECORD_ABC[..32]);
    assert_eq!(&RECORD_ABC[32..], b"abc");
    let m = RecordHeader::decode(&MARK1).unwrap();
    assert_eq!(m, RecordHeader::file_mark(1));
    assert_eq!(m.encode(), MARK1);
}

/// Re-CRCs a modified record header, so only the field check can fail.
fn with_crc(mut b: [u8; 32]) -> [u8; 32] {
    let crc = crc32c::crc32c(&b[..28]);
    b[28..].copy_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn record_header_rejects_lies() {
    let mut base = [0u8; 32];
    base.copy_from_slice(&RECORD_ABC[..32]);
    // Damage without fixing the CRC.
    let mut b = base;
    b[9] = 1;
    assert!(RecordHeader::decode(&b).unwrap_err().is_crc());
    // A length over the limit (16 MiB + 1).
    let mut b = base;
    b[8..12].copy_from_slice(&[0x01, 0x00, 0x00, 0x01]);
    b[12..16].copy_from_slice(&[0x01, 0x00, 0x00, 0x01]);
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // Plain record whose lengths disagree.
    let mut b = base;
    b[12] = 4;
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
    // Unknown kind, unknown flag, reserved byte.
    for (at, v) in [(4, 3u8), (5, 2), (6, 1)] {
        let mut b = base;
        b[at] = v;
        assert!(RecordHeader::decode(&with_crc(b)).is_err(), "byte {at}");
    }
    // A mark with a payload.
    let mut b = MARK1;
    b[8] = 1;
    b[12] = 1;
    assert!(RecordHeader::decode(&with_crc(b)).is_err());
}

#[test]
fn trailer_layout() {
    let t = Trailer {
        records: 2,
        plain_bytes: 3,
        stored_bytes: 3,
        files: vec![IndexEntry {
            offset: 64,
            records: 1,
            plain_bytes: 3,
            mark_offset: 99,
        }],
    };
    assert_eq!(t.encode(), TRAILER);
    assert_eq!(Trailer::decode(&TRAILER).unwrap(), t);
    assert_eq!(Trailer::encoded_len(1), 68);
    check_index(&t, 131).unwrap();
    // The mark would reach into the trailer.
    assert!(check_index(&t, 130).is_err());
}

#[test]
fn trailer_rejects_damage() {
    assert!(Trailer::decode(&TRAILER[..67]).is_err());
    let mut b = TRAILER;
    b[40] ^= 1;
    assert!(Trailer::decode(&b).unwrap_err().is_crc());
    // A file count that lies (2 files in 68 bytes).
    let mut b = TRAILER;
    b[4] = 2;
    assert!(matches!(
        Trailer::decode(&b),
        Err(FormatError::Invalid { .. })
    ));
    // A huge file count does not allocate.
    let mut b = TRAILER;
    b[4..8].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    assert!(Trailer::decode(&b).is_err());
}

#[test]
fn footer_layout() {
    let f = Footer {
        trailer_offset: 131,
        trailer_len: 68,
        files: 1,
    };
    assert_eq!(f.encode(), FOOTER);
    assert_eq!(Footer::decode(&FOOTER, 231).unwrap(), f);
    // Checked against the file length.
    assert!(Footer::decode(&FOOTER, 232).is_err());
    let mut b = FOOTER;
    b[10] = 1;
    assert!(Footer::decode(&b, 231).unwrap_err().is_crc());
    let mut b = FOOTER;
    b[0] = 0;
    assert!(matches!(
        Footer::decode(&b, 231),
        Err(FormatError::BadMagic { .. })
    ));
}

#[test]
fn footer_with_overflowing_offset_is_rejected() {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(b"REELEND1");
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    b[16..20].copy_from_slice(&36u32.to_le_bytes());
    let crc = crc32c::crc32c(&b[..28]);
    b[28..].copy_from_slice(&crc.to_le_bytes());
    assert!(Footer::decode(&b, 100).is_err());
}
