//! The deduplicating chunk store (issue 8, contract API-8).
//!
//! # What goes in
//! A backup stream (or a directory, turned into a pax tar stream in sorted
//! order by [`Store::put_dir`], so [`Store::get`] returns a tar of the
//! directory) is cut into chunks by [`ingest`]: tar-aware when the stream is
//! a tar archive (chunk boundaries follow member boundaries; headers and
//! small files are packed together), FastCDC otherwise. A chunk's id is the
//! BLAKE3 keyed hash of its plain bytes under the tenant's own random key
//! ([`keys`]; the key belongs to the tenant and travels with its data to
//! other stores), so the same data under two tenants never shares an id
//! and ids reveal nothing across tenants. Chunks
//! are zstd-compressed when that saves at least 1/32 of their size.
//!
//! # On-disk layout
//! ```text
//! DIR/store.json            format and chunk parameters
//! DIR/tenants/TENANT.key    the tenant's chunk-id key, 32 random bytes (0600)
//! DIR/secret                (stores created before tenant keys) derives the
//!                           keys of the tenants that had data then
//! DIR/packs/XX/NAME.pack    chunk records of one writer and one tenant
//! DIR/packs/XX/NAME.idx     the pack's index (id -> offset, lengths), written
//!                           after the pack is durable
//! DIR/sets/TENANT/SET.set   backup sets: header + ordered chunk references
//! DIR/leases/*.lease        writers in progress: their packs and chunks
//! DIR/gc.lock, DIR/gc.gen   garbage-collection lock and generation
//! DIR/tmp/                  files being written, renamed into place
//! ```
//! Why pack files and not one file per chunk under prefix directories: with
//! millions of chunks, one file each means millions of inodes, a create +
//! fsync + directory fsync per chunk (the crash-safety cost is per file), and
//! a startup index load that must stat or read millions of files. Packs turn
//! that into one sequential write stream per writer (the disk driver's
//! strength), one fdatasync per pack, and an index load of a few thousand
//! small `.idx` files (53 bytes per chunk), each rebuildable by scanning its
//! pack ([`Store::rebuild_index`]). The cost is that deleting a chunk means
//! rewriting the live rest of its pack, which GC does in bulk. The two-hex
//! prefix directories keep any one directory at a few thousand entries.
//!
//! # Crash safety
//! A set file is renamed into place only after every pack it references is
//! fdatasync'ed and its `.idx` is durable (written to tmp/, fdatasync,
//! `rename_durable`); a chunk enters the in-memory index only from a durable
//! `.idx`. A crash at any point therefore leaves at most unreferenced packs
//! (swept by GC after the grace period), never a set with a missing chunk.
//!
//! # GC while writers run
//! Writers hold an exclusive `flock` on their own lease file, listing the
//! packs they are writing and every existing chunk they reuse. Each reuse
//! decision is made under a shared `flock` on `gc.lock`; GC holds it
//! exclusively while it marks (sets + live leases) and sweeps, and bumps
//! `gc.gen` so writers in other processes reload the index before trusting
//! it. Packs newer than the grace period are never touched. Leases whose
//! lock is free belong to dead writers and are removed.

pub mod bench;
pub mod chunker;
mod compress;
pub mod dirtar;
pub mod format;
mod gc;
mod import;
mod index;
pub mod ingest;
pub mod keys;
mod lease;
mod pack;
mod store;
pub mod tar;

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

pub use import::Import;
pub use keys::{KeyAdoption, TenantKey};
pub use store::Store;

pub use disk::DiskError;
/// The disk driver the store writes through.
pub(crate) use reel_drivers::disk;

