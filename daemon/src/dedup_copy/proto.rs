//! Wire protocol of optimized duplication, sans I/O: frames in, messages
//! out, and back. No socket or store here, so the fuzz target and the byte
//! vector tests reach every parser.
//!
//! A frame is `u32 BE length` (of what follows), `u8 type`, payload. All
//! integers are big endian. Strings are UTF-8 with a length prefix (u8 for
//! tenant and set id, u16 for the set name, u16 for error text).
//!
//! | type | message     | payload |
//! |------|-------------|---------|
//! | 1    | Hello       | u16 version, header (see [`WireHeader`]), 32-byte tenant key |
//! | 2    | Accept      | u16 version |
//! | 3    | IndexBatch  | u32 seq, u32 n, n × (32-byte id, u32 plain length) |
//! | 4    | Need        | u32 seq, u32 n, ceil(n/8) bytes bitmap, bit i (LSB first) set = send entry i |
//! | 5    | ChunkData   | 32-byte id, u8 flags (bit 0 = zstd compressed), u32 plain length, bytes (rest of frame) |
//! | 6    | Commit      | u64 index entries sent in total |
//! | 7    | Committed   | u8 length, set id |
//! | 8    | Error       | u16 code, u16 length, text |

use thiserror::Error;

/// Protocol version this build speaks. A peer with another version is
/// refused in the handshake rather than misparsed later.
/// Version 2: Hello carries the tenant's chunk-id key.
pub const VERSION: u16 = 2;

/// Largest frame accepted: a maximum-size chunk (store max 16 MiB) plus
/// headroom. A lying length beyond this is refused before allocating.
pub const MAX_FRAME: usize = 32 << 20;

/// Most entries in one IndexBatch (bounds the Need bitmap and allocation).
pub const MAX_BATCH: usize = 65_536;

const T_HELLO: u8 = 1;
const T_ACCEPT: u8 = 2;
const T_INDEX: u8 = 3;
const T_NEED: u8 = 4;
const T_CHUNK: u8 = 5;
const T_COMMIT: u8 = 6;
const T_COMMITTED: u8 = 7;
const T_ERROR: u8 = 8;

/// Why bytes from the peer are not a valid message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtoError {
    #[error("frame length {0} exceeds the limit of {MAX_FRAME} bytes")]
    FrameTooLarge(usize),
    #[error("empty frame (no message type)")]
    Empty,
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("{0}: message truncated")]
    Truncated(&'static str),
    #[error("{0}: {1} trailing bytes after the message")]
    Trailing(&'static str, usize),
    #[error("{0}: not UTF-8")]
    BadUtf8(&'static str),
    #[error("index batch of {0} entries exceeds the limit of {MAX_BATCH}")]
    BatchTooLarge(u32),
    #[error("need bitmap of {got} bytes for {entries} entries (expected {want})")]
    BitmapLength {
        entries: u32,
        got: usize,
        want: usize,
    },
    #[error("ChunkData flags {0:#04x}: only bit 0 (compressed) is defined")]
    BadFlags(u8),
    #[error("need bitmap has bits set past its {0} entries")]
    BitmapPadding(u32),
    #[error("string of {0} bytes too long for its length field")]
    StringTooLong(usize),
}

/// The set being copied, as the source describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireHeader {
    pub tenant: String,
    pub set: String,
    pub name: String,
    /// Seconds and nanoseconds since the Unix epoch.
    pub created_secs: u64,
    pub created_nanos: u32,
    pub logical_size: u64,
    pub stream_hash: [u8; 32],
    /// Entries in the set's index (the destination checks Commit against it).
    pub chunks: u64,
}

/// One index entry: chunk id and plain (uncompressed) length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireRef {
    pub id: [u8; 32],
    pub len: u32,
}

/// Error codes carried by [`Message::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The client certificate does not allow this tenant.
    Forbidden,
    /// Protocol violation (bad order, unknown version, malformed frame).
    Protocol,
    /// A chunk's bytes do not hash to its id.
    ChunkMismatch,
    /// Commit refused: chunks missing or the index does not match.
    Incomplete,
    /// The destination store failed.
    Store,
    /// The destination holds a different chunk-id key for the tenant.
    KeyMismatch,
    /// A code this build does not know.
    Other(u16),
}

