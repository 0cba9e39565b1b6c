//! The dedup store end to end: round trips, dedup, tenants, GC (also under
//! a concurrent writer), scrub, import, index rebuild.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reeld::dedup::{
    ChunkId, DedupError, IngestKind, SetId, SetIndex, Store, StoreConfig, TenantId,
};

fn small_cfg() -> StoreConfig {
    StoreConfig {
        min_chunk: 2048,
        avg_chunk: 8192,
        max_chunk: 32768,
        compression: Some(3),
    }
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn put(store: &Store, tenant: &TenantId, data: &[u8]) -> reeld::dedup::PutReport {
    store
        .put(
            tenant,
            "test",
            &mut &data[..],
            IngestKind::Auto,
            &mut |_| {},
        )
        .unwrap()
}

fn get(store: &Store, tenant: &TenantId, set: &SetId) -> Result<Vec<u8>, DedupError> {
    let mut out = Vec::new();
    store.get(tenant, set, &mut out)?;
    Ok(out)
}

fn packs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for sub in std::fs::read_dir(dir.join("packs")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "pack") {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn round_trip_dedups_and_compresses() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let a = t("alice");
    let mut data = noise(300_000, 1);
    data.extend(std::iter::repeat_n(b'z', 200_000)); // compressible
    let r1 = put(&store, &a, &data);
    assert_eq!(r1.bytes_in, data.len() as u64);
    assert!(r1.new_chunks > 10);
    assert!(
        r1.new_bytes < 330_000,
        "the run of z compressed: {}",
        r1.new_bytes
    );
    let r2 = put(&store, &a, &data);
    assert_eq!(r2.new_chunks, 0);
    assert_eq!(r2.new_bytes, 0);
    assert_ne!(r1.set, r2.set);
    // An edit in the middle stores only a few new chunks.
    let mut edited = data.clone();
    edited.splice(150_000..150_000, *b"inserted");
    let r3 = put(&store, &a, &edited);
    assert!(r3.new_chunks <= 3, "{} new chunks", r3.new_chunks);
    assert_eq!(get(&store, &a, &r1.set).unwrap(), data);
    assert_eq!(get(&store, &a, &r3.set).unwrap(), edited);
    // Empty input is a valid set.
    let r0 = put(&store, &a, &[]);
    assert_eq!(get(&store, &a, &r0.set).unwrap(), Vec::<u8>::new());
    // Reopened, the index comes from the .idx files.
    let store = Store::open(d.path()).unwrap();
    assert_eq!(get(&store, &a, &r2.set).unwrap(), data);
    let list = store.list(Some(&a)).unwrap();
    assert_eq!(list.len(), 4);
    assert!(store.verify().unwrap().is_clean());
    let s = store.stats().unwrap();
    assert_eq!(s.sets, 4);
    assert_eq!(s.logical_bytes, 3 * data.len() as u64 + 8);
}

#[test]
fn tenants_are_isolated() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let (a, b) = (t("tenant-a"), t("tenant-b"));
    let data = noise(100_000, 2);
    let ra = put(&store, &a, &data);
    let rb = put(&store, &b, &data);
    // Same data, but B stored its own chunks under different ids.
    assert_eq!(rb.new_chunks, ra.new_chunks);
    let ia = store.set_index(&a, &ra.set).unwrap();
    let ib = store.set_index(&b, &rb.set).unwrap();
    assert_eq!(ia.chunks.len(), ib.chunks.len());
    for (x, y) in ia.chunks.iter().zip(&ib.chunks) {
        assert_ne!(x.id, y.id);
        assert_eq!(x.len, y.len);
    }
    assert_ne!(
        store.chunk_id(&a, b"same bytes").unwrap(),
        store.chunk_id(&b, b"same bytes").unwrap()
    );
    assert_ne!(
        store.tenant_key_fingerprint(&a).unwrap(),
        store.tenant_key_fingerprint(&b).unwrap()
    );
    // B cannot see, read or get A's things.
    let ids: Vec<ChunkId> = ia.chunks.iter().map(|c| c.id).collect();
    assert!(store.have_chunks(&a, &ids).unwrap().iter().all(|&h| h));
    assert!(store.have_chunks(&b, &ids).unwrap().iter().all(|&h| !h));
    assert!(matches!(
        store.read_stored_chunk(&b, &ids[0]),
        Err(DedupError::NotFound(_))
    ));
    assert!(matches!(
        get(&store, &b, &ra.set),
        Err(DedupError::NotFound(_))
    ));
    assert!(matches!(
        store.set_index(&b, &ra.set),
        Err(DedupError::NotFound(_))
    ));
    assert_eq!(store.list(Some(&b)).unwrap().len(), 1);
    assert_eq!(store.list(None).unwrap().len(), 2);
    // Bad names are refused (no path tricks).
    assert!(TenantId::new("../a").is_err());
    assert!(TenantId::new("").is_err());
    assert!(SetId::new("../../x").is_err());
}