/// A tenant name: `[A-Za-z0-9_.-]{1,64}`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub fn new(s: &str) -> Result<TenantId, DedupError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && s != "."
            && s != "..";
        if ok {
            Ok(TenantId(s.to_string()))
        } else {
            Err(DedupError::BadTenant(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// BLAKE3 keyed hash of a chunk's plain bytes (key per tenant).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ChunkId(pub [u8; 32]);

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A backup set id: `[0-9a-z-]{1,64}`; new ones are creation time + random, hex.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct SetId(String);

impl SetId {
    pub fn new(s: &str) -> Result<SetId, DedupError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-');
        if ok {
            Ok(SetId(s.to_string()))
        } else {
            Err(DedupError::BadSetId(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Chunking and compression parameters, fixed at [`Store::init`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    pub min_chunk: usize,
    pub avg_chunk: usize,
    pub max_chunk: usize,
    /// zstd level; None stores chunks uncompressed.
    pub compression: Option<i32>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            min_chunk: 256 << 10,
            avg_chunk: 1 << 20,
            max_chunk: 4 << 20,
            compression: Some(3),
        }
    }
}

/// How [`Store::put`] reads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestKind {
    /// Tar-aware when the first block is a tar header, else bytes.
    Auto,
    /// Parse as tar (falls back to bytes where it stops being tar).
    Tar,
    /// Plain content-defined chunking.
    Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutReport {
    pub set: SetId,
    pub bytes_in: u64,
    /// Bytes stored for new chunks, after compression.
    pub new_bytes: u64,
    pub chunks: u64,
    pub new_chunks: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetReport {
    pub bytes_out: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetInfo {
    pub tenant: TenantId,
    pub set: SetId,
    pub name: String,
    pub created: SystemTime,
    pub logical_size: u64,
    pub chunks: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetHeader {
    pub tenant: TenantId,
    pub set: SetId,
    pub name: String,
    pub created: SystemTime,
    pub logical_size: u64,
    /// BLAKE3 (unkeyed) of the whole stream.
    pub stream_hash: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetIndex {
    pub header: SetHeader,
    pub chunks: Vec<ChunkRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRef {
    pub id: ChunkId,
    /// Plain length.
    pub len: u32,
}

/// A chunk as stored, for sending without recompressing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChunk {
    pub compressed: bool,
    pub plain_len: u32,
    pub data: bytes::Bytes,
}

/// One damaged chunk found by [`Store::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedChunk {
    pub id: ChunkId,
    pub pack: String,
    pub offset: u64,
    pub reason: String,
}

/// A set that cannot be restored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenSet {
    pub tenant: TenantId,
    pub set: SetId,
    pub damaged_chunks: u64,
    pub missing_chunks: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrubReport {
    pub chunks_checked: u64,
    pub bytes_checked: u64,
    pub damaged: Vec<DamagedChunk>,
    pub broken_sets: Vec<BrokenSet>,
    /// Set files that could not be read at all.
    pub unreadable_sets: Vec<String>,
}

impl ScrubReport {
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty() && self.broken_sets.is_empty() && self.unreadable_sets.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub sets: u64,
    pub live_chunks: u64,
    pub deleted_chunks: u64,
    pub deleted_packs: u64,
    pub repacked_packs: u64,
    pub orphan_packs: u64,
    pub stale_leases: u64,
    pub freed_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub packs: u64,
    pub chunks: u64,
    /// Bytes of chunk data on disk (after compression).
    pub stored_bytes: u64,
    /// The same chunks uncompressed.
    pub plain_bytes: u64,
    pub sets: u64,
    /// Sum of the sets' logical sizes (what a full copy of each would take).
    pub logical_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("chunk {id} does not match its content ({detail})")]
    ChunkMismatch { id: ChunkId, detail: String },
    #[error("set {set}: the restored stream's hash differs from the one stored")]
    StreamMismatch { set: SetId },
    #[error("invalid tenant name {0:?}: use 1-64 characters of A-Z a-z 0-9 _ . -")]
    BadTenant(String),
    #[error("invalid set id {0:?}")]
    BadSetId(String),
    #[error("store configuration: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("stream: {0}")]
    Stream(#[from] std::io::Error),
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("import of set {set}: {missing} referenced chunks have not arrived")]
    Incomplete { set: SetId, missing: u64 },
    #[error(
        "tenant {tenant}: this store holds a different chunk-id key (fingerprint {have}) \
         than offered ({offered}); refusing to mix chunk ids of two keys"
    )]
    TenantKeyConflict {
        tenant: TenantId,
        have: String,
        offered: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl DedupError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DedupError {
        let path = path.into();
        move |source| DedupError::Io { path, source }
    }
}
