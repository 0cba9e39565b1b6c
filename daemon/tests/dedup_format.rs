//! On-disk layouts, written out byte by byte: set files, pack records,
//! pack indexes; and decoders refusing truncated or lying input.

use std::time::{Duration, UNIX_EPOCH};

use reeld::dedup::format::{
    decode_idx, decode_pack_header, decode_record_header, decode_set, encode_idx, encode_record,
    encode_set, scan_pack,
};
use reeld::dedup::{ChunkId, DedupError, TenantId};

fn with_crc(mut v: Vec<u8>) -> Vec<u8> {
    let crc = crc32c::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fn set_bytes(count: u64, entries: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"REELSET1");
    v.extend_from_slice(&[1, 0]); // version
    v.extend_from_slice(&[1, b't']); // tenant
    v.extend_from_slice(&[3, b'1', b'-', b'a']); // set id
    v.extend_from_slice(&[2, 0, b'n', b'm']); // name
    v.extend_from_slice(&[0x10, 0, 0, 0, 0, 0, 0, 0]); // created secs = 16
    v.extend_from_slice(&[5, 0, 0, 0]); // nanos
    v.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]); // logical size
    v.extend_from_slice(&[0xaa; 32]); // stream hash
    v.extend_from_slice(&count.to_le_bytes());
    for _ in 0..entries {
        v.extend_from_slice(&[0x11; 32]);
        v.extend_from_slice(&[3, 0, 0, 0]);
    }
    with_crc(v)
}

#[test]
fn set_file_layout() {
    let bytes = set_bytes(1, 1);
    let ix = decode_set(&bytes).unwrap();
    assert_eq!(ix.header.tenant.as_str(), "t");
    assert_eq!(ix.header.set.as_str(), "1-a");
    assert_eq!(ix.header.name, "nm");
    assert_eq!(ix.header.created, UNIX_EPOCH + Duration::new(16, 5));
    assert_eq!(ix.header.logical_size, 3);
    assert_eq!(ix.header.stream_hash, [0xaa; 32]);
    assert_eq!(ix.chunks.len(), 1);
    assert_eq!(ix.chunks[0].id, ChunkId([0x11; 32]));
    assert_eq!(ix.chunks[0].len, 3);
    assert_eq!(encode_set(&ix), bytes);
}

#[test]
fn set_file_bad_inputs() {
    // Count larger than the entries present (a lying length).
    assert!(matches!(
        decode_set(&set_bytes(2, 1)),
        Err(DedupError::Corrupt { .. })
    ));
    assert!(decode_set(&set_bytes(u64::MAX, 1)).is_err());
    // Lengths that do not add up to the logical size.
    assert!(decode_set(&set_bytes(2, 2)).is_err());
    // Truncated anywhere, or one bit flipped: the CRC or a length catches it.
    let good = set_bytes(1, 1);
    for n in 0..good.len() {
        assert!(decode_set(&good[..n]).is_err(), "truncated at {n}");
    }
    let mut flipped = good.clone();
    flipped[30] ^= 4;
    assert!(decode_set(&flipped).is_err());
    // A tenant name with a slash is refused even with a valid CRC.
    let mut v = good[..good.len() - 4].to_vec();
    v[11] = b'/';
    assert!(matches!(
        decode_set(&with_crc(v)),
        Err(DedupError::BadTenant(_))
    ));
}

#[test]
fn pack_record_layout() {
    let id = ChunkId([0x22; 32]);
    let rec = encode_record(&id, 0, 3, b"abc");
    let mut want = Vec::new();
    want.extend_from_slice(b"RCK1");
    want.extend_from_slice(&[0, 0, 0, 0]); // flags, reserved
    want.extend_from_slice(&[3, 0, 0, 0]); // plain_len
    want.extend_from_slice(&[3, 0, 0, 0]); // stored_len
    want.extend_from_slice(&[0x22; 32]);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&want), b"abc");
    want.extend_from_slice(&crc.to_le_bytes());
    want.extend_from_slice(b"abc");
    assert_eq!(rec, want);
    let h = decode_record_header(&want[..52]).unwrap();
    assert_eq!((h.flags, h.plain_len, h.stored_len, h.id), (0, 3, 3, id));
    // Uncompressed with differing lengths, unknown flags, huge lengths.
    let mut bad = want.clone();
    bad[8] = 4;
    assert!(decode_record_header(&bad[..52]).is_err());
    let mut bad = want.clone();
    bad[4] = 0x80;
    assert!(decode_record_header(&bad[..52]).is_err());
    let mut bad = want.clone();
    bad[4] = 1;
    bad[12..16].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    assert!(decode_record_header(&bad[..52]).is_err());
    assert!(decode_record_header(&want[..51]).is_err());
}

#[test]
fn pack_scan_stops_at_a_torn_tail_and_idx_checks_bounds() {
    let mut pack = Vec::new();
    pack.extend_from_slice(b"REELPACK");
    pack.extend_from_slice(&[1, 0, 2, b'a', b'b']);
    let (t, hl) = decode_pack_header(&pack).unwrap();
    assert_eq!((t.as_str(), hl), ("ab", 13));
    pack.extend(encode_record(&ChunkId([1; 32]), 0, 4, b"wxyz"));
    let one = pack.len();
    pack.extend(encode_record(&ChunkId([2; 32]), 0, 2, b"hi"));
    // Torn tail: half a record.
    let torn = &pack[..pack.len() - 1];
    let (_, entries, valid) = scan_pack(torn).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(valid as usize, one);
    assert_eq!(entries[0].offset, 13);
    let (_, entries, valid) = scan_pack(&pack).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(valid as usize, pack.len());
    // A damaged record ends the scan too.
    let mut dmg = pack.clone();
    dmg[one - 1] ^= 1;
    assert_eq!(scan_pack(&dmg).unwrap().1.len(), 0);

    let tenant = TenantId::new("ab").unwrap();
    let idx = encode_idx(&tenant, valid, &entries);
    let mut want = Vec::new();
    want.extend_from_slice(b"REELIDX1");
    want.extend_from_slice(&[1, 0, 2, b'a', b'b']);
    want.extend_from_slice(&valid.to_le_bytes());
    want.extend_from_slice(&[2, 0, 0, 0]);
    want.extend_from_slice(&[1; 32]);
    want.extend_from_slice(&[13, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0]);
    want.extend_from_slice(&[2; 32]);
    want.extend_from_slice(&(one as u64).to_le_bytes());
    want.extend_from_slice(&[2, 0, 0, 0, 2, 0, 0, 0, 0]);
    assert_eq!(idx, with_crc(want.clone()));
    assert_eq!(decode_idx(&idx).unwrap().2, entries);
    // An entry reaching past the pack's length is refused.
    let mut lying = want.clone();
    lying[15..23].copy_from_slice(&(one as u64).to_le_bytes());
    assert!(decode_idx(&with_crc(lying)).is_err());
    // A count that does not match.
    let mut lying = want;
    lying[23] = 3;
    assert!(decode_idx(&with_crc(lying)).is_err());
}
