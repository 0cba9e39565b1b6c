//! Optimized duplication end to end: two stores, a copy server with
//! mutual TLS on 127.0.0.1, and the lossy proxy between them where a test
//! needs a slow, lossy or broken link.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reeld::dedup::{ChunkId, IngestKind, SetId, Store, StoreConfig, TenantId};
use reeld::dedup_copy::conn::{self, CopyError};
use reeld::dedup_copy::lossy_proxy::{LossyProxy, ProxyConfig};
use reeld::dedup_copy::proto::{self, ErrorCode, Message, WireRef};
use reeld::dedup_copy::session::header_to_wire;
use reeld::dedup_copy::{CopyOptions, CopyServer, copy_set, tls};

fn small_chunks() -> StoreConfig {
    StoreConfig {
        min_chunk: 4096,
        avg_chunk: 16384,
        max_chunk: 65536,
        compression: Some(3),
    }
}

/// Deterministic test data: pseudo-random bytes mixed with text, so it
/// both chunks and compresses.
fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(8) {
            v.extend_from_slice(b"the quick brown fox jumps over the lazy dog ");
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v.truncate(len);
    v
}

/// Keys of one deployment: a CA, the server, and a client for `acme`.
struct Pki {
    dir: tempfile::TempDir,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        tls::init_keys(dir.path(), &[]).unwrap();
        let (client_cert, client_key) =
            tls::issue_client(dir.path(), "site-a", &["acme".into()]).unwrap();
        Pki {
            dir,
            client_cert,
            client_key,
        }
    }
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    fn server(&self) -> Arc<rustls::ServerConfig> {
        tls::server_config(
            &self.path("server.pem"),
            &self.path("server.key"),
            &self.path("ca.pem"),
        )
        .unwrap()
    }
    fn client(&self) -> Arc<rustls::ClientConfig> {
        tls::client_config(
            Some((&self.client_cert, &self.client_key)),
            &self.path("ca.pem"),
        )
        .unwrap()
    }
}

/// Source and destination stores, the destination served over TLS.
struct Sites {
    _dirs: tempfile::TempDir,
    src: Store,
    dst: Arc<Store>,
    server: CopyServer,
    pki: Pki,
    tenant: TenantId,
}

impl Sites {
    fn new() -> Sites {
        let dirs = tempfile::tempdir().unwrap();
        let (s, d) = (dirs.path().join("src"), dirs.path().join("dst"));
        let src = Store::init(&s, small_chunks()).unwrap();
        // Two independently created stores: nothing shared but the PKI.
        let dst = Arc::new(Store::init(&d, small_chunks()).unwrap());
        let pki = Pki::new();
        let server =
            CopyServer::start(dst.clone(), "127.0.0.1:0".parse().unwrap(), pki.server()).unwrap();
        Sites {
            _dirs: dirs,
            src,
            dst,
            server,
            pki,
            tenant: TenantId::new("acme").unwrap(),
        }
    }

    fn put(&self, name: &str, bytes: &[u8]) -> SetId {
        self.src
            .put(
                &self.tenant,
                name,
                &mut &bytes[..],
                IngestKind::Bytes,
                &mut |_| {},
            )
            .unwrap()
            .set
    }

    fn copy_via(
        &self,
        addr: &str,
        set: &SetId,
    ) -> Result<reeld::dedup_copy::CopyReport, CopyError> {
        copy_set(
            &self.src,
            &self.tenant,
            set,
            addr,
            "127.0.0.1",
            self.pki.client(),
            &CopyOptions::default(),
        )
    }

    fn copy(&self, set: &SetId) -> Result<reeld::dedup_copy::CopyReport, CopyError> {
        self.copy_via(&self.server.addr().to_string(), set)
    }

    fn dst_sets(&self) -> Vec<String> {
        self.dst
            .list(Some(&self.tenant))
            .unwrap()
            .into_iter()
            .map(|s| s.set.as_str().to_string())
            .collect()
    }

