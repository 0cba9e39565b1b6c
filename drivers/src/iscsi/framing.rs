//! Incremental PDU framing: bytes from a stream in, whole [`Pdu`]s out.
//!
//! Wire layout (RFC 7143 11.2): BHS (48) | AHS (TotalAHSLength * 4) |
//! HeaderDigest (4, optional) | data (DataSegmentLength, padded to 4) |
//! DataDigest (4, optional, only when DataSegmentLength > 0).
//! Digests are CRC32C (RFC 7143 12.1) over BHS+AHS and over the padded
//! data, stored least significant byte first: RFC 3720 B.4 gives the
//! digest of 32 zero bytes as the wire bytes `aa 36 91 8a`, the
//! little-endian form of 0x8a9136aa.

use bytes::{Buf, BytesMut};

use super::pdu::{BHS_LEN, MAX_DATA_SEGMENT, Pdu, PduError, pad4};

/// CRC32C as iSCSI uses it (Castagnoli, reflected, init and xor-out
/// 0xffffffff). Put on the wire with `to_le_bytes()`.
pub fn crc32c_digest(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Default data segment limit: 16 MiB - 1, the largest the 24-bit field
/// can state. Sessions lower it to the negotiated MaxRecvDataSegmentLength.
pub const DEFAULT_MAX_DATA: usize = MAX_DATA_SEGMENT;

/// Splits a byte stream into PDUs. Digest settings change after login
/// (`set_digests`), and the data limit after negotiation (`max_data`).
#[derive(Debug, Clone)]
pub struct Decoder {
    pub header_digest: bool,
    pub data_digest: bool,
    /// Largest accepted DataSegmentLength; a larger one is an error before
    /// any of the segment is buffered.
    pub max_data: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_DATA)
    }
}

impl Decoder {
    /// A decoder without digests (the state during login).
    pub fn new(max_data: usize) -> Decoder {
        Decoder {
            header_digest: false,
            data_digest: false,
            max_data,
        }
    }

    pub fn set_digests(&mut self, header: bool, data: bool) {
        self.header_digest = header;
        self.data_digest = data;
    }

    /// Total wire length of the PDU whose BHS starts `buf`, once 48 bytes
    /// are there; checks the data limit.
    pub fn frame_len(&self, bhs: &[u8]) -> Result<Option<usize>, PduError> {
        if bhs.len() < BHS_LEN {
            return Ok(None);
        }
        let ahs = usize::from(bhs[4]) * 4;
        let dl = (usize::from(bhs[5]) << 16) | (usize::from(bhs[6]) << 8) | usize::from(bhs[7]);
        if dl > self.max_data {
            return Err(PduError::DataTooLong {
                len: dl,
                max: self.max_data,
            });
        }
        let mut n = BHS_LEN + ahs + pad4(dl);
        if self.header_digest {
            n += 4;
        }
        if self.data_digest && dl > 0 {
            n += 4;
        }
        Ok(Some(n))
    }

    /// Take one PDU off the front of `buf`. `Ok(None)`: not enough bytes
    /// yet (nothing consumed). An error leaves `buf` as it was; the stream
    /// cannot be resynchronised after one, so the connection should end.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Pdu>, PduError> {
        let Some(total) = self.frame_len(buf)? else {
            return Ok(None);
        };
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let frame = &buf[..total];
        let mut bhs = [0u8; BHS_LEN];
        bhs.copy_from_slice(&frame[..BHS_LEN]);
        let ahs_len = usize::from(bhs[4]) * 4;
        let dl = (usize::from(bhs[5]) << 16) | (usize::from(bhs[6]) << 8) | usize::from(bhs[7]);
        let mut pos = BHS_LEN + ahs_len;
        if self.header_digest {
            let computed = crc32c_digest(&frame[..pos]);
            let received = le32(&frame[pos..pos + 4]);
            if computed != received {
                return Err(PduError::HeaderDigest { computed, received });
            }
            pos += 4;
        }
        let padded = &frame[pos..pos + pad4(dl)];
        if self.data_digest && dl > 0 {
            let computed = crc32c_digest(padded);
            let d = pos + pad4(dl);
            let received = le32(&frame[d..d + 4]);
            if computed != received {
                return Err(PduError::DataDigest { computed, received });
            }
        }
        let pdu = Pdu {
            bhs,
            ahs: frame[BHS_LEN..BHS_LEN + ahs_len].to_vec(),
            data: padded[..dl].to_vec(),
        };
        buf.advance(total);
        Ok(Some(pdu))
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
