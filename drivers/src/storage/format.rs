//! The container byte layout: pure encoders and decoders (bytes in, values
//! out). No I/O here; the table of the layout is in the [`super`] module
//! documentation.

use std::fmt;

/// `REELCTNR`: the first eight bytes of every container.
pub const HEADER_MAGIC: [u8; 8] = *b"REELCTNR";
/// `RREC`: the first four bytes of every record header.
pub const RECORD_MAGIC: [u8; 4] = *b"RREC";
/// `RTRL`: the first four bytes of the trailer.
pub const TRAILER_MAGIC: [u8; 4] = *b"RTRL";
/// `REELEND1`: the first eight bytes of the footer.
pub const FOOTER_MAGIC: [u8; 8] = *b"REELEND1";

pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 64;
pub const RECORD_HEADER_LEN: usize = 32;
pub const TRAILER_FIXED_LEN: usize = 32;
pub const INDEX_ENTRY_LEN: usize = 32;
pub const FOOTER_LEN: usize = 32;
/// Largest stored or plain record payload a reader accepts. Bounds every
/// allocation a (possibly hostile) file can cause.
pub const MAX_RECORD_LEN: u32 = 16 << 20;
/// Largest number of files (marks) in one container; bounds the trailer.
pub const MAX_FILES: u32 = 1 << 20;

/// Header flag: records may be zstd-compressed (informational).
pub const HEADER_FLAG_COMPRESSION: u32 = 1;
const HEADER_FLAGS_KNOWN: u32 = HEADER_FLAG_COMPRESSION;
/// Record flag: the stored payload is one zstd frame.
pub const RECORD_FLAG_ZSTD: u8 = 1;

/// Why bytes are not a valid piece of a container. Offsets are relative to
/// the slice decoded; callers add the position in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("{what}: {have} bytes, need {need}")]
    Short {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{what}: bad magic")]
    BadMagic { what: &'static str },
    #[error("{what}: CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Crc {
        what: &'static str,
        stored: u32,
        computed: u32,
    },
    #[error("unsupported container version {0}")]
    Version(u16),
    #[error("{what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

impl FormatError {
    fn invalid(what: &'static str, detail: impl fmt::Display) -> FormatError {
        FormatError::Invalid {
            what,
            detail: detail.to_string(),
        }
    }

    /// True when the bytes are damaged (CRC) rather than not a container.
    pub fn is_crc(&self) -> bool {
        matches!(self, FormatError::Crc { .. })
    }
}

fn need(what: &'static str, b: &[u8], n: usize) -> Result<(), FormatError> {
    if b.len() < n {
        return Err(FormatError::Short {
            what,
            need: n,
            have: b.len(),
        });
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[at..at + 2]);
    u16::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn check_crc(what: &'static str, covered: &[u8], stored: u32) -> Result<(), FormatError> {
    let computed = crc32c::crc32c(covered);
    if computed != stored {
        return Err(FormatError::Crc {
            what,
            stored,
            computed,
        });
    }
    Ok(())
}

/// The container header (first [`HEADER_LEN`] bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub flags: u32,
    /// The storage device's media id (like a cartridge's serial).
    pub media_id: [u8; 16],
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: u64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&HEADER_MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        b[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..32].copy_from_slice(&self.media_id);
        b[32..40].copy_from_slice(&self.created_ns.to_le_bytes());
        let crc = crc32c::crc32c(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Header, FormatError> {
        const W: &str = "container header";
        need(W, b, HEADER_LEN)?;
        if b[0..8] != HEADER_MAGIC {
            return Err(FormatError::BadMagic { what: W });
        }
        check_crc(W, &b[..60], u32_at(b, 60))?;
        let version = u16_at(b, 8);
        if version != VERSION {
            return Err(FormatError::Version(version));
        }
        let len = u16_at(b, 10);
        if usize::from(len) != HEADER_LEN {
            return Err(FormatError::invalid(W, format_args!("header length {len}")));
        }
        let flags = u32_at(b, 12);
        if flags & !HEADER_FLAGS_KNOWN != 0 {
            return Err(FormatError::invalid(
                W,
                format_args!("unknown flags {flags:#x}"),
            ));
        }
        if b[40..60].iter().any(|&x| x != 0) {
            return Err(FormatError::invalid(W, "reserved bytes not zero"));
        }
        let mut media_id = [0u8; 16];
        media_id.copy_from_slice(&b[16..32]);
        Ok(Header {
            flags,
            media_id,
            created_ns: u64_at(b, 32),
        })
    }
}

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Data,
    /// Ends a file (stream), like a tape file mark.
    FileMark,
}

impl RecordKind {
    fn code(self) -> u8 {
        match self {
            RecordKind::Data => 1,
            RecordKind::FileMark => 2,
        }
    }
}

/// The fixed part in front of every record's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: RecordKind,
    pub flags: u8,
    /// Payload bytes that follow on disk.
    pub stored_len: u32,
    /// Payload bytes after decompression (== stored_len when plain).
    pub plain_len: u32,
    /// CRC32C over the stored payload: verifiable without decompressing.
    pub stored_crc: u32,
    /// CRC32C over the plain payload: checks the decompressor's output.
    pub plain_crc: u32,
    /// Position of this record in the container (0, 1, 2 ...), marks
    /// included: a stale record left by an earlier write never fits.
    pub seq: u32,
}

