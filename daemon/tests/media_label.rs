//! The reel label block, its MAM form and the write guard at BOT.

use reel_drivers::scsi::attributes::{Attribute, AttributeFormat, mam as ids};
use reeld::media::guard::{OnMedium, WriteRefused, classify_first_block, may_write_at_bot};
use reeld::media::label::{LABEL_LEN, Label, LabelError};
use reeld::media::mam::{label_from_mam, label_to_mam, mam_date};
use uuid::Uuid;

/// Bytes 0..176 of the label in `sample()`, written out by hand from the
/// layout table; 176..508 are zero, 508..512 the CRC-32C.
const HEAD: [u8; 176] = [
    0x52, 0x45, 0x45, 0x4c, 0x4c, 0x41, 0x42, 0x4c, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
    0x41, 0x42, 0x43, 0x31, 0x32, 0x33, 0x4c, 0x38, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x77, 0x65, 0x65, 0x6b, 0x6c, 0x79, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x5f, 0x5e, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const CRC: [u8; 4] = [0xbd, 0x49, 0x57, 0x73];

fn block() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..176].copy_from_slice(&HEAD);
    b[508..].copy_from_slice(&CRC);
    b
}

fn sample() -> Label {
    Label {
        uuid: Uuid::from_u128(0x00112233_4455_6677_8899_aabbccddeeff),
        barcode: "ABC123L8".into(),
        media_set: "weekly".into(),
        set_uuid: Uuid::from_u128(0x01020304_0506_0708_090a_0b0c0d0e0f10),
        sequence: 3,
        written_at: 1_600_000_000,
        protect_until: 1_700_000_000,
    }
}

#[test]
fn encode_matches_the_documented_layout() {
    let b = sample().encode().unwrap();
    assert_eq!(b.len(), LABEL_LEN);
    assert_eq!(b.to_vec(), block());
}

#[test]
fn decode_of_the_literal_block() {
    assert_eq!(Label::decode(&block()).unwrap(), sample());
}

#[test]
fn decode_ignores_bytes_after_the_block() {
    let mut b = block();
    b.extend_from_slice(&[0xff; 100]);
    assert_eq!(Label::decode(&b).unwrap(), sample());
}

#[test]
fn round_trip_with_extreme_values() {
    let l = Label {
        uuid: Uuid::from_u128(u128::MAX),
        barcode: "X".repeat(32),
        media_set: "ü".repeat(32),
        set_uuid: Uuid::nil(),
        sequence: u32::MAX,
        written_at: i64::MIN,
        protect_until: i64::MAX,
    };
    assert_eq!(Label::decode(&l.encode().unwrap()).unwrap(), l);
}

#[test]
fn truncated_block_is_short() {
    assert_eq!(Label::decode(&block()[..511]), Err(LabelError::Short(511)));
    assert_eq!(Label::decode(&[]), Err(LabelError::Short(0)));
    assert_eq!(Label::decode(b"REEL"), Err(LabelError::Short(4)));
}

#[test]
fn foreign_data_is_not_a_label() {
    let tar = b"bin/\0\0\0\0\0\0\0\0\0\0\0\0".repeat(40);
    assert!(matches!(Label::decode(&tar), Err(LabelError::NotALabel(_))));
    // Short foreign blocks are foreign too, not "short labels".
    assert!(matches!(
        Label::decode(b"VOL1ABCDEF"),
        Err(LabelError::NotALabel(_))
    ));
}

#[test]
fn checksum_mismatch() {
    let mut b = block();
    b[150] ^= 0x01; // written_at
    assert_eq!(
        Label::decode(&b),
        Err(LabelError::Crc {
            stored: 0xbd49_5773,
            computed: crc32c::crc32c(&b[..508])
        })
    );
}

#[test]
fn other_version_is_refused() {
    let mut b = block();
    b[9] = 2;
    assert_eq!(Label::decode(&b), Err(LabelError::UnsupportedVersion(2)));
}

#[test]
fn lying_length_is_refused() {
    let mut b = block();
    b[10] = 0x04; // 1024
    assert_eq!(Label::decode(&b), Err(LabelError::BadLength(1024)));
}

/// Re-seals a modified block with a valid CRC, so field checks are reached.
fn reseal(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[..508]);
    b[508..512].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn bad_fields_are_refused_even_with_a_valid_crc() {
    let mut b = block();
    b[50] = 0x07; // control character in the barcode
    reseal(&mut b);
    assert!(matches!(
        Label::decode(&b),
        Err(LabelError::BadField {
            field: "barcode",
            ..
        })
    ));

    let mut b = block();
    b[90] = b'x'; // text after the NUL padding of the set name
    reseal(&mut b);
    assert!(matches!(
        Label::decode(&b),
        Err(LabelError::BadField {
            field: "media set",
            ..
        })
    ));

    let mut b = block();
    b[80] = 0xff; // not UTF-8
    reseal(&mut b);
    assert!(matches!(
        Label::decode(&b),
        Err(LabelError::BadField {
            field: "media set",
            ..
        })
    ));
}

