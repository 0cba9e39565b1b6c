//! The store: open/init, put, get, list, the chunk-level API used by
//! optimized duplication.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::chunker::Cdc;
use super::compress::{Pool, compress_one};
use super::disk::{self, DiskDriver, DiskReader};
use super::format::{self, FLAG_ZSTD};
use super::index::{Index, Loc, gen_stamp};
use super::ingest::{self, ChunkSink, Params};
use super::keys::{KeyAdoption, KeyDir, TenantKey};
use super::lease::{GcLock, Lease};
use super::pack::{self, PackWriter};
use super::{
    ChunkId, ChunkRef, DedupError, GetReport, IngestKind, PutReport, SetHeader, SetId, SetIndex,
    SetInfo, StoreConfig, StoreStats, StoredChunk, TenantId,
};

/// A writer starts a new pack after this many bytes.
pub(crate) const PACK_TARGET: u64 = 128 << 20;
/// Open pack readers kept by one `get`.
const MAX_READERS: usize = 64;

#[derive(Serialize, Deserialize)]
struct ConfigFile {
    format: u32,
    min_chunk: usize,
    avg_chunk: usize,
    max_chunk: usize,
    compression: Option<i32>,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub cfg: StoreConfig,
    pub params: Params,
    pub keys: KeyDir,
    pub driver: DiskDriver,
    pub index: RwLock<Index>,
}

/// A deduplicating chunk store in one directory. Cheap to clone; Send + Sync;
/// any number of readers and writers, in this and other processes.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

fn poisoned() -> DedupError {
    DedupError::Invalid("the store's index lock was poisoned by a panic".into())
}