#[test]
fn gc_frees_deleted_sets_and_keeps_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let a = t("a");
    let keep = noise(200_000, 3);
    let drop = noise(200_000, 4);
    let rk = put(&store, &a, &keep);
    let rd = put(&store, &a, &drop);
    // Grace not yet passed: nothing goes.
    store.delete_set(&a, &rd.set).unwrap();
    let g = store.gc(Duration::from_secs(3600)).unwrap();
    assert_eq!(g.deleted_chunks, 0);
    let g = store.gc(Duration::ZERO).unwrap();
    assert_eq!(g.deleted_packs, 1);
    assert_eq!(g.deleted_chunks, rd.new_chunks);
    assert!(g.freed_bytes >= rd.new_bytes);
    assert_eq!(packs(d.path()).len(), 1);
    assert_eq!(get(&store, &a, &rk.set).unwrap(), keep);
    assert!(store.verify().unwrap().is_clean());
    assert!(matches!(
        store.delete_set(&a, &rd.set),
        Err(DedupError::NotFound(_))
    ));
}

#[test]
fn gc_repacks_a_pack_with_dead_chunks() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let a = t("a");
    let x = noise(100_000, 5);
    let y = noise(300_000, 6);
    let both: Vec<u8> = [x.clone(), y].concat();
    let r_both = put(&store, &a, &both);
    let r_x = put(&store, &a, &x);
    assert!(r_x.new_chunks <= 1);
    store.delete_set(&a, &r_both.set).unwrap();
    let g = store.gc(Duration::ZERO).unwrap();
    assert!(g.repacked_packs >= 1, "{g:?}");
    assert!(g.deleted_chunks > 10);
    assert_eq!(get(&store, &a, &r_x.set).unwrap(), x);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn gc_under_a_concurrent_writer_never_breaks_a_set() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let a = t("a");
    // Chunks that no set references: a writer that reuses them must keep them.
    let shared = noise(150_000, 7);
    let r = put(&store, &a, &shared);
    store.delete_set(&a, &r.set).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, a, stop, shared) = (store.clone(), a.clone(), stop.clone(), shared.clone());
        std::thread::spawn(move || {
            let mut done = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || done.len() < 3 {
                let mut data = shared.clone();
                data.extend(noise(60_000, 100 + i));
                let r = store
                    .put(&a, "w", &mut &data[..], IngestKind::Bytes, &mut |_| {})
                    .unwrap();
                done.push((r.set, data));
                i += 1;
            }
            done
        })
    };
    let mut gcs = 0;
    while gcs < 15 {
        store.gc(Duration::ZERO).unwrap();
        gcs += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let done = writer.join().unwrap();
    store.gc(Duration::ZERO).unwrap();
    for (set, data) in &done {
        assert_eq!(&get(&store, &a, set).unwrap(), data, "set {set}");
    }
    let s = store.verify().unwrap();
    assert!(s.is_clean(), "{s:?}");
}

#[test]
fn verify_reports_a_damaged_chunk_and_the_sets_it_breaks() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(
        d.path(),
        StoreConfig {
            compression: None,
            ..small_cfg()
        },
    )
    .unwrap();
    let a = t("a");
    let data = noise(100_000, 8);
    let r1 = put(&store, &a, &data);
    let r2 = put(&store, &a, &data[..50_000]);
    let other = put(&store, &a, &noise(50_000, 9));
    // Flip one byte of the first chunk's data (after the pack header and the
    // first record header).
    let ix = store.set_index(&a, &r1.set).unwrap();
    let p = packs(d.path())
        .into_iter()
        .find(|p| {
            let b = std::fs::read(p).unwrap();
            b.windows(64).any(|w| w == &data[..64])
        })
        .unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes.windows(64).position(|w| w == &data[..64]).unwrap() + 10;
    bytes[at] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    let s = store.verify().unwrap();
    assert!(!s.is_clean());
    assert_eq!(s.damaged.len(), 1);
    assert_eq!(s.damaged[0].id, ix.chunks[0].id);
    let broken: Vec<&SetId> = s.broken_sets.iter().map(|b| &b.set).collect();
    assert!(broken.contains(&&r1.set));
    assert!(broken.contains(&&r2.set));
    assert!(!broken.contains(&&other.set));
    assert!(get(&store, &a, &r1.set).is_err());
    assert_eq!(get(&store, &a, &other.set).unwrap(), noise(50_000, 9));
}

