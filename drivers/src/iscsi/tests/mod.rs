//! Tests of the iSCSI protocol layer. Expected bytes are written out from
//! RFC 7143 section 11 offsets (and RFC 3720 B.4 for CRC32C), never taken
//! from the encoder.

mod chap;
mod framing;
mod keys;
mod pdu;
mod sn;

/// Bytes from whitespace-separated hex pairs.
pub(super) fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
        .collect()
}
