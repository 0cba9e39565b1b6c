//! The in-memory chunk index (id -> pack, offset, lengths), loaded from the
//! packs' `.idx` files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::format::{self, IdxEntry};
use super::{ChunkId, DedupError, TenantId};

#[derive(Clone, Debug)]
pub struct PackInfo {
    pub name: String,
    pub tenant: TenantId,
}

#[derive(Clone, Copy, Debug)]
pub struct Loc {
    pub pack: u32,
    pub entry: IdxEntry,
}

#[derive(Default)]
pub struct Index {
    pub map: HashMap<ChunkId, Loc>,
    pub packs: Vec<Option<PackInfo>>,
    names: HashMap<String, u32>,
    /// `gc.gen` when this index was loaded.
    pub generation: u64,
}

/// Every `(name, idx path, pack path)` under `packs/`.
pub fn list_packs(dir: &Path) -> Result<Vec<(String, PathBuf, PathBuf)>, DedupError> {
    let root = dir.join("packs");
    let mut out = Vec::new();
    let mut subs: Vec<_> = std::fs::read_dir(&root)
        .map_err(DedupError::io(&root))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    for sub in subs {
        let mut names: Vec<String> = std::fs::read_dir(&sub)
            .map_err(DedupError::io(&sub))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".pack").map(str::to_string)
            })
            .collect();
        names.sort();
        for n in names {
            out.push((
                n.clone(),
                sub.join(format!("{n}.idx")),
                sub.join(format!("{n}.pack")),
            ));
        }
    }
    Ok(out)
}

impl Index {
    pub fn load(dir: &Path, generation: u64) -> Result<Index, DedupError> {
        let mut ix = Index {
            generation,
            ..Index::default()
        };
        for (name, idx, _) in list_packs(dir)? {
            let Ok(data) = std::fs::read(&idx) else {
                // No index yet: a pack being written, or a crash leftover.
                continue;
            };
            match format::decode_idx(&data) {
                Ok((tenant, _, entries)) => ix.add_pack(&name, tenant, &entries),
                Err(e) => tracing::warn!(
                    "{}: {e}; its chunks are unavailable until `rebuild_index`",
                    idx.display()
                ),
            }
        }
        Ok(ix)
    }

    pub fn add_pack(&mut self, name: &str, tenant: TenantId, entries: &[IdxEntry]) {
        if self.names.contains_key(name) {
            return;
        }
        let no = self.packs.len() as u32;
        self.packs.push(Some(PackInfo {
            name: name.to_string(),
            tenant,
        }));
        self.names.insert(name.to_string(), no);
        for e in entries {
            self.map.entry(e.id).or_insert(Loc {
                pack: no,
                entry: *e,
            });
        }
    }

    pub fn pack(&self, no: u32) -> Option<&PackInfo> {
        self.packs.get(no as usize).and_then(Option::as_ref)
    }

    /// The chunk, only if it belongs to `tenant`.
    pub fn get(&self, tenant: &TenantId, id: &ChunkId) -> Option<(Loc, &PackInfo)> {
        let loc = self.map.get(id)?;
        let p = self.pack(loc.pack)?;
        (p.tenant == *tenant).then_some((*loc, p))
    }
}
