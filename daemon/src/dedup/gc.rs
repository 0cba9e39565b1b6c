//! Garbage collection, scrub and index rebuild.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use super::disk::DiskReader;
use super::format::{self, IdxEntry};
use super::index::list_packs;
use super::lease::{self, GcLock};
use super::pack::{self, PackWriter};
use super::store::unpack_chunk;
use super::{
    BrokenSet, ChunkId, DamagedChunk, DedupError, GcReport, ScrubReport, SetId, Store, StoredChunk,
    TenantId,
};

/// A pack is rewritten when at least this share of its bytes is dead.
const REPACK_DEAD_SHARE: u64 = 4; // 1/4

fn age(path: &std::path::Path) -> Option<Duration> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    SystemTime::now().duration_since(m).ok()
}

impl Store {
    /// Removes a set (its chunks go at the next GC).
    pub fn delete_set(&self, tenant: &TenantId, set: &SetId) -> Result<(), DedupError> {
        let path = self.inner.set_path(tenant, set);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DedupError::NotFound(format!(
                    "set {set} of tenant {tenant}"
                )));
            }
            Err(e) => return Err(DedupError::io(&path)(e)),
        }
        if let Some(parent) = path.parent() {
            super::disk::sync_dir(parent)?;
        }
        Ok(())
    }

    /// Mark (every set and every live writer's lease) and sweep (delete or
    /// repack packs with dead chunks). Packs newer than `grace`, and packs of
    /// live writers, are never touched. Safe while puts and imports run.
    pub fn gc(&self, grace: Duration) -> Result<GcReport, DedupError> {
        let st = &self.inner;
        let _excl = GcLock::open(&st.dir)?.exclusive()?;
        st.reload_index()?;
        let protected = lease::collect(&st.dir, grace)?;
        let mut r = GcReport {
            stale_leases: protected.stale_removed,
            ..GcReport::default()
        };
        let mut live: HashSet<ChunkId> = protected.chunks.clone();
        for (t, s, path) in st.set_files(None)? {
            // An unreadable set could reference anything: refuse to sweep.
            let ix = st.read_set(&t, &s).map_err(|e| {
                DedupError::Invalid(format!(
                    "gc stopped before sweeping: {}: {e} (restore or remove this set)",
                    path.display()
                ))
            })?;
            r.sets += 1;
            live.extend(ix.chunks.iter().map(|c| c.id));
        }
        r.live_chunks = live.len() as u64;
        for (name, idxp, packp) in list_packs(&st.dir)? {
            if protected.packs.contains(&name) || age(&packp).is_none_or(|a| a < grace) {
                continue;
            }
            let pack_len = std::fs::metadata(&packp).map(|m| m.len()).unwrap_or(0);
            let data = match std::fs::read(&idxp) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // No index, no lease, older than the grace: a crashed writer's.
                    std::fs::remove_file(&packp).map_err(DedupError::io(&packp))?;
                    r.orphan_packs += 1;
                    r.freed_bytes += pack_len;
                    continue;
                }
                Err(e) => return Err(DedupError::io(&idxp)(e)),
            };
            let (tenant, _, entries) = match format::decode_idx(&data) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("{}: {e}; pack left alone", idxp.display());
                    continue;
                }
            };
            // A copy is live when its id is live and the index serves it from
            // here (other copies are duplicates).
            let keep: Vec<IdxEntry> = {
                let ix = st.ix()?;
                entries
                    .iter()
                    .filter(|e| {
                        live.contains(&e.id)
                            && ix
                                .map
                                .get(&e.id)
                                .and_then(|l| ix.pack(l.pack))
                                .is_some_and(|p| p.name == name)
                    })
                    .copied()
                    .collect()
            };
            if keep.len() == entries.len() {
                continue;
            }
            let dead = (entries.len() - keep.len()) as u64;
            if keep.is_empty() {
                // Index first: a crash in between leaves an orphan pack, not
                // an index pointing at nothing.
                std::fs::remove_file(&idxp).map_err(DedupError::io(&idxp))?;
                std::fs::remove_file(&packp).map_err(DedupError::io(&packp))?;
                r.deleted_packs += 1;
                r.deleted_chunks += dead;
                r.freed_bytes += pack_len;
                continue;
            }
            let dead_bytes: u64 = entries
                .iter()
                .filter(|e| !keep.contains(e))
                .map(|e| format::RECORD_HEADER as u64 + u64::from(e.stored_len))
                .sum();
            if dead_bytes * REPACK_DEAD_SHARE < pack_len {
                continue;
            }
            let new_name = pack::random_hex(24)?;
            let mut w = PackWriter::create(&st.driver, &st.dir, &new_name, &tenant)?;
            let mut rd = DiskReader::open(&st.driver, &packp)?;
            for e in &keep {
                let (h, data) = pack::read_record(&mut rd, &name, e)?;
                w.append(&h.id, h.flags, h.plain_len, &data)?;
            }
            let sealed = w.seal(&st.driver, &st.dir)?;
            std::fs::remove_file(&idxp).map_err(DedupError::io(&idxp))?;
            std::fs::remove_file(&packp).map_err(DedupError::io(&packp))?;
            r.repacked_packs += 1;
            r.deleted_chunks += dead;
            r.freed_bytes += pack_len.saturating_sub(sealed.len);
        }
        // Files left in tmp/ by crashed writers. They carry no lease (they
        // live for milliseconds), so the grace is at least an hour here.
        let tmp = st.dir.join("tmp");
        let tmp_grace = grace.max(Duration::from_secs(3600));
        if let Ok(rd) = std::fs::read_dir(&tmp) {
            for e in rd.filter_map(Result::ok) {
                if age(&e.path()).is_some_and(|a| a >= tmp_grace) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let next = lease::read_gen(&st.dir) + 1;
        pack::write_file_durable(
            &st.driver,
            &st.dir,
            &st.dir.join("gc.gen"),
            next.to_string().as_bytes(),
        )?;
        st.reload_index()?;
        Ok(r)
    }

    /// Reads every chunk of every pack, checks CRC, decompression and id;
    /// reports damaged chunks and the sets they break (also sets that
    /// reference chunks that are missing altogether).
    pub fn verify(&self) -> Result<ScrubReport, DedupError> {
        let st = &self.inner;
        // Shared: writers go on, a GC waits (it would delete packs under us
        // and they would look damaged).
        let mut lock = GcLock::open(&st.dir)?;
        let _shared = lock.shared()?;
        st.reload_index()?;
        let mut r = ScrubReport::default();
        let mut keys: HashMap<TenantId, [u8; 32]> = HashMap::new();
        let mut bad: HashSet<ChunkId> = HashSet::new();
        for (name, idxp, packp) in list_packs(&st.dir)? {
            let Ok(data) = std::fs::read(&idxp) else {
                continue; // being written, or a crash leftover (gc's business)
            };
            let (tenant, _, entries) = match format::decode_idx(&data) {
                Ok(v) => v,
                Err(e) => {
                    r.damaged.push(DamagedChunk {
                        id: ChunkId([0; 32]),
                        pack: name.clone(),
                        offset: 0,
                        reason: format!("pack index unreadable: {e} (try rebuild-index)"),
                    });
                    continue;
                }
            };
            let key = match keys.get(&tenant) {
                Some(k) => *k,
                None => {
                    // The tenant has packs, so a legacy secret defines its key.
                    let Some(k) = st.keys.get(&tenant, true)? else {
                        r.damaged.push(DamagedChunk {
                            id: ChunkId([0; 32]),
                            pack: name.clone(),
                            offset: 0,
                            reason: format!("no chunk-id key for tenant {tenant}"),
                        });
                        continue;
                    };
                    keys.insert(tenant.clone(), k.0);
                    k.0
                }
            };
            let mut rd = match DiskReader::open(&st.driver, &packp) {
                Ok(rd) => Some(rd),
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            };
            for e in &entries {
                r.chunks_checked += 1;
                let res = match rd.as_mut() {
                    None => Err(DedupError::NotFound(format!("pack {name}"))),
                    Some(rd) => pack::read_record(rd, &name, e).and_then(|(h, data)| {
                        let c = StoredChunk {
                            compressed: h.flags & format::FLAG_ZSTD != 0,
                            plain_len: h.plain_len,
                            data: bytes::Bytes::from(data),
                        };
                        unpack_chunk(&key, &e.id, &c)
                    }),
                };
                match res {
                    Ok(plain) => r.bytes_checked += plain.len() as u64,
                    Err(err) => {
                        bad.insert(e.id);
                        r.damaged.push(DamagedChunk {
                            id: e.id,
                            pack: name.clone(),
                            offset: e.offset,
                            reason: err.to_string(),
                        });
                    }
                }
            }
        }
        for (t, s, path) in st.set_files(None)? {
            let ix = match st.read_set(&t, &s) {
                Ok(ix) => ix,
                Err(e) => {
                    r.unreadable_sets.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let index = st.ix()?;
            let mut damaged = 0;
            let mut missing = 0;
            let mut counted = HashSet::new();
            for c in &ix.chunks {
                if !counted.insert(c.id) {
                    continue;
                }
                if index.get(&t, &c.id).is_none() {
                    missing += 1;
                } else if bad.contains(&c.id) {
                    damaged += 1;
                }
            }
            if damaged + missing > 0 {
                r.broken_sets.push(BrokenSet {
                    tenant: t,
                    set: s,
                    damaged_chunks: damaged,
                    missing_chunks: missing,
                });
            }
        }
        Ok(r)
    }

    /// Rewrites every pack's `.idx` from a scan of the pack (packs of live
    /// writers excepted). Returns the number of packs indexed.
    pub fn rebuild_index(&self) -> Result<u64, DedupError> {
        let st = &self.inner;
        let _excl = GcLock::open(&st.dir)?.exclusive()?;
        let protected = lease::collect(&st.dir, Duration::from_secs(7 * 86400))?;
        let mut n = 0;
        for (name, idxp, packp) in list_packs(&st.dir)? {
            if protected.packs.contains(&name) {
                continue;
            }
            let mut rd = DiskReader::open(&st.driver, &packp)?;
            let mut data = vec![0u8; usize::try_from(rd.len()).unwrap_or(0)];
            rd.read_exact_at(0, &mut data)?;
            let (tenant, entries, valid) = match format::scan_pack(&data) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("{}: {e}; not indexed", packp.display());
                    continue;
                }
            };
            let idx = format::encode_idx(&tenant, valid, &entries);
            pack::write_file_durable(&st.driver, &st.dir, &idxp, &idx)?;
            n += 1;
        }
        let next = lease::read_gen(&st.dir) + 1;
        pack::write_file_durable(
            &st.driver,
            &st.dir,
            &st.dir.join("gc.gen"),
            next.to_string().as_bytes(),
        )?;
        st.reload_index()?;
        Ok(n)
    }
}