impl ErrorCode {
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::Forbidden => 1,
            ErrorCode::Protocol => 2,
            ErrorCode::ChunkMismatch => 3,
            ErrorCode::Incomplete => 4,
            ErrorCode::Store => 5,
            ErrorCode::KeyMismatch => 6,
            ErrorCode::Other(c) => c,
        }
    }

    pub fn from_u16(c: u16) -> ErrorCode {
        match c {
            1 => ErrorCode::Forbidden,
            2 => ErrorCode::Protocol,
            3 => ErrorCode::ChunkMismatch,
            4 => ErrorCode::Incomplete,
            5 => ErrorCode::Store,
            6 => ErrorCode::KeyMismatch,
            c => ErrorCode::Other(c),
        }
    }
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `tenant_key`: the chunk-id key of the header's tenant, so a
    /// destination without one adopts it (inside mutual TLS, for a tenant
    /// the client certificate grants only).
    Hello {
        version: u16,
        header: WireHeader,
        tenant_key: [u8; 32],
    },
    Accept {
        version: u16,
    },
    IndexBatch {
        seq: u32,
        refs: Vec<WireRef>,
    },
    /// `missing[i]` answers entry i of IndexBatch `seq`.
    Need {
        seq: u32,
        missing: Vec<bool>,
    },
    ChunkData {
        id: [u8; 32],
        compressed: bool,
        plain_len: u32,
        data: bytes::Bytes,
    },
    Commit {
        entries: u64,
    },
    Committed {
        set: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl Message {
    /// Short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "Hello",
            Message::Accept { .. } => "Accept",
            Message::IndexBatch { .. } => "IndexBatch",
            Message::Need { .. } => "Need",
            Message::ChunkData { .. } => "ChunkData",
            Message::Commit { .. } => "Commit",
            Message::Committed { .. } => "Committed",
            Message::Error { .. } => "Error",
        }
    }
}

fn put_str8(out: &mut Vec<u8>, s: &str) -> Result<(), ProtoError> {
    let len = u8::try_from(s.len()).map_err(|_| ProtoError::StringTooLong(s.len()))?;
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_str16(out: &mut Vec<u8>, s: &str) -> Result<(), ProtoError> {
    let len = u16::try_from(s.len()).map_err(|_| ProtoError::StringTooLong(s.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends one frame for `msg` to `out`.
pub fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match msg {
        Message::Hello {
            version,
            header,
            tenant_key,
        } => {
            out.push(T_HELLO);
            out.extend_from_slice(&version.to_be_bytes());
            put_str8(out, &header.tenant)?;
            put_str8(out, &header.set)?;
            put_str16(out, &header.name)?;
            out.extend_from_slice(&header.created_secs.to_be_bytes());
            out.extend_from_slice(&header.created_nanos.to_be_bytes());
            out.extend_from_slice(&header.logical_size.to_be_bytes());
            out.extend_from_slice(&header.stream_hash);
            out.extend_from_slice(&header.chunks.to_be_bytes());
            out.extend_from_slice(tenant_key);
        }
        Message::Accept { version } => {
            out.push(T_ACCEPT);
            out.extend_from_slice(&version.to_be_bytes());
        }
        Message::IndexBatch { seq, refs } => {
            if refs.len() > MAX_BATCH {
                return Err(ProtoError::BatchTooLarge(
                    u32::try_from(refs.len()).unwrap_or(u32::MAX),
                ));
            }
            out.push(T_INDEX);
            out.extend_from_slice(&seq.to_be_bytes());
            // Bounded by MAX_BATCH above, so the cast cannot truncate.
            out.extend_from_slice(&(refs.len() as u32).to_be_bytes());
            for r in refs {
                out.extend_from_slice(&r.id);
                out.extend_from_slice(&r.len.to_be_bytes());
            }
        }
        Message::Need { seq, missing } => {
            if missing.len() > MAX_BATCH {
                return Err(ProtoError::BatchTooLarge(
                    u32::try_from(missing.len()).unwrap_or(u32::MAX),
                ));
            }
            out.push(T_NEED);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&(missing.len() as u32).to_be_bytes());
            let mut bitmap = vec![0u8; missing.len().div_ceil(8)];
            for (i, &m) in missing.iter().enumerate() {
                if m {
                    bitmap[i / 8] |= 1 << (i % 8);
                }
            }
            out.extend_from_slice(&bitmap);
        }
        Message::ChunkData {
            id,
            compressed,
            plain_len,
            data,
        } => {
            out.push(T_CHUNK);
            out.extend_from_slice(id);
            out.push(u8::from(*compressed));
            out.extend_from_slice(&plain_len.to_be_bytes());
            out.extend_from_slice(data);
        }
        Message::Commit { entries } => {
            out.push(T_COMMIT);
            out.extend_from_slice(&entries.to_be_bytes());
        }
        Message::Committed { set } => {
            out.push(T_COMMITTED);
            put_str8(out, set)?;
        }
        Message::Error { code, message } => {
            out.push(T_ERROR);
            out.extend_from_slice(&code.to_u16().to_be_bytes());
            put_str16(out, message)?;
        }
    }
    let len = out.len() - start - 4;
    if len > MAX_FRAME {
        out.truncate(start);
        return Err(ProtoError::FrameTooLarge(len));
    }
    // len <= MAX_FRAME < u32::MAX, checked just above.
    out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// Reads the frame length from the 4-byte prefix, refusing oversize frames.
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, ProtoError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(ProtoError::FrameTooLarge(len));
    }
    if len == 0 {
        return Err(ProtoError::Empty);
    }
    Ok(len)
}

/// Splits one complete frame off the front of `buf`: Ok(None) when more
/// bytes are needed, else the message and the bytes it used.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Message, usize)>, ProtoError> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = frame_len(*prefix)?;
    let Some(body) = buf.get(4..4 + len) else {
        return Ok(None);
    };
    Ok(Some((decode_body(body)?, 4 + len)))
}

