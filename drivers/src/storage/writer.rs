//! Writing a container: records into a hidden partial file through the
//! disk driver, then trailer, footer, fdatasync and an atomic rename that
//! never replaces an existing name.

use std::path::{Path, PathBuf};

use crate::disk::{DiskDriver, DiskWriter};

use super::codec::{CodecStats, Compression, RecordEncoder};
use super::device::{SpaceGuard, SpaceState};
use super::error::DiskStorageError;
use super::format::{
    FOOTER_LEN, Footer, HEADER_FLAG_COMPRESSION, HEADER_LEN, Header, IndexEntry, MAX_FILES,
    MAX_RECORD_LEN, RECORD_HEADER_LEN, RecordHeader, Trailer,
};

/// How records are cut and compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteOptions {
    pub compression: Compression,
    /// Plain bytes per record (1 KiB .. 16 MiB).
    pub record_size: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Compression::default(),
            record_size: 1 << 20,
        }
    }
}

/// What a finished container holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WriteSummary {
    pub path: PathBuf,
    pub files: u64,
    /// Data records.
    pub records: u64,
    pub plain_bytes: u64,
    pub stored_bytes: u64,
    /// Length of the container file.
    pub container_bytes: u64,
    pub codec: CodecStats,
}

/// A container being written. Nothing is visible under its name until
/// [`ContainerWriter::finish`]; dropping it unfinished removes the partial
/// file (a killed process leaves it for `recover`).
pub struct ContainerWriter {
    partial: PathBuf,
    path: PathBuf,
    w: Option<DiskWriter>,
    enc: RecordEncoder,
    record_size: usize,
    pending: Vec<u8>,
    seq: u32,
    files: Vec<IndexEntry>,
    open_file: Option<IndexEntry>,
    records: u64,
    plain_bytes: u64,
    stored_bytes: u64,
    guard: SpaceGuard,
}

impl ContainerWriter {
    /// Creates `partial` (which must not exist) and writes the header.
    /// `path` is the name the container gets on `finish`.
    pub(crate) fn create(
        driver: &DiskDriver,
        partial: PathBuf,
        path: PathBuf,
        media_id: [u8; 16],
        opts: WriteOptions,
        guard: SpaceGuard,
    ) -> Result<ContainerWriter, DiskStorageError> {
        let w = DiskWriter::create(driver, &partial)?;
        let record_size = opts.record_size.clamp(1024, MAX_RECORD_LEN as usize);
        let mut cw = ContainerWriter {
            partial,
            path,
            w: Some(w),
            enc: RecordEncoder::new(opts.compression),
            record_size,
            pending: Vec::with_capacity(record_size),
            seq: 0,
            files: Vec::new(),
            open_file: None,
            records: 0,
            plain_bytes: 0,
            stored_bytes: 0,
            guard,
        };
        let header = Header {
            flags: if opts.compression.enabled {
                HEADER_FLAG_COMPRESSION
            } else {
                0
            },
            media_id,
            created_ns: now_ns(),
        };
        cw.put(&header.encode(), &[])?;
        Ok(cw)
    }

    /// The name the container will have.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hidden file being written.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Bytes in the partial file so far.
    pub fn position(&self) -> u64 {
        self.w.as_ref().map_or(0, DiskWriter::position)
    }

    /// Space on the device as of the last record: `Low` is the early
    /// warning (finish this container soon), `Full` means the next record
    /// does not fit.
    pub fn space_state(&self) -> SpaceState {
        self.guard.state()
    }

