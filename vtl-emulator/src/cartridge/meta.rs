//! `cartridge.json`: the cartridge's identity, spec, write-protect tab,
//! MAM attributes and lifetime counters, replaced atomically on change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::CartridgeError;
use super::fileio::{corrupt, io_err, replace_file};
use super::generation::Generation;

pub(crate) const META_FILE: &str = "cartridge.json";
pub(crate) const META_FORMAT: &str = "reel-cartridge";
pub(crate) const META_VERSION: u32 = 1;
/// Longest barcode (MAM BARCODE attribute is 32 bytes).
pub const MAX_BARCODE_LEN: usize = 32;

/// What a cartridge is: identity, media type and layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartridgeSpec {
    pub barcode: String,
    pub generation: Generation,
    /// Native capacity in bytes (all partitions together).
    pub capacity: u64,
    pub worm: bool,
    /// Number of partitions, 1..=4.
    pub partitions: u8,
}

impl CartridgeSpec {
    /// A single-partition, rewritable cartridge of the generation's native capacity.
    pub fn new(barcode: impl Into<String>, generation: Generation) -> CartridgeSpec {
        CartridgeSpec {
            barcode: barcode.into(),
            generation,
            capacity: generation.native_capacity(),
            worm: false,
            partitions: 1,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.barcode.is_empty()
            || self.barcode.len() > MAX_BARCODE_LEN
            || !self.barcode.bytes().all(|c| c.is_ascii_graphic())
        {
            return Err(format!(
                "barcode {:?} must be 1..={MAX_BARCODE_LEN} printable ASCII characters",
                self.barcode
            ));
        }
        if !(1..=4).contains(&self.partitions) {
            return Err(format!("partitions {} not in 1..=4", self.partitions));
        }
        if self.capacity < 4096 * u64::from(self.partitions) {
            return Err(format!("capacity {} too small", self.capacity));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub format: String,
    pub version: u32,
    pub cartridge_id: u64,
    pub spec: CartridgeSpec,
    /// Native capacity of each partition, bytes; `len() == spec.partitions`.
    pub partition_capacity: Vec<u64>,
    pub write_protected: bool,
    pub load_count: u64,
    pub host_bytes_written: u64,
    pub host_bytes_read: u64,
    /// MAM attributes by identifier.
    pub attributes: BTreeMap<u16, Vec<u8>>,
}

impl Meta {
    pub(crate) fn load(path: &Path) -> Result<Meta, CartridgeError> {
        let bytes = std::fs::read(path).map_err(|e| io_err(path, "read", e))?;
        let m: Meta = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(path, e.column() as u64, format!("line {}: {e}", e.line())))?;
        if m.format != META_FORMAT {
            return Err(corrupt(
                path,
                0,
                format!("format {:?} is not {META_FORMAT:?}", m.format),
            ));
        }
        if m.version != META_VERSION {
            return Err(corrupt(
                path,
                0,
                format!("unsupported version {}", m.version),
            ));
        }
        m.spec.validate().map_err(|e| corrupt(path, 0, e))?;
        if m.partition_capacity.len() != usize::from(m.spec.partitions) {
            return Err(corrupt(
                path,
                0,
                "partition_capacity does not match partitions",
            ));
        }
        let sum = m
            .partition_capacity
            .iter()
            .try_fold(0u64, |a, &c| a.checked_add(c));
        if m.partition_capacity.iter().any(|&c| c < 4096) || sum.is_none_or(|s| s > m.spec.capacity)
        {
            return Err(corrupt(path, 0, "partition capacities invalid"));
        }
        Ok(m)
    }

    pub(crate) fn save(&self, path: &Path) -> Result<(), CartridgeError> {
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| io_err(path, "serialize", e.into()))?;
        replace_file(path, &bytes)
    }
}
