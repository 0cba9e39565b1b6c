//! On-disk encodings (pure: bytes in, values out). All integers little
//! endian; every file and record carries a CRC32C so a scan can tell a torn
//! tail from data, and decoders check every length before using it.
//!
//! Pack file  = "REELPACK" u16:version u8:tenant_len tenant, then records.
//! Record     = "RCK1" u8:flags(bit0 zstd) [3]:0 u32:plain_len u32:stored_len
//!              [32]:id u32:crc32c(record header bytes 0..48 ++ data), data.
//! Index file = "REELIDX1" u16:version u8:tenant_len tenant u64:pack_len
//!              u32:count, count × (id, u64:offset, u32:stored_len,
//!              u32:plain_len, u8:flags), u32:crc32c(all before).
//! Set file   = "REELSET1" u16:version u8:len tenant u8:len set u16:len name
//!              u64:created_secs u32:created_nanos u64:logical_size
//!              [32]:stream_hash u64:count, count × (id, u32:len),
//!              u32:crc32c(all before).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{ChunkId, ChunkRef, DedupError, SetHeader, SetId, SetIndex, TenantId};

pub const PACK_MAGIC: &[u8; 8] = b"REELPACK";
pub const IDX_MAGIC: &[u8; 8] = b"REELIDX1";
pub const SET_MAGIC: &[u8; 8] = b"REELSET1";
pub const RECORD_MAGIC: &[u8; 4] = b"RCK1";
pub const VERSION: u16 = 1;
pub const RECORD_HEADER: usize = 52;
pub const FLAG_ZSTD: u8 = 1;
const IDX_ENTRY: usize = 32 + 8 + 4 + 4 + 1;
const SET_ENTRY: usize = 32 + 4;
/// Largest chunk a record may hold (max chunk size is 16 MiB; a little slack
/// for incompressible data that zstd would grow).
pub const MAX_RECORD_DATA: u32 = 17 << 20;

fn corrupt(what: &str, detail: impl Into<String>) -> DedupError {
    DedupError::Corrupt {
        what: what.to_string(),
        detail: detail.into(),
    }
}

/// A little-endian cursor that fails instead of panicking.
struct Cur<'a> {
    b: &'a [u8],
    what: &'a str,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DedupError> {
        if self.b.len() < n {
            return Err(corrupt(self.what, "truncated"));
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DedupError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DedupError> {
        Ok(self.arr::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, DedupError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, DedupError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, DedupError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn str(&mut self, n: usize) -> Result<&'a str, DedupError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| corrupt(self.what, "name is not UTF-8"))
    }
}

/// Checks and strips the trailing CRC32C of a whole file.
fn check_crc<'a>(data: &'a [u8], what: &str) -> Result<&'a [u8], DedupError> {
    if data.len() < 4 {
        return Err(corrupt(what, "truncated"));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32c::crc32c(body) != stored {
        return Err(corrupt(what, "checksum mismatch"));
    }
    Ok(body)
}

fn check_magic(c: &mut Cur, magic: &[u8], what: &str) -> Result<(), DedupError> {
    if c.take(magic.len())? != magic {
        return Err(corrupt(what, "bad magic"));
    }
    let v = c.u16()?;
    if v != VERSION {
        return Err(corrupt(what, format!("unsupported version {v}")));
    }
    Ok(())
}

// ---- pack header ----

pub fn encode_pack_header(tenant: &TenantId) -> Vec<u8> {
    let mut v = Vec::with_capacity(11 + tenant.as_str().len());
    v.extend_from_slice(PACK_MAGIC);
    v.extend_from_slice(&VERSION.to_le_bytes());
    v.push(tenant.as_str().len() as u8);
    v.extend_from_slice(tenant.as_str().as_bytes());
    v
}

/// Returns the pack's tenant and the header length.
pub fn decode_pack_header(data: &[u8]) -> Result<(TenantId, usize), DedupError> {
    let mut c = Cur {
        b: data,
        what: "pack header",
    };
    check_magic(&mut c, PACK_MAGIC, "pack header")?;
    let n = c.u8()? as usize;
    let t = TenantId::new(c.str(n)?)?;
    Ok((t, 11 + n))
}

// ---- records ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub flags: u8,
    pub plain_len: u32,
    pub stored_len: u32,
    pub id: ChunkId,
    pub crc: u32,
}

