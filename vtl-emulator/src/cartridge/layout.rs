//! Pure encoders/decoders for the on-disk structures (bytes in, values out).
//! No I/O here; see the module docs of [`super`] for the byte tables.

use std::fmt;

/// Size of the header at the start of every data and index file.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of the header in front of every record and filemark.
pub const RECORD_HEADER_LEN: usize = 32;
/// Size of one index entry.
pub const INDEX_ENTRY_LEN: usize = 24;
/// Format version written into file headers.
pub const FORMAT_VERSION: u16 = 1;
/// Magic of a partition data file.
pub const DATA_MAGIC: [u8; 8] = *b"REELDATA";
/// Magic of a partition index file.
pub const INDEX_MAGIC: [u8; 8] = *b"REELINDX";
/// Magic in front of each record header.
pub const RECORD_MAGIC: [u8; 4] = *b"RECD";
/// Largest record (logical length) the store accepts; SSC's 24-bit
/// transfer length caps real blocks below this, so larger lengths on disk
/// are corruption and never an allocation size.
pub const MAX_RECORD_LEN: u32 = 16 * 1024 * 1024;
/// Flag bit: the stored bytes are a zstd frame.
pub const FLAG_COMPRESSED: u8 = 0x01;

/// Why a structure did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    Short { need: usize, got: usize },
    BadMagic,
    BadVersion(u16),
    BadCrc { stored: u32, computed: u32 },
    BadField(&'static str),
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Short { need, got } => {
                write!(f, "short read: need {need} bytes, got {got}")
            }
            LayoutError::BadMagic => write!(f, "bad magic"),
            LayoutError::BadVersion(v) => write!(f, "unsupported format version {v}"),
            LayoutError::BadCrc { stored, computed } => {
                write!(
                    f,
                    "header CRC32C mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
            LayoutError::BadField(what) => write!(f, "invalid field: {what}"),
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn check_len(b: &[u8], need: usize) -> Result<(), LayoutError> {
    if b.len() < need {
        Err(LayoutError::Short { need, got: b.len() })
    } else {
        Ok(())
    }
}

fn check_crc(b: &[u8], crc_at: usize) -> Result<(), LayoutError> {
    let stored = u32_at(b, crc_at);
    let computed = crc32c::crc32c(&b[..crc_at]);
    if stored != computed {
        return Err(LayoutError::BadCrc { stored, computed });
    }
    Ok(())
}

/// Header of a data (`pN.data`) or index (`pN.index`) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub magic: [u8; 8],
    pub partition: u8,
    pub cartridge_id: u64,
}

impl FileHeader {
    pub fn encode(&self) -> [u8; FILE_HEADER_LEN] {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[0..8].copy_from_slice(&self.magic);
        b[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[10] = self.partition;
        b[12..20].copy_from_slice(&self.cartridge_id.to_le_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8], magic: [u8; 8]) -> Result<FileHeader, LayoutError> {
        check_len(b, FILE_HEADER_LEN)?;
        if b[0..8] != magic {
            return Err(LayoutError::BadMagic);
        }
        check_crc(b, 28)?;
        let version = u16_at(b, 8);
        if version != FORMAT_VERSION {
            return Err(LayoutError::BadVersion(version));
        }
        if b[10] > 3 {
            return Err(LayoutError::BadField("partition > 3"));
        }
        Ok(FileHeader {
            magic,
            partition: b[10],
            cartridge_id: u64_at(b, 12),
        })
    }
}

/// What a record header describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Data = 1,
    Filemark = 2,
}

/// Header in front of every object (data record or filemark) in a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: RecordKind,
    pub flags: u8,
    /// Logical object number of this object within its partition.
    pub block: u64,
    /// Length the host wrote (after decompression).
    pub logical_len: u32,
    /// Bytes that follow the header on disk.
    pub stored_len: u32,
    /// CRC32C of the stored bytes.
    pub data_crc: u32,
}

impl RecordHeader {
    pub fn filemark(block: u64) -> RecordHeader {
        RecordHeader {
            kind: RecordKind::Filemark,
            flags: 0,
            block,
            logical_len: 0,
            stored_len: 0,
            data_crc: 0,
        }
    }

    pub fn compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Bytes this object occupies on disk (header + stored data).
    pub fn disk_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.stored_len)
    }

    pub fn encode(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut b = [0u8; RECORD_HEADER_LEN];
        b[0..4].copy_from_slice(&RECORD_MAGIC);
        b[4] = self.kind as u8;
        b[5] = self.flags;
        b[8..16].copy_from_slice(&self.block.to_le_bytes());
        b[16..20].copy_from_slice(&self.logical_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.stored_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.data_crc.to_le_bytes());
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<RecordHeader, LayoutError> {
        check_len(b, RECORD_HEADER_LEN)?;
        if b[0..4] != RECORD_MAGIC {
            return Err(LayoutError::BadMagic);
        }
        check_crc(b, 28)?;
        let kind = match b[4] {
            1 => RecordKind::Data,
            2 => RecordKind::Filemark,
            _ => return Err(LayoutError::BadField("record kind")),
        };
        let flags = b[5];
        if flags & !FLAG_COMPRESSED != 0 || b[6] != 0 || b[7] != 0 {
            return Err(LayoutError::BadField("record flags/reserved"));
        }
        let h = RecordHeader {
            kind,
            flags,
            block: u64_at(b, 8),
            logical_len: u32_at(b, 16),
            stored_len: u32_at(b, 20),
            data_crc: u32_at(b, 24),
        };
        if h.logical_len > MAX_RECORD_LEN || h.stored_len > MAX_RECORD_LEN {
            return Err(LayoutError::BadField("record length above maximum"));
        }
        match kind {
            RecordKind::Filemark if h.logical_len != 0 || h.stored_len != 0 || flags != 0 => {
                Err(LayoutError::BadField("filemark with data"))
            }
            RecordKind::Data if !h.compressed() && h.logical_len != h.stored_len => Err(
                LayoutError::BadField("uncompressed record with stored != logical length"),
            ),
            _ => Ok(h),
        }
    }
}

/// Kind of an index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Offset of object `block` (written for every multiple of the stride).
    Checkpoint = 1,
    /// Object `block` is a filemark at `offset`.
    Filemark = 2,
    /// Everything before `offset` (= `block` objects) was durable when this
    /// entry was written.
    Sync = 3,
}

/// One entry of a partition index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub kind: IndexKind,
    pub block: u64,
    pub offset: u64,
}

impl IndexEntry {
    pub fn encode(&self) -> [u8; INDEX_ENTRY_LEN] {
        let mut b = [0u8; INDEX_ENTRY_LEN];
        b[0] = self.kind as u8;
        b[4..12].copy_from_slice(&self.block.to_le_bytes());
        b[12..20].copy_from_slice(&self.offset.to_le_bytes());
        let crc = crc32c::crc32c(&b[..20]);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<IndexEntry, LayoutError> {
        check_len(b, INDEX_ENTRY_LEN)?;
        check_crc(b, 20)?;
        let kind = match b[0] {
            1 => IndexKind::Checkpoint,
            2 => IndexKind::Filemark,
            3 => IndexKind::Sync,
            _ => return Err(LayoutError::BadField("index entry kind")),
        };
        if b[1..4] != [0, 0, 0] {
            return Err(LayoutError::BadField("index entry reserved"));
        }
        Ok(IndexEntry {
            kind,
            block: u64_at(b, 4),
            offset: u64_at(b, 12),
        })
    }
}