#[test]
fn encode_refuses_what_does_not_fit() {
    let mut l = sample();
    l.barcode = "A".repeat(33);
    assert!(l.encode().is_err());
    let mut l = sample();
    l.barcode = "AB C".into();
    assert!(l.encode().is_err());
    let mut l = sample();
    l.media_set = "s".repeat(65);
    assert!(l.encode().is_err());
    let mut l = sample();
    l.media_set = "a\0b".into();
    assert!(l.encode().is_err());
}

#[test]
fn mam_attributes_carry_the_label() {
    let attrs = label_to_mam(&sample()).unwrap();
    let get = |id: u16| attrs.iter().find(|a| a.id == id).unwrap();
    let text = get(ids::USER_MEDIUM_TEXT_LABEL);
    assert_eq!(text.format, AttributeFormat::Text);
    assert_eq!(text.value.len(), 160);
    let expected = b"reel1 00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e0f10 3 1600000000 1700000000";
    assert_eq!(&text.value[..expected.len()], expected);
    assert!(text.value[expected.len()..].iter().all(|&c| c == 0));
    let bc = get(ids::BARCODE);
    assert_eq!(bc.value.len(), 32);
    assert_eq!(&bc.value[..10], b"ABC123L8  ");
    assert_eq!(&get(ids::MEDIA_POOL).value[..7], b"weekly\0");
    // 1600000000 = 2020-09-13 12:26:40 UTC
    assert_eq!(get(ids::DATE_TIME_LAST_WRITTEN).value, b"202009131226");
    assert_eq!(get(ids::APPLICATION_VENDOR).value, b"REEL    ");
    assert_eq!(label_from_mam(&attrs).unwrap(), Some(sample()));
}

#[test]
fn mam_without_reel_label_is_none() {
    assert_eq!(label_from_mam(&[]).unwrap(), None);
    let other = Attribute::text(ids::USER_MEDIUM_TEXT_LABEL, "Monday full backup").unwrap();
    assert_eq!(label_from_mam(&[other]).unwrap(), None);
}

#[test]
fn damaged_mam_label_is_an_error() {
    for text in [
        "reel1 zz 0102030405060708090a0b0c0d0e0f10 3 1 2",
        "reel1 00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e0f10 x 1 2",
        "reel1 00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e0f10 3 1",
        "reel1 00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e0f10 3 1 2 9",
        "reel1 00112233-4455-6677-8899-aabbccddeeff 0102030405060708090a0b0c0d0e0f10 3 1 2",
    ] {
        let a = Attribute::text(ids::USER_MEDIUM_TEXT_LABEL, text).unwrap();
        assert!(label_from_mam(&[a]).is_err(), "{text}");
    }
}

#[test]
fn mam_dates() {
    assert_eq!(mam_date(0), "197001010000");
    assert_eq!(mam_date(951_782_400), "200002290000"); // leap day 2000
    assert_eq!(mam_date(-60), "196912312359");
    assert_eq!(mam_date(i64::MAX), "999912312359");
}

#[test]
fn guard_refuses_protected_label_at_bot() {
    let on = classify_first_block(Some(&block()));
    assert_eq!(on, OnMedium::Label(sample()));
    let err = may_write_at_bot(&on, 1_699_999_999, true).unwrap_err();
    assert!(matches!(
        err,
        WriteRefused::Protected {
            until: 1_700_000_000,
            ..
        }
    ));
    assert!(err.to_string().contains("ABC123L8"), "{err}");
    // Protection over: the label no longer stops a write.
    assert_eq!(may_write_at_bot(&on, 1_700_000_000, false), Ok(()));
}

#[test]
fn guard_blank_foreign_damaged() {
    assert_eq!(classify_first_block(None), OnMedium::Blank);
    assert_eq!(may_write_at_bot(&OnMedium::Blank, 0, false), Ok(()));
    let foreign = classify_first_block(Some(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(foreign, OnMedium::Foreign);
    assert_eq!(
        may_write_at_bot(&foreign, 0, false),
        Err(WriteRefused::Foreign)
    );
    assert_eq!(may_write_at_bot(&foreign, 0, true), Ok(()));
    let mut b = block();
    b[100] = 1;
    let damaged = classify_first_block(Some(&b));
    assert!(matches!(damaged, OnMedium::Damaged(LabelError::Crc { .. })));
    assert!(may_write_at_bot(&damaged, 0, false).is_err());
    assert_eq!(may_write_at_bot(&damaged, 0, true), Ok(()));
}