#[test]
fn rebuild_index_restores_lost_idx_files() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), small_cfg()).unwrap();
    let a = t("a");
    let data = noise(120_000, 10);
    let r = put(&store, &a, &data);
    for p in packs(d.path()) {
        std::fs::remove_file(p.with_extension("idx")).unwrap();
    }
    let store = Store::open(d.path()).unwrap();
    assert!(get(&store, &a, &r.set).is_err());
    assert!(
        !store.verify().unwrap().is_clean(),
        "the set's chunks are missing"
    );
    assert_eq!(store.rebuild_index().unwrap(), 1);
    assert_eq!(get(&store, &a, &r.set).unwrap(), data);
    assert!(store.verify().unwrap().is_clean());
}

fn copy_chunks(
    src: &Store,
    dst_import: &mut reeld::dedup::Import,
    t: &TenantId,
    ix: &SetIndex,
    limit: usize,
) -> usize {
    let ids: Vec<ChunkId> = ix.chunks.iter().map(|c| c.id).collect();
    let have = dst_import.have(&ids).unwrap();
    let mut sent = 0;
    let mut seen = std::collections::HashSet::new();
    for (id, h) in ids.iter().zip(have) {
        if h || !seen.insert(*id) || sent >= limit {
            continue;
        }
        let c = src.read_stored_chunk(t, id).unwrap();
        dst_import.add_chunk(id, c).unwrap();
        sent += 1;
    }
    sent
}

#[test]
fn import_verifies_chunks_resumes_and_commits_only_when_complete() {
    let sd = tempfile::tempdir().unwrap();
    let dd = tempfile::tempdir().unwrap();
    let src = Store::init(sd.path(), small_cfg()).unwrap();
    let a = t("a");
    let data = noise(250_000, 11);
    let r = put(&src, &a, &data);
    let ix = src.set_index(&a, &r.set).unwrap();
    // An independent destination gets the tenant's key (only that one).
    let dst = Store::init(dd.path(), small_cfg()).unwrap();
    dst.adopt_tenant_key(&a, &src.tenant_key(&a).unwrap())
        .unwrap();
    {
        let mut imp = dst.import(&a, &ix.header).unwrap();
        let sent = copy_chunks(&src, &mut imp, &a, &ix, 5);
        assert_eq!(sent, 5);
        // A chunk whose bytes do not match its id is refused.
        let good = src.read_stored_chunk(&a, &ix.chunks[0].id).unwrap();
        let wrong_id = ix.chunks[1].id;
        assert!(matches!(
            imp.add_chunk(&wrong_id, good),
            Err(DedupError::ChunkMismatch { .. })
        ));
        // Not complete: the set stays invisible.
        assert!(matches!(
            imp.commit(&ix),
            Err(DedupError::Incomplete { .. })
        ));
    }
    assert!(dst.list(None).unwrap().is_empty());
    // Interrupted imports keep what arrived; resuming sends only the rest.
    let mut imp = dst.import(&a, &ix.header).unwrap();
    let distinct: std::collections::HashSet<_> = ix.chunks.iter().map(|c| c.id).collect();
    let sent = copy_chunks(&src, &mut imp, &a, &ix, usize::MAX);
    assert_eq!(sent, distinct.len() - 5);
    // GC meanwhile keeps the arrived chunks.
    dst.gc(Duration::ZERO).unwrap();
    assert_eq!(imp.commit(&ix).unwrap(), r.set);
    assert_eq!(get(&dst, &a, &r.set).unwrap(), data);
    assert!(dst.verify().unwrap().is_clean());
    // Another tenant cannot import into a's name.
    assert!(dst.import(&t("b"), &ix.header).is_err());
}

