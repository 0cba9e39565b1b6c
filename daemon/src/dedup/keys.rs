//! Per-tenant chunk-id keys. A key belongs to the tenant, not to the store:
//! it is created from fresh randomness on the tenant's first write, kept in
//! `DIR/tenants/TENANT.key` (32 bytes, 0600), and travels with the tenant's
//! data (export/import, or the Hello of optimized duplication), so any
//! number of independently created stores compute the same chunk ids for
//! the same tenant without sharing anything else.
//!
//! Stores created before per-tenant key files have a store-wide `secret`;
//! for a tenant that already has data there, the key is derived from it the
//! old way once and then persisted as the tenant's key file.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{DedupError, TenantId};

const LEGACY_CONTEXT: &str = "reel dedup 2026-11 per-tenant chunk id key v1";
const FINGERPRINT_CONTEXT: &str = "reel dedup 2026-11 tenant key fingerprint v1";
/// First word of an exported key file.
const EXPORT_MAGIC: &str = "reel-dedup-tenant-key-v1";

/// A tenant's chunk-id key. Debug output shows only the fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TenantKey(pub [u8; 32]);

impl TenantKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 16 hex digits that name the key without revealing it, for logs,
    /// errors and comparing two stores by eye.
    pub fn fingerprint(&self) -> String {
        let fp = blake3::derive_key(FINGERPRINT_CONTEXT, &self.0);
        fp[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantKey({})", self.fingerprint())
    }
}

/// What [`super::Store::adopt_tenant_key`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyAdoption {
    /// The store had no key for the tenant and now has this one.
    Adopted,
    /// The store already had exactly this key.
    AlreadyPresent,
}

/// The text of an exported key: one line, `MAGIC TENANT HEX64`.
pub fn encode_export(tenant: &TenantId, key: &TenantKey) -> String {
    let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
    format!("{EXPORT_MAGIC} {tenant} {hex}\n")
}