impl RecordHeader {
    pub fn file_mark(seq: u32) -> RecordHeader {
        RecordHeader {
            kind: RecordKind::FileMark,
            flags: 0,
            stored_len: 0,
            plain_len: 0,
            stored_crc: 0,
            plain_crc: 0,
            seq,
        }
    }

    pub fn is_zstd(&self) -> bool {
        self.flags & RECORD_FLAG_ZSTD != 0
    }

    pub fn encode(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut b = [0u8; RECORD_HEADER_LEN];
        b[0..4].copy_from_slice(&RECORD_MAGIC);
        b[4] = self.kind.code();
        b[5] = self.flags;
        b[8..12].copy_from_slice(&self.stored_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.plain_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.stored_crc.to_le_bytes());
        b[20..24].copy_from_slice(&self.plain_crc.to_le_bytes());
        b[24..28].copy_from_slice(&self.seq.to_le_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a record header, including that its lengths are
    /// within [`MAX_RECORD_LEN`] and consistent with its kind and flags.
    pub fn decode(b: &[u8]) -> Result<RecordHeader, FormatError> {
        const W: &str = "record header";
        need(W, b, RECORD_HEADER_LEN)?;
        if b[0..4] != RECORD_MAGIC {
            return Err(FormatError::BadMagic { what: W });
        }
        check_crc(W, &b[..28], u32_at(b, 28))?;
        let kind = match b[4] {
            1 => RecordKind::Data,
            2 => RecordKind::FileMark,
            k => return Err(FormatError::invalid(W, format_args!("unknown kind {k}"))),
        };
        let flags = b[5];
        if flags & !RECORD_FLAG_ZSTD != 0 {
            return Err(FormatError::invalid(
                W,
                format_args!("unknown flags {flags:#x}"),
            ));
        }
        if b[6] != 0 || b[7] != 0 {
            return Err(FormatError::invalid(W, "reserved bytes not zero"));
        }
        let h = RecordHeader {
            kind,
            flags,
            stored_len: u32_at(b, 8),
            plain_len: u32_at(b, 12),
            stored_crc: u32_at(b, 16),
            plain_crc: u32_at(b, 20),
            seq: u32_at(b, 24),
        };
        if h.stored_len > MAX_RECORD_LEN || h.plain_len > MAX_RECORD_LEN {
            return Err(FormatError::invalid(
                W,
                format_args!("length {} over the limit", h.stored_len.max(h.plain_len)),
            ));
        }
        match kind {
            RecordKind::FileMark if h.stored_len != 0 || h.plain_len != 0 || flags != 0 => {
                Err(FormatError::invalid(W, "file mark with a payload"))
            }
            RecordKind::Data if !h.is_zstd() && h.stored_len != h.plain_len => Err(
                FormatError::invalid(W, "plain record with two different lengths"),
            ),
            RecordKind::Data if h.plain_len == 0 => {
                Err(FormatError::invalid(W, "empty data record"))
            }
            _ => Ok(h),
        }
    }
}

/// One file (stream) in the trailer index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexEntry {
    /// Offset of the file's first record (its mark when it is empty).
    pub offset: u64,
    /// Data records in the file.
    pub records: u64,
    /// Plain (uncompressed) bytes in the file.
    pub plain_bytes: u64,
    /// Offset of the file mark that ends the file.
    pub mark_offset: u64,
}

/// The trailer: totals and the index of the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// Every record, data and marks.
    pub records: u64,
    pub plain_bytes: u64,
    /// Payload bytes as stored (after compression).
    pub stored_bytes: u64,
    pub files: Vec<IndexEntry>,
}