pub fn encode_record(id: &ChunkId, flags: u8, plain_len: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(RECORD_HEADER + data.len());
    v.extend_from_slice(RECORD_MAGIC);
    v.push(flags);
    v.extend_from_slice(&[0; 3]);
    v.extend_from_slice(&plain_len.to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&id.0);
    let mut crc = crc32c::crc32c(&v);
    crc = crc32c::crc32c_append(crc, data);
    v.extend_from_slice(&crc.to_le_bytes());
    v.extend_from_slice(data);
    v
}

pub fn decode_record_header(b: &[u8]) -> Result<RecordHeader, DedupError> {
    let mut c = Cur {
        b,
        what: "chunk record",
    };
    if c.take(4)? != RECORD_MAGIC {
        return Err(corrupt("chunk record", "bad magic"));
    }
    let flags = c.u8()?;
    c.take(3)?;
    let plain_len = c.u32()?;
    let stored_len = c.u32()?;
    let id = ChunkId(c.arr()?);
    let crc = c.u32()?;
    if flags & !FLAG_ZSTD != 0 {
        return Err(corrupt("chunk record", format!("unknown flags {flags:#x}")));
    }
    if stored_len > MAX_RECORD_DATA || plain_len > MAX_RECORD_DATA {
        return Err(corrupt("chunk record", "length out of range"));
    }
    if flags & FLAG_ZSTD == 0 && stored_len != plain_len {
        return Err(corrupt(
            "chunk record",
            "stored length differs from plain length",
        ));
    }
    Ok(RecordHeader {
        flags,
        plain_len,
        stored_len,
        id,
        crc,
    })
}

/// Does the record's CRC match its header bytes and data?
pub fn record_crc_ok(header_bytes: &[u8], h: &RecordHeader, data: &[u8]) -> bool {
    header_bytes.len() >= 48 && {
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header_bytes[..48]), data);
        crc == h.crc
    }
}

/// One record found by [`scan_pack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdxEntry {
    pub id: ChunkId,
    /// Offset of the record header in the pack.
    pub offset: u64,
    pub stored_len: u32,
    pub plain_len: u32,
    pub flags: u8,
}

/// Walks a whole pack in memory: its tenant, the records whose CRC holds, and
/// the length of the valid prefix (a torn tail after a crash ends the scan).
pub fn scan_pack(data: &[u8]) -> Result<(TenantId, Vec<IdxEntry>, u64), DedupError> {
    let (tenant, mut pos) = decode_pack_header(data)?;
    let mut out = Vec::new();
    while pos + RECORD_HEADER <= data.len() {
        let hb = &data[pos..pos + RECORD_HEADER];
        let Ok(h) = decode_record_header(hb) else {
            break;
        };
        let start = pos + RECORD_HEADER;
        let Some(body) = data.get(start..start + h.stored_len as usize) else {
            break;
        };
        if !record_crc_ok(hb, &h, body) {
            break;
        }
        out.push(IdxEntry {
            id: h.id,
            offset: pos as u64,
            stored_len: h.stored_len,
            plain_len: h.plain_len,
            flags: h.flags,
        });
        pos = start + body.len();
    }
    Ok((tenant, out, pos as u64))
}

// ---- index files ----

pub fn encode_idx(tenant: &TenantId, pack_len: u64, entries: &[IdxEntry]) -> Vec<u8> {
    let mut v = Vec::with_capacity(40 + entries.len() * IDX_ENTRY);
    v.extend_from_slice(IDX_MAGIC);
    v.extend_from_slice(&VERSION.to_le_bytes());
    v.push(tenant.as_str().len() as u8);
    v.extend_from_slice(tenant.as_str().as_bytes());
    v.extend_from_slice(&pack_len.to_le_bytes());
    v.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        v.extend_from_slice(&e.id.0);
        v.extend_from_slice(&e.offset.to_le_bytes());
        v.extend_from_slice(&e.stored_len.to_le_bytes());
        v.extend_from_slice(&e.plain_len.to_le_bytes());
        v.push(e.flags);
    }
    let crc = crc32c::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

