//! Virtual cartridges stored as files.
//!
//! A cartridge is a directory holding one metadata file and, per
//! partition `N` (0..=3), a data file and an index file:
//!
//! | file | content |
//! | --- | --- |
//! | `cartridge.json` | spec (barcode, generation, capacity, WORM, partitions), partition capacities, write-protect, load count, lifetime byte counters, MAM attributes. Replaced atomically (temp file, fsync, rename, directory fsync). |
//! | `pN.data` | file header, then objects (records and filemarks) back to back; end of file = end of data |
//! | `pN.index` | file header, then fixed-size index entries, appended |
//!
//! All integers are little-endian. All CRCs are CRC32C (Castagnoli).
//!
//! **File header** (32 bytes, both `pN.data` and `pN.index`):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic: `REELDATA` (data) or `REELINDX` (index) |
//! | 8 | 2 | format version, u16 = 1 |
//! | 10 | 1 | partition number 0..=3 |
//! | 11 | 1 | reserved, 0 |
//! | 12 | 8 | cartridge id, u64 (same as `cartridge_id` in `cartridge.json`) |
//! | 20 | 8 | reserved, 0 |
//! | 28 | 4 | CRC32C of bytes 0..28 |
//!
//! **Record header** (32 bytes, in front of every object in `pN.data`):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 4 | magic `RECD` |
//! | 4 | 1 | kind: 1 = data record, 2 = filemark |
//! | 5 | 1 | flags: bit 0 = stored bytes are one zstd frame; other bits 0 |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 8 | block: logical object number in the partition (records + filemarks before it) |
//! | 16 | 4 | logical length (bytes the host wrote), at most 16 MiB |
//! | 20 | 4 | stored length (bytes following this header), at most 16 MiB; equals the logical length unless compressed; 0 for filemarks |
//! | 24 | 4 | CRC32C of the stored bytes (0 for filemarks) |
//! | 28 | 4 | CRC32C of bytes 0..28 |
//!
//! **Index entry** (24 bytes, in `pN.index`):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | kind: 1 = checkpoint, 2 = filemark, 3 = sync marker |
//! | 1 | 3 | reserved, 0 |
//! | 4 | 8 | block (object number) |
//! | 12 | 8 | byte offset of that object in `pN.data` (sync marker: end of data) |
//! | 20 | 4 | CRC32C of bytes 0..20 |
//!
//! Entries are in object order. A checkpoint is written for every object
//! whose number is a multiple of 32 and a filemark entry for every
//! filemark, so LOCATE and SPACE are a binary search plus at most 31
//! header reads. A sync marker says "all objects before `block` (ending at
//! `offset`) were durable when this entry was written".
//!
//! **Crash safety.** [`Cartridge::sync`] fdatasyncs the data file, then
//! appends the pending index entries and a sync marker and fdatasyncs the
//! index. On open the index is trusted up to its last valid sync marker;
//! the data after that point (never acknowledged) is verified record by
//! record (header CRC, block number, length, data CRC) and the first
//! partial or bad record and everything after it is cut off. Overwriting
//! in the middle rewrites the index atomically before truncating the data.
//!
//! **Capacity.** Each object costs its 32-byte header plus its stored
//! bytes (compressed size when compression made it smaller). The early
//! warning point (EW) is 2 % of the partition capacity before its end; the
//! programmable early warning point (PEW) is [`Cartridge::set_pew_size`]
//! bytes before EW. A write that does not fit before the end of the
//! partition fails with [`CartridgeError::VolumeOverflow`] and writes nothing.

mod error;
mod fileio;
mod generation;
pub mod layout;
mod meta;
mod partition;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use reel_drivers::storage::codec::looks_incompressible;
use tracing::warn;

pub use error::CartridgeError;
pub use generation::{Generation, can_read, can_write};
use layout::{FILE_HEADER_LEN, MAX_RECORD_LEN, RECORD_HEADER_LEN, RecordHeader, RecordKind};
pub use meta::{CartridgeSpec, MAX_BARCODE_LEN};
use meta::{META_FILE, META_FORMAT, META_VERSION, Meta};
use partition::Partition;

