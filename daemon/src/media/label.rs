//! The reel label: the first block of every cartridge reel writes, so a
//! cartridge can be identified (and its overwrite protection checked)
//! without the catalog.
//!
//! Block layout, version 1: 512 bytes, integers big-endian.
//!
//! | offset | size | field                                                |
//! |-------:|-----:|------------------------------------------------------|
//! |      0 |    8 | magic `REELLABL`                                     |
//! |      8 |    2 | layout version (1)                                   |
//! |     10 |    2 | block length (512)                                   |
//! |     12 |    4 | flags (none defined, written 0)                      |
//! |     16 |   16 | label UUID (one per labelling of the cartridge)      |
//! |     32 |   16 | media set instance UUID (all zero: none)             |
//! |     48 |   32 | barcode, printable ASCII, padded with spaces         |
//! |     80 |   64 | media set name, UTF-8, padded with NULs              |
//! |    144 |    4 | sequence number of the cartridge in its set          |
//! |    148 |    8 | written at, unix seconds (signed)                    |
//! |    156 |    8 | overwrite-protected until, unix seconds (signed)     |
//! |    164 |  344 | reserved, written 0, ignored when read               |
//! |    508 |    4 | CRC-32C (Castagnoli) of bytes 0..508                  |
//!
//! A later version may use the reserved bytes and grow the block; a v1
//! reader refuses any other version rather than misreading it. Readers get
//! the block from a tape read that may hand back more bytes than the block
//! (a larger buffer): only the first 512 count.

use uuid::Uuid;

/// Size of a version 1 label block.
pub const LABEL_LEN: usize = 512;
pub const MAGIC: &[u8; 8] = b"REELLABL";
pub const VERSION: u16 = 1;
const BARCODE_LEN: usize = 32;
const SET_NAME_LEN: usize = 64;
const CRC_AT: usize = 508;

/// The reel label of one cartridge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    pub uuid: Uuid,
    pub barcode: String,
    pub media_set: String,
    /// Instance of the media set (a set is re-started after its append
    /// period); nil when the cartridge belongs to no set yet.
    pub set_uuid: Uuid,
    pub sequence: u32,
    pub written_at: i64,
    pub protect_until: i64,
}

/// Why bytes are not a valid reel label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("label block too short: {0} bytes, need {LABEL_LEN}")]
    Short(usize),
    #[error("not a reel label (magic {0:02x?})")]
    NotALabel([u8; 8]),
    #[error("reel label version {0} is not supported (this reeld reads version {VERSION})")]
    UnsupportedVersion(u16),
    #[error("reel label declares {0} bytes, version 1 has {LABEL_LEN}")]
    BadLength(u16),
    #[error("reel label checksum mismatch: stored {stored:08x}, computed {computed:08x}")]
    Crc { stored: u32, computed: u32 },
    #[error("reel label field {field}: {detail}")]
    BadField { field: &'static str, detail: String },
}

impl Label {
    /// Whether the medium may not be overwritten at `now`.
    pub fn is_protected(&self, now: i64) -> bool {
        now < self.protect_until
    }

    /// The label block. Fails for a barcode that is not printable ASCII or
    /// longer than 32 bytes, and for a set name longer than 64 bytes or
    /// containing NUL.
    pub fn encode(&self) -> Result<[u8; LABEL_LEN], LabelError> {
        check_barcode(&self.barcode)?;
        check_set_name(&self.media_set)?;
        let mut b = [0u8; LABEL_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_be_bytes());
        // LABEL_LEN is 512: fits u16.
        b[10..12].copy_from_slice(&(LABEL_LEN as u16).to_be_bytes());
        b[16..32].copy_from_slice(self.uuid.as_bytes());
        b[32..48].copy_from_slice(self.set_uuid.as_bytes());
        let bc = &mut b[48..48 + BARCODE_LEN];
        bc.fill(b' ');
        bc[..self.barcode.len()].copy_from_slice(self.barcode.as_bytes());
        b[80..80 + self.media_set.len()].copy_from_slice(self.media_set.as_bytes());
        b[144..148].copy_from_slice(&self.sequence.to_be_bytes());
        b[148..156].copy_from_slice(&self.written_at.to_be_bytes());
        b[156..164].copy_from_slice(&self.protect_until.to_be_bytes());
        let crc = crc32c::crc32c(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_be_bytes());
        Ok(b)
    }