impl Inner {
    pub fn ix(&self) -> Result<RwLockReadGuard<'_, Index>, DedupError> {
        self.index.read().map_err(|_| poisoned())
    }

    pub fn ix_mut(&self) -> Result<RwLockWriteGuard<'_, Index>, DedupError> {
        self.index.write().map_err(|_| poisoned())
    }

    /// Does the tenant have sets or packs here (so a legacy store secret
    /// defines its key)?
    fn has_data(&self, tenant: &TenantId) -> Result<bool, DedupError> {
        if self.dir.join("sets").join(tenant.as_str()).exists() {
            return Ok(true);
        }
        self.refresh_if_stale()?;
        let ix = self.ix()?;
        Ok(ix.packs.iter().flatten().any(|p| p.tenant == *tenant))
    }

    /// The tenant's key, if this store has one.
    pub fn existing_key(&self, tenant: &TenantId) -> Result<Option<TenantKey>, DedupError> {
        self.keys.get(tenant, self.has_data(tenant)?)
    }

    /// The tenant's key; NotFound when the store has none for it.
    pub fn tenant_key(&self, tenant: &TenantId) -> Result<[u8; 32], DedupError> {
        match self.existing_key(tenant)? {
            Some(k) => Ok(k.0),
            None => Err(DedupError::NotFound(format!(
                "chunk-id key of tenant {tenant}"
            ))),
        }
    }

    /// The tenant's key, created from fresh randomness on first use.
    pub fn tenant_key_or_create(&self, tenant: &TenantId) -> Result<[u8; 32], DedupError> {
        Ok(self.keys.get_or_create(tenant, self.has_data(tenant)?)?.0)
    }

    /// Reloads the index from the `.idx` files.
    pub fn reload_index(&self) -> Result<(), DedupError> {
        let generation = gen_stamp(&self.dir);
        let ix = Index::load(&self.dir, generation)?;
        *self.ix_mut()? = ix;
        Ok(())
    }

    /// Reloads when a GC (maybe in another process) changed the packs.
    pub fn refresh_if_stale(&self) -> Result<(), DedupError> {
        let generation = gen_stamp(&self.dir);
        if self.ix()?.generation != generation {
            self.reload_index()?;
        }
        Ok(())
    }

    pub fn set_path(&self, tenant: &TenantId, set: &SetId) -> PathBuf {
        self.dir
            .join("sets")
            .join(tenant.as_str())
            .join(format!("{}.set", set.as_str()))
    }

    pub fn write_set(&self, index: &SetIndex) -> Result<(), DedupError> {
        let tdir = self.dir.join("sets").join(index.header.tenant.as_str());
        if !tdir.exists() {
            std::fs::create_dir_all(&tdir).map_err(DedupError::io(&tdir))?;
            disk::sync_dir(&self.dir.join("sets"))?;
        }
        let path = self.set_path(&index.header.tenant, &index.header.set);
        pack::write_file_durable(&self.driver, &self.dir, &path, &format::encode_set(index))
    }

    pub fn read_set(&self, tenant: &TenantId, set: &SetId) -> Result<SetIndex, DedupError> {
        let path = self.set_path(tenant, set);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DedupError::NotFound(format!(
                    "set {set} of tenant {tenant}"
                )));
            }
            Err(e) => return Err(DedupError::io(&path)(e)),
        };
        let ix = format::decode_set(&data)?;
        if ix.header.tenant != *tenant || ix.header.set != *set {
            return Err(DedupError::Corrupt {
                what: path.display().to_string(),
                detail: "header names another set".into(),
            });
        }
        Ok(ix)
    }

    /// Every set file: `(tenant, set, path)`.
    pub fn set_files(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(TenantId, SetId, PathBuf)>, DedupError> {
        let root = self.dir.join("sets");
        let mut out = Vec::new();
        let tenants: Vec<TenantId> = match tenant {
            Some(t) => vec![t.clone()],
            None => std::fs::read_dir(&root)
                .map_err(DedupError::io(&root))?
                .filter_map(Result::ok)
                .filter_map(|e| TenantId::new(&e.file_name().to_string_lossy()).ok())
                .collect(),
        };
        for t in tenants {
            let tdir = root.join(t.as_str());
            let Ok(rd) = std::fs::read_dir(&tdir) else {
                continue;
            };
            for e in rd.filter_map(Result::ok) {
                let n = e.file_name().to_string_lossy().into_owned();
                if let Some(s) = n.strip_suffix(".set")
                    && let Ok(set) = SetId::new(s)
                {
                    out.push((t.clone(), set, e.path()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn locate(&self, tenant: &TenantId, id: &ChunkId) -> Result<(Loc, String), DedupError> {
        self.refresh_if_stale()?;
        for attempt in 0..2 {
            if let Some((loc, p)) = self.ix()?.get(tenant, id) {
                return Ok((loc, p.name.clone()));
            }
            if attempt == 0 {
                // Maybe sealed by another process since we loaded.
                self.reload_index()?;
            }
        }
        Err(DedupError::NotFound(format!(
            "chunk {id} of tenant {tenant}"
        )))
    }

    /// The record of a chunk of `tenant`, with its CRC checked.
    pub fn read_stored(
        &self,
        tenant: &TenantId,
        id: &ChunkId,
        readers: &mut HashMap<String, DiskReader>,
    ) -> Result<StoredChunk, DedupError> {
        let mut last = None;
        for _ in 0..2 {
            let (loc, name) = self.locate(tenant, id)?;
            if !readers.contains_key(&name) {
                if readers.len() >= MAX_READERS {
                    readers.clear();
                }
                match DiskReader::open(&self.driver, &pack::pack_path(&self.dir, &name)) {
                    Ok(r) => {
                        readers.insert(name.clone(), r);
                    }
                    Err(e) => {
                        // A concurrent GC may have repacked it: look again.
                        last = Some(e.into());
                        self.reload_index()?;
                        continue;
                    }
                }
            }
            let Some(r) = readers.get_mut(&name) else {
                continue;
            };
            let (h, data) = pack::read_record(r, &name, &loc.entry)?;
            return Ok(StoredChunk {
                compressed: h.flags & FLAG_ZSTD != 0,
                plain_len: h.plain_len,
                data: bytes::Bytes::from(data),
            });
        }
        Err(last.unwrap_or_else(|| DedupError::NotFound(format!("chunk {id}"))))
    }
}

/// Plain bytes of a stored chunk, checked against its id.
pub(crate) fn unpack_chunk(
    key: &[u8; 32],
    id: &ChunkId,
    c: &StoredChunk,
) -> Result<Vec<u8>, DedupError> {
    let plain = if c.compressed {
        zstd::bulk::decompress(&c.data, c.plain_len as usize).map_err(|e| {
            DedupError::ChunkMismatch {
                id: *id,
                detail: format!("zstd: {e}"),
            }
        })?
    } else {
        c.data.to_vec()
    };
    if plain.len() != c.plain_len as usize {
        return Err(DedupError::ChunkMismatch {
            id: *id,
            detail: format!("{} bytes, expected {}", plain.len(), c.plain_len),
        });
    }
    if blake3::keyed_hash(key, &plain).as_bytes() != &id.0 {
        return Err(DedupError::ChunkMismatch {
            id: *id,
            detail: "hash differs".into(),
        });
    }
    Ok(plain)
}

/// One writer (a put or an import): its lease, its open pack, what it has
/// already decided about each chunk id.
pub(crate) struct Writer {
    pub st: Arc<Inner>,
    pub tenant: TenantId,
    pub key: [u8; 32],
    pub lease: Lease,
    gclock: GcLock,
    pack: Option<PackWriter>,
    seen: HashSet<ChunkId>,
    comp: Option<zstd::bulk::Compressor<'static>>,
    pool: Option<Pool>,
    pub new_bytes: u64,
    pub new_chunks: u64,
}

impl Writer {
    pub fn new(
        st: Arc<Inner>,
        tenant: &TenantId,
        lease_name: &str,
        keep_lease: bool,
    ) -> Result<Writer, DedupError> {
        let mut gclock = GcLock::open(&st.dir)?;
        let lease = {
            let _g = gclock.shared()?;
            Lease::acquire(&st.dir, lease_name, keep_lease)?
        };
        let comp = match st.cfg.compression {
            Some(level) => Some(zstd::bulk::Compressor::new(level)?),
            None => None,
        };
        // One zstd thread per core beyond the one reading and hashing.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1));
        let pool = match st.cfg.compression {
            Some(level) if threads > 0 => Some(Pool::new(level, threads)?),
            _ => None,
        };
        let key = st.tenant_key_or_create(tenant)?;
        Ok(Writer {
            st,
            tenant: tenant.clone(),
            key,
            lease,
            gclock,
            pack: None,
            seen: HashSet::new(),
            comp,
            pool,
            new_bytes: 0,
            new_chunks: 0,
        })
    }

    /// Does this tenant have the chunk (stored, or written by this writer)?
    /// A stored chunk is added to the lease, so GC keeps it until the set
    /// is committed.
    pub fn have(&mut self, id: &ChunkId) -> Result<bool, DedupError> {
        if self.seen.contains(id) {
            return Ok(true);
        }
        let _g = self.gclock.shared()?;
        self.st.refresh_if_stale()?;
        let found = self.st.ix()?.get(&self.tenant, id).is_some();
        if found {
            self.lease.add_chunk(id)?;
            self.seen.insert(*id);
        }
        Ok(found)
    }

    /// Stores a plain chunk unless the tenant already has it.
    pub fn add_plain(&mut self, id: &ChunkId, data: &[u8]) -> Result<(), DedupError> {
        if self.have(id)? {
            return Ok(());
        }
        if let Some(pool) = self.pool.as_mut() {
            pool.submit(*id, data.to_vec())?;
            // Written when compressed; until then `seen` answers for it.
            self.seen.insert(*id);
            return self.drain(false);
        }
        match self.comp.as_mut() {
            Some(c) => {
                let d = compress_one(c, *id, data.to_vec())?;
                self.add_stored(&d.id, d.flags, d.plain_len, &d.stored)
            }
            None => self.add_stored(id, 0, data.len() as u32, data),
        }
    }

    /// Writes the chunks the compression threads have finished (all of
    /// them when `all`).
    fn drain(&mut self, all: bool) -> Result<(), DedupError> {
        loop {
            let Some(pool) = self.pool.as_mut() else {
                return Ok(());
            };
            match pool.next(all)? {
                Some(d) => self.add_stored(&d.id, d.flags, d.plain_len, &d.stored)?,
                None => return Ok(()),
            }
        }
    }

    /// Appends a record (already verified by the caller) to this writer's pack.
    pub fn add_stored(
        &mut self,
        id: &ChunkId,
        flags: u8,
        plain_len: u32,
        stored: &[u8],
    ) -> Result<(), DedupError> {
        if self.pack.is_none() {
            let name = pack::random_hex(24)?;
            {
                let _g = self.gclock.shared()?;
                self.lease.add_pack(&name)?;
            }
            self.pack = Some(PackWriter::create(
                &self.st.driver,
                &self.st.dir,
                &name,
                &self.tenant,
            )?);
        }
        let Some(p) = self.pack.as_mut() else {
            return Err(DedupError::Invalid("no open pack".into()));
        };
        p.append(id, flags, plain_len, stored)?;
        self.seen.insert(*id);
        self.new_bytes += stored.len() as u64;
        self.new_chunks += 1;
        if p.len() >= PACK_TARGET {
            self.seal_pack()?;
        }
        Ok(())
    }

    pub fn open_pack_len(&self) -> u64 {
        self.pack.as_ref().map_or(0, PackWriter::len)
    }

    /// Makes the open pack durable and visible in the index.
    pub fn seal(&mut self) -> Result<(), DedupError> {
        self.drain(true)?;
        self.seal_pack()
    }

    fn seal_pack(&mut self) -> Result<(), DedupError> {
        if let Some(p) = self.pack.take() {
            let s = p.seal(&self.st.driver, &self.st.dir)?;
            self.st.ix_mut()?.add_pack(&s.name, s.tenant, &s.entries);
        }
        Ok(())
    }
}

struct PutSink<'a> {
    w: &'a mut Writer,
    hasher: blake3::Hasher,
    refs: Vec<ChunkRef>,
    bytes: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl ChunkSink for PutSink<'_> {
    fn chunk(&mut self, data: &[u8]) -> Result<(), DedupError> {
        self.hasher.update(data);
        let id = ChunkId(*blake3::keyed_hash(&self.w.key, data).as_bytes());
        self.w.add_plain(&id, data)?;
        self.refs.push(ChunkRef {
            id,
            len: data.len() as u32,
        });
        self.bytes += data.len() as u64;
        (self.progress)(self.bytes);
        Ok(())
    }
}

pub(crate) fn new_set_id(created: SystemTime) -> Result<SetId, DedupError> {
    let secs = created
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SetId::new(&format!("{secs:010x}-{}", pack::random_hex(12)?))
}

impl Store {
    /// Creates a new store in `dir` (created if missing; must not hold a store).
    pub fn init(dir: &Path, cfg: StoreConfig) -> Result<Store, DedupError> {
        Cdc::new(cfg.min_chunk, cfg.avg_chunk, cfg.max_chunk)?;
        if let Some(l) = cfg.compression
            && !zstd::compression_level_range().contains(&l)
        {
            return Err(DedupError::Config(format!("zstd level {l} out of range")));
        }
        std::fs::create_dir_all(dir).map_err(DedupError::io(dir))?;
        let conf = dir.join("store.json");
        if conf.exists() {
            return Err(DedupError::Invalid(format!(
                "{}: a store already exists here",
                dir.display()
            )));
        }
        for sub in ["packs", "sets", "leases", "tmp"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(DedupError::io(&p))?;
        }
        let driver = DiskDriver::new(Default::default())?;
        // No store-wide secret: each tenant's key is created on its first
        // write (or adopted from another store), see `keys`.
        let file = ConfigFile {
            format: 1,
            min_chunk: cfg.min_chunk,
            avg_chunk: cfg.avg_chunk,
            max_chunk: cfg.max_chunk,
            compression: cfg.compression,
        };
        let json = serde_json::to_vec_pretty(&file)
            .map_err(|e| DedupError::Config(format!("encoding store.json: {e}")))?;
        // store.json last: its presence means the store is complete.
        pack::write_file_durable(&driver, dir, &conf, &json)?;
        Store::open(dir)
    }

    pub fn open(dir: &Path) -> Result<Store, DedupError> {
        let conf = dir.join("store.json");
        let data = std::fs::read(&conf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                DedupError::NotFound(format!("store in {} (run `dedup init`)", dir.display()))
            } else {
                DedupError::io(&conf)(e)
            }
        })?;
        let file: ConfigFile = serde_json::from_slice(&data).map_err(|e| DedupError::Corrupt {
            what: conf.display().to_string(),
            detail: e.to_string(),
        })?;
        if file.format != 1 {
            return Err(DedupError::Config(format!(
                "store format {} is not supported",
                file.format
            )));
        }
        let cfg = StoreConfig {
            min_chunk: file.min_chunk,
            avg_chunk: file.avg_chunk,
            max_chunk: file.max_chunk,
            compression: file.compression,
        };
        let cdc = Cdc::new(cfg.min_chunk, cfg.avg_chunk, cfg.max_chunk)?;
        let keys = KeyDir::open(dir)?;
        for sub in ["packs", "sets", "leases", "tmp"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(DedupError::io(&p))?;
        }
        let driver = DiskDriver::new(Default::default())?;
        let index = Index::load(dir, gen_stamp(dir))?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                cfg,
                params: Params::new(cdc),
                keys,
                driver,
                index: RwLock::new(index),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.cfg
    }

    /// Ingests a stream as a new backup set of `tenant`. `progress` gets the
    /// number of input bytes consumed so far.
    pub fn put(
        &self,
        tenant: &TenantId,
        name: &str,
        input: &mut dyn Read,
        kind: IngestKind,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PutReport, DedupError> {
        let created = SystemTime::now();
        let set = new_set_id(created)?;
        let mut w = Writer::new(self.inner.clone(), tenant, &format!("put-{set}"), false)?;
        let mut sink = PutSink {
            w: &mut w,
            hasher: blake3::Hasher::new(),
            refs: Vec::new(),
            bytes: 0,
            progress,
        };
        ingest::ingest(input, kind, self.inner.params, &mut sink)?;
        let stream_hash = *sink.hasher.finalize().as_bytes();
        let (refs, bytes) = (std::mem::take(&mut sink.refs), sink.bytes);
        w.seal()?;
        let index = SetIndex {
            header: SetHeader {
                tenant: tenant.clone(),
                set: set.clone(),
                name: format::truncate_name(name).to_string(),
                created,
                logical_size: bytes,
                stream_hash,
            },
            chunks: refs,
        };
        self.inner.write_set(&index)?;
        tracing::debug!(
            "put {set}: {bytes} bytes, {} chunks, {} new",
            index.chunks.len(),
            w.new_chunks
        );
        Ok(PutReport {
            set,
            bytes_in: bytes,
            new_bytes: w.new_bytes,
            chunks: index.chunks.len() as u64,
            new_chunks: w.new_chunks,
        })
    }

    /// Ingests a directory as a pax tar stream (sorted walk; see
    /// [`super::dirtar`]): `get` returns that tar.
    pub fn put_dir(
        &self,
        tenant: &TenantId,
        name: &str,
        dir: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<PutReport, DedupError> {
        let mut tar = super::dirtar::DirTar::new(dir)?;
        self.put(tenant, name, &mut tar, IngestKind::Tar, progress)
    }

    /// Writes the set's stream to `out`, verifying every chunk's id and the
    /// whole stream's hash.
    pub fn get(
        &self,
        tenant: &TenantId,
        set: &SetId,
        out: &mut dyn Write,
    ) -> Result<GetReport, DedupError> {
        let index = self.inner.read_set(tenant, set)?;
        let key = self.inner.tenant_key(tenant)?;
        let mut readers = HashMap::new();
        let mut hasher = blake3::Hasher::new();
        let mut bytes = 0u64;
        for c in &index.chunks {
            let stored = self.inner.read_stored(tenant, &c.id, &mut readers)?;
            let plain = unpack_chunk(&key, &c.id, &stored)?;
            if plain.len() != c.len as usize {
                return Err(DedupError::ChunkMismatch {
                    id: c.id,
                    detail: "length differs from the set index".into(),
                });
            }
            hasher.update(&plain);
            out.write_all(&plain)?;
            bytes += plain.len() as u64;
        }
        if *hasher.finalize().as_bytes() != index.header.stream_hash {
            return Err(DedupError::StreamMismatch { set: set.clone() });
        }
        out.flush()?;
        Ok(GetReport { bytes_out: bytes })
    }

    /// Sets of one tenant, or of all, oldest first.
    pub fn list(&self, tenant: Option<&TenantId>) -> Result<Vec<SetInfo>, DedupError> {
        let mut out = Vec::new();
        for (t, s, path) in self.inner.set_files(tenant)? {
            match self.inner.read_set(&t, &s) {
                Ok(ix) => out.push(SetInfo {
                    tenant: ix.header.tenant,
                    set: ix.header.set,
                    name: ix.header.name,
                    created: ix.header.created,
                    logical_size: ix.header.logical_size,
                    chunks: ix.chunks.len() as u64,
                }),
                Err(e) => tracing::warn!("{}: {e}", path.display()),
            }
        }
        out.sort_by(|a, b| (a.created, &a.set).cmp(&(b.created, &b.set)));
        Ok(out)
    }

    pub fn stats(&self) -> Result<StoreStats, DedupError> {
        self.inner.refresh_if_stale()?;
        let mut s = StoreStats::default();
        {
            let ix = self.inner.ix()?;
            s.packs = ix.packs.iter().flatten().count() as u64;
            for loc in ix.map.values() {
                s.chunks += 1;
                s.stored_bytes += u64::from(loc.entry.stored_len);
                s.plain_bytes += u64::from(loc.entry.plain_len);
            }
        }
        for info in self.list(None)? {
            s.sets += 1;
            s.logical_bytes += info.logical_size;
        }
        Ok(s)
    }

    pub fn set_index(&self, tenant: &TenantId, set: &SetId) -> Result<SetIndex, DedupError> {
        self.inner.read_set(tenant, set)
    }

    /// A chunk as stored (possibly compressed), CRC checked; for sending
    /// without recompressing.
    pub fn read_stored_chunk(
        &self,
        tenant: &TenantId,
        id: &ChunkId,
    ) -> Result<StoredChunk, DedupError> {
        self.inner.read_stored(tenant, id, &mut HashMap::new())
    }

    /// For each id: does THIS tenant have it.
    pub fn have_chunks(&self, tenant: &TenantId, ids: &[ChunkId]) -> Result<Vec<bool>, DedupError> {
        self.inner.refresh_if_stale()?;
        let ix = self.inner.ix()?;
        Ok(ids.iter().map(|id| ix.get(tenant, id).is_some()).collect())
    }

    /// The chunk id `data` would get under `tenant`.
    /// (Creates the tenant's key if it has none.)
    pub fn chunk_id(&self, tenant: &TenantId, data: &[u8]) -> Result<ChunkId, DedupError> {
        let key = self.inner.tenant_key_or_create(tenant)?;
        Ok(ChunkId(*blake3::keyed_hash(&key, data).as_bytes()))
    }

    /// The tenant's chunk-id key (NotFound when this store has none). A
    /// store that has only a legacy `secret` derives it the old way once
    /// and persists it.
    pub fn tenant_key(&self, tenant: &TenantId) -> Result<TenantKey, DedupError> {
        self.inner.tenant_key(tenant).map(TenantKey)
    }

    /// Fingerprint of the tenant's key, None when this store has no key
    /// for the tenant yet.
    pub fn tenant_key_fingerprint(&self, tenant: &TenantId) -> Result<Option<String>, DedupError> {
        Ok(self.inner.existing_key(tenant)?.map(|k| k.fingerprint()))
    }

    /// Makes `key` the tenant's key if the store has none; accepts it when
    /// equal; refuses ([`DedupError::TenantKeyConflict`]) when the store
    /// holds a different key, since chunk ids under two keys never match.
    pub fn adopt_tenant_key(
        &self,
        tenant: &TenantId,
        key: &TenantKey,
    ) -> Result<KeyAdoption, DedupError> {
        let conflict = |have: TenantKey| DedupError::TenantKeyConflict {
            tenant: tenant.clone(),
            have: have.fingerprint(),
            offered: key.fingerprint(),
        };
        if let Some(have) = self.inner.existing_key(tenant)? {
            return if have == *key {
                Ok(KeyAdoption::AlreadyPresent)
            } else {
                Err(conflict(have))
            };
        }
        let now = self.inner.keys.publish(tenant, *key)?;
        if now != *key {
            // Another writer created a key first.
            return Err(conflict(now));
        }
        // Cache it.
        self.inner.existing_key(tenant)?;
        tracing::info!(%tenant, fingerprint = %key.fingerprint(), "adopted tenant key");
        Ok(KeyAdoption::Adopted)
    }

    /// The tenant's key as an export file (see [`super::keys::encode_export`]).
    pub fn export_tenant_key(&self, tenant: &TenantId) -> Result<String, DedupError> {
        Ok(super::keys::encode_export(
            tenant,
            &self.tenant_key(tenant)?,
        ))
    }

    /// Adopts the key in an export file for `tenant` (the file must name
    /// the same tenant).
    pub fn import_tenant_key(
        &self,
        tenant: &TenantId,
        file: &[u8],
    ) -> Result<KeyAdoption, DedupError> {
        let (named, key) = super::keys::decode_export(file)?;
        if named != *tenant {
            return Err(DedupError::Invalid(format!(
                "the key file holds the key of tenant {named}, not {tenant}"
            )));
        }
        self.adopt_tenant_key(tenant, &key)
    }
}
