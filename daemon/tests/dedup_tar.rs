//! Tar-aware ingest against archives made by GNU tar: every format comes
//! back byte-identical, member data starts a chunk, a corrupt archive still
//! round-trips, and small-file changes between generations stay small.

use std::path::Path;
use std::process::Command;

use reeld::dedup::{IngestKind, PutReport, Store, StoreConfig, TenantId};

/// The tool is needed: a failure under CI, else a visible skip.
fn have_tar() -> bool {
    if Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    let ci = matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"));
    assert!(!ci, "tar missing (scripts/setup.sh installs it)");
    eprintln!("skipped: tar missing");
    false
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

fn cfg(compression: Option<i32>) -> StoreConfig {
    StoreConfig {
        min_chunk: 2048,
        avg_chunk: 8192,
        max_chunk: 32768,
        compression,
    }
}

fn tar(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("tar")
        .args(args)
        .args([
            "--sort=name",
            "--mtime=2024-01-01 00:00:00",
            "-cf",
            "-",
            "-C",
        ])
        .arg(dir)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn tree(root: &Path) -> Vec<u8> {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    for i in 0..30 {
        std::fs::write(
            root.join(format!("sub/small{i:02}")),
            noise(300 + i * 37, i as u64),
        )
        .unwrap();
    }
    let big = noise(120_000, 99);
    std::fs::write(root.join("sub/deeper/big.bin"), &big).unwrap();
    let long = "n".repeat(90) + "/" + &"m".repeat(120);
    std::fs::create_dir_all(root.join(&long).parent().unwrap()).unwrap();
    std::fs::write(root.join(&long), b"long name").unwrap();
    std::os::unix::fs::symlink("l".repeat(150), root.join("longlink")).unwrap();
    // Sparse: 8 data islands in 2 MiB (more than the 4 a GNU header holds).
    let f = std::fs::File::create(root.join("sparse")).unwrap();
    f.set_len(2 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    for i in 0..8u64 {
        f.write_all_at(&noise(5000, 1000 + i), i * 256 * 1024)
            .unwrap();
    }
    big
}

fn put(store: &Store, data: &[u8]) -> PutReport {
    let t = TenantId::new("t").unwrap();
    store
        .put(&t, "tar", &mut &data[..], IngestKind::Auto, &mut |_| {})
        .unwrap()
}

fn restore(store: &Store, r: &PutReport) -> Vec<u8> {
    let t = TenantId::new("t").unwrap();
    let mut out = Vec::new();
    store.get(&t, &r.set, &mut out).unwrap();
    out
}

fn cut_offsets(store: &Store, r: &PutReport) -> Vec<u64> {
    let t = TenantId::new("t").unwrap();
    let ix = store.set_index(&t, &r.set).unwrap();
    let mut pos = 0;
    let mut v = vec![0];
    for c in ix.chunks {
        pos += u64::from(c.len);
        v.push(pos);
    }
    v
}

#[test]
fn gnu_ustar_pax_sparse_and_corrupt_archives_round_trip() {
    if !have_tar() {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    let big = tree(src.path());
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), cfg(Some(3))).unwrap();
    let archives = [
        ("gnu", tar(src.path(), &["--format=gnu"])),
        ("gnu sparse", tar(src.path(), &["--format=gnu", "--sparse"])),
        ("pax", tar(src.path(), &["--format=pax"])),
        ("pax sparse", tar(src.path(), &["--format=pax", "--sparse"])),
        ("oldgnu", tar(src.path(), &["--format=oldgnu", "--sparse"])),
    ];
    for (what, a) in &archives {
        let r = put(&store, a);
        assert_eq!(restore(&store, &r), *a, "{what}");
        // The big file's data begins a chunk.
        let at = a.windows(64).position(|w| w == &big[..64]).unwrap() as u64;
        assert!(
            cut_offsets(&store, &r).contains(&at),
            "{what}: no cut at {at}"
        );
        assert!(r.chunks < 200, "{what}: {} chunks", r.chunks);
    }
    // A GNU sparse archive really holds 'S' members with extension blocks.
    let gs = &archives[1].1;
    assert!(gs.chunks(512).any(|b| b[156] == b'S' && b[482] == 1));
    // ustar cannot hold the long names: a tree without them.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("a"), noise(50_000, 5)).unwrap();
    std::fs::write(plain.path().join("b"), b"bee").unwrap();
    let ustar = tar(plain.path(), &["--format=ustar"]);
    let r = put(&store, &ustar);
    assert_eq!(restore(&store, &r), ustar);
    // Corrupt: a header in the middle damaged; the rest is chunked as bytes.
    let mut bad = archives[0].1.clone();
    let hdr = bad
        .chunks(512)
        .position(|b| b.starts_with(b"./sub/small10"))
        .unwrap()
        * 512;
    bad[hdr + 148] = b'9';
    let r = put(&store, &bad);
    assert_eq!(restore(&store, &r), bad);
    // A truncated archive too.
    let cut = &archives[2].1[..archives[2].1.len() / 2 + 77];
    let r = put(&store, cut);
    assert_eq!(restore(&store, &r), cut);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn small_file_changes_store_little_with_tar_aware_ingest() {
    if !have_tar() {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    for i in 0..400 {
        let dir = src.path().join(format!("d{:02}", i / 40));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("f{i:03}")),
            noise(500 + (i * 131) % 1500, i as u64),
        )
        .unwrap();
    }
    let gen1 = tar(src.path(), &["--format=gnu"]);
    // 5 % of the files change.
    for i in (0..400).step_by(20) {
        let p = src.path().join(format!("d{:02}/f{i:03}", i / 40));
        let mut d = std::fs::read(&p).unwrap();
        d[10] ^= 1;
        std::fs::write(p, d).unwrap();
    }
    let gen2 = tar(src.path(), &["--format=gnu"]);
    let new_bytes = |kind: IngestKind| {
        let d = tempfile::tempdir().unwrap();
        let store = Store::init(d.path(), cfg(None)).unwrap();
        let t = TenantId::new("t").unwrap();
        store
            .put(&t, "g1", &mut &gen1[..], kind, &mut |_| {})
            .unwrap();
        let r = store
            .put(&t, "g2", &mut &gen2[..], kind, &mut |_| {})
            .unwrap();
        let mut out = Vec::new();
        store.get(&t, &r.set, &mut out).unwrap();
        assert_eq!(out, gen2);
        (r.new_bytes, r.chunks)
    };
    let (tar_new, tar_chunks) = new_bytes(IngestKind::Tar);
    let (bytes_new, _) = new_bytes(IngestKind::Bytes);
    eprintln!(
        "gen2 of {} bytes: tar-aware stored {tar_new} new ({tar_chunks} chunks), blind CDC {bytes_new}",
        gen2.len()
    );
    assert!(
        tar_new * 2 < bytes_new,
        "tar-aware {tar_new} vs blind {bytes_new}"
    );
    assert!(tar_new < gen2.len() as u64 / 5);
    // Packs, not one chunk per member.
    assert!(tar_chunks < 400);
}

#[test]
fn put_dir_returns_a_tar_of_the_directory() {
    if !have_tar() {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    let big = tree(src.path());
    let d = tempfile::tempdir().unwrap();
    let store = Store::init(d.path(), cfg(Some(3))).unwrap();
    let t = TenantId::new("t").unwrap();
    let r1 = store.put_dir(&t, "dir", src.path(), &mut |_| {}).unwrap();
    let r2 = store.put_dir(&t, "dir", src.path(), &mut |_| {}).unwrap();
    assert_eq!(r2.new_chunks, 0, "the same tree gives the same stream");
    let mut out = Vec::new();
    store.get(&t, &r1.set, &mut out).unwrap();
    let x = tempfile::tempdir().unwrap();
    let mut child = Command::new("tar")
        .arg("-xf")
        .arg("-")
        .arg("-C")
        .arg(x.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&out).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        std::fs::read(x.path().join("sub/deeper/big.bin")).unwrap(),
        big
    );
    let long = "n".repeat(90) + "/" + &"m".repeat(120);
    assert_eq!(std::fs::read(x.path().join(long)).unwrap(), b"long name");
    assert_eq!(
        std::fs::read_link(x.path().join("longlink")).unwrap(),
        Path::new(&"l".repeat(150))
    );
    assert_eq!(
        std::fs::read(x.path().join("sparse")).unwrap(),
        std::fs::read(src.path().join("sparse")).unwrap()
    );
    for i in 0..30 {
        let n = format!("sub/small{i:02}");
        assert_eq!(
            std::fs::read(x.path().join(&n)).unwrap(),
            std::fs::read(src.path().join(&n)).unwrap()
        );
    }
}
