//! One partition: its data file (records and filemarks), its index file
//! (checkpoints, filemarks, sync markers) and the in-memory index built
//! from them. Recovery of a torn tail happens in [`Partition::open`].

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
use tracing::{debug, warn};

use super::error::CartridgeError;
use super::fileio::{
    corrupt, fdatasync, io_err, pread_exact, pread_into, pwrite_all, replace_file,
};
use super::layout::{
    DATA_MAGIC, FILE_HEADER_LEN, FileHeader, INDEX_ENTRY_LEN, INDEX_MAGIC, IndexEntry, IndexKind,
    RECORD_HEADER_LEN, RecordHeader, RecordKind,
};

/// A checkpoint is kept for every object whose number is a multiple of
/// this, so reaching any object reads at most `STRIDE - 1` headers.
pub(crate) const STRIDE: u64 = 32;
/// Index entries are buffered and appended in batches of this many bytes.
const PENDING_FLUSH: usize = 64 * 1024;
const HDR: u64 = FILE_HEADER_LEN as u64;
const RHDR: u64 = RECORD_HEADER_LEN as u64;

pub(crate) fn data_file_name(p: u8) -> String {
    format!("p{p}.data")
}
pub(crate) fn index_file_name(p: u8) -> String {
    format!("p{p}.index")
}

pub(crate) struct Partition {
    pub(crate) num: u8,
    pub(crate) data: File,
    pub(crate) data_path: PathBuf,
    index: File,
    index_path: PathBuf,
    cartridge_id: u64,
    /// Byte offset of end of data (= length of the valid data file).
    pub(crate) end: u64,
    /// Number of objects (records + filemarks) in the partition.
    pub(crate) eod_block: u64,
    /// `checkpoints[k]` = offset of object `k * STRIDE`, for every such object.
    checkpoints: Vec<u64>,
    /// (object number, offset) of every filemark, ascending.
    pub(crate) filemarks: Vec<(u64, u64)>,
    /// Encoded index entries not yet appended to the index file.
    pending: Vec<u8>,
    /// Bytes of the index file written so far.
    index_len: u64,
    /// Data was written or truncated since the last sync.
    dirty: bool,
    /// Start of the written range whose writeback has not been started.
    writeback_from: u64,
}

/// Bytes written between two starts of background writeback. A tape
/// streams: starting writeback as it goes keeps the flush at the next
/// synchronous filemark short and the page cache free of data nobody
/// re-reads soon.
const WRITEBACK_CHUNK: u64 = 32 << 20;

impl Partition {
    /// Creates both files of a new, empty partition (durably).
    pub(crate) fn create(
        dir: &Path,
        num: u8,
        cartridge_id: u64,
    ) -> Result<Partition, CartridgeError> {
        let data_path = dir.join(data_file_name(num));
        let index_path = dir.join(index_file_name(num));
        let header = FileHeader {
            magic: DATA_MAGIC,
            partition: num,
            cartridge_id,
        }
        .encode();
        replace_file(&data_path, &header)?;
        let mut idx = FileHeader {
            magic: INDEX_MAGIC,
            partition: num,
            cartridge_id,
        }
        .encode()
        .to_vec();
        idx.extend_from_slice(
            &IndexEntry {
                kind: IndexKind::Sync,
                block: 0,
                offset: HDR,
            }
            .encode(),
        );
        replace_file(&index_path, &idx)?;
        Partition::open(dir, num, cartridge_id)
    }

    /// Opens a partition, loads its index and recovers a torn tail: the
    /// index is trusted up to its last sync marker, the data after that
    /// point is scanned and verified record by record, and the first bad
    /// or partial record and everything after it is cut off.
    pub(crate) fn open(
        dir: &Path,
        num: u8,
        cartridge_id: u64,
    ) -> Result<Partition, CartridgeError> {
        let data_path = dir.join(data_file_name(num));
        let index_path = dir.join(index_file_name(num));
        let open = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map_err(|e| io_err(p, "open", e))
        };
        let data = open(&data_path)?;
        let index = open(&index_path)?;
        let data_len = data
            .metadata()
            .map_err(|e| io_err(&data_path, "stat", e))?
            .len();
        let index_file_len = index
            .metadata()
            .map_err(|e| io_err(&index_path, "stat", e))?
            .len();