use fileio::{corrupt, fsync_dir, io_err, pread_into};

const HDR: u64 = FILE_HEADER_LEN as u64;
const RHDR: u64 = RECORD_HEADER_LEN as u64;
/// zstd level: fast, the drive must keep up with the host.
const ZSTD_LEVEL: i32 = 1;

/// Logical position on the tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapePosition {
    pub partition: u8,
    /// Logical object number: records + filemarks before the position.
    pub block: u64,
    /// Filemarks before the position.
    pub file: u64,
}

/// Outcome of [`Cartridge::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRecord {
    /// A data record: `len` is its true length, `copied` what fit in the buffer.
    Data { len: usize, copied: usize },
    /// A filemark was read (and passed).
    Filemark,
    /// End of data; the position does not move.
    EndOfData,
}

/// Outcome of a SPACE or LOCATE. `remaining` is the requested count minus
/// what was actually spaced over (the SSC INFORMATION field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceResult {
    Done,
    /// Stopped at a filemark (forward: after it; backward: before it).
    Filemark {
        remaining: u64,
    },
    /// Stopped at end of data.
    EndOfData {
        remaining: u64,
    },
    /// Stopped at the beginning of the partition.
    BeginningOfPartition {
        remaining: u64,
    },
}

/// Where a write left the partition's fill level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteState {
    /// Past the early warning point.
    pub early_warning: bool,
    /// Past the programmable early warning point.
    pub programmable_early_warning: bool,
}

/// Byte counters. `capacity`, `remaining` and `written_bytes_native`
/// describe the current partition; the host counters are lifetime totals
/// of the cartridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes the current partition's objects take on the medium (after compression).
    pub written_bytes_native: u64,
    /// Bytes the host ever wrote to this cartridge.
    pub host_bytes_written: u64,
    /// Bytes ever read back to the host.
    pub host_bytes_read: u64,
    /// Bytes left in the current partition.
    pub remaining: u64,
    /// Native capacity of the current partition.
    pub capacity: u64,
}

/// An open virtual cartridge. Dropping it syncs (like an unload); use
/// [`Cartridge::close`] to see errors, [`Cartridge::abandon`] to simulate
/// a crash.
pub struct Cartridge {
    dir: PathBuf,
    meta: Meta,
    parts: Vec<Partition>,
    cur: usize,
    block: u64,
    offset: u64,
    /// Header of the object at `offset`, read ahead with the previous record.
    next_header: Option<(u64, RecordHeader)>,
    pew_size: u64,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
    scratch: Vec<u8>,
    scratch2: Vec<u8>,
    meta_dirty: bool,
    closed: bool,
}

impl std::fmt::Debug for Cartridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cartridge")
            .field("dir", &self.dir)
            .field("spec", &self.meta.spec)
            .field("position", &self.position())
            .finish_non_exhaustive()
    }
}

