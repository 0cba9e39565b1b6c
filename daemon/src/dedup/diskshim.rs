//! TEMPORARY stand-in for `reel_drivers::disk` (API-7) until the driver lands;
//! same names and signatures as far as the store uses them.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("{path}: {op}")]
    Op {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unexpected end of file at offset {offset}")]
    UnexpectedEof { path: PathBuf, offset: u64 },
}

fn op(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> DiskError {
    let path = path.to_path_buf();
    move |source| DiskError::Op { path, op, source }
}

#[derive(Clone, Debug, Default)]
pub struct DiskOptions;

#[derive(Clone)]
pub struct DiskDriver;
impl DiskDriver {
    pub fn new(_o: DiskOptions) -> Result<DiskDriver, DiskError> {
        Ok(DiskDriver)
    }
}

pub struct DiskWriter {
    f: File,
    path: PathBuf,
    pos: u64,
}
impl DiskWriter {
    pub fn create(_d: &DiskDriver, path: &Path) -> Result<DiskWriter, DiskError> {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(op(path, "create"))?;
        Ok(DiskWriter {
            f,
            path: path.into(),
            pos: 0,
        })
    }
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), DiskError> {
        self.f.write_all(data).map_err(op(&self.path, "write"))?;
        self.pos += data.len() as u64;
        Ok(())
    }
    pub fn position(&self) -> u64 {
        self.pos
    }
    pub fn sync(&mut self) -> Result<(), DiskError> {
        self.f.sync_data().map_err(op(&self.path, "fdatasync"))
    }
    pub fn finish(mut self) -> Result<u64, DiskError> {
        self.sync()?;
        Ok(self.pos)
    }
}

pub struct DiskReader {
    f: File,
    path: PathBuf,
    len: u64,
}
impl DiskReader {
    pub fn open(_d: &DiskDriver, path: &Path) -> Result<DiskReader, DiskError> {
        let f = File::open(path).map_err(op(path, "open"))?;
        let len = f.metadata().map_err(op(path, "stat"))?.len();
        Ok(DiskReader {
            f,
            path: path.into(),
            len,
        })
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn read_exact_at(&mut self, offset: u64, out: &mut [u8]) -> Result<(), DiskError> {
        self.f.read_exact_at(out, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                DiskError::UnexpectedEof {
                    path: self.path.clone(),
                    offset,
                }
            } else {
                DiskError::Op {
                    path: self.path.clone(),
                    op: "read",
                    source: e,
                }
            }
        })
    }
}
impl Read for DiskReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.f.read(buf)
    }
}
impl Seek for DiskReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.f.seek(pos)
    }
}

pub fn sync_dir(dir: &Path) -> Result<(), DiskError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(op(dir, "fsync dir"))
}

pub fn rename_durable(from: &Path, to: &Path) -> Result<(), DiskError> {
    std::fs::rename(from, to).map_err(op(from, "rename"))?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}
