//! Storage device pools: devices of one type only.
//!
//! A pool holds tape drives of compatible generations, or disk storages,
//! or dedup stores. LTO drives write their own generation and the one
//! before, so drives whose generations differ by at most one share a
//! writable cartridge generation; anything else is refused.

use super::device::{Device, DeviceKind};

/// Why a pool (or a member) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error(
        "pool {pool}: refusing a mixed pool: {device} is a {found}, the pool holds {expected} (a pool holds devices of one type only)"
    )]
    MixedKinds {
        pool: String,
        device: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(
        "pool {pool}: refusing a mixed pool: {device} is LTO-{found}, not write-compatible with LTO-{lo}..LTO-{hi} already in the pool"
    )]
    MixedGenerations {
        pool: String,
        device: String,
        found: u8,
        lo: u8,
        hi: u8,
    },
    #[error("pool {pool}: tape drive {device} has no known generation")]
    UnknownGeneration { pool: String, device: String },
    #[error("pool {pool}: a {kind} cannot be a pool member")]
    NotPoolable { pool: String, kind: &'static str },
    #[error("pool {pool}: no members given and no kind")]
    Empty { pool: String },
}

/// The pool kind for `members` plus `adding`, or why they do not go
/// together. `kind` is the pool's declared kind, when it has one.
pub fn check_members(
    pool: &str,
    kind: Option<DeviceKind>,
    members: &[Device],
) -> Result<DeviceKind, PoolError> {
    let Some(kind) = kind.or_else(|| members.first().map(|d| d.kind)) else {
        return Err(PoolError::Empty { pool: pool.into() });
    };
    if kind == DeviceKind::Changer {
        return Err(PoolError::NotPoolable {
            pool: pool.into(),
            kind: kind.singular(),
        });
    }
    let mut gens: Option<(u8, u8)> = None;
    for d in members {
        if d.kind != kind {
            return Err(PoolError::MixedKinds {
                pool: pool.into(),
                device: d.id.clone(),
                found: d.kind.singular(),
                expected: kind.plural(),
            });
        }
        if kind != DeviceKind::TapeDrive {
            continue;
        }
        let Some(g) = d.generation else {
            return Err(PoolError::UnknownGeneration {
                pool: pool.into(),
                device: d.id.clone(),
            });
        };
        let (lo, hi) = gens.map_or((g, g), |(lo, hi)| (lo.min(g), hi.max(g)));
        if hi - lo > 1 {
            let (plo, phi) = gens.unwrap_or((g, g));
            return Err(PoolError::MixedGenerations {
                pool: pool.into(),
                device: d.id.clone(),
                found: g,
                lo: plo,
                hi: phi,
            });
        }
        gens = Some((lo, hi));
    }
    Ok(kind)
}
