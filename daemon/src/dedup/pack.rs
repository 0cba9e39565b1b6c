//! Pack files: writing through the disk driver, reading single records.

use std::path::{Path, PathBuf};

use super::disk::{self, DiskDriver, DiskReader, DiskWriter};
use super::format::{self, IdxEntry, RECORD_HEADER, RecordHeader};
use super::{ChunkId, DedupError, TenantId};

pub fn random_bytes<const N: usize>() -> Result<[u8; N], DedupError> {
    use std::io::Read;
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(DedupError::io("/dev/urandom"))?;
    Ok(b)
}

pub fn random_hex(n: usize) -> Result<String, DedupError> {
    let b = random_bytes::<16>()?;
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(s[..n.min(32)].to_string())
}

pub fn pack_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("packs").join(name.get(..2).unwrap_or("00"))
}

pub fn pack_path(dir: &Path, name: &str) -> PathBuf {
    pack_dir(dir, name).join(format!("{name}.pack"))
}

pub fn idx_path(dir: &Path, name: &str) -> PathBuf {
    pack_dir(dir, name).join(format!("{name}.idx"))
}

/// Writes `data` to `path` durably: tmp file, fdatasync, rename, dir fsync.
pub fn write_file_durable(
    driver: &DiskDriver,
    dir: &Path,
    path: &Path,
    data: &[u8],
) -> Result<(), DedupError> {
    let tmp = dir.join("tmp").join(format!("{}.tmp", random_hex(24)?));
    let mut w = DiskWriter::create(driver, &tmp)?;
    w.write_all(data)?;
    w.finish()?;
    disk::rename_durable(&tmp, path)?;
    Ok(())
}

/// A pack being written by one writer for one tenant.
pub struct PackWriter {
    pub name: String,
    tenant: TenantId,
    w: DiskWriter,
    entries: Vec<IdxEntry>,
}

/// A pack whose data and index are durable.
pub struct Sealed {
    pub name: String,
    pub tenant: TenantId,
    pub len: u64,
    pub entries: Vec<IdxEntry>,
}

impl PackWriter {
    /// `name` must already be in the writer's lease.
    pub fn create(
        driver: &DiskDriver,
        dir: &Path,
        name: &str,
        tenant: &TenantId,
    ) -> Result<PackWriter, DedupError> {
        let pdir = pack_dir(dir, name);
        if !pdir.exists() {
            std::fs::create_dir_all(&pdir).map_err(DedupError::io(&pdir))?;
            disk::sync_dir(&dir.join("packs"))?;
        }
        let mut w = DiskWriter::create(driver, &pack_path(dir, name))?;
        w.write_all(&format::encode_pack_header(tenant))?;
        Ok(PackWriter {
            name: name.to_string(),
            tenant: tenant.clone(),
            w,
            entries: Vec::new(),
        })
    }

    pub fn len(&self) -> u64 {
        self.w.position()
    }

    pub fn append(
        &mut self,
        id: &ChunkId,
        flags: u8,
        plain_len: u32,
        stored: &[u8],
    ) -> Result<IdxEntry, DedupError> {
        let offset = self.w.position();
        let rec = format::encode_record(id, flags, plain_len, stored);
        self.w.write_all(&rec)?;
        let e = IdxEntry {
            id: *id,
            offset,
            stored_len: stored.len() as u32,
            plain_len,
            flags,
        };
        self.entries.push(e);
        Ok(e)
    }

    /// Makes the pack durable, then its index.
    pub fn seal(self, driver: &DiskDriver, dir: &Path) -> Result<Sealed, DedupError> {
        let len = self.w.finish()?;
        let idx = format::encode_idx(&self.tenant, len, &self.entries);
        write_file_durable(driver, dir, &idx_path(dir, &self.name), &idx)?;
        Ok(Sealed {
            name: self.name,
            tenant: self.tenant,
            len,
            entries: self.entries,
        })
    }
}

/// Reads one record (header + stored data) and checks its CRC and id.
pub fn read_record(
    r: &mut DiskReader,
    what: &str,
    e: &IdxEntry,
) -> Result<(RecordHeader, Vec<u8>), DedupError> {
    let mut buf = vec![0u8; RECORD_HEADER + e.stored_len as usize];
    r.read_exact_at(e.offset, &mut buf)?;
    let h =
        format::decode_record_header(&buf[..RECORD_HEADER]).map_err(|err| DedupError::Corrupt {
            what: format!("{what} at offset {}", e.offset),
            detail: err.to_string(),
        })?;
    if h.id != e.id || h.stored_len != e.stored_len || h.plain_len != e.plain_len {
        return Err(DedupError::Corrupt {
            what: format!("{what} at offset {}", e.offset),
            detail: "record does not match the index".into(),
        });
    }
    let data = buf.split_off(RECORD_HEADER);
    if !format::record_crc_ok(&buf, &h, &data) {
        return Err(DedupError::Corrupt {
            what: format!("{what} at offset {}", e.offset),
            detail: "record checksum mismatch".into(),
        });
    }
    Ok((h, data))
}