    /// Decodes a label block (see the module docs). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Label, LabelError> {
        let Some(b) = bytes.get(..LABEL_LEN) else {
            // A foreign first block shorter than a label is still "not a
            // label" when its magic differs; report that first.
            if bytes.len() >= 8 && &bytes[..8] != MAGIC {
                return Err(LabelError::NotALabel(magic_of(bytes)));
            }
            return Err(LabelError::Short(bytes.len()));
        };
        if &b[..8] != MAGIC {
            return Err(LabelError::NotALabel(magic_of(b)));
        }
        let version = be_u16(&b[8..10]);
        if version != VERSION {
            return Err(LabelError::UnsupportedVersion(version));
        }
        let len = be_u16(&b[10..12]);
        if usize::from(len) != LABEL_LEN {
            return Err(LabelError::BadLength(len));
        }
        let stored = u32::from_be_bytes([b[508], b[509], b[510], b[511]]);
        let computed = crc32c::crc32c(&b[..CRC_AT]);
        if stored != computed {
            return Err(LabelError::Crc { stored, computed });
        }
        let barcode = decode_barcode(&b[48..48 + BARCODE_LEN])?;
        let media_set = decode_set_name(&b[80..80 + SET_NAME_LEN])?;
        Ok(Label {
            uuid: Uuid::from_bytes(arr16(&b[16..32])),
            set_uuid: Uuid::from_bytes(arr16(&b[32..48])),
            barcode,
            media_set,
            sequence: u32::from_be_bytes([b[144], b[145], b[146], b[147]]),
            written_at: i64::from_be_bytes(arr8(&b[148..156])),
            protect_until: i64::from_be_bytes(arr8(&b[156..164])),
        })
    }
}

pub(crate) fn check_barcode(s: &str) -> Result<(), LabelError> {
    if s.len() > BARCODE_LEN {
        return Err(bad(
            "barcode",
            format!("{} bytes, at most {BARCODE_LEN}", s.len()),
        ));
    }
    if !s.bytes().all(|c| (0x21..0x7f).contains(&c)) {
        return Err(bad(
            "barcode",
            format!("{s:?} is not printable ASCII without spaces"),
        ));
    }
    Ok(())
}

pub(crate) fn check_set_name(s: &str) -> Result<(), LabelError> {
    if s.len() > SET_NAME_LEN {
        return Err(bad(
            "media set",
            format!("{} bytes, at most {SET_NAME_LEN}", s.len()),
        ));
    }
    if s.contains('\0') {
        return Err(bad("media set", "contains NUL".into()));
    }
    Ok(())
}

fn decode_barcode(b: &[u8]) -> Result<String, LabelError> {
    let end = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    let s = std::str::from_utf8(&b[..end]).map_err(|_| bad("barcode", "not ASCII".into()))?;
    check_barcode(s)?;
    Ok(s.to_owned())
}

fn decode_set_name(b: &[u8]) -> Result<String, LabelError> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    if b[end..].iter().any(|&c| c != 0) {
        return Err(bad("media set", "NUL inside the name".into()));
    }
    std::str::from_utf8(&b[..end])
        .map(str::to_owned)
        .map_err(|_| bad("media set", "not UTF-8".into()))
}

fn bad(field: &'static str, detail: String) -> LabelError {
    LabelError::BadField { field, detail }
}

fn magic_of(b: &[u8]) -> [u8; 8] {
    let mut m = [0u8; 8];
    let n = b.len().min(8);
    m[..n].copy_from_slice(&b[..n]);
    m
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn arr8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    a
}

fn arr16(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    a
}
