//! Resumable import of a set from another store (optimized duplication).

use std::sync::Mutex;

use super::format::{FLAG_ZSTD, MAX_RECORD_DATA};
use super::lease::IMPORT_PREFIX;
use super::store::{Writer, unpack_chunk};
use super::{ChunkId, DedupError, SetHeader, SetId, SetIndex, Store, StoredChunk, TenantId};

/// The open pack is sealed in `have` once it holds this much, so an
/// interrupted import keeps what arrived before the last batch.
const SEAL_EVERY: u64 = 16 << 20;

/// An import in progress. Chunks are verified as they arrive; the set
/// appears only at [`Import::commit`]. Dropping it keeps the chunks that
/// arrived (durable, and protected by the import's lease for the GC grace
/// period), so opening the same import again resumes it.
pub struct Import {
    w: Mutex<Writer>,
    header: SetHeader,
}

fn poisoned() -> DedupError {
    DedupError::Invalid("import state poisoned by a panic".into())
}

impl Store {
    pub fn import(&self, tenant: &TenantId, header: &SetHeader) -> Result<Import, DedupError> {
        if header.tenant != *tenant {
            return Err(DedupError::Invalid(format!(
                "import: set {} belongs to tenant {}, not {tenant}",
                header.set, header.tenant
            )));
        }
        if self.inner.set_path(tenant, &header.set).exists() {
            return Err(DedupError::Invalid(format!(
                "import: set {} of tenant {tenant} already exists",
                header.set
            )));
        }
        let lease = format!("{IMPORT_PREFIX}{tenant}-{}", header.set);
        let w = Writer::new(self.inner.clone(), tenant, &lease, true)?;
        Ok(Import {
            w: Mutex::new(w),
            header: header.clone(),
        })
    }
}

impl Import {
    pub fn header(&self) -> &SetHeader {
        &self.header
    }

    /// For each id: does this tenant already have it (stored or arrived).
    pub fn have(&self, ids: &[ChunkId]) -> Result<Vec<bool>, DedupError> {
        let mut w = self.w.lock().map_err(|_| poisoned())?;
        if w.open_pack_len() >= SEAL_EVERY {
            w.seal()?;
        }
        ids.iter().map(|id| w.have(id)).collect()
    }

    /// Verifies the chunk (decompress, keyed hash, compare with `id`) and
    /// stores it as it came.
    pub fn add_chunk(&mut self, id: &ChunkId, chunk: StoredChunk) -> Result<(), DedupError> {
        if chunk.plain_len > MAX_RECORD_DATA || chunk.data.len() > MAX_RECORD_DATA as usize {
            return Err(DedupError::ChunkMismatch {
                id: *id,
                detail: "chunk too large".into(),
            });
        }
        let w = self.w.get_mut().map_err(|_| poisoned())?;
        let plain = unpack_chunk(&w.key, id, &chunk)?;
        if w.have(id)? {
            return Ok(());
        }
        if chunk.compressed {
            w.add_stored(id, FLAG_ZSTD, chunk.plain_len, &chunk.data)
        } else {
            w.add_plain(id, &plain)
        }
    }

    /// Makes the set visible, if `index` is the one announced and every
    /// chunk it references is present.
    pub fn commit(self, index: &SetIndex) -> Result<SetId, DedupError> {
        if index.header != self.header {
            return Err(DedupError::Invalid(
                "import: the index's header differs from the one the import was opened with".into(),
            ));
        }
        let total: u64 = index.chunks.iter().map(|c| u64::from(c.len)).sum();
        if total != index.header.logical_size {
            return Err(DedupError::Invalid(
                "import: chunk lengths do not add up to the logical size".into(),
            ));
        }
        let mut w = self.w.lock().map_err(|_| poisoned())?;
        let mut missing = 0;
        for c in &index.chunks {
            if !w.have(&c.id)? {
                missing += 1;
            }
        }
        if missing > 0 {
            return Err(DedupError::Incomplete {
                set: index.header.set.clone(),
                missing,
            });
        }
        w.seal()?;
        w.st.write_set(index)?;
        w.lease.release();
        Ok(index.header.set.clone())
    }
}

impl Drop for Import {
    fn drop(&mut self) {
        if let Ok(w) = self.w.get_mut()
            && let Err(e) = w.seal()
        {
            tracing::warn!(
                "import of set {}: sealing arrived chunks: {e}",
                self.header.set
            );
        }
    }
}
