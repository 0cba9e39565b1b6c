//! A directory as a pax tar stream, for `put_dir`: `get` of such a set
//! returns this tar (extract it with any tar).
//!
//! The walk is in byte order of the names, depth first, so the same tree
//! gives the same stream (and the same chunks). Names are relative to the
//! directory, directories end in '/'. Regular files, directories, symlinks,
//! FIFOs and device nodes are stored; sockets are skipped; hard links are
//! stored as separate files. ustar headers, plus a pax 'x' header when a
//! name, link target or size does not fit ustar. A file that changes size
//! while it is read is cut or zero-padded to the size in its header, as
//! GNU tar does.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::DedupError;
use super::tar::BLOCK;

enum Kind {
    Dir,
    File,
    Symlink(Vec<u8>),
    Fifo,
    Char,
    Block,
}

/// Streams the tar of a directory tree.
pub struct DirTar {
    root: PathBuf,
    /// Directories still to expand, each with its sorted entries.
    stack: Vec<VecDeque<PathBuf>>,
    out: VecDeque<u8>,
    file: Option<(File, u64)>,
    pad: u64,
    done: bool,
}

fn sorted_children(dir: &Path) -> io::Result<VecDeque<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    v.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    Ok(v.into())
}

fn octal(field: &mut [u8], v: u64) -> bool {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    if s.len() > digits {
        return false;
    }
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
    true
}

/// One pax record: "<len> key=value\n", len counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn finish_header(b: &mut [u8; BLOCK]) {
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
    octal(&mut b[148..155], sum);
    b[155] = b' ';
}

impl DirTar {
    pub fn new(root: &Path) -> Result<DirTar, DedupError> {
        let children = sorted_children(root).map_err(DedupError::io(root))?;
        Ok(DirTar {
            root: root.to_path_buf(),
            stack: vec![children],
            out: VecDeque::new(),
            file: None,
            pad: 0,
            done: false,
        })
    }

    /// Queues the header(s) of the next entry; false at the end.
    fn next_entry(&mut self) -> io::Result<bool> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(false);
            };
            let Some(path) = top.pop_front() else {
                self.stack.pop();
                continue;
            };
            let meta = std::fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else if ft.is_symlink() {
                Kind::Symlink(std::fs::read_link(&path)?.as_os_str().as_bytes().to_vec())
            } else if ft.is_fifo() {
                Kind::Fifo
            } else if ft.is_char_device() {
                Kind::Char
            } else if ft.is_block_device() {
                Kind::Block
            } else {
                tracing::warn!("{}: socket skipped", path.display());
                continue;
            };
            let rel = path.strip_prefix(&self.root).unwrap_or(&path);
            let mut name = rel.as_os_str().as_bytes().to_vec();
            let size = match kind {
                Kind::File => meta.len(),
                _ => 0,
            };
            if let Kind::File = kind {
                self.file = Some((File::open(&path)?, size));
                self.pad = super::tar::padded(size) - size;
            }
            if let Kind::Dir = kind {
                name.push(b'/');
                self.stack.push(sorted_children(&path)?);
            }
            self.queue_header(&name, &meta, &kind, size);
            return Ok(true);
        }
    }

    fn queue_header(&mut self, name: &[u8], meta: &Metadata, kind: &Kind, size: u64) {
        let mut b = [0u8; BLOCK];
        let mut pax = Vec::new();
        if name.len() <= 100 {
            b[..name.len()].copy_from_slice(name);
        } else {
            b[..100].copy_from_slice(&name[..100]);
            pax.extend(pax_record("path", name));
        }
        octal(&mut b[100..108], u64::from(meta.mode() & 0o7777));
        if !octal(&mut b[108..116], u64::from(meta.uid())) {
            pax.extend(pax_record("uid", meta.uid().to_string().as_bytes()));
        }
        if !octal(&mut b[116..124], u64::from(meta.gid())) {
            pax.extend(pax_record("gid", meta.gid().to_string().as_bytes()));
        }
        if !octal(&mut b[124..136], size) {
            pax.extend(pax_record("size", size.to_string().as_bytes()));
        }
        let mtime = u64::try_from(meta.mtime()).unwrap_or(0);
        if !octal(&mut b[136..148], mtime) {
            pax.extend(pax_record("mtime", mtime.to_string().as_bytes()));
        }
        b[156] = match kind {
            Kind::File => b'0',
            Kind::Symlink(_) => b'2',
            Kind::Char => b'3',
            Kind::Block => b'4',
            Kind::Dir => b'5',
            Kind::Fifo => b'6',
        };
        if let Kind::Symlink(target) = kind {
            if target.len() <= 100 {
                b[157..157 + target.len()].copy_from_slice(target);
            } else {
                b[157..257].copy_from_slice(&target[..100]);
                pax.extend(pax_record("linkpath", target));
            }
        }
        if matches!(kind, Kind::Char | Kind::Block) {
            let rdev = meta.rdev();
            let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
            let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
            octal(&mut b[329..337], major);
            octal(&mut b[337..345], minor);
        }
        finish_header(&mut b);
        if !pax.is_empty() {
            let mut x = [0u8; BLOCK];
            let base = name
                .rsplit(|&c| c == b'/')
                .find(|s| !s.is_empty())
                .unwrap_or(b"x");
            let mut xname = b"PaxHeaders/".to_vec();
            xname.extend_from_slice(&base[..base.len().min(80)]);
            x[..xname.len()].copy_from_slice(&xname);
            octal(&mut x[100..108], 0o644);
            octal(&mut x[108..116], 0);
            octal(&mut x[116..124], 0);
            octal(&mut x[124..136], pax.len() as u64);
            octal(&mut x[136..148], mtime.min(0o77777777777));
            x[156] = b'x';
            finish_header(&mut x);
            self.out.extend(x);
            let padded = super::tar::padded(pax.len() as u64) as usize;
            pax.resize(padded, 0);
            self.out.extend(pax);
        }
        self.out.extend(b);
    }
}

impl Read for DirTar {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if buf.is_empty() {
                return Ok(0);
            }
            if !self.out.is_empty() {
                let n = self.out.len().min(buf.len());
                for (d, s) in buf.iter_mut().zip(self.out.drain(..n)) {
                    *d = s;
                }
                return Ok(n);
            }
            if let Some((f, left)) = self.file.as_mut() {
                if *left > 0 {
                    let want = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                    let n = f.read(&mut buf[..want])?;
                    let n = if n == 0 {
                        // The file shrank: zeros up to the size in the header.
                        buf[..want].fill(0);
                        want
                    } else {
                        n
                    };
                    *left -= n as u64;
                    return Ok(n);
                }
                self.file = None;
                self.out.extend(std::iter::repeat_n(0u8, self.pad as usize));
                self.pad = 0;
                continue;
            }
            if self.done {
                return Ok(0);
            }
            if !self.next_entry()? {
                self.done = true;
                self.out.extend([0u8; 2 * BLOCK]);
            }
        }
    }
}
