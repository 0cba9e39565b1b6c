//! Byte streams through `reelctl tape write`/`read`: tar archives piped in
//! and out, and a writer killed with SIGKILL mid-stream.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn make_tree(root: &Path, seed: u64) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("small.txt"), format!("hello from tree {seed}\n")).unwrap();
    std::fs::write(
        root.join("sub/big.bin"),
        data(seed, 300_000 + seed as usize),
    )
    .unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
}

fn same_tree(a: &Path, b: &Path) {
    for f in ["small.txt", "sub/big.bin", "empty"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// `tar cf - -C src . | reelctl tape -f DEV write --block-size 10240`
fn tar_to_tape(v: &Vtl, src: &Path) {
    let mut tar = Command::new("tar")
        .args(["cf", "-", "-C"])
        .arg(src)
        .arg(".")
        .stdout(Stdio::piped())
        .spawn()
        .expect("tar");
    let st = Command::new(BIN)
        .args(["tape", "-f", &v.dev, "write", "--block-size", "10240"])
        .stdin(Stdio::from(tar.stdout.take().unwrap()))
        .status()
        .unwrap();
    assert!(tar.wait().unwrap().success());
    assert!(st.success());
}

/// `reelctl tape -f DEV read --block-size 10240 | tar xf - -C dst`
fn tape_to_tar(v: &Vtl, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    let mut rd = Command::new(BIN)
        .args(["tape", "-f", &v.dev, "read", "--block-size", "10240"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = Command::new("tar")
        .args(["xf", "-", "-C"])
        .arg(dst)
        .stdin(Stdio::from(rd.stdout.take().unwrap()))
        .status()
        .unwrap();
    assert!(rd.wait().unwrap().success());
    assert!(st.success());
}

#[test]
fn tar_archives_through_the_tape() {
    let v = Vtl::new();
    let work = v.dir.parent().unwrap().to_path_buf();
    let (a, b) = (work.join("a"), work.join("b"));
    make_tree(&a, 1);
    make_tree(&b, 2);
    tar_to_tape(&v, &a);
    tar_to_tape(&v, &b);
    // Second archive first: rewind, skip one file.
    ok(v.mt(&["rewind"]));
    ok(v.mt(&["fsf", "1"]));
    tape_to_tar(&v, &work.join("out-b"));
    same_tree(&b, &work.join("out-b"));
    ok(v.mt(&["rewind"]));
    tape_to_tar(&v, &work.join("out-a"));
    same_tree(&a, &work.join("out-a"));
    // Records are 10240 bytes, as tar's default blocking factor.
    ok(v.mt(&["rewind"]));
    let e = v.tape(&["read", "--block-size", "512"], b"");
    assert_eq!(e.code, 2);
    assert!(e.stderr.contains("10240"), "{}", e.stderr);
}

#[test]
fn write_then_read_exact_bytes() {
    let v = Vtl::new();
    let d = data(7, 1_000_003);
    v.write_file(&d, 65536);
    ok(v.mt(&["rewind"]));
    let o = ok(v.tape(&["read"], b""));
    assert_eq!(o.raw, d);
    // Reading at the end of data gives an empty stream.
    let o = ok(v.tape(&["read"], b""));
    assert!(o.raw.is_empty());
    assert_eq!(v.tell(), 17);
}

const SEGMENT: usize = 256 * 1024;

fn segment(i: u64) -> Vec<u8> {
    data(1000 + i, SEGMENT)
}

#[test]
fn killed_writer_keeps_everything_acknowledged() {
    let v = Vtl::new();
    let mut child = Command::new(BIN)
        .args(["tape", "-f", &v.dev, "write", "--block-size", "65536"])
        .args(["--filemark-every", &SEGMENT.to_string()])
        .env_remove("REEL_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // Feeds segments until the writer dies (broken pipe).
    let feeder = std::thread::spawn(move || {
        for i in 0..200u64 {
            if input.write_all(&segment(i)).is_err() {
                return;
            }
        }
    });
    let mut acked = 0u64;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let n: u64 = line
            .strip_prefix("reelctl: filemark ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected stderr line {line:?}"));
        acked = n;
        if n == 6 {
            // SIGKILL: no destructor runs, the VTL is not closed.
            child.kill().unwrap();
            break;
        }
    }
    // Acknowledgements printed before the kill landed count too.
    for line in lines {
        if let Some(n) = line
            .ok()
            .and_then(|l| l.strip_prefix("reelctl: filemark ").map(str::to_string))
            .and_then(|r| r.split(' ').next().and_then(|n| n.parse().ok()))
        {
            acked = n;
        }
    }
    let st = child.wait().unwrap();
    assert!(!st.success(), "writer finished before it was killed");
    feeder.join().unwrap();
    assert!(acked >= 6);

    // The lock died with the process: the library opens again, powers on
    // (unit attention consumed) with the tape at BOT.
    let o = ok(v.mt(&["status"]));
    assert_eq!(
        o.stdout,
        status_text(0, 0, "41010000", " BOT ONLINE IM_REP_EN")
    );
    for i in 0..acked {
        let o = ok(v.tape(&["read", "--block-size", "65536"], b""));
        assert!(o.raw == segment(i), "segment {i} of {acked} differs");
    }
    assert_eq!(v.tell(), acked * 5);
    // Whatever follows (unacknowledged) reads without errors, then EOD;
    // the tape can be appended to at EOD.
    let _ = v.tape(&["read", "--block-size", "65536"], b"");
    ok(v.mt(&["eod"]));
    // The writer may have died in the middle of a segment, leaving records
    // with no filemark after them: address the new data by block number,
    // not by filemarks.
    let at = v.tell();
    v.write_file(b"after the crash", 512);
    ok(v.mt(&["seek", &at.to_string()]));
    assert_eq!(ok(v.tape(&["read"], b"")).raw, b"after the crash".to_vec());
}