    /// Appends plain bytes to the current file, cutting records of
    /// `record_size`. On a `Full` error the writer stays usable for
    /// `write_filemark` and `finish` (the reserve keeps room for them).
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), DiskStorageError> {
        while !data.is_empty() {
            let take = (self.record_size - self.pending.len()).min(data.len());
            if self.pending.is_empty() && take == self.record_size {
                // A whole record straight from the caller's buffer.
                self.write_record(&data[..take])?;
            } else {
                self.pending.extend_from_slice(&data[..take]);
                if self.pending.len() == self.record_size {
                    self.flush_pending()?;
                }
            }
            data = &data[take..];
        }
        Ok(())
    }

    /// Ends the current file with a mark and makes everything so far
    /// durable (like WRITE FILEMARKS without IMMED): after a crash,
    /// `recover` gets at least every file whose mark was written.
    pub fn write_filemark(&mut self) -> Result<(), DiskStorageError> {
        self.flush_pending()?;
        if self.files.len() >= MAX_FILES as usize {
            return Err(DiskStorageError::TooManyFiles {
                path: self.path.clone(),
                limit: MAX_FILES,
            });
        }
        let at = self.position();
        let header = RecordHeader::file_mark(self.seq);
        self.put(&header.encode(), &[])?;
        self.seq = self.seq.wrapping_add(1);
        self.records += 1;
        let mut file = self.open_file.take().unwrap_or(IndexEntry {
            offset: at,
            records: 0,
            plain_bytes: 0,
            mark_offset: 0,
        });
        file.mark_offset = at;
        self.files.push(file);
        self.sync()
    }

    /// Makes every complete record written so far durable (a record still
    /// being filled stays buffered), so `recover` finds them after a crash.
    pub fn sync(&mut self) -> Result<(), DiskStorageError> {
        if let Some(Err(e)) = self.w.as_mut().map(DiskWriter::sync) {
            self.discard();
            return Err(e.into());
        }
        Ok(())
    }

    /// Ends an open file, writes trailer and footer, makes the file durable
    /// and gives it its name (never replacing an existing one).
    pub fn finish(mut self) -> Result<WriteSummary, DiskStorageError> {
        self.flush_pending()?;
        if self.open_file.is_some() {
            self.write_filemark()?;
        }
        let trailer = Trailer {
            records: self.records,
            plain_bytes: self.plain_bytes,
            stored_bytes: self.stored_bytes,
            files: std::mem::take(&mut self.files),
        };
        let trailer_offset = self.position();
        let tb = trailer.encode();
        let footer = Footer {
            trailer_offset,
            trailer_len: tb.len() as u32,
            files: trailer.files.len() as u32,
        };
        self.put(&tb, &footer.encode())?;
        let Some(w) = self.w.take() else {
            return Err(self.gone());
        };
        // From here on Drop no longer cleans up: a failure removes the
        // partial file itself (nothing was published).
        let len = match w
            .finish()
            .map_err(DiskStorageError::from)
            .and_then(|len| super::device::publish(&self.partial, &self.path).map(|()| len))
        {
            Ok(len) => len,
            Err(e) => {
                let _ = std::fs::remove_file(&self.partial);
                return Err(e);
            }
        };
        let data_records = trailer.files.iter().map(|f| f.records).sum();
        Ok(WriteSummary {
            path: self.path.clone(),
            files: trailer.files.len() as u64,
            records: data_records,
            plain_bytes: trailer.plain_bytes,
            stored_bytes: trailer.stored_bytes,
            container_bytes: len,
            codec: self.enc.stats,
        })
    }

    /// Gives up: removes the partial file.
    pub fn abort(mut self) {
        self.discard();
    }

    fn discard(&mut self) {
        if self.w.take().is_some()
            && let Err(e) = std::fs::remove_file(&self.partial)
        {
            tracing::warn!("{}: cannot remove: {e}", self.partial.display());
        }
    }

    fn gone(&self) -> DiskStorageError {
        DiskStorageError::Io {
            path: self.partial.clone(),
            op: "write after an earlier failure",
            source: std::io::ErrorKind::BrokenPipe.into(),
        }
    }

    fn flush_pending(&mut self) -> Result<(), DiskStorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let r = self.write_record(&pending);
        self.pending = pending;
        self.pending.clear();
        r
    }

    fn write_record(&mut self, plain: &[u8]) -> Result<(), DiskStorageError> {
        let at = self.position();
        let (header, stored) = self.enc.encode(plain, self.seq);
        let bytes = (RECORD_HEADER_LEN + stored.len()) as u64;
        // Room for this record plus what finishing needs: a mark, the
        // trailer with one more entry, the footer.
        let finish_reserve =
            (RECORD_HEADER_LEN + Trailer::encoded_len(self.files.len() + 1) + FOOTER_LEN) as u64;
        self.guard.check(at + bytes, finish_reserve)?;
        let w = self.w.as_mut().ok_or_else(|| DiskStorageError::Io {
            path: self.partial.clone(),
            op: "write after an earlier failure",
            source: std::io::ErrorKind::BrokenPipe.into(),
        })?;
        let r = w
            .write_all(&header.encode())
            .and_then(|()| w.write_all(stored));
        if let Err(e) = r {
            // A half-written record cannot be continued: give up the file.
            self.discard();
            return Err(e.into());
        }
        self.seq = self.seq.wrapping_add(1);
        self.records += 1;
        self.plain_bytes += u64::from(header.plain_len);
        self.stored_bytes += u64::from(header.stored_len);
        let file = self.open_file.get_or_insert(IndexEntry {
            offset: at,
            records: 0,
            plain_bytes: 0,
            mark_offset: 0,
        });
        file.records += 1;
        file.plain_bytes += u64::from(header.plain_len);
        Ok(())
    }

    /// Writes bytes that are not a data record (header, mark, trailer).
    fn put(&mut self, a: &[u8], b: &[u8]) -> Result<(), DiskStorageError> {
        let Some(w) = self.w.as_mut() else {
            return Err(self.gone());
        };
        let r = w
            .write_all(a)
            .and_then(|()| if b.is_empty() { Ok(()) } else { w.write_all(b) });
        if let Err(e) = r {
            self.discard();
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for ContainerWriter {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Bytes a container of `plain` bytes in one file needs at most (plain
/// records), for capacity checks before a write starts.
pub fn max_container_len(plain: u64, record_size: u64) -> u64 {
    let records = plain.div_ceil(record_size.max(1));
    HEADER_LEN as u64
        + plain
        + (records + 1) * RECORD_HEADER_LEN as u64
        + Trailer::encoded_len(1) as u64
        + FOOTER_LEN as u64
}