/// Cursor over a message body that never reads past the end.
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        if self.buf.len() < n {
            return Err(ProtoError::Truncated(self.what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtoError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ProtoError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, ProtoError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, ProtoError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ProtoError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn string(&mut self, len: usize) -> Result<String, ProtoError> {
        let b = self.take(len)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| ProtoError::BadUtf8(self.what))
    }
    fn str8(&mut self) -> Result<String, ProtoError> {
        let n = self.u8()? as usize;
        self.string(n)
    }
    fn str16(&mut self) -> Result<String, ProtoError> {
        let n = self.u16()? as usize;
        self.string(n)
    }
    fn finish(self) -> Result<(), ProtoError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtoError::Trailing(self.what, self.buf.len()))
        }
    }
}

/// Decodes a frame body (type byte and payload, without the length prefix).
pub fn decode_body(body: &[u8]) -> Result<Message, ProtoError> {
    let (&ty, payload) = body.split_first().ok_or(ProtoError::Empty)?;
    let what = match ty {
        T_HELLO => "Hello",
        T_ACCEPT => "Accept",
        T_INDEX => "IndexBatch",
        T_NEED => "Need",
        T_CHUNK => "ChunkData",
        T_COMMIT => "Commit",
        T_COMMITTED => "Committed",
        T_ERROR => "Error",
        t => return Err(ProtoError::UnknownType(t)),
    };
    let mut r = Reader { buf: payload, what };
    let msg = match ty {
        T_HELLO => {
            let version = r.u16()?;
            let header = WireHeader {
                tenant: r.str8()?,
                set: r.str8()?,
                name: r.str16()?,
                created_secs: r.u64()?,
                created_nanos: r.u32()?,
                logical_size: r.u64()?,
                stream_hash: r.array()?,
                chunks: r.u64()?,
            };
            Message::Hello {
                version,
                header,
                tenant_key: r.array()?,
            }
        }
        T_ACCEPT => Message::Accept { version: r.u16()? },
        T_INDEX => {
            let seq = r.u32()?;
            let n = r.u32()?;
            if n as usize > MAX_BATCH {
                return Err(ProtoError::BatchTooLarge(n));
            }
            // Check the length before allocating: a lying count must not
            // reserve memory the frame does not back.
            if r.buf.len() < n as usize * 36 {
                return Err(ProtoError::Truncated(what));
            }
            let mut refs = Vec::with_capacity(n as usize);
            for _ in 0..n {
                refs.push(WireRef {
                    id: r.array()?,
                    len: r.u32()?,
                });
            }
            Message::IndexBatch { seq, refs }
        }
        T_NEED => {
            let seq = r.u32()?;
            let n = r.u32()?;
            if n as usize > MAX_BATCH {
                return Err(ProtoError::BatchTooLarge(n));
            }
            let want = (n as usize).div_ceil(8);
            if r.buf.len() != want {
                return Err(ProtoError::BitmapLength {
                    entries: n,
                    got: r.buf.len(),
                    want,
                });
            }
            let bitmap = r.take(want)?;
            // Padding bits must be zero, so every bitmap has one encoding.
            if n % 8 != 0 && bitmap[want - 1] >> (n % 8) != 0 {
                return Err(ProtoError::BitmapPadding(n));
            }
            let missing = (0..n as usize)
                .map(|i| bitmap[i / 8] & (1 << (i % 8)) != 0)
                .collect();
            Message::Need { seq, missing }
        }
        T_CHUNK => {
            let id = r.array()?;
            let flags = r.u8()?;
            if flags > 1 {
                return Err(ProtoError::BadFlags(flags));
            }
            let plain_len = r.u32()?;
            let data = bytes::Bytes::copy_from_slice(r.take(r.buf.len())?);
            Message::ChunkData {
                id,
                compressed: flags & 1 != 0,
                plain_len,
                data,
            }
        }
        T_COMMIT => Message::Commit { entries: r.u64()? },
        T_COMMITTED => Message::Committed { set: r.str8()? },
        T_ERROR => Message::Error {
            code: ErrorCode::from_u16(r.u16()?),
            message: r.str16()?,
        },
        t => return Err(ProtoError::UnknownType(t)),
    };
    r.finish()?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(m: &Message) -> Vec<u8> {
        let mut v = Vec::new();
        encode(m, &mut v).unwrap();
        v
    }

    #[test]
    fn accept_layout() {
        let m = Message::Accept { version: 1 };
        let bytes = [
            0, 0, 0, 3, // length
            2, // type
            0, 1, // version
        ];
        assert_eq!(enc(&m), bytes);
        assert_eq!(decode_frame(&bytes).unwrap(), Some((m, 7)));
    }

    #[test]
    fn need_bitmap_is_lsb_first() {
        let m = Message::Need {
            seq: 7,
            missing: vec![
                true, false, false, true, false, false, false, false, false, true,
            ],
        };
        let bytes = [
            0,
            0,
            0,
            11, // length
            4,  // type
            0,
            0,
            0,
            7, // seq
            0,
            0,
            0,
            10, // entries
            0b0000_1001,
            0b0000_0010, // bits 0, 3 and 9
        ];
        assert_eq!(enc(&m), bytes);
        assert_eq!(decode_frame(&bytes).unwrap(), Some((m, 15)));
    }

    #[test]
    fn index_batch_layout() {
        let mut id = [0u8; 32];
        id[0] = 0xAA;
        id[31] = 0xBB;
        let m = Message::IndexBatch {
            seq: 1,
            refs: vec![WireRef { id, len: 0x10000 }],
        };
        let mut bytes = vec![0, 0, 0, 45, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0xAA];
        bytes.extend_from_slice(&[0; 30]);
        bytes.extend_from_slice(&[0xBB, 0, 1, 0, 0]);
        assert_eq!(enc(&m), bytes);
        assert_eq!(decode_frame(&bytes).unwrap(), Some((m, 49)));
    }

    #[test]
    fn chunk_data_layout() {
        let m = Message::ChunkData {
            id: [7; 32],
            compressed: true,
            plain_len: 5,
            data: bytes::Bytes::from_static(b"xyz"),
        };
        let mut bytes = vec![0, 0, 0, 41, 5];
        bytes.extend_from_slice(&[7; 32]);
        bytes.extend_from_slice(&[1, 0, 0, 0, 5, b'x', b'y', b'z']);
        assert_eq!(enc(&m), bytes);
        assert_eq!(decode_frame(&bytes).unwrap(), Some((m, 45)));
    }

    #[test]
    fn error_and_committed_layout() {
        let bytes = [0, 0, 0, 7, 8, 0, 1, 0, 2, b'n', b'o'];
        assert_eq!(
            decode_frame(&bytes).unwrap(),
            Some((
                Message::Error {
                    code: ErrorCode::Forbidden,
                    message: "no".into()
                },
                11
            ))
        );
        let bytes = [0, 0, 0, 3, 7, 1, b's'];
        assert_eq!(
            decode_frame(&bytes).unwrap(),
            Some((Message::Committed { set: "s".into() }, 7))
        );
    }

    #[test]
    fn hello_layout() {
        let m = Message::Hello {
            version: 2,
            header: WireHeader {
                tenant: "acme".into(),
                set: "0a".into(),
                name: "n".into(),
                created_secs: 1_700_000_000,
                created_nanos: 5,
                logical_size: 1 << 40,
                stream_hash: [9; 32],
                chunks: 12,
            },
            tenant_key: [0xC3; 32],
        };
        let mut bytes = vec![
            0, 0, 0, 106, // length
            1,   // type
            0, 2, // version
            4, b'a', b'c', b'm', b'e', // tenant
            2, b'0', b'a', // set
            0, 1, b'n', // name
            0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00, // created secs
            0, 0, 0, 5, // created nanos
            0, 0, 1, 0, 0, 0, 0, 0, // logical size
        ];
        bytes.extend_from_slice(&[9; 32]); // stream hash
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 12]); // chunks
        bytes.extend_from_slice(&[0xC3; 32]); // tenant key
        assert_eq!(enc(&m), bytes);
        assert_eq!(decode_frame(&bytes).unwrap(), Some((m, 110)));
        // A Hello without the key (protocol version 1 layout) is refused.
        let mut short = bytes[..78].to_vec();
        short[3] = 74;
        assert_eq!(decode_frame(&short), Err(ProtoError::Truncated("Hello")));
        // A key cut short.
        let mut cut = bytes[..109].to_vec();
        cut[3] = 105;
        assert_eq!(decode_frame(&cut), Err(ProtoError::Truncated("Hello")));
    }

    #[test]
    fn incomplete_frames_ask_for_more() {
        let v = enc(&Message::Commit { entries: 3 });
        for cut in 0..v.len() {
            assert_eq!(decode_frame(&v[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        // Lying length beyond the limit.
        assert_eq!(
            decode_frame(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(ProtoError::FrameTooLarge(0xFFFF_FFFF))
        );
        assert_eq!(decode_frame(&[0, 0, 0, 0]), Err(ProtoError::Empty));
        assert_eq!(
            decode_frame(&[0, 0, 0, 1, 99]),
            Err(ProtoError::UnknownType(99))
        );
        // Commit with a short payload.
        assert_eq!(
            decode_frame(&[0, 0, 0, 3, 6, 0, 0]),
            Err(ProtoError::Truncated("Commit"))
        );
        // Commit with a trailing byte.
        assert_eq!(
            decode_frame(&[0, 0, 0, 10, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Err(ProtoError::Trailing("Commit", 1))
        );
        // IndexBatch claiming a million entries in an 8-byte payload.
        assert_eq!(
            decode_frame(&[0, 0, 0, 9, 3, 0, 0, 0, 0, 0, 0x0F, 0x42, 0x40]),
            Err(ProtoError::BatchTooLarge(1_000_000))
        );
        // IndexBatch claiming 2 entries but carrying one.
        let mut v = vec![0, 0, 0, 45, 3, 0, 0, 0, 0, 0, 0, 0, 2];
        v.extend_from_slice(&[0; 36]);
        assert_eq!(decode_frame(&v), Err(ProtoError::Truncated("IndexBatch")));
        // Need with a bitmap of the wrong size.
        assert_eq!(
            decode_frame(&[0, 0, 0, 10, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0xFF]),
            Err(ProtoError::BitmapLength {
                entries: 9,
                got: 1,
                want: 2
            })
        );
        // Need with a bit set past its 9 entries.
        assert_eq!(
            decode_frame(&[0, 0, 0, 11, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0xFF, 0x03]),
            Err(ProtoError::BitmapPadding(9))
        );
        // ChunkData with an undefined flag bit.
        let mut v = vec![0, 0, 0, 38, 5];
        v.extend_from_slice(&[0; 32]);
        v.extend_from_slice(&[0x02, 0, 0, 0, 0]);
        assert_eq!(decode_frame(&v), Err(ProtoError::BadFlags(2)));
        // Committed with a set id that is not UTF-8.
        assert_eq!(
            decode_frame(&[0, 0, 0, 3, 7, 1, 0xFF]),
            Err(ProtoError::BadUtf8("Committed"))
        );
    }

    #[test]
    fn strings_too_long_for_their_field_are_refused() {
        let m = Message::Committed {
            set: "x".repeat(256),
        };
        let mut v = Vec::new();
        assert_eq!(encode(&m, &mut v), Err(ProtoError::StringTooLong(256)));
    }
}
