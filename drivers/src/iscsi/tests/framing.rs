use bytes::BytesMut;
use proptest::prelude::*;

use super::hex;
use crate::iscsi::framing::{Decoder, crc32c_digest};
use crate::iscsi::pdu::*;

/// The RFC 3720 B.4 "iSCSI Read PDU" (a 48-byte SCSI Command BHS).
fn rfc_read_pdu() -> Vec<u8> {
    hex("01 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         14 00 00 00 00 00 04 00 00 00 00 14 00 00 00 18
         28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00")
}

#[test]
fn crc32c_rfc3720_vectors() {
    // RFC 3720 B.4 lists each CRC as the bytes sent, in wire order.
    let cases: [(Vec<u8>, [u8; 4]); 5] = [
        (vec![0u8; 32], [0xaa, 0x36, 0x91, 0x8a]),
        (vec![0xffu8; 32], [0x43, 0xab, 0xa8, 0x62]),
        ((0u8..32).collect(), [0x4e, 0x79, 0xdd, 0x46]),
        ((0u8..32).rev().collect(), [0x5c, 0xdb, 0x3f, 0x11]),
        (rfc_read_pdu(), [0x56, 0x3a, 0x96, 0xd9]),
    ];
    for (data, wire) in cases {
        assert_eq!(crc32c_digest(&data).to_le_bytes(), wire);
    }
}

#[test]
fn header_digest_appended_little_endian() {
    let pdu = ScsiCommand::from_pdu(&Pdu {
        bhs: rfc_read_pdu().try_into().unwrap(),
        ahs: vec![],
        data: vec![],
    })
    .unwrap()
    .to_pdu();
    let wire = pdu.encode(true, true);
    // No data: no data digest, just the header digest after the BHS.
    let mut want = rfc_read_pdu();
    want.extend_from_slice(&[0x56, 0x3a, 0x96, 0xd9]);
    assert_eq!(wire, want);
    let mut d = Decoder::default();
    d.set_digests(true, true);
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), Some(pdu));
    assert!(buf.is_empty());
}

#[test]
fn data_digest_covers_padding() {
    let mut p = Pdu::new(Opcode::NopOut);
    p.data = vec![0u8; 30];
    let wire = p.encode(false, true);
    // 48 BHS + 32 padded data + 4 digest; the digest is that of 32 zero
    // bytes (padding included): aa 36 91 8a.
    assert_eq!(wire.len(), 84);
    assert_eq!(&wire[80..], &[0xaa, 0x36, 0x91, 0x8a]);
    let mut d = Decoder::default();
    d.set_digests(false, true);
    let got = d.decode(&mut BytesMut::from(&wire[..])).unwrap().unwrap();
    assert_eq!(got.data, vec![0u8; 30]);
}

#[test]
fn bad_digests_are_errors() {
    let mut p = Pdu::new(Opcode::NopOut);
    p.data = b"hello".to_vec();
    let wire = p.encode(true, true);
    let mut d = Decoder::default();
    d.set_digests(true, true);

    let mut bad = wire.clone();
    bad[3] ^= 1;
    let mut buf = BytesMut::from(&bad[..]);
    assert!(matches!(
        d.decode(&mut buf),
        Err(PduError::HeaderDigest { .. })
    ));
    assert_eq!(buf.len(), bad.len(), "nothing consumed on error");

    let mut bad = wire.clone();
    let n = bad.len();
    bad[n - 6] ^= 0x80; // a padding byte: covered by the data digest
    assert!(matches!(
        d.decode(&mut BytesMut::from(&bad[..])),
        Err(PduError::DataDigest { .. })
    ));

    let mut bad = wire;
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    assert!(matches!(
        d.decode(&mut BytesMut::from(&bad[..])),
        Err(PduError::DataDigest { .. })
    ));
}

#[test]
fn partial_input_byte_by_byte() {
    let mut a = Pdu::new(Opcode::NopOut);
    a.set_itt(1);
    a.data = b"abcdef".to_vec();
    a.sync_lengths();
    let mut b = DataIn {
        itt: 2,
        data: vec![7; 1000],
        ..Default::default()
    }
    .to_pdu();
    b.ahs = vec![0, 1, 0x7f, 0];
    b.sync_lengths();
    for (hd, dd) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut wire = a.encode(hd, dd);
        wire.extend_from_slice(&b.encode(hd, dd));
        let mut d = Decoder::default();
        d.set_digests(hd, dd);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &byte in &wire {
            buf.extend_from_slice(&[byte]);
            while let Some(p) = d.decode(&mut buf).unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got, vec![a.clone(), b.clone()]);
        assert!(buf.is_empty());
    }
}

