//! Reading and verifying containers. The logic runs over any [`Source`]:
//! a file through the disk driver, or bytes in memory (tests, fuzzing).

use std::path::{Path, PathBuf};

use super::codec::RecordDecoder;
use super::error::DiskStorageError;
use super::format::{
    FOOTER_LEN, FOOTER_MAGIC, Footer, FormatError, HEADER_LEN, HEADER_MAGIC, Header, IndexEntry,
    RECORD_HEADER_LEN, RecordHeader, RecordKind, Trailer, check_index,
};

/// Random-access bytes a container is read from.
pub trait Source {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `out` from `offset`; callers stay within `len()`.
    fn read_exact_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskStorageError>;
}

/// A container held in memory.
pub struct MemSource<'a>(pub &'a [u8]);

impl Source for MemSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_exact_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskStorageError> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start
            .checked_add(out.len())
            .and_then(|end| self.0.get(start..end))
        {
            Some(b) => {
                out.copy_from_slice(b);
                Ok(())
            }
            None => Err(DiskStorageError::Io {
                path: PathBuf::from("<memory>"),
                op: "read past the end",
                source: std::io::ErrorKind::UnexpectedEof.into(),
            }),
        }
    }
}

/// Totals of a verified container (or of what a recovery kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub files: u64,
    /// Data records (marks not counted).
    pub records: u64,
    pub plain_bytes: u64,
    pub stored_bytes: u64,
    pub compressed_records: u64,
}

/// One record as the scanner found it.
struct Scanned {
    header: RecordHeader,
    next: u64,
}

/// Walks records from the header on and rebuilds the trailer they imply.
/// Shared by verify (which compares with the stored trailer) and recovery
/// (which writes it).
pub(crate) struct Rebuild {
    pub trailer: Trailer,
    /// Records after the last mark (a file without its mark).
    pub open_file: Option<IndexEntry>,
    /// Offset just past the last valid record.
    pub end: u64,
    pub compressed_records: u64,
}

impl Rebuild {
    fn new() -> Rebuild {
        Rebuild {
            trailer: Trailer {
                records: 0,
                plain_bytes: 0,
                stored_bytes: 0,
                files: Vec::new(),
            },
            open_file: None,
            end: HEADER_LEN as u64,
            compressed_records: 0,
        }
    }

    fn add(&mut self, offset: u64, h: &RecordHeader, next: u64) {
        let t = &mut self.trailer;
        t.records += 1;
        let file = self.open_file.get_or_insert(IndexEntry {
            offset,
            records: 0,
            plain_bytes: 0,
            mark_offset: 0,
        });
        match h.kind {
            RecordKind::Data => {
                t.plain_bytes += u64::from(h.plain_len);
                t.stored_bytes += u64::from(h.stored_len);
                file.records += 1;
                file.plain_bytes += u64::from(h.plain_len);
                if h.is_zstd() {
                    self.compressed_records += 1;
                }
            }
            RecordKind::FileMark => {
                file.mark_offset = offset;
                let done = *file;
                self.open_file = None;
                t.files.push(done);
            }
        }
        self.end = next;
    }

    pub fn report(&self) -> VerifyReport {
        VerifyReport {
            files: self.trailer.files.len() as u64,
            records: self.trailer.files.iter().map(|f| f.records).sum(),
            plain_bytes: self.trailer.plain_bytes,
            stored_bytes: self.trailer.stored_bytes,
            compressed_records: self.compressed_records,
        }
    }
}

/// Reads the header of a file that may or may not be a container.
pub(crate) fn read_header<S: Source>(path: &Path, src: &mut S) -> Result<Header, DiskStorageError> {
    let len = src.len();
    if len == 0 {
        return Err(DiskStorageError::NotAContainer {
            container: path.to_path_buf(),
            detail: "empty file".into(),
        });
    }
    let mut b = [0u8; HEADER_LEN];
    let n = b.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    src.read_exact_at(0, &mut b[..n])?;
    if b[..n.min(8)] != HEADER_MAGIC[..n.min(8)] {
        return Err(DiskStorageError::NotAContainer {
            container: path.to_path_buf(),
            detail: format!(
                "no container header; the file starts with {}",
                hex_start(&b[..n])
            ),
        });
    }
    if n < HEADER_LEN {
        return Err(DiskStorageError::Incomplete {
            container: path.to_path_buf(),
            detail: format!("only {len} bytes"),
        });
    }
    Header::decode(&b).map_err(|detail| DiskStorageError::Medium {
        container: path.to_path_buf(),
        offset: 0,
        detail,
    })
}

