//! Writer leases and the GC lock (see the module docs of `dedup`).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};

use super::{ChunkId, DedupError};

pub const IMPORT_PREFIX: &str = "import-";

/// An exclusive lock on this writer's lease file, which lists the packs it
/// writes and the existing chunks it reuses. Removed when dropped (import
/// leases stay, so an interrupted import keeps its chunks for the grace period).
pub struct Lease {
    path: PathBuf,
    file: Flock<File>,
    keep: bool,
}

fn lock_err(path: &Path) -> impl FnOnce((File, nix::errno::Errno)) -> DedupError {
    let path = path.to_path_buf();
    move |(_, e)| DedupError::Io {
        path,
        source: std::io::Error::from(e),
    }
}

impl Lease {
    /// Creates (or, for an import, reopens) `leases/NAME.lease`. Call with
    /// the GC lock held shared, so GC cannot take it for a dead writer's
    /// between create and lock.
    pub fn acquire(dir: &Path, name: &str, keep: bool) -> Result<Lease, DedupError> {
        let path = dir.join("leases").join(format!("{name}.lease"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(DedupError::io(&path))?;
        let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(DedupError::Invalid(format!(
                    "{}: another writer holds this lease (an import of the same set in progress?)",
                    path.display()
                )));
            }
            Err(e) => return Err(lock_err(&path)(e)),
        };
        Ok(Lease { path, file, keep })
    }

    fn line(&mut self, s: &str) -> Result<(), DedupError> {
        // Plain write(2): other processes see it at once; durability is not
        // needed (after a crash the lease is stale anyway).
        self.file
            .write_all(s.as_bytes())
            .map_err(DedupError::io(&self.path))
    }

    pub fn add_pack(&mut self, name: &str) -> Result<(), DedupError> {
        self.line(&format!("pack {name}\n"))
    }

    pub fn add_chunk(&mut self, id: &ChunkId) -> Result<(), DedupError> {
        self.line(&format!("chunk {id}\n"))
    }

    /// Forget the lease file at drop even if it was an import's.
    pub fn release(&mut self) {
        self.keep = false;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What the live leases protect.
#[derive(Default, Debug)]
pub struct Protected {
    pub packs: HashSet<String>,
    pub chunks: HashSet<ChunkId>,
    pub stale_removed: u64,
}

pub fn parse_lease(text: &str, into: &mut Protected) {
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("pack ") {
            into.packs.insert(p.to_string());
        } else if let Some(h) = line.strip_prefix("chunk ")
            && let Some(id) = parse_hex_id(h)
        {
            into.chunks.insert(id);
        }
    }
}

pub fn parse_hex_id(h: &str) -> Option<ChunkId> {
    let b = h.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut id = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        id[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(ChunkId(id))
}

/// Reads every lease under `leases/`. Called with the GC lock held
/// exclusively. A lease whose lock is free belongs to a dead writer: it is
/// removed (import leases only once older than `grace`, so an interrupted
/// import can resume).
pub fn collect(dir: &Path, grace: Duration) -> Result<Protected, DedupError> {
    let ldir = dir.join("leases");
    let mut out = Protected::default();
    let rd = std::fs::read_dir(&ldir).map_err(DedupError::io(&ldir))?;
    for ent in rd {
        let ent = ent.map_err(DedupError::io(&ldir))?;
        let path = ent.path();
        let name = ent.file_name().to_string_lossy().into_owned();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let alive = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_unlocked_on_drop) => false,
            Err(_) => true,
        };
        let young = ent
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_none_or(|age| age < grace);
        let keep_import = name.starts_with(IMPORT_PREFIX) && young;
        if !alive && !keep_import {
            let _ = std::fs::remove_file(&path);
            out.stale_removed += 1;
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            parse_lease(&text, &mut out);
        }
    }
    Ok(out)
}

/// The store-wide GC lock: writers take it shared around each decision that
/// GC must not interleave with; GC takes it exclusively.
pub struct GcLock {
    path: PathBuf,
    file: Option<File>,
}

pub struct SharedGuard<'a> {
    lock: &'a mut GcLock,
    held: Option<Flock<File>>,
}

impl Drop for SharedGuard<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.held.take() {
            match f.unlock() {
                Ok(file) => self.lock.file = Some(file),
                Err((f, e)) => {
                    tracing::warn!("unlocking {}: {e}", self.lock.path.display());
                    drop(f);
                }
            }
        }
    }
}

impl GcLock {
    pub fn open(dir: &Path) -> Result<GcLock, DedupError> {
        let path = dir.join("gc.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(DedupError::io(&path))?;
        Ok(GcLock {
            path,
            file: Some(file),
        })
    }

    fn take(&mut self) -> Result<File, DedupError> {
        match self.file.take() {
            Some(f) => Ok(f),
            None => GcLock::open(self.path.parent().unwrap_or(Path::new(".")))?
                .file
                .take()
                .ok_or_else(|| DedupError::Invalid("gc lock unavailable".into())),
        }
    }

    pub fn shared(&mut self) -> Result<SharedGuard<'_>, DedupError> {
        let f = self.take()?;
        let path = self.path.clone();
        let held = Flock::lock(f, FlockArg::LockShared).map_err(lock_err(&path))?;
        Ok(SharedGuard {
            lock: self,
            held: Some(held),
        })
    }

    /// Held until the returned guard drops.
    pub fn exclusive(mut self) -> Result<Flock<File>, DedupError> {
        let f = self.take()?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(lock_err(&self.path))
    }
}

pub fn read_gen(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("gc.gen"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