#[test]
fn two_pdus_in_one_buffer_and_short_input() {
    let mut d = Decoder::default();
    let mut buf = BytesMut::new();
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&[0x20; 47]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    assert_eq!(buf.len(), 47);

    let mut buf = BytesMut::new();
    let p = Pdu::new(Opcode::NopIn);
    buf.extend_from_slice(&p.encode(false, false));
    buf.extend_from_slice(&p.encode(false, false));
    assert!(d.decode(&mut buf).unwrap().is_some());
    assert!(d.decode(&mut buf).unwrap().is_some());
    assert_eq!(d.decode(&mut buf), Ok(None));
}

#[test]
fn oversized_data_segment_rejected_from_the_header() {
    let mut d = Decoder::new(8192);
    // DataSegmentLength 8193 claimed, nothing of it sent: rejected at once,
    // before buffering.
    let mut wire = [0u8; 48];
    wire[0] = 0x00;
    wire[5..8].copy_from_slice(&[0x00, 0x20, 0x01]);
    assert_eq!(
        d.decode(&mut BytesMut::from(&wire[..])),
        Err(PduError::DataTooLong {
            len: 8193,
            max: 8192
        })
    );
    // Exactly the limit waits for the data.
    wire[5..8].copy_from_slice(&[0x00, 0x20, 0x00]);
    assert_eq!(d.decode(&mut BytesMut::from(&wire[..])), Ok(None));
    // A header claiming 16 MiB - 1 against the default limit waits too.
    wire[5..8].copy_from_slice(&[0xff, 0xff, 0xff]);
    assert_eq!(
        Decoder::default().decode(&mut BytesMut::from(&wire[..])),
        Ok(None)
    );
}

#[test]
fn lying_lengths_wait_for_data_then_decode_what_they_say() {
    // A header claiming 8 data bytes followed by only 4: incomplete.
    let mut wire = hex("20 80 00 00 00 00 00 08 00 00 00 00 00 00 00 00
         ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    wire.extend_from_slice(&[1, 2, 3, 4]);
    let mut d = Decoder::default();
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&[5, 6, 7, 8]);
    let p = d.decode(&mut buf).unwrap().unwrap();
    assert_eq!(p.data, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    // TotalAHSLength 2 words: the AHS is taken from the stream.
    let mut wire = vec![0u8; 48];
    wire[4] = 2;
    wire.extend_from_slice(&[9; 8]);
    let p = d.decode(&mut BytesMut::from(&wire[..])).unwrap().unwrap();
    assert_eq!(p.ahs, vec![9; 8]);
}

#[test]
fn encode_rewrites_length_fields() {
    let mut p = Pdu::new(Opcode::NopOut);
    p.bhs[4] = 9;
    p.bhs[5..8].copy_from_slice(&[1, 2, 3]);
    p.data = vec![1, 2, 3];
    let wire = p.encode(false, false);
    assert_eq!(&wire[4..8], &[0, 0, 0, 3]);
    assert_eq!(&wire[48..], &[1, 2, 3, 0]);
    assert_eq!(p.encoded_len(true, true), 48 + 4 + 4 + 4);
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), hd: bool, dd: bool, max in 0usize..1024) {
        let mut d = Decoder::new(max);
        d.set_digests(hd, dd);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(p)) = d.decode(&mut buf) {
            let _ = Typed::from_pdu(p);
        }
    }

    #[test]
    fn typed_views_never_panic(bhs in proptest::collection::vec(any::<u8>(), 48), ahs in proptest::collection::vec(any::<u8>(), 0..40), data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let p = Pdu { bhs: bhs.try_into().unwrap(), ahs, data };
        if let Ok(t) = Typed::from_pdu(p) {
            let _ = t.into_pdu().encode(true, true);
        }
    }

    #[test]
    fn encode_decode_roundtrip(op in 0usize..18, itt: u32, ahs_words in 0usize..4, data in proptest::collection::vec(any::<u8>(), 0..300), hd: bool, dd: bool) {
        const OPS: [Opcode; 18] = [
            Opcode::NopOut, Opcode::ScsiCommand, Opcode::TaskMgmtRequest, Opcode::LoginRequest,
            Opcode::TextRequest, Opcode::DataOut, Opcode::LogoutRequest, Opcode::SnackRequest,
            Opcode::NopIn, Opcode::ScsiResponse, Opcode::TaskMgmtResponse, Opcode::LoginResponse,
            Opcode::TextResponse, Opcode::DataIn, Opcode::LogoutResponse, Opcode::R2T,
            Opcode::AsyncMessage, Opcode::Reject,
        ];
        let mut p = Pdu::new(OPS[op]);
        p.set_itt(itt);
        p.ahs = vec![0xab; ahs_words * 4];
        p.data = data;
        p.sync_lengths();
        let mut d = Decoder::default();
        d.set_digests(hd, dd);
        let wire = p.encode(hd, dd);
        prop_assert_eq!(wire.len(), p.encoded_len(hd, dd));
        prop_assert_eq!(wire.len() % 4, 0);
        let mut buf = BytesMut::from(&wire[..]);
        prop_assert_eq!(d.decode(&mut buf).unwrap(), Some(p));
        prop_assert!(buf.is_empty());
    }
}