fn hex_start(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A complete container, opened through its footer and trailer.
pub struct ContainerReader<S: Source> {
    path: PathBuf,
    src: S,
    header: Header,
    footer: Footer,
    trailer: Trailer,
    decoder: RecordDecoder,
    payload: Vec<u8>,
}

impl<S: Source> ContainerReader<S> {
    /// Checks header, footer and trailer (with their CRCs) and the index.
    /// Records are checked as they are read, or all at once by `verify`.
    pub fn open(path: &Path, mut src: S) -> Result<ContainerReader<S>, DiskStorageError> {
        let header = read_header(path, &mut src)?;
        let len = src.len();
        let medium = |offset, detail| DiskStorageError::Medium {
            container: path.to_path_buf(),
            offset,
            detail,
        };
        if len < (HEADER_LEN + FOOTER_LEN) as u64 {
            return Err(DiskStorageError::Incomplete {
                container: path.to_path_buf(),
                detail: format!("only {len} bytes, no footer"),
            });
        }
        let foot_at = len - FOOTER_LEN as u64;
        let mut fb = [0u8; FOOTER_LEN];
        src.read_exact_at(foot_at, &mut fb)?;
        if fb[..8] != FOOTER_MAGIC {
            return Err(DiskStorageError::Incomplete {
                container: path.to_path_buf(),
                detail: format!("no footer at the end of its {len} bytes"),
            });
        }
        let footer = Footer::decode(&fb, len).map_err(|e| medium(foot_at, e))?;
        let mut tb = vec![0u8; footer.trailer_len as usize];
        src.read_exact_at(footer.trailer_offset, &mut tb)?;
        let trailer = Trailer::decode(&tb).map_err(|e| medium(footer.trailer_offset, e))?;
        check_index(&trailer, footer.trailer_offset)
            .map_err(|e| medium(footer.trailer_offset, e))?;
        Ok(ContainerReader {
            path: path.to_path_buf(),
            src,
            header,
            footer,
            trailer,
            decoder: RecordDecoder::new(),
            payload: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn trailer(&self) -> &Trailer {
        &self.trailer
    }

    pub fn files(&self) -> &[IndexEntry] {
        &self.trailer.files
    }

    /// Streams the plain bytes of file `n` (0-based) into `sink`, checking
    /// every record's CRCs on the way. Seeks straight to the file through
    /// the trailer index.
    pub fn read_file(
        &mut self,
        n: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), DiskStorageError>,
    ) -> Result<IndexEntry, DiskStorageError> {
        let entry = usize::try_from(n)
            .ok()
            .and_then(|i| self.trailer.files.get(i))
            .copied()
            .ok_or_else(|| DiskStorageError::NoSuchFile {
                container: self.path.clone(),
                file: n,
                files: self.trailer.files.len() as u64,
            })?;
        let mut pos = entry.offset;
        let mut records = 0u64;
        let mut plain = 0u64;
        let mut seq: Option<u32> = None;
        loop {
            let at = pos;
            let r = scan_record(
                &self.path,
                &mut self.src,
                at,
                entry.mark_offset + RECORD_HEADER_LEN as u64,
                &mut self.payload,
            )?;
            if seq.is_some_and(|s| s.wrapping_add(1) != r.header.seq) {
                return Err(self.medium(at, "record out of sequence"));
            }
            seq = Some(r.header.seq);
            pos = r.next;
            match r.header.kind {
                RecordKind::FileMark => {
                    if at != entry.mark_offset {
                        return Err(self.medium(at, "file mark where the index has none"));
                    }
                    break;
                }
                RecordKind::Data => {
                    let data = self
                        .decoder
                        .decode(&r.header, &self.payload)
                        .map_err(|detail| DiskStorageError::Medium {
                            container: self.path.clone(),
                            offset: at + RECORD_HEADER_LEN as u64,
                            detail,
                        })?;
                    records += 1;
                    plain += data.len() as u64;
                    sink(data)?;
                }
            }
        }
        if records != entry.records || plain != entry.plain_bytes {
            return Err(self.medium(entry.offset, "file does not match the trailer index"));
        }
        Ok(entry)
    }

    /// Reads every record, checks every CRC (stored and, after
    /// decompression, plain) and that the trailer describes exactly the
    /// records there are.
    pub fn verify(&mut self) -> Result<VerifyReport, DiskStorageError> {
        let limit = self.footer.trailer_offset;
        let rebuild = scan_all(
            &self.path,
            &mut self.src,
            limit,
            &mut self.decoder,
            &mut self.payload,
            true,
        )?;
        if rebuild.end != limit {
            return Err(self.medium(rebuild.end, "data after the last record"));
        }
        if rebuild.open_file.is_some() {
            return Err(self.medium(rebuild.end, "records after the last file mark"));
        }
        if rebuild.trailer != self.trailer {
            return Err(self.medium(limit, "trailer does not match the records"));
        }
        Ok(rebuild.report())
    }

    fn medium(&self, offset: u64, what: &'static str) -> DiskStorageError {
        DiskStorageError::Medium {
            container: self.path.clone(),
            offset,
            detail: FormatError::Invalid {
                what: "container",
                detail: what.into(),
            },
        }
    }
}

/// Reads the record at `at` (header and stored payload into `payload`),
/// checking the header and the stored CRC. Records must end by `limit`.
fn scan_record<S: Source>(
    path: &Path,
    src: &mut S,
    at: u64,
    limit: u64,
    payload: &mut Vec<u8>,
) -> Result<Scanned, DiskStorageError> {
    let medium = |offset, detail| DiskStorageError::Medium {
        container: path.to_path_buf(),
        offset,
        detail,
    };
    let short = |have: u64, need: usize| FormatError::Short {
        what: "record",
        need,
        have: usize::try_from(have).unwrap_or(usize::MAX),
    };
    let room = limit.saturating_sub(at);
    if room < RECORD_HEADER_LEN as u64 {
        return Err(medium(at, short(room, RECORD_HEADER_LEN)));
    }
    let mut hb = [0u8; RECORD_HEADER_LEN];
    src.read_exact_at(at, &mut hb)?;
    let header = RecordHeader::decode(&hb).map_err(|e| medium(at, e))?;
    let body = at + RECORD_HEADER_LEN as u64;
    let len = header.stored_len as usize;
    if limit - body < len as u64 {
        return Err(medium(at, short(limit - at, RECORD_HEADER_LEN + len)));
    }
    payload.resize(len, 0);
    src.read_exact_at(body, payload)?;
    RecordDecoder::check_stored(&header, payload).map_err(|e| medium(body, e))?;
    Ok(Scanned {
        header,
        next: body + len as u64,
    })
}

/// Scans records from the header up to `limit`. `strict`: the first bad
/// record is an error (verify); otherwise the scan stops there (recovery)
/// and reports how far the valid records reach.
pub(crate) fn scan_all<S: Source>(
    path: &Path,
    src: &mut S,
    limit: u64,
    decoder: &mut RecordDecoder,
    payload: &mut Vec<u8>,
    strict: bool,
) -> Result<Rebuild, DiskStorageError> {
    let mut rb = Rebuild::new();
    let mut pos = HEADER_LEN as u64;
    let mut seq: u32 = 0;
    while pos < limit {
        let step = scan_record(path, src, pos, limit, payload).and_then(|r| {
            if r.header.seq != seq {
                return Err(DiskStorageError::Medium {
                    container: path.to_path_buf(),
                    offset: pos,
                    detail: FormatError::Invalid {
                        what: "record",
                        detail: format!("sequence number {} where {seq} belongs", r.header.seq),
                    },
                });
            }
            if r.header.kind == RecordKind::Data {
                decoder
                    .decode(&r.header, payload)
                    .map_err(|detail| DiskStorageError::Medium {
                        container: path.to_path_buf(),
                        offset: pos + RECORD_HEADER_LEN as u64,
                        detail,
                    })?;
            }
            Ok(r)
        });
        match step {
            Ok(r) => {
                rb.add(pos, &r.header, r.next);
                pos = r.next;
                seq = seq.wrapping_add(1);
            }
            Err(e @ DiskStorageError::Medium { .. }) if !strict => {
                tracing::debug!("scan stops: {e}");
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(rb)
}

/// The recovery scan on its own: how much of a (possibly partial)
/// container is valid records. Returns the totals and the offset just past
/// the last valid record.
pub fn scan_partial<S: Source>(
    path: &Path,
    mut src: S,
) -> Result<(VerifyReport, u64), DiskStorageError> {
    read_header(path, &mut src)?;
    let len = src.len();
    let rb = scan_all(
        path,
        &mut src,
        len,
        &mut RecordDecoder::new(),
        &mut Vec::new(),
        false,
    )?;
    Ok((rb.report(), rb.end))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