/// Parses an exported key file (pure; never panics on any bytes).
pub fn decode_export(data: &[u8]) -> Result<(TenantId, TenantKey), DedupError> {
    let bad = |detail: &str| DedupError::Corrupt {
        what: "tenant key file".into(),
        detail: detail.into(),
    };
    let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let mut words = line.split(' ');
    if words.next() != Some(EXPORT_MAGIC) {
        return Err(bad("does not start with reel-dedup-tenant-key-v1"));
    }
    let tenant = TenantId::new(words.next().ok_or_else(|| bad("no tenant"))?)?;
    let hex = words.next().ok_or_else(|| bad("no key"))?;
    if words.next().is_some() {
        return Err(bad("trailing text after the key"));
    }
    let key = parse_hex32(hex).ok_or_else(|| bad("key is not 64 hex digits"))?;
    Ok((tenant, TenantKey(key)))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let (hi, lo) = (digit(b[2 * i])?, digit(b[2 * i + 1])?);
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// The key of a tenant under a pre-key-file store secret (the old scheme).
pub fn legacy_key(secret: &[u8; 32], tenant: &TenantId) -> TenantKey {
    let mut material = Vec::with_capacity(33 + tenant.as_str().len());
    material.extend_from_slice(secret);
    material.push(0);
    material.extend_from_slice(tenant.as_str().as_bytes());
    TenantKey(blake3::derive_key(LEGACY_CONTEXT, &material))
}

/// The key files of one store, with a cache (keys never change once
/// written, so a cached key stays right).
pub struct KeyDir {
    dir: PathBuf,
    /// The old store-wide secret, when the store has one.
    legacy: Option<[u8; 32]>,
    cache: Mutex<HashMap<TenantId, TenantKey>>,
}

fn poisoned() -> DedupError {
    DedupError::Invalid("tenant key cache poisoned by a panic".into())
}

impl KeyDir {
    /// `store_dir` is the store's directory (keys live in `tenants/`).
    pub fn open(store_dir: &Path) -> Result<KeyDir, DedupError> {
        let dir = store_dir.join("tenants");
        std::fs::create_dir_all(&dir).map_err(DedupError::io(&dir))?;
        let spath = store_dir.join("secret");
        let legacy = match std::fs::read(&spath) {
            Ok(d) => Some(d.as_slice().try_into().map_err(|_| DedupError::Corrupt {
                what: spath.display().to_string(),
                detail: "not 32 bytes".into(),
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(DedupError::io(&spath)(e)),
        };
        Ok(KeyDir {
            dir,
            legacy,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.key"))
    }

    fn read_file(&self, tenant: &TenantId) -> Result<Option<TenantKey>, DedupError> {
        let path = self.path(tenant);
        match std::fs::read(&path) {
            Ok(d) => {
                let k: [u8; 32] = d.as_slice().try_into().map_err(|_| DedupError::Corrupt {
                    what: path.display().to_string(),
                    detail: "not 32 bytes".into(),
                })?;
                Ok(Some(TenantKey(k)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DedupError::io(&path)(e)),
        }
    }

    /// The tenant's key, if the store has one. `has_data` says whether the
    /// tenant already has packs or sets here: only then does a legacy
    /// secret define its key (persisted now, so it never depends on the
    /// secret again).
    pub fn get(&self, tenant: &TenantId, has_data: bool) -> Result<Option<TenantKey>, DedupError> {
        if let Some(k) = self.cache.lock().map_err(|_| poisoned())?.get(tenant) {
            return Ok(Some(*k));
        }
        let key = match self.read_file(tenant)? {
            Some(k) => k,
            None => match (self.legacy, has_data) {
                (Some(secret), true) => self.publish(tenant, legacy_key(&secret, tenant))?,
                _ => return Ok(None),
            },
        };
        self.cache
            .lock()
            .map_err(|_| poisoned())?
            .insert(tenant.clone(), key);
        Ok(Some(key))
    }

    /// Writes `key` as the tenant's key unless one exists; returns the key
    /// the tenant has afterwards (the existing one if another writer, maybe
    /// another process, won the race).
    pub fn publish(&self, tenant: &TenantId, key: TenantKey) -> Result<TenantKey, DedupError> {
        let path = self.path(tenant);
        let tmp = self.dir.join(format!(".{tenant}.{}.tmp", random_suffix()?));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(DedupError::io(&tmp))?;
            f.write_all(&key.0)
                .and_then(|()| f.sync_all())
                .map_err(DedupError::io(&tmp))?;
        }
        // A hard link never replaces an existing file: the first writer's
        // key wins and nobody's key is ever overwritten.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        let result = match linked {
            Ok(()) => key,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .read_file(tenant)?
                .ok_or_else(|| DedupError::NotFound(path.display().to_string()))?,
            Err(e) => return Err(DedupError::io(&path)(e)),
        };
        sync_dir(&self.dir)?;
        Ok(result)
    }

    /// The tenant's key, creating one from fresh randomness if it has none.
    pub fn get_or_create(
        &self,
        tenant: &TenantId,
        has_data: bool,
    ) -> Result<TenantKey, DedupError> {
        if let Some(k) = self.get(tenant, has_data)? {
            return Ok(k);
        }
        let fresh = TenantKey(super::pack::random_bytes()?);
        let key = self.publish(tenant, fresh)?;
        self.cache
            .lock()
            .map_err(|_| poisoned())?
            .insert(tenant.clone(), key);
        Ok(key)
    }
}

fn random_suffix() -> Result<String, DedupError> {
    let b: [u8; 8] = super::pack::random_bytes()?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn sync_dir(dir: &Path) -> Result<(), DedupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(DedupError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_layout_and_bad_input() {
        let t = TenantId::new("acme").unwrap();
        let key = TenantKey([0xA5; 32]);
        let text = format!("reel-dedup-tenant-key-v1 acme {}\n", "a5".repeat(32));
        assert_eq!(encode_export(&t, &key), text);
        assert_eq!(decode_export(text.as_bytes()).unwrap(), (t.clone(), key));
        // Upper-case hex and no final newline are accepted.
        let upper = format!("reel-dedup-tenant-key-v1 acme {}", "A5".repeat(32));
        assert_eq!(decode_export(upper.as_bytes()).unwrap().1, key);
        for bad in [
            &b""[..],
            b"reel-dedup-tenant-key-v1",
            b"reel-dedup-tenant-key-v2 acme 00",
            b"reel-dedup-tenant-key-v1 acme 0011",
            b"reel-dedup-tenant-key-v1 ac/me 00",
            b"\xff\xfe",
        ] {
            assert!(decode_export(bad).is_err(), "{bad:?}");
        }
        let short = format!("reel-dedup-tenant-key-v1 acme {}", "a5".repeat(31));
        assert!(decode_export(short.as_bytes()).is_err());
        let trailing = format!("{text}x");
        assert!(decode_export(trailing.as_bytes()).is_err());
        let nonhex = format!("reel-dedup-tenant-key-v1 acme {}zz", "a5".repeat(31));
        assert!(decode_export(nonhex.as_bytes()).is_err());
    }

    #[test]
    fn fingerprint_is_stable_and_debug_hides_the_key() {
        let key = TenantKey([0; 32]);
        assert_eq!(key.fingerprint().len(), 16);
        assert_ne!(key.fingerprint(), TenantKey([1; 32]).fingerprint());
        assert!(!format!("{key:?}").contains("0000000000000000000000"));
    }

    #[test]
    fn keys_are_created_once_with_0600_and_never_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let kd = KeyDir::open(d.path()).unwrap();
        let t = TenantId::new("acme").unwrap();
        assert_eq!(kd.get(&t, true).unwrap(), None);
        let k = kd.get_or_create(&t, false).unwrap();
        let path = d.path().join("tenants/acme.key");
        assert_eq!(std::fs::read(&path).unwrap(), k.0);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Publishing another key keeps the first.
        assert_eq!(kd.publish(&t, TenantKey([9; 32])).unwrap(), k);
        let again = KeyDir::open(d.path()).unwrap();
        assert_eq!(again.get(&t, false).unwrap(), Some(k));
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(d.path().join("tenants")).unwrap().count(),
            1
        );
    }

    #[test]
    fn legacy_secret_defines_keys_of_tenants_with_data_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("secret"), [3u8; 32]).unwrap();
        let kd = KeyDir::open(d.path()).unwrap();
        let old = TenantId::new("old").unwrap();
        let new = TenantId::new("new").unwrap();
        let want = legacy_key(&[3; 32], &old);
        assert_eq!(kd.get(&old, true).unwrap(), Some(want));
        assert!(d.path().join("tenants/old.key").exists());
        assert_eq!(kd.get(&new, false).unwrap(), None);
        assert_ne!(
            kd.get_or_create(&new, false).unwrap(),
            legacy_key(&[3; 32], &new)
        );
    }
}
