//! iSCSI (RFC 7143), sans I/O: PDU layouts, framing with digests, text
//! keys and their negotiation, and CHAP. Bytes in, typed PDUs out; typed
//! PDUs in, bytes out. Sockets, timers and session state live in the
//! initiator (`initiator/`) and in the VTL's target, which both build on
//! this layer.

pub mod chap;
pub mod framing;
pub mod initiator;
pub mod keys;
pub mod pdu;
pub mod sn;

pub use framing::{Decoder, crc32c_digest};
pub use keys::{Negotiated, SessionParams, encode_text, negotiate, parse_text};
pub use pdu::{BHS_LEN, Lun, Opcode, Pdu, PduError};

#[cfg(test)]
mod tests;
