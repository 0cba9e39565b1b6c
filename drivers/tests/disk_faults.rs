//! Errors as a user hits them: a full filesystem, a read-only directory, a
//! filesystem that refuses O_DIRECT.
//!
//! The filesystems are a 1 MiB tmpfs, a read-only tmpfs and a ramfs mounted
//! in a private mount namespace (`unshare --mount`, plus `--user` when not
//! root): the test binary re-runs this very test inside it with
//! REEL_DISK_NS_DIR set. Nothing outside the namespace changes. Under
//! CI=true a missing `unshare` or namespace support fails; elsewhere the test
//! says why it skips.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use reel_drivers::disk::{
    BackendChoice, DiskDriver, DiskError, DiskOptions, DiskReader, DiskWriter,
};

const ENV: &str = "REEL_DISK_NS_DIR";
/// Exit status of the namespace setup script when it cannot mount.
const NO_NAMESPACE: i32 = 97;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

/// Runs `test` of this binary inside a private mount namespace with
/// `$DIR/full` (1 MiB tmpfs), `$DIR/ro` (read-only tmpfs) and `$DIR/ramfs`.
fn run_in_namespace(test: &str) {
    let dir = tempfile::tempdir().unwrap();
    for d in ["full", "ro", "ramfs"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    let root = is_root();
    let setup = format!(
        "mount -t tmpfs -o size=1m tmpfs \"$D/full\" && \
         mount -t tmpfs -o ro,size=1m tmpfs \"$D/ro\" && \
         mount -t ramfs ramfs \"$D/ramfs\" || exit {NO_NAMESPACE}; exec \"$@\""
    );
    let mut c = Command::new("unshare");
    if !root {
        c.args(["--user", "--map-root-user"]);
    }
    let out = c
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &setup,
            "sh",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("D", dir.path())
        .env(ENV, dir.path())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            assert!(
                !in_ci(),
                "unshare: {e} (scripts/setup.sh installs util-linux)"
            );
            eprintln!("skipped: unshare missing ({e})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(NO_NAMESPACE)
        || (out.status.code() == Some(1) && stdout.is_empty())
    {
        assert!(!in_ci(), "no private mount namespace: {stderr}");
        eprintln!("skipped: cannot mount in a private namespace: {stderr}");
        return;
    }
    assert!(
        out.status.success() && stdout.contains("namespace part passed"),
        "child failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn is_root() -> bool {
    // /proc/self/status carries the effective uid (second field).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn driver(backend: BackendChoice) -> DiskDriver {
    DiskDriver::new(DiskOptions {
        backend,
        queue_depth: 4,
        buffer_size: 64 << 10,
        prealloc_extent: 256 << 10,
        ..DiskOptions::default()
    })
    .unwrap()
}

#[test]
fn full_filesystem_read_only_directory_and_no_direct_io() {
    let Ok(root) = std::env::var(ENV) else {
        run_in_namespace("full_filesystem_read_only_directory_and_no_direct_io");
        return;
    };
    let root = Path::new(&root);
    for (bi, backend) in [BackendChoice::Sync, BackendChoice::Uring]
        .into_iter()
        .enumerate()
    {
        full_filesystem(&root.join("full"), backend, bi as u8);
        read_only(&root.join("ro"), backend);
        no_direct_io(&root.join("ramfs"), backend, bi as u8);
    }
    println!("namespace part passed");
}

fn full_filesystem(dir: &Path, backend: BackendChoice, seed: u8) {
    let d = driver(backend);
    // A finished file and the synced prefix of another must survive.
    let a = dir.join("a");
    let a_data = pattern(100_001, seed);
    let mut w = DiskWriter::create(&d, &a).unwrap();
    w.write_all(&a_data).unwrap();
    w.finish().unwrap();

    let b = dir.join("b");
    let b_data = pattern(3 << 20, seed ^ 0x55);
    let mut w = DiskWriter::create(&d, &b).unwrap();
    assert!(w.file().direct(), "tmpfs takes O_DIRECT since Linux 6.6");
    w.write_all(&b_data[..200_000]).unwrap();
    w.sync().unwrap();
    let mut err = None;
    for chunk in b_data[200_000..].chunks(50_000) {
        if let Err(e) = w.write_all(chunk) {
            err = Some(e);
            break;
        }
    }
    let err = match err {
        Some(e) => e,
        None => w.sync().unwrap_err(),
    };
    assert!(err.is_no_space(), "{err}");
    match &err {
        DiskError::NoSpace { path, offset } => {
            assert_eq!(path, &b);
            assert!(
                (200_000..1 << 20).contains(offset) && offset % 4096 == 0,
                "offset {offset}"
            );
        }
        e => panic!("{e}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("/b: no space left on device at offset"),
        "{msg}"
    );
    // The writer refuses to go on: nothing half-written after the gap.
    assert!(matches!(
        w.write_all(b"x"),
        Err(DiskError::WriterFailed { .. })
    ));
    assert!(Write::flush(&mut w).is_err());
    drop(w);

    assert_eq!(std::fs::read(&a).unwrap(), a_data);
    let mut r = DiskReader::open(&d, &b).unwrap();
    let mut got = vec![0u8; 200_000];
    r.read_exact_at(0, &mut got).unwrap();
    assert_eq!(got, &b_data[..200_000], "synced data is intact");
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(&b).unwrap();
}

fn read_only(dir: &Path, backend: BackendChoice) {
    let d = driver(backend);
    let p = dir.join("c");
    let e = DiskWriter::create(&d, &p).unwrap_err();
    let msg = e.to_string();
    match &e {
        DiskError::Op { path, op, source } => {
            assert_eq!(path, &p);
            assert_eq!(*op, "open");
            assert_eq!(source.raw_os_error(), Some(libc::EROFS));
        }
        other => panic!("{other}"),
    }
    assert!(msg.contains("/ro/c: open"), "{msg}");
    let chain = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(chain.contains("Read-only file system"), "{chain}");
}

fn no_direct_io(dir: &Path, backend: BackendChoice, seed: u8) {
    let d = driver(backend);
    let p = dir.join("r");
    let data = pattern(70_000, seed);
    let mut w = DiskWriter::create(&d, &p).unwrap();
    assert!(
        !w.file().direct(),
        "ramfs refuses O_DIRECT: buffered fallback"
    );
    w.write_all(&data).unwrap();
    w.finish().unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), data);
    std::fs::remove_file(&p).unwrap();
}