#[test]
fn store_and_import_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Store>();
    send_sync::<reeld::dedup::Import>();
}

#[test]
fn tenant_key_export_import_round_trip() {
    use reeld::dedup::KeyAdoption;
    let (sd, dd, od) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let src = Store::init(sd.path(), small_cfg()).unwrap();
    let a = t("acme");
    // No key before the tenant's first put; no store-wide secret at all.
    assert_eq!(src.tenant_key_fingerprint(&a).unwrap(), None);
    assert!(matches!(
        src.export_tenant_key(&a),
        Err(DedupError::NotFound(_))
    ));
    let data = noise(60_000, 4);
    put(&src, &a, &data);
    assert!(!sd.path().join("secret").exists());
    let key_file = sd.path().join("tenants/acme.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let fp = src.tenant_key_fingerprint(&a).unwrap().unwrap();
    let text = src.export_tenant_key(&a).unwrap();
    assert!(text.starts_with("reel-dedup-tenant-key-v1 acme "), "{text}");

    // Import into an empty store: same key, so the same chunk ids.
    let dst = Store::init(dd.path(), small_cfg()).unwrap();
    assert_eq!(
        dst.import_tenant_key(&a, text.as_bytes()).unwrap(),
        KeyAdoption::Adopted
    );
    assert_eq!(dst.tenant_key_fingerprint(&a).unwrap(), Some(fp.clone()));
    assert_eq!(
        dst.chunk_id(&a, b"x").unwrap(),
        src.chunk_id(&a, b"x").unwrap()
    );
    // Again: accepted as already present; survives reopening.
    assert_eq!(
        dst.import_tenant_key(&a, text.as_bytes()).unwrap(),
        KeyAdoption::AlreadyPresent
    );
    drop(dst);
    let dst = Store::open(dd.path()).unwrap();
    assert_eq!(dst.tenant_key_fingerprint(&a).unwrap(), Some(fp.clone()));
    // Under another tenant's name: refused.
    assert!(matches!(
        dst.import_tenant_key(&t("other"), text.as_bytes()),
        Err(DedupError::Invalid(_))
    ));
    // A store whose tenant already has its own key refuses another one.
    let other = Store::init(od.path(), small_cfg()).unwrap();
    put(&other, &a, &data);
    let before = other.tenant_key_fingerprint(&a).unwrap();
    assert!(matches!(
        other.import_tenant_key(&a, text.as_bytes()),
        Err(DedupError::TenantKeyConflict { .. })
    ));
    assert_eq!(other.tenant_key_fingerprint(&a).unwrap(), before);
}

/// The key an old store (store-wide `secret`, no key files) gave a tenant.
fn old_scheme_key(secret: &[u8; 32], tenant: &str) -> [u8; 32] {
    let mut material = secret.to_vec();
    material.push(0);
    material.extend_from_slice(tenant.as_bytes());
    blake3::derive_key("reel dedup 2026-11 per-tenant chunk id key v1", &material)
}

#[test]
fn legacy_store_with_a_secret_keeps_its_chunk_ids() {
    let d = tempfile::tempdir().unwrap();
    let secret = [0x42u8; 32];
    let old_key = old_scheme_key(&secret, "acme");
    let a = t("acme");
    let data = noise(60_000, 6);
    // Build a store of the old layout: chunks under the secret-derived key,
    // the secret file, and no key file.
    let store = Store::init(d.path(), small_cfg()).unwrap();
    std::fs::write(d.path().join("secret"), secret).unwrap();
    std::fs::write(d.path().join("tenants/acme.key"), old_key).unwrap();
    let r = put(&store, &a, &data);
    drop(store);
    std::fs::remove_file(d.path().join("tenants/acme.key")).unwrap();
    // Opened again: the key comes from the secret (the tenant has data),
    // is persisted, and the set reads back verified.
    let store = Store::open(d.path()).unwrap();
    assert_eq!(get(&store, &a, &r.set).unwrap(), data);
    assert_eq!(
        std::fs::read(d.path().join("tenants/acme.key")).unwrap(),
        old_key
    );
    assert!(store.verify().unwrap().is_clean());
    // A tenant without data gets a fresh random key, not a derived one.
    put(&store, &t("newcomer"), &data);
    assert_ne!(
        std::fs::read(d.path().join("tenants/newcomer.key")).unwrap(),
        old_scheme_key(&secret, "newcomer")
    );
}