fn new_cartridge_id(path: &Path) -> u64 {
    // RandomState is randomly keyed per process: good enough to tell
    // cartridges apart without a rand dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(path.as_os_str().as_encoded_bytes());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

impl Cartridge {
    /// Creates a new, blank cartridge in directory `path` (created if missing).
    pub fn create(path: &Path, spec: &CartridgeSpec) -> Result<Cartridge, CartridgeError> {
        spec.validate().map_err(CartridgeError::InvalidSpec)?;
        std::fs::create_dir_all(path).map_err(|e| io_err(path, "create directory", e))?;
        let meta_path = path.join(META_FILE);
        if meta_path.exists() {
            return Err(CartridgeError::AlreadyExists(path.to_path_buf()));
        }
        let n = u64::from(spec.partitions);
        let meta = Meta {
            format: META_FORMAT.to_string(),
            version: META_VERSION,
            cartridge_id: new_cartridge_id(path),
            spec: spec.clone(),
            partition_capacity: vec![spec.capacity / n; usize::from(spec.partitions)],
            write_protected: false,
            load_count: 0,
            host_bytes_written: 0,
            host_bytes_read: 0,
            attributes: BTreeMap::new(),
        };
        let mut parts = Vec::new();
        for p in 0..spec.partitions {
            parts.push(Partition::create(path, p, meta.cartridge_id)?);
        }
        // The metadata file is written last: it is what makes the directory a cartridge.
        meta.save(&meta_path)?;
        fsync_dir(path)?;
        Ok(Cartridge::assemble(path, meta, parts))
    }

    /// Opens an existing cartridge, recovering a torn tail (see module docs).
    pub fn open(path: &Path) -> Result<Cartridge, CartridgeError> {
        let meta = Meta::load(&path.join(META_FILE))?;
        let mut parts = Vec::new();
        for p in 0..meta.spec.partitions {
            parts.push(Partition::open(path, p, meta.cartridge_id)?);
        }
        Ok(Cartridge::assemble(path, meta, parts))
    }

    fn assemble(path: &Path, meta: Meta, parts: Vec<Partition>) -> Cartridge {
        Cartridge {
            dir: path.to_path_buf(),
            meta,
            parts,
            cur: 0,
            block: 0,
            offset: HDR,
            next_header: None,
            pew_size: 0,
            compressor: None,
            decompressor: None,
            scratch: Vec::new(),
            scratch2: Vec::new(),
            meta_dirty: false,
            closed: false,
        }
    }

    /// Directory of the cartridge.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn spec(&self) -> &CartridgeSpec {
        &self.meta.spec
    }

    /// Number of partitions on the medium.
    pub fn partitions(&self) -> u8 {
        self.meta.spec.partitions
    }

    /// Native capacity of partition `p`.
    pub fn partition_capacity(&self, p: u8) -> Option<u64> {
        self.meta.partition_capacity.get(usize::from(p)).copied()
    }

    /// Number of objects (records + filemarks) in partition `p`: the block
    /// number of its end of data.
    pub fn eod_block(&self, p: u8) -> Option<u64> {
        self.parts.get(usize::from(p)).map(|x| x.eod_block)
    }

    pub fn write_protected(&self) -> bool {
        self.meta.write_protected
    }

    /// Sets or clears the write-protect tab (persisted).
    pub fn set_write_protected(&mut self, on: bool) -> Result<(), CartridgeError> {
        self.meta.write_protected = on;
        self.save_meta()
    }

    /// Size of the programmable early warning zone before EW (0 = off).
    pub fn pew_size(&self) -> u64 {
        self.pew_size
    }

    /// Sets the programmable early warning zone (a drive setting, not persisted).
    pub fn set_pew_size(&mut self, bytes: u64) {
        self.pew_size = bytes;
    }

    pub fn position(&self) -> TapePosition {
        TapePosition {
            partition: self.cur as u8,
            block: self.block,
            file: self.part().file_number(self.block),
        }
    }

    pub fn at_bop(&self) -> bool {
        self.block == 0
    }

    pub fn at_eod(&self) -> bool {
        self.block >= self.part().eod_block
    }

    fn part(&self) -> &Partition {
        &self.parts[self.cur]
    }

    fn set_pos(&mut self, block: u64, offset: u64) {
        self.block = block;
        self.offset = offset;
        self.next_header = None;
    }

    /// Reads the object at the position and passes it. Data records are
    /// CRC-checked; a mismatch returns [`CartridgeError::CrcMismatch`] and
    /// leaves the position after the bad record so reading can go on.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<ReadRecord, CartridgeError> {
        let p = &self.parts[self.cur];
        if self.block >= p.eod_block {
            return Ok(ReadRecord::EndOfData);
        }
        let h = match self.next_header.take() {
            Some((o, h)) if o == self.offset => {
                p.check_header(&h, o, self.block)?;
                h
            }
            _ => p.read_header(self.offset, self.block)?,
        };
        let data_off = self.offset + RHDR;
        let next_off = data_off + u64::from(h.stored_len);
        if h.kind == RecordKind::Filemark {
            self.set_pos(self.block + 1, next_off);
            return Ok(ReadRecord::Filemark);
        }
        // Read the next header along with the data: sequential reads then
        // cost one preadv per record.
        let mut next_hb = [0u8; RECORD_HEADER_LEN];
        let want_next = next_off < p.end;
        let stored = h.stored_len as usize;
        let logical = h.logical_len as usize;
        let copied;
        let crc_ok;
        if !h.compressed() && stored <= buf.len() {
            let dst = &mut buf[..stored];
            let n = if want_next {
                pread_into(&p.data, &p.data_path, &mut [dst, &mut next_hb], data_off)?
            } else {
                pread_into(&p.data, &p.data_path, &mut [dst], data_off)?
            };
            if n < stored {
                return Err(corrupt(&p.data_path, data_off, "record data cut short"));
            }
            crc_ok = crc32c::crc32c(&buf[..stored]) == h.data_crc;
            copied = stored;
        } else {
            self.scratch.resize(stored, 0);
            let n = if want_next {
                pread_into(
                    &p.data,
                    &p.data_path,
                    &mut [&mut self.scratch, &mut next_hb],
                    data_off,
                )?
            } else {
                pread_into(&p.data, &p.data_path, &mut [&mut self.scratch], data_off)?
            };
            if n < stored {
                return Err(corrupt(&p.data_path, data_off, "record data cut short"));
            }
            crc_ok = crc32c::crc32c(&self.scratch) == h.data_crc;
            if !crc_ok {
                copied = 0;
            } else if h.compressed() {
                let dec = match &mut self.decompressor {
                    Some(d) => d,
                    None => self.decompressor.insert(
                        zstd::bulk::Decompressor::new()
                            .map_err(|e| io_err(&self.dir, "zstd init", e))?,
                    ),
                };
                let bad = |_| {
                    corrupt(
                        &p.data_path,
                        data_off,
                        "compressed record does not decompress",
                    )
                };
                let n = if logical <= buf.len() {
                    dec.decompress_to_buffer(&self.scratch[..], &mut buf[..logical])
                        .map_err(bad)?
                } else {
                    self.scratch2.clear();
                    self.scratch2.reserve(logical);
                    dec.decompress_to_buffer(&self.scratch[..], &mut self.scratch2)
                        .map_err(bad)?
                };
                if n != logical {
                    return Err(corrupt(
                        &p.data_path,
                        data_off,
                        "decompressed length differs from header",
                    ));
                }
                copied = logical.min(buf.len());
                if logical > buf.len() {
                    buf.copy_from_slice(&self.scratch2[..copied]);
                }
            } else {
                copied = buf.len();
                buf.copy_from_slice(&self.scratch[..copied]);
            }
        }
        let block = self.block;
        self.set_pos(block + 1, next_off);
        if !crc_ok {
            return Err(CartridgeError::CrcMismatch { block });
        }
        if want_next && let Ok(nh) = RecordHeader::decode(&next_hb) {
            self.next_header = Some((next_off, nh));
        }
        self.meta.host_bytes_read += copied as u64;
        self.meta_dirty = true;
        Ok(ReadRecord::Data {
            len: logical,
            copied,
        })
    }

    fn check_writable(&self) -> Result<(), CartridgeError> {
        if self.meta.write_protected {
            return Err(CartridgeError::WriteProtected);
        }
        Ok(())
    }

    /// WORM: writing is allowed at end of data, and over filemarks that
    /// are the only objects between the position and end of data (so an
    /// application can append after its closing filemarks).
    fn check_worm(&self) -> Result<(), CartridgeError> {
        if !self.meta.spec.worm {
            return Ok(());
        }
        let p = self.part();
        let after = p.filemarks.len() as u64 - p.file_number(self.block);
        if after == p.eod_block - self.block {
            Ok(())
        } else {
            Err(CartridgeError::WormOverwrite)
        }
    }

    /// The zone (EW / PEW) that `bytes` of the current partition reach.
    /// The one place the thresholds live: the write path and the position
    /// query both use it, so they cannot disagree.
    fn zone_at(&self, bytes: u64) -> WriteState {
        let cap = self.meta.partition_capacity[self.cur];
        let ew = cap - cap / 50;
        WriteState {
            early_warning: bytes >= ew,
            programmable_early_warning: self.pew_size > 0
                && bytes >= ew.saturating_sub(self.pew_size),
        }
    }

    /// Zone of the partition's fill level (end of data), as a write reports it.
    fn write_state(&self) -> WriteState {
        self.zone_at(self.part().used())
    }

    /// Zone of the current physical position: whether the medium before
    /// the position reaches EW / PEW. A real drive reports this from where
    /// the head is, whatever command moved it there (write, read, SPACE,
    /// LOCATE) and whether or not the cartridge was reloaded since.
    pub fn zone(&self) -> WriteState {
        self.zone_at(self.offset - HDR)
    }

    /// Fails with VOLUME OVERFLOW when `bytes` more do not fit after the position.
    fn check_room(&self, bytes: u64) -> Result<(), CartridgeError> {
        let cap = self.meta.partition_capacity[self.cur];
        if self.offset - HDR + bytes > cap {
            return Err(CartridgeError::VolumeOverflow);
        }
        Ok(())
    }

    /// Writes one record at the position, first erasing everything after
    /// it (tape semantics). `compress` stores it as zstd when that is smaller.
    /// An empty `data` writes nothing (a zero-length WRITE transfers nothing).
    pub fn write(&mut self, data: &[u8], compress: bool) -> Result<WriteState, CartridgeError> {
        self.check_writable()?;
        if data.is_empty() {
            return Ok(self.write_state());
        }
        if data.len() > MAX_RECORD_LEN as usize {
            return Err(CartridgeError::RecordTooLarge {
                len: data.len(),
                max: MAX_RECORD_LEN,
            });
        }
        self.check_worm()?;
        let mut compressed = false;
        // Random or already compressed data would only cost a full zstd
        // pass to be stored as it is anyway: a byte-entropy sample tells.
        if compress && !data.is_empty() && !looks_incompressible(data) {
            let c = match &mut self.compressor {
                Some(c) => c,
                None => self.compressor.insert(
                    zstd::bulk::Compressor::new(ZSTD_LEVEL)
                        .map_err(|e| io_err(&self.dir, "zstd init", e))?,
                ),
            };
            self.scratch.clear();
            self.scratch.reserve(data.len());
            // Output larger than the input is an error here: then store raw.
            if let Ok(n) = c.compress_to_buffer(data, &mut self.scratch) {
                compressed = n < data.len();
            }
        }
        let stored: &[u8] = if compressed { &self.scratch } else { data };
        self.check_room(RHDR + stored.len() as u64)?;
        let header = RecordHeader {
            kind: RecordKind::Data,
            flags: if compressed {
                layout::FLAG_COMPRESSED
            } else {
                0
            },
            block: self.block,
            logical_len: data.len() as u32,
            stored_len: stored.len() as u32,
            data_crc: crc32c::crc32c(stored),
        };
        let p = &mut self.parts[self.cur];
        p.truncate(self.block, self.offset)?;
        p.append(&header, stored)?;
        let end = p.end;
        self.set_pos(self.block + 1, end);
        self.meta.host_bytes_written += data.len() as u64;
        self.meta_dirty = true;
        Ok(self.write_state())
    }

    /// Writes `count` filemarks at the position (erasing what follows).
    /// `count == 0` writes nothing and erases nothing.
    pub fn write_filemarks(&mut self, count: u32) -> Result<WriteState, CartridgeError> {
        if count == 0 {
            return Ok(self.write_state());
        }
        self.check_writable()?;
        self.check_worm()?;
        self.check_room(u64::from(count) * RHDR)?;
        let p = &mut self.parts[self.cur];
        p.truncate(self.block, self.offset)?;
        p.append_filemarks(count)?;
        let end = p.end;
        self.set_pos(self.block + u64::from(count), end);
        Ok(self.write_state())
    }

    /// Makes everything written so far durable (data, index, metadata).
    pub fn sync(&mut self) -> Result<(), CartridgeError> {
        for p in &mut self.parts {
            p.sync()?;
        }
        if self.meta_dirty {
            self.save_meta()?;
        }
        Ok(())
    }

    fn save_meta(&mut self) -> Result<(), CartridgeError> {
        self.meta.save(&self.dir.join(META_FILE))?;
        self.meta_dirty = false;
        Ok(())
    }

    /// Spaces `count` blocks forward (positive) or backward (negative),
    /// stopping at a filemark, end of data or beginning of partition.
    pub fn space_blocks(&mut self, count: i64) -> Result<SpaceResult, CartridgeError> {
        let b = self.block;
        let n = count.unsigned_abs();
        let p = self.part();
        if count > 0 {
            let i = p.filemarks.partition_point(|&(f, _)| f < b);
            let eod = p.eod_block;
            if let Some(&(f, _)) = p.filemarks.get(i)
                && f - b < n
            {
                self.goto(f + 1)?;
                return Ok(SpaceResult::Filemark {
                    remaining: n - (f - b),
                });
            }
            if b + n > eod {
                self.goto(eod)?;
                return Ok(SpaceResult::EndOfData {
                    remaining: n - (eod - b),
                });
            }
            self.goto(b + n)?;
        } else if count < 0 {
            let i = p.filemarks.partition_point(|&(f, _)| f < b);
            if i > 0 {
                let (f, _) = p.filemarks[i - 1];
                let spaced = b - 1 - f;
                if spaced < n {
                    self.goto(f)?;
                    return Ok(SpaceResult::Filemark {
                        remaining: n - spaced,
                    });
                }
            }
            if n > b {
                self.goto(0)?;
                return Ok(SpaceResult::BeginningOfPartition { remaining: n - b });
            }
            self.goto(b - n)?;
        }
        Ok(SpaceResult::Done)
    }

    /// Spaces over `count` filemarks forward (ending after the last one)
    /// or backward (ending before the last one crossed).
    pub fn space_filemarks(&mut self, count: i64) -> Result<SpaceResult, CartridgeError> {
        let b = self.block;
        let n = count.unsigned_abs();
        let p = self.part();
        let before = p.filemarks.partition_point(|&(f, _)| f < b) as u64;
        let total = p.filemarks.len() as u64;
        if count > 0 {
            let after = total - before;
            if n > after {
                let eod = p.eod_block;
                self.goto(eod)?;
                return Ok(SpaceResult::EndOfData {
                    remaining: n - after,
                });
            }
            let (f, _) = p.filemarks[(before + n - 1) as usize];
            self.goto(f + 1)?;
        } else if count < 0 {
            if n > before {
                self.goto(0)?;
                return Ok(SpaceResult::BeginningOfPartition {
                    remaining: n - before,
                });
            }
            let (f, _) = p.filemarks[(before - n) as usize];
            self.goto(f)?;
        }
        Ok(SpaceResult::Done)
    }

    /// Moves to end of data of the current partition.
    pub fn space_to_eod(&mut self) -> Result<(), CartridgeError> {
        let eod = self.part().eod_block;
        self.goto(eod)
    }

    /// Moves to object `block` of the current partition (`<= eod_block`).
    fn goto(&mut self, block: u64) -> Result<(), CartridgeError> {
        if block == self.block {
            return Ok(());
        }
        let p = self.part();
        // Filemarks carry their offset: no header walk needed.
        let offset = match p.filemarks.binary_search_by_key(&block, |&(f, _)| f) {
            Ok(i) => p.filemarks[i].1,
            Err(_) => match block
                .checked_sub(1)
                .and_then(|b| p.filemarks.binary_search_by_key(&b, |&(f, _)| f).ok())
            {
                Some(i) => p.filemarks[i].1 + RHDR,
                None => p.offset_of(block)?,
            },
        };
        if offset > p.end {
            return Err(corrupt(
                &p.data_path,
                offset,
                "index points past end of data",
            ));
        }
        self.set_pos(block, offset);
        Ok(())
    }

    /// Moves to object `block` of `partition`. Past end of data the
    /// position is end of data and the result says how far short it is.
    pub fn locate(&mut self, partition: u8, block: u64) -> Result<SpaceResult, CartridgeError> {
        let idx = usize::from(partition);
        if idx >= self.parts.len() {
            return Err(CartridgeError::NoSuchPartition { partition });
        }
        if idx != self.cur {
            self.cur = idx;
            self.set_pos(0, HDR);
        }
        let eod = self.part().eod_block;
        if block > eod {
            self.goto(eod)?;
            return Ok(SpaceResult::EndOfData {
                remaining: block - eod,
            });
        }
        self.goto(block)?;
        Ok(SpaceResult::Done)
    }

    /// Moves to the beginning of partition 0.
    pub fn rewind(&mut self) {
        self.cur = 0;
        self.set_pos(0, HDR);
    }

    /// Makes the position the new end of data (WORM: only at end of data).
    pub fn erase_from_here(&mut self) -> Result<(), CartridgeError> {
        self.check_writable()?;
        if self.at_eod() {
            return Ok(());
        }
        if self.meta.spec.worm {
            return Err(CartridgeError::WormOverwrite);
        }
        let (block, offset) = (self.block, self.offset);
        self.parts[self.cur].truncate(block, offset)?;
        self.next_header = None;
        Ok(())
    }

    pub fn usage(&self) -> Usage {
        let cap = self.meta.partition_capacity[self.cur];
        let used = self.part().used();
        Usage {
            written_bytes_native: used,
            host_bytes_written: self.meta.host_bytes_written,
            host_bytes_read: self.meta.host_bytes_read,
            remaining: cap.saturating_sub(used),
            capacity: cap,
        }
    }

    /// MAM attributes stored with the cartridge, by identifier.
    pub fn attributes(&self) -> &BTreeMap<u16, Vec<u8>> {
        &self.meta.attributes
    }

    /// Sets a MAM attribute (persisted); an empty value deletes it, as a
    /// zero-length WRITE ATTRIBUTE does. Refused when write protected.
    pub fn set_attribute(&mut self, id: u16, value: Vec<u8>) -> Result<(), CartridgeError> {
        self.set_attributes(vec![(id, value)])
    }

    /// Sets the attributes of one WRITE ATTRIBUTE command together: one
    /// durable save of the metadata for all of them, not one per attribute.
    pub fn set_attributes(&mut self, updates: Vec<(u16, Vec<u8>)>) -> Result<(), CartridgeError> {
        self.check_writable()?;
        for (id, value) in updates {
            if value.is_empty() {
                self.meta.attributes.remove(&id);
            } else {
                self.meta.attributes.insert(id, value);
            }
        }
        self.save_meta()
    }

    pub fn load_count(&self) -> u64 {
        self.meta.load_count
    }

    /// Counts a load into a drive (persisted; allowed when write protected,
    /// as the drive updates cartridge memory regardless of the tab).
    pub fn note_load(&mut self) -> Result<(), CartridgeError> {
        self.meta.load_count += 1;
        self.save_meta()
    }

    /// Syncs and closes, reporting errors that a drop would only log.
    pub fn close(mut self) -> Result<(), CartridgeError> {
        self.closed = true;
        self.sync()
    }

    /// Closes without syncing: what a crash leaves behind (for tests and
    /// fault injection).
    pub fn abandon(mut self) {
        self.closed = true;
    }
}

impl Drop for Cartridge {
    fn drop(&mut self) {
        if !self.closed
            && let Err(e) = self.sync()
        {
            warn!(path = %self.dir.display(), error = %e, "syncing cartridge on drop failed");
        }
    }
}