    fn restored(&self, set: &SetId) -> Vec<u8> {
        let mut out = Vec::new();
        self.dst.get(&self.tenant, set, &mut out).unwrap();
        out
    }

    /// Waits until the server has counted `n` committed sessions (the
    /// client may see Committed before the server thread ends).
    fn wait_committed(&self, n: u64) {
        let t = Instant::now();
        while self.server.stats().committed.load(Ordering::SeqCst) < n {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "server session did not end"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the server has finished `n` sessions that failed.
    fn wait_refused(&self, n: u64) {
        let t = Instant::now();
        while self.server.stats().refused.load(Ordering::SeqCst) < n {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "server session did not end"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn distinct_ids(&self, set: &SetId) -> HashSet<ChunkId> {
        self.src
            .set_index(&self.tenant, set)
            .unwrap()
            .chunks
            .iter()
            .map(|c| c.id)
            .collect()
    }
}

/// Upper bound of protocol bytes for a copy: chunk payload plus per-chunk
/// framing (41 bytes), index entries (36 bytes each) and the fixed
/// messages and batch headers.
fn overhead_bound(entries: u64, chunks: u64) -> u64 {
    36 * entries + 41 * chunks + 13 * (entries / 512 + 1) + 400
}

#[test]
fn copy_between_two_stores_sends_each_chunk_once() {
    let sites = Sites::new();
    // Repeated content: the set references some chunks several times.
    let mut bytes = data(1, 600_000);
    bytes.extend_from_slice(&bytes.clone());
    let set = sites.put("nightly", &bytes);
    let distinct = sites.distinct_ids(&set);
    let entries = sites
        .src
        .set_index(&sites.tenant, &set)
        .unwrap()
        .chunks
        .len() as u64;
    assert!(
        entries > distinct.len() as u64,
        "test data should repeat chunks"
    );

    let before = sites.dst.stats().unwrap().stored_bytes;
    let r = sites.copy(&set).unwrap();
    assert_eq!(r.dest_set, set.as_str());
    assert_eq!(r.unique_chunks, distinct.len() as u64);
    assert_eq!(r.index_entries, entries);
    assert_eq!(r.naive_bytes, bytes.len() as u64);
    // The destination stored exactly what was sent as chunk payload.
    let grown = sites.dst.stats().unwrap().stored_bytes - before;
    assert_eq!(grown, r.unique_bytes);
    assert!(r.bytes_sent <= r.unique_bytes + overhead_bound(entries, r.unique_chunks));
    assert!(r.sent_vs_unique <= 1.02, "{}", r.sent_vs_unique);
    assert_eq!(sites.restored(&set), bytes);
    sites.wait_committed(1);
}

#[test]
fn independent_stores_copy_and_the_destination_adopts_the_tenant_key() {
    let sites = Sites::new();
    let bytes = data(21, 200_000);
    let set = sites.put("n", &bytes);
    // No shared secret: the destination has no key for acme yet.
    assert_eq!(
        sites.dst.tenant_key_fingerprint(&sites.tenant).unwrap(),
        None
    );
    sites.copy(&set).unwrap();
    assert_eq!(sites.restored(&set), bytes);
    assert_eq!(
        sites.dst.tenant_key_fingerprint(&sites.tenant).unwrap(),
        sites.src.tenant_key_fingerprint(&sites.tenant).unwrap()
    );
    // Only acme's key travelled.
    let other = TenantId::new("other").unwrap();
    sites
        .src
        .put(&other, "o", &mut &b"x"[..], IngestKind::Bytes, &mut |_| {})
        .unwrap();
    assert_eq!(sites.dst.tenant_key_fingerprint(&other).unwrap(), None);
    // The destination's own data under acme now dedups against the copy.
    let r = sites
        .dst
        .put(
            &sites.tenant,
            "local",
            &mut &bytes[..],
            IngestKind::Bytes,
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(r.new_chunks, 0);
    sites.wait_committed(1);
}

#[test]
fn destination_receives_one_tenant_from_two_sources_sharing_its_key() {
    let sites = Sites::new();
    let set_a = sites.put("from-a", &data(31, 150_000));
    // A second, independently created source site of the same tenant,
    // given the tenant's key by export/import.
    let d2 = tempfile::tempdir().unwrap();
    let src2 = Store::init(d2.path(), small_chunks()).unwrap();
    let key_file = sites.src.export_tenant_key(&sites.tenant).unwrap();
    src2.import_tenant_key(&sites.tenant, key_file.as_bytes())
        .unwrap();
    // Overlapping data: site B's set shares chunks with site A's.
    let mut b_bytes = data(31, 150_000);
    b_bytes.extend_from_slice(&data(32, 100_000));
    let set_b = src2
        .put(
            &sites.tenant,
            "from-b",
            &mut &b_bytes[..],
            IngestKind::Bytes,
            &mut |_| {},
        )
        .unwrap()
        .set;
    sites.copy(&set_a).unwrap();
    let r = copy_set(
        &src2,
        &sites.tenant,
        &set_b,
        &sites.server.addr().to_string(),
        "127.0.0.1",
        sites.pki.client(),
        &CopyOptions::default(),
    )
    .unwrap();
    // What site A delivered was not sent again.
    assert!(r.present_chunks > 0, "{r:?}");
    assert_eq!(sites.restored(&set_b), b_bytes);
    let mut got = sites.dst_sets();
    got.sort();
    let mut want = vec![set_a.as_str().to_string(), set_b.as_str().to_string()];
    want.sort();
    assert_eq!(got, want);
    sites.wait_committed(2);
}

#[test]
fn destination_with_another_key_for_the_tenant_refuses_and_commits_nothing() {
    let sites = Sites::new();
    // The destination's acme already has data under its own key.
    let local = data(41, 80_000);
    let own = sites
        .dst
        .put(
            &sites.tenant,
            "own",
            &mut &local[..],
            IngestKind::Bytes,
            &mut |_| {},
        )
        .unwrap()
        .set;
    let fp = sites.dst.tenant_key_fingerprint(&sites.tenant).unwrap();
    let before = sites.dst.stats().unwrap();
    let set = sites.put("n", &data(42, 150_000));
    match sites.copy(&set).unwrap_err() {
        CopyError::Refused { code, message } => {
            assert_eq!(code, ErrorCode::KeyMismatch);
            assert!(message.contains("different chunk-id key"), "{message}");
        }
        e => panic!("expected a refusal, got {e}"),
    }
    sites.wait_refused(1);
    assert_eq!(sites.dst_sets(), vec![own.as_str().to_string()]);
    let after = sites.dst.stats().unwrap();
    assert_eq!(
        (after.chunks, after.stored_bytes),
        (before.chunks, before.stored_bytes)
    );
    assert_eq!(sites.dst.tenant_key_fingerprint(&sites.tenant).unwrap(), fp);
    let mut out = Vec::new();
    sites.dst.get(&sites.tenant, &own, &mut out).unwrap();
    assert_eq!(out, local);
}

#[test]
fn second_copy_of_a_similar_set_sends_only_missing_chunks() {
    let sites = Sites::new();
    let first = data(2, 2_000_000);
    let set1 = sites.put("monday", &first);
    sites.copy(&set1).unwrap();

    // Changed in place in three places, and a tail appended.
    let mut second = first.clone();
    for at in [200_000, 900_000, 1_500_000] {
        for b in &mut second[at..at + 5_000] {
            *b ^= 0x5A;
        }
    }
    second.extend_from_slice(&data(3, 30_000));
    let set2 = sites.put("tuesday", &second);
    let new_ids: HashSet<ChunkId> = sites
        .distinct_ids(&set2)
        .difference(&sites.distinct_ids(&set1))
        .copied()
        .collect();
    let entries = sites
        .src
        .set_index(&sites.tenant, &set2)
        .unwrap()
        .chunks
        .len() as u64;

    let before = sites.dst.stats().unwrap().stored_bytes;
    let r = sites.copy(&set2).unwrap();
    assert_eq!(r.unique_chunks, new_ids.len() as u64);
    assert!(
        r.unique_chunks > 0 && r.unique_chunks * 4 < entries,
        "{r:?}"
    );
    assert_eq!(
        sites.dst.stats().unwrap().stored_bytes - before,
        r.unique_bytes
    );
    assert!(r.bytes_sent <= r.unique_bytes + overhead_bound(entries, r.unique_chunks));
    assert!(r.sent_vs_naive < 0.25, "{r:?}");
    assert_eq!(sites.restored(&set2), second);
}

#[test]
fn interrupted_copy_resumes_without_resending_received_chunks() {
    let sites = Sites::new();
    let bytes = data(4, 1_500_000);
    let set = sites.put("big", &bytes);
    let distinct = sites.distinct_ids(&set).len() as u64;

    // Cut the link after about half of the data went through.
    let proxy = LossyProxy::start(
        sites.server.addr(),
        ProxyConfig {
            cut_after: Some(600_000),
            ..ProxyConfig::default()
        },
    )
    .unwrap();
    let err = sites.copy_via(&proxy.addr().to_string(), &set).unwrap_err();
    assert!(matches!(err, CopyError::Io { .. }), "{err}");
    sites.wait_refused(1);
    assert!(
        sites.dst_sets().is_empty(),
        "nothing committed by a cut copy"
    );
    let first_run = sites.server.stats().chunks_received.load(Ordering::SeqCst);
    assert!(
        first_run > 0 && first_run < distinct,
        "{first_run} of {distinct}"
    );

    // Again, directly: only the rest crosses.
    let r = sites.copy(&set).unwrap();
    assert_eq!(r.present_chunks, first_run);
    sites.wait_committed(1);
    assert_eq!(r.unique_chunks, distinct - first_run);
    assert_eq!(
        sites.server.stats().chunks_received.load(Ordering::SeqCst),
        distinct,
        "every chunk crossed exactly once over both runs"
    );
    assert_eq!(sites.restored(&set), bytes);
}

#[test]
fn wrong_tenant_is_refused() {
    let sites = Sites::new();
    let other = TenantId::new("other").unwrap();
    let set = sites
        .src
        .put(
            &other,
            "x",
            &mut &data(5, 50_000)[..],
            IngestKind::Bytes,
            &mut |_| {},
        )
        .unwrap()
        .set;
    // The client certificate grants acme only.
    let err = copy_set(
        &sites.src,
        &other,
        &set,
        &sites.server.addr().to_string(),
        "127.0.0.1",
        sites.pki.client(),
        &CopyOptions::default(),
    )
    .unwrap_err();
    match err {
        CopyError::Refused { code, message } => {
            assert_eq!(code, ErrorCode::Forbidden);
            assert!(message.contains("other"), "{message}");
        }
        e => panic!("expected a refusal, got {e}"),
    }
    assert!(sites.dst.list(None).unwrap().is_empty());
}

#[test]
fn client_without_certificate_or_from_another_ca_is_refused() {
    let sites = Sites::new();
    let set = sites.put("s", &data(6, 50_000));
    let addr = sites.server.addr().to_string();

    let no_cert = tls::client_config(None, &sites.pki.path("ca.pem")).unwrap();
    let err = copy_set(
        &sites.src,
        &sites.tenant,
        &set,
        &addr,
        "127.0.0.1",
        no_cert,
        &CopyOptions::default(),
    );
    assert!(
        err.is_err(),
        "a client without a certificate must be refused"
    );

    // A complete, valid PKI of its own, granting the same tenant.
    let rogue = Pki::new();
    let foreign = tls::client_config(
        Some((&rogue.client_cert, &rogue.client_key)),
        &sites.pki.path("ca.pem"),
    )
    .unwrap();
    let err = copy_set(
        &sites.src,
        &sites.tenant,
        &set,
        &addr,
        "127.0.0.1",
        foreign,
        &CopyOptions::default(),
    );
    assert!(
        err.is_err(),
        "a certificate from another CA must be refused"
    );

    // And the client refuses a server its CA did not sign.
    let wrong_ca = tls::client_config(
        Some((&rogue.client_cert, &rogue.client_key)),
        &rogue.path("ca.pem"),
    )
    .unwrap();
    let err = copy_set(
        &sites.src,
        &sites.tenant,
        &set,
        &addr,
        "127.0.0.1",
        wrong_ca,
        &CopyOptions::default(),
    );
    assert!(err.is_err(), "the client must refuse an unknown server");

    sites.wait_refused(3);
    assert!(sites.dst.list(None).unwrap().is_empty());
    assert_eq!(
        sites.server.stats().chunks_received.load(Ordering::SeqCst),
        0
    );
}

#[test]
fn byte_flipped_in_transit_is_detected_and_nothing_commits() {
    let sites = Sites::new();
    let bytes = data(7, 300_000);
    let set = sites.put("s", &bytes);
    let proxy = LossyProxy::start(
        sites.server.addr(),
        ProxyConfig {
            flip_at: Some(100_000),
            ..ProxyConfig::default()
        },
    )
    .unwrap();
    // TLS authenticates every record, so the flip ends the session.
    assert!(sites.copy_via(&proxy.addr().to_string(), &set).is_err());
    sites.wait_refused(1);
    assert!(sites.dst_sets().is_empty());
    // The import is not poisoned: a clean link completes the copy.
    sites.copy(&set).unwrap();
    assert_eq!(sites.restored(&set), bytes);
}

/// Opens a raw protocol connection as the `acme` client.
fn raw(sites: &Sites) -> conn::Conn<conn::ClientStream> {
    conn::connect(sites.server.addr(), "127.0.0.1", sites.pki.client()).unwrap()
}

/// Sends Hello and the whole index in one batch; returns the Need bitmap.
fn hello_and_index(
    c: &mut conn::Conn<conn::ClientStream>,
    sites: &Sites,
    set: &SetId,
) -> (Vec<bool>, reeld::dedup::SetIndex) {
    let index = sites.src.set_index(&sites.tenant, set).unwrap();
    c.send(&Message::Hello {
        version: proto::VERSION,
        header: header_to_wire(&index.header, index.chunks.len() as u64),
        tenant_key: sites.src.tenant_key(&sites.tenant).unwrap().0,
    })
    .unwrap();
    c.flush().unwrap();
    assert_eq!(
        c.recv().unwrap(),
        Message::Accept {
            version: proto::VERSION
        }
    );
    c.send(&Message::IndexBatch {
        seq: 0,
        refs: index
            .chunks
            .iter()
            .map(|r| WireRef {
                id: r.id.0,
                len: r.len,
            })
            .collect(),
    })
    .unwrap();
    c.flush().unwrap();
    match c.recv().unwrap() {
        Message::Need { seq: 0, missing } => (missing, index),
        m => panic!("expected Need, got {m:?}"),
    }
}

#[test]
fn chunk_not_matching_its_id_is_refused_and_nothing_commits() {
    let sites = Sites::new();
    let set = sites.put("s", &data(8, 200_000));
    let mut c = raw(&sites);
    let (missing, index) = hello_and_index(&mut c, &sites, &set);
    let i = missing.iter().position(|m| *m).unwrap();
    let mut chunk = sites
        .src
        .read_stored_chunk(&sites.tenant, &index.chunks[i].id)
        .unwrap();
    let mut tampered = chunk.data.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    chunk.data = tampered.into();
    c.send(&Message::ChunkData {
        id: index.chunks[i].id.0,
        compressed: chunk.compressed,
        plain_len: chunk.plain_len,
        data: chunk.data,
    })
    .unwrap();
    c.send(&Message::Commit {
        entries: index.chunks.len() as u64,
    })
    .unwrap();
    c.flush().unwrap();
    match c.recv() {
        Err(CopyError::Refused { code, .. }) => assert_eq!(code, ErrorCode::ChunkMismatch),
        r => panic!("expected ChunkMismatch, got {r:?}"),
    }
    sites.wait_refused(1);
    assert!(sites.dst_sets().is_empty());
    assert_eq!(
        sites.server.stats().chunks_received.load(Ordering::SeqCst),
        0
    );
}

#[test]
fn set_is_not_visible_at_the_destination_before_commit() {
    let sites = Sites::new();
    let bytes = data(9, 200_000);
    let set = sites.put("s", &bytes);
    let mut c = raw(&sites);
    let (missing, index) = hello_and_index(&mut c, &sites, &set);
    for (r, _) in index.chunks.iter().zip(&missing).filter(|(_, m)| **m) {
        let chunk = sites.src.read_stored_chunk(&sites.tenant, &r.id).unwrap();
        c.send(&Message::ChunkData {
            id: r.id.0,
            compressed: chunk.compressed,
            plain_len: chunk.plain_len,
            data: chunk.data,
        })
        .unwrap();
    }
    c.flush().unwrap();
    // Let the server take in every chunk; still no set.
    let t = Instant::now();
    while sites.dst.stats().unwrap().chunks == 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(sites.dst_sets().is_empty());
    c.send(&Message::Commit {
        entries: index.chunks.len() as u64,
    })
    .unwrap();
    c.flush().unwrap();
    match c.recv().unwrap() {
        Message::Committed { set: s } => assert_eq!(s, set.as_str()),
        m => panic!("expected Committed, got {m:?}"),
    }
    assert_eq!(sites.dst_sets(), vec![set.as_str().to_string()]);
    assert_eq!(sites.restored(&set), bytes);
}

#[test]
fn commit_before_all_chunks_arrived_is_refused() {
    let sites = Sites::new();
    let set = sites.put("s", &data(10, 200_000));
    let mut c = raw(&sites);
    let (_, index) = hello_and_index(&mut c, &sites, &set);
    c.send(&Message::Commit {
        entries: index.chunks.len() as u64,
    })
    .unwrap();
    c.flush().unwrap();
    match c.recv() {
        Err(CopyError::Refused { code, .. }) => assert_eq!(code, ErrorCode::Incomplete),
        r => panic!("expected Incomplete, got {r:?}"),
    }
    assert!(sites.dst_sets().is_empty());
}

#[test]
fn copy_over_a_250ms_lossy_link_is_pipelined() {
    let sites = Sites::new();
    let bytes = data(11, 2_000_000);
    let set = sites.put("wan", &bytes);
    let entries = sites
        .src
        .set_index(&sites.tenant, &set)
        .unwrap()
        .chunks
        .len();
    let proxy = LossyProxy::start(
        sites.server.addr(),
        ProxyConfig::wan(Duration::from_millis(250), 0.01),
    )
    .unwrap();
    let t = Instant::now();
    let r = sites.copy_via(&proxy.addr().to_string(), &set).unwrap();
    let took = t.elapsed();
    // TCP + TLS handshakes, Hello, one index window and Commit: a handful
    // of round trips, not one per chunk (that would be entries × 250 ms).
    assert!(entries >= 40, "{entries}");
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} for {entries} chunks"
    );
    assert!(
        took >= Duration::from_millis(750),
        "the link was not slow: {took:?}"
    );
    assert_eq!(r.unique_chunks as usize, sites.distinct_ids(&set).len());
    assert_eq!(sites.restored(&set), bytes);
}