/// Decodes an index file: tenant, pack length, entries.
pub fn decode_idx(data: &[u8]) -> Result<(TenantId, u64, Vec<IdxEntry>), DedupError> {
    let body = check_crc(data, "pack index")?;
    let mut c = Cur {
        b: body,
        what: "pack index",
    };
    check_magic(&mut c, IDX_MAGIC, "pack index")?;
    let n = c.u8()? as usize;
    let tenant = TenantId::new(c.str(n)?)?;
    let pack_len = c.u64()?;
    let count = c.u32()? as usize;
    if c.b.len() != count.saturating_mul(IDX_ENTRY) {
        return Err(corrupt(
            "pack index",
            "entry count does not match the length",
        ));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let e = IdxEntry {
            id: ChunkId(c.arr()?),
            offset: c.u64()?,
            stored_len: c.u32()?,
            plain_len: c.u32()?,
            flags: c.u8()?,
        };
        let end = e
            .offset
            .checked_add(RECORD_HEADER as u64 + u64::from(e.stored_len));
        if end.is_none_or(|end| end > pack_len) || e.flags & !FLAG_ZSTD != 0 {
            return Err(corrupt("pack index", "entry outside the pack"));
        }
        out.push(e);
    }
    Ok((tenant, pack_len, out))
}

// ---- set files ----

fn time_parts(t: SystemTime) -> (u64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs(), d.subsec_nanos()),
        Err(_) => (0, 0),
    }
}

pub fn encode_set(index: &SetIndex) -> Vec<u8> {
    let h = &index.header;
    let mut v = Vec::with_capacity(128 + index.chunks.len() * SET_ENTRY);
    v.extend_from_slice(SET_MAGIC);
    v.extend_from_slice(&VERSION.to_le_bytes());
    v.push(h.tenant.as_str().len() as u8);
    v.extend_from_slice(h.tenant.as_str().as_bytes());
    v.push(h.set.as_str().len() as u8);
    v.extend_from_slice(h.set.as_str().as_bytes());
    let name = truncate_name(&h.name);
    v.extend_from_slice(&(name.len() as u16).to_le_bytes());
    v.extend_from_slice(name.as_bytes());
    let (s, n) = time_parts(h.created);
    v.extend_from_slice(&s.to_le_bytes());
    v.extend_from_slice(&n.to_le_bytes());
    v.extend_from_slice(&h.logical_size.to_le_bytes());
    v.extend_from_slice(&h.stream_hash);
    v.extend_from_slice(&(index.chunks.len() as u64).to_le_bytes());
    for c in &index.chunks {
        v.extend_from_slice(&c.id.0);
        v.extend_from_slice(&c.len.to_le_bytes());
    }
    let crc = crc32c::crc32c(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

/// Longest set name, in bytes.
pub const MAX_NAME: usize = 4096;

/// Set names are at most [`MAX_NAME`] bytes, cut on a character boundary.
pub fn truncate_name(name: &str) -> &str {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

pub fn decode_set(data: &[u8]) -> Result<SetIndex, DedupError> {
    let body = check_crc(data, "set index")?;
    let mut c = Cur {
        b: body,
        what: "set index",
    };
    check_magic(&mut c, SET_MAGIC, "set index")?;
    let n = c.u8()? as usize;
    let tenant = TenantId::new(c.str(n)?)?;
    let n = c.u8()? as usize;
    let set = SetId::new(c.str(n)?)?;
    let n = c.u16()? as usize;
    if n > MAX_NAME {
        return Err(corrupt("set index", "name too long"));
    }
    let name = c.str(n)?.to_string();
    let secs = c.u64()?;
    let nanos = c.u32()?;
    if nanos >= 1_000_000_000 {
        return Err(corrupt("set index", "bad timestamp"));
    }
    let created = UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .ok_or_else(|| corrupt("set index", "bad timestamp"))?;
    let logical_size = c.u64()?;
    let stream_hash = c.arr()?;
    let count = c.u64()?;
    if c.b.len() as u64 != count.saturating_mul(SET_ENTRY as u64) {
        return Err(corrupt(
            "set index",
            "chunk count does not match the length",
        ));
    }
    let mut chunks = Vec::with_capacity(c.b.len() / SET_ENTRY);
    let mut total: u64 = 0;
    for _ in 0..count {
        let id = ChunkId(c.arr()?);
        let len = c.u32()?;
        total += u64::from(len);
        chunks.push(ChunkRef { id, len });
    }
    if total != logical_size {
        return Err(corrupt(
            "set index",
            "chunk lengths do not add up to the logical size",
        ));
    }
    Ok(SetIndex {
        header: SetHeader {
            tenant,
            set,
            name,
            created,
            logical_size,
            stream_hash,
        },
        chunks,
    })
}
