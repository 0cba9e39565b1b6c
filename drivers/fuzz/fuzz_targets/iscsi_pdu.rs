#![no_main]
//! iSCSI PDUs arrive from the network: framing and typed decoding must never
//! panic, and whatever decodes must re-encode to a frame that decodes again.
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use reel_drivers::iscsi::framing::Decoder;
use reel_drivers::iscsi::pdu::Typed;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (hd, dd) = (mode & 1 != 0, mode & 2 != 0);
    let mut dec = Decoder::new(1 << 16);
    dec.set_digests(hd, dd);
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(pdu)) = dec.decode(&mut buf) {
        let wire = pdu.encode(hd, dd);
        let mut again = BytesMut::from(&wire[..]);
        let back = dec.decode(&mut again).expect("own encoding decodes").expect("whole PDU");
        assert_eq!(back.data, pdu.data);
        let _ = Typed::from_pdu(pdu);
    }
});