        for (file, path, magic) in [
            (&data, &data_path, DATA_MAGIC),
            (&index, &index_path, INDEX_MAGIC),
        ] {
            let mut hb = [0u8; FILE_HEADER_LEN];
            pread_exact(file, path, &mut hb, 0)?;
            let h = FileHeader::decode(&hb, magic).map_err(|e| corrupt(path, 0, e.to_string()))?;
            if h.partition != num {
                return Err(corrupt(
                    path,
                    10,
                    format!("file belongs to partition {}", h.partition),
                ));
            }
            if h.cartridge_id != cartridge_id {
                return Err(corrupt(path, 12, "file belongs to another cartridge"));
            }
        }

        let mut part = Partition {
            num,
            data,
            data_path,
            index,
            index_path,
            cartridge_id,
            end: HDR,
            eod_block: 0,
            checkpoints: Vec::new(),
            filemarks: Vec::new(),
            pending: Vec::new(),
            index_len: HDR,
            dirty: false,
            writeback_from: HDR,
        };
        // Tapes are read front to back: ask for the larger readahead.
        advise(&part.data, 0, 0, PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL);
        let synced_index_len = part.load_index(data_len, index_file_len)?;
        part.index_len = synced_index_len;
        let index_torn = synced_index_len != index_file_len;
        let data_torn = part.scan_tail(data_len)?;
        if index_torn {
            debug!(path = %part.index_path.display(), from = index_file_len, to = synced_index_len,
                "dropping index entries after the last sync marker");
            part.index
                .set_len(synced_index_len)
                .map_err(|e| io_err(&part.index_path, "truncate", e))?;
            fdatasync(&part.index, &part.index_path)?;
        }
        if data_torn {
            warn!(path = %part.data_path.display(), from = data_len, to = part.end,
                "truncating torn tail of cartridge data");
            part.data
                .set_len(part.end)
                .map_err(|e| io_err(&part.data_path, "truncate", e))?;
            fdatasync(&part.data, &part.data_path)?;
        }
        Ok(part)
    }

    /// Reads the index file, keeping the state as of its last valid sync
    /// marker. Returns the index file length up to and including that
    /// marker. Sets `end`/`eod_block` to the marker's position.
    fn load_index(&mut self, data_len: u64, index_file_len: u64) -> Result<u64, CartridgeError> {
        let mut reader = BufReader::with_capacity(256 * 1024, &self.index);
        let mut skip = [0u8; FILE_HEADER_LEN];
        reader
            .read_exact(&mut skip)
            .map_err(|e| io_err(&self.index_path, "read", e))?;

        // State as of the last sync marker.
        let mut synced = (0usize, 0usize, 0u64, HDR, HDR); // checkpoints, filemarks, block, offset, index len
        let mut last: Option<(u64, u64)> = None; // (block, offset) of the last entry
        let mut pos = HDR;
        let mut buf = [0u8; INDEX_ENTRY_LEN];
        while pos + INDEX_ENTRY_LEN as u64 <= index_file_len {
            if reader.read_exact(&mut buf).is_err() {
                break;
            }
            let Ok(e) = IndexEntry::decode(&buf) else {
                debug!(path = %self.index_path.display(), offset = pos, "index ends in an invalid entry");
                break;
            };
            // Entries are written in object order: (block, offset) never goes
            // back, and each object takes at least one record header.
            let ordered = match last {
                None => e.offset >= HDR && e.offset - HDR >= e.block.saturating_mul(RHDR),
                Some((b, o)) => {
                    if e.block == b {
                        e.offset == o
                    } else {
                        e.block > b
                            && e.offset >= o
                            && e.offset - o >= (e.block - b).saturating_mul(RHDR)
                    }
                }
            };
            if !ordered || e.offset > data_len {
                debug!(path = %self.index_path.display(), offset = pos, "index entry out of order or past the data");
                break;
            }
            let ok = match e.kind {
                IndexKind::Checkpoint => {
                    let k = self.checkpoints.len() as u64;
                    if e.block == k.saturating_mul(STRIDE) {
                        self.checkpoints.push(e.offset);
                        true
                    } else {
                        false
                    }
                }
                IndexKind::Filemark => {
                    if self.filemarks.last().is_none_or(|&(f, _)| e.block > f) {
                        self.filemarks.push((e.block, e.offset));
                        true
                    } else {
                        false
                    }
                }
                IndexKind::Sync => true,
            };
            if !ok {
                debug!(path = %self.index_path.display(), offset = pos, "index entry inconsistent");
                break;
            }
            pos += INDEX_ENTRY_LEN as u64;
            last = Some((e.block, e.offset));
            if e.kind == IndexKind::Sync {
                synced = (
                    self.checkpoints.len(),
                    self.filemarks.len(),
                    e.block,
                    e.offset,
                    pos,
                );
            }
        }
        let (cp, fm, block, offset, len) = synced;
        self.checkpoints.truncate(cp);
        self.filemarks.truncate(fm);
        // A marker never covers an object its own entries describe past it.
        self.checkpoints.truncate(block.div_ceil(STRIDE) as usize);
        let keep = self.filemarks.partition_point(|&(f, _)| f < block);
        self.filemarks.truncate(keep);
        if (self.checkpoints.len() as u64) < block.div_ceil(STRIDE) {
            // Hostile or damaged index: rebuild from the data file.
            warn!(path = %self.index_path.display(), "index lacks checkpoints; rescanning data");
            self.checkpoints.clear();
            self.filemarks.clear();
            self.end = HDR;
            self.eod_block = 0;
            return Ok(HDR);
        }
        self.end = offset;
        self.eod_block = block;
        Ok(len)
    }

    /// Verifies the data after the synced point, appending index entries
    /// for what is valid. Returns true when a torn tail must be cut off.
    fn scan_tail(&mut self, data_len: u64) -> Result<bool, CartridgeError> {
        let mut scratch = Vec::new();
        loop {
            if self.end == data_len {
                return Ok(false);
            }
            let mut hb = [0u8; RECORD_HEADER_LEN];
            let got = pread_into(&self.data, &self.data_path, &mut [&mut hb], self.end)?;
            if got < RECORD_HEADER_LEN {
                return Ok(true);
            }
            let Ok(h) = RecordHeader::decode(&hb) else {
                return Ok(true);
            };
            if h.block != self.eod_block || self.end + h.disk_len() > data_len {
                return Ok(true);
            }
            if h.kind == RecordKind::Data {
                scratch.resize(h.stored_len as usize, 0);
                pread_exact(&self.data, &self.data_path, &mut scratch, self.end + RHDR)?;
                if crc32c::crc32c(&scratch) != h.data_crc {
                    return Ok(true);
                }
            }
            self.note_object(h.kind, h.disk_len());
        }
    }

    /// Records a new object at `end` in the in-memory index (O(1) amortized).
    fn note_object(&mut self, kind: RecordKind, disk_len: u64) {
        let block = self.eod_block;
        if block.is_multiple_of(STRIDE) {
            self.checkpoints.push(self.end);
            self.pending.extend_from_slice(
                &IndexEntry {
                    kind: IndexKind::Checkpoint,
                    block,
                    offset: self.end,
                }
                .encode(),
            );
        }
        if kind == RecordKind::Filemark {
            self.filemarks.push((block, self.end));
            self.pending.extend_from_slice(
                &IndexEntry {
                    kind: IndexKind::Filemark,
                    block,
                    offset: self.end,
                }
                .encode(),
            );
        }
        self.end += disk_len;
        self.eod_block += 1;
    }

    /// Bytes used by records and filemarks (header overhead included).
    pub(crate) fn used(&self) -> u64 {
        self.end - HDR
    }

    /// Number of filemarks before object `block`.
    pub(crate) fn file_number(&self, block: u64) -> u64 {
        self.filemarks.partition_point(|&(f, _)| f < block) as u64
    }

    /// Checks a header read from `offset` against what must be there.
    pub(crate) fn check_header(
        &self,
        h: &RecordHeader,
        offset: u64,
        block: u64,
    ) -> Result<(), CartridgeError> {
        if h.block != block {
            return Err(corrupt(
                &self.data_path,
                offset,
                format!("record says block {}, expected {block}", h.block),
            ));
        }
        if offset + h.disk_len() > self.end {
            return Err(corrupt(
                &self.data_path,
                offset,
                "record extends past end of data",
            ));
        }
        let is_fm = self
            .filemarks
            .binary_search_by_key(&block, |&(f, _)| f)
            .is_ok();
        if is_fm != (h.kind == RecordKind::Filemark) {
            return Err(corrupt(
                &self.data_path,
                offset,
                "record kind disagrees with the index",
            ));
        }
        Ok(())
    }

    /// Reads and checks the header of object `block` at `offset`.
    pub(crate) fn read_header(
        &self,
        offset: u64,
        block: u64,
    ) -> Result<RecordHeader, CartridgeError> {
        let mut hb = [0u8; RECORD_HEADER_LEN];
        pread_exact(&self.data, &self.data_path, &mut hb, offset)?;
        let h = RecordHeader::decode(&hb)
            .map_err(|e| corrupt(&self.data_path, offset, e.to_string()))?;
        self.check_header(&h, offset, block)?;
        Ok(h)
    }

    /// Byte offset of object `block` (`block <= eod_block`), in O(log n)
    /// plus at most `STRIDE - 1` header reads.
    pub(crate) fn offset_of(&self, block: u64) -> Result<u64, CartridgeError> {
        if block >= self.eod_block {
            return Ok(self.end);
        }
        let k = (block / STRIDE) as usize;
        let Some(&start) = self.checkpoints.get(k) else {
            return Err(corrupt(
                &self.index_path,
                0,
                format!("no checkpoint for block {block}"),
            ));
        };
        let mut offset = start;
        for b in (k as u64 * STRIDE)..block {
            let h = self.read_header(offset, b)?;
            offset += h.disk_len();
        }
        Ok(offset)
    }

    /// Appends one object at end of data with a single write.
    pub(crate) fn append(
        &mut self,
        header: &RecordHeader,
        data: &[u8],
    ) -> Result<(), CartridgeError> {
        let hb = header.encode();
        pwrite_all(&self.data, &self.data_path, &[&hb, data], self.end)?;
        self.dirty = true;
        self.note_object(header.kind, header.disk_len());
        self.kick_writeback();
        self.maybe_flush_pending()
    }

    /// Every [`WRITEBACK_CHUNK`] bytes: start writing the new range to disk
    /// and drop the earlier, by now clean, range from the page cache
    /// (`POSIX_FADV_DONTNEED` does both without waiting). Durability still
    /// comes only from [`Partition::sync`].
    fn kick_writeback(&mut self) {
        // After a truncation the range may lie past the end: start over.
        self.writeback_from = self.writeback_from.min(self.end);
        if self.end - self.writeback_from < WRITEBACK_CHUNK {
            return;
        }
        let from = self.writeback_from.saturating_sub(WRITEBACK_CHUNK);
        advise(
            &self.data,
            from,
            self.end - from,
            PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
        self.writeback_from = self.end;
    }

    /// Appends `count` filemarks, one write per batch of up to 4096 (a
    /// huge count from a CDB must not become a huge allocation).
    pub(crate) fn append_filemarks(&mut self, count: u32) -> Result<(), CartridgeError> {
        const BATCH: u32 = 4096;
        let mut left = count;
        let mut buf = Vec::with_capacity(count.min(BATCH) as usize * RECORD_HEADER_LEN);
        while left > 0 {
            let n = left.min(BATCH);
            buf.clear();
            for i in 0..u64::from(n) {
                buf.extend_from_slice(&RecordHeader::filemark(self.eod_block + i).encode());
            }
            pwrite_all(&self.data, &self.data_path, &[&buf], self.end)?;
            self.dirty = true;
            for _ in 0..n {
                self.note_object(RecordKind::Filemark, RHDR);
            }
            self.maybe_flush_pending()?;
            left -= n;
        }
        Ok(())
    }

    fn maybe_flush_pending(&mut self) -> Result<(), CartridgeError> {
        if self.pending.len() >= PENDING_FLUSH {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), CartridgeError> {
        if !self.pending.is_empty() {
            pwrite_all(
                &self.index,
                &self.index_path,
                &[&self.pending],
                self.index_len,
            )?;
            self.index_len += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }

    /// Makes everything written so far durable: data first, then the
    /// index entries and a sync marker that vouches for it.
    pub(crate) fn sync(&mut self) -> Result<(), CartridgeError> {
        if !self.dirty && self.pending.is_empty() {
            return Ok(());
        }
        fdatasync(&self.data, &self.data_path)?;
        self.pending.extend_from_slice(
            &IndexEntry {
                kind: IndexKind::Sync,
                block: self.eod_block,
                offset: self.end,
            }
            .encode(),
        );
        self.write_pending()?;
        fdatasync(&self.index, &self.index_path)?;
        self.dirty = false;
        Ok(())
    }

    /// Erases object `block` (at `offset`) and everything after it. The
    /// index is rewritten atomically first, so a crash in between never
    /// leaves index entries that point at erased data.
    pub(crate) fn truncate(&mut self, block: u64, offset: u64) -> Result<(), CartridgeError> {
        if block >= self.eod_block {
            return Ok(());
        }
        // What stays must be durable before a marker vouches for it.
        fdatasync(&self.data, &self.data_path)?;
        self.checkpoints.truncate(block.div_ceil(STRIDE) as usize);
        let keep = self.filemarks.partition_point(|&(f, _)| f < block);
        self.filemarks.truncate(keep);
        self.pending.clear();

        let mut idx = FileHeader {
            magic: INDEX_MAGIC,
            partition: self.num,
            cartridge_id: self.cartridge_id,
        }
        .encode()
        .to_vec();
        let mut fms = self.filemarks.iter().peekable();
        for (k, &cp_offset) in self.checkpoints.iter().enumerate() {
            let cp_block = k as u64 * STRIDE;
            while let Some(&&(b, o)) = fms.peek() {
                if b >= cp_block {
                    break;
                }
                idx.extend_from_slice(
                    &IndexEntry {
                        kind: IndexKind::Filemark,
                        block: b,
                        offset: o,
                    }
                    .encode(),
                );
                fms.next();
            }
            idx.extend_from_slice(
                &IndexEntry {
                    kind: IndexKind::Checkpoint,
                    block: cp_block,
                    offset: cp_offset,
                }
                .encode(),
            );
        }
        for &(b, o) in fms {
            idx.extend_from_slice(
                &IndexEntry {
                    kind: IndexKind::Filemark,
                    block: b,
                    offset: o,
                }
                .encode(),
            );
        }
        idx.extend_from_slice(
            &IndexEntry {
                kind: IndexKind::Sync,
                block,
                offset,
            }
            .encode(),
        );
        replace_file(&self.index_path, &idx)?;
        // The rename replaced the inode: reopen.
        self.index = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.index_path)
            .map_err(|e| io_err(&self.index_path, "open", e))?;
        self.index_len = idx.len() as u64;

        self.data
            .set_len(offset)
            .map_err(|e| io_err(&self.data_path, "truncate", e))?;
        fdatasync(&self.data, &self.data_path)?;
        self.end = offset;
        self.eod_block = block;
        self.dirty = false;
        Ok(())
    }
}

/// A hint to the kernel; failing to give it costs only speed.
fn advise(f: &File, offset: u64, len: u64, advice: PosixFadviseAdvice) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    if let Err(e) = posix_fadvise(f, offset, len, advice) {
        debug!("posix_fadvise {advice:?}: {e}");
    }
}