impl Trailer {
    pub fn encoded_len(files: usize) -> usize {
        TRAILER_FIXED_LEN + files * INDEX_ENTRY_LEN + 4
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(Self::encoded_len(self.files.len()));
        b.extend_from_slice(&TRAILER_MAGIC);
        // The writer refuses more than MAX_FILES marks, so this fits.
        b.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.records.to_le_bytes());
        b.extend_from_slice(&self.plain_bytes.to_le_bytes());
        b.extend_from_slice(&self.stored_bytes.to_le_bytes());
        for e in &self.files {
            b.extend_from_slice(&e.offset.to_le_bytes());
            b.extend_from_slice(&e.records.to_le_bytes());
            b.extend_from_slice(&e.plain_bytes.to_le_bytes());
            b.extend_from_slice(&e.mark_offset.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a whole trailer (exactly its bytes, CRC included).
    pub fn decode(b: &[u8]) -> Result<Trailer, FormatError> {
        const W: &str = "trailer";
        need(W, b, TRAILER_FIXED_LEN + 4)?;
        if b[0..4] != TRAILER_MAGIC {
            return Err(FormatError::BadMagic { what: W });
        }
        let n = u32_at(b, 4);
        if n > MAX_FILES {
            return Err(FormatError::invalid(W, format_args!("{n} files")));
        }
        let len = Self::encoded_len(n as usize);
        if b.len() != len {
            return Err(FormatError::invalid(
                W,
                format_args!("{} bytes for {n} files, expected {len}", b.len()),
            ));
        }
        check_crc(W, &b[..len - 4], u32_at(b, len - 4))?;
        let files = b[TRAILER_FIXED_LEN..len - 4]
            .chunks_exact(INDEX_ENTRY_LEN)
            .map(|e| IndexEntry {
                offset: u64_at(e, 0),
                records: u64_at(e, 8),
                plain_bytes: u64_at(e, 16),
                mark_offset: u64_at(e, 24),
            })
            .collect();
        Ok(Trailer {
            records: u64_at(b, 8),
            plain_bytes: u64_at(b, 16),
            stored_bytes: u64_at(b, 24),
            files,
        })
    }
}

/// The fixed-size end of a complete container: where the trailer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub trailer_offset: u64,
    pub trailer_len: u32,
    pub files: u32,
}

impl Footer {
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[0..8].copy_from_slice(&FOOTER_MAGIC);
        b[8..16].copy_from_slice(&self.trailer_offset.to_le_bytes());
        b[16..20].copy_from_slice(&self.trailer_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.files.to_le_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the footer and checks it against the file length.
    pub fn decode(b: &[u8], file_len: u64) -> Result<Footer, FormatError> {
        const W: &str = "footer";
        need(W, b, FOOTER_LEN)?;
        if b[0..8] != FOOTER_MAGIC {
            return Err(FormatError::BadMagic { what: W });
        }
        check_crc(W, &b[..28], u32_at(b, 28))?;
        if b[24..28].iter().any(|&x| x != 0) {
            return Err(FormatError::invalid(W, "reserved bytes not zero"));
        }
        let f = Footer {
            trailer_offset: u64_at(b, 8),
            trailer_len: u32_at(b, 16),
            files: u32_at(b, 20),
        };
        if f.files > MAX_FILES || f.trailer_len as usize != Trailer::encoded_len(f.files as usize) {
            return Err(FormatError::invalid(
                W,
                format_args!("trailer length {} for {} files", f.trailer_len, f.files),
            ));
        }
        let end = f
            .trailer_offset
            .checked_add(u64::from(f.trailer_len))
            .and_then(|e| e.checked_add(FOOTER_LEN as u64));
        if f.trailer_offset < HEADER_LEN as u64 || end != Some(file_len) {
            return Err(FormatError::invalid(
                W,
                format_args!(
                    "trailer at {} (+{}) does not end at the footer of a {file_len}-byte file",
                    f.trailer_offset, f.trailer_len
                ),
            ));
        }
        Ok(f)
    }
}

/// Checks that a trailer's index describes records laid out between the
/// header and the trailer, in order. (Whether those records really are
/// there is what a full verify checks.)
pub fn check_index(t: &Trailer, trailer_offset: u64) -> Result<(), FormatError> {
    const W: &str = "trailer index";
    let mut prev_end = HEADER_LEN as u64;
    for (n, e) in t.files.iter().enumerate() {
        let ok = e.offset >= prev_end
            && e.offset <= e.mark_offset
            && e.mark_offset.checked_add(RECORD_HEADER_LEN as u64) <= Some(trailer_offset)
            && (e.records > 0 || e.offset == e.mark_offset);
        if !ok {
            return Err(FormatError::invalid(
                W,
                format_args!("file {n} at {}..{} out of order", e.offset, e.mark_offset),
            ));
        }
        prev_end = e.mark_offset + RECORD_HEADER_LEN as u64;
    }
    Ok(())
}

#[cfg(test)]
#[path = "format_tests.rs"]
pub(crate) mod tests;
