//! `reelctl disk` as a user runs it: round trips through files and stdin,
//! and the errors a user meets (full filesystem, read-only directory,
//! truncated, bit-flipped and foreign files), each with a clear message
//! and nothing committed lost.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");

/// (exit code, stdout, stderr) of `reelctl ARGS` with `stdin` fed in.
fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("REEL_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reelctl");
    let mut sin = child.stdin.take().expect("stdin");
    sin.write_all(stdin).expect("feed stdin");
    drop(sin);
    let o = child.wait_with_output().expect("wait");
    (
        o.status.code().unwrap_or(-1),
        o.stdout,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> Vec<u8> {
    let (code, out, err) = run(args, b"");
    assert_eq!(code, 0, "reelctl {args:?}: {err}");
    out
}

fn fail(args: &[&str]) -> String {
    let (code, _, err) = run(args, b"");
    assert_eq!(code, 1, "reelctl {args:?} should fail: {err}");
    err
}

fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Half text-like, half noise.
            if (i / 4096) % 2 == 0 {
                b"abcdefgh \n"[(x % 10) as usize]
            } else {
                (x >> 24) as u8
            }
        })
        .collect()
}

struct Dev {
    _tmp: tempfile::TempDir,
    dir: String,
}

fn device() -> Dev {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("dev").display().to_string();
    ok(&["disk", "init", &dir, "--capacity", "64M"]);
    Dev { _tmp: tmp, dir }
}

#[test]
fn write_read_list_info_round_trip() {
    let d = device();
    let a = data(300_000, 1);
    let b = data(5_000, 2);
    let fa = Path::new(&d.dir).join("../a.bin");
    let fb = Path::new(&d.dir).join("../b.bin");
    std::fs::write(&fa, &a).unwrap();
    std::fs::write(&fb, &b).unwrap();
    let out = ok(&[
        "disk",
        "write",
        &d.dir,
        "two",
        fa.to_str().unwrap(),
        fb.to_str().unwrap(),
        "--record-size",
        "64K",
    ]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("wrote "), "{text}");
    assert!(text.contains("2 files, 305000 bytes"), "{text}");
    let (code, _, err) = run(&["disk", "write", &d.dir, "piped", "--protect"], &a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ok(&["disk", "read", &d.dir, "two"]), a);
    assert_eq!(ok(&["disk", "read", &d.dir, "two", "--file", "1"]), b);
    assert_eq!(ok(&["disk", "read", &d.dir, "piped"]), a);
    let list: serde_json::Value =
        serde_json::from_slice(&ok(&["disk", "list", &d.dir, "--json"])).unwrap();
    let c = &list["containers"];
    assert_eq!(c[0]["name"], "piped");
    assert_eq!(c[0]["protected"], true);
    assert_eq!(c[1]["name"], "two");
    assert_eq!(c[1]["files"], 2);
    assert_eq!(c[1]["plain_bytes"], 305_000);
    let info: serde_json::Value =
        serde_json::from_slice(&ok(&["disk", "info", &d.dir, "--json"])).unwrap();
    assert_eq!(info["containers"], 2);
    assert_eq!(info["protected"], 1);
    assert_eq!(info["space"]["capacity"], 64 << 20);
    assert_eq!(info["space"]["state"], "ok");
    let v = String::from_utf8(ok(&["disk", "verify", &d.dir])).unwrap();
    assert_eq!(
        v,
        "piped: ok (1 files, 300000 bytes)\ntwo: ok (2 files, 305000 bytes)\n"
    );
    // Media rules: no overwrite, no deleting a protected container.
    let e = fail(&["disk", "write", &d.dir, "two", fa.to_str().unwrap()]);
    assert!(
        e.contains("a container named two exists; containers are never overwritten"),
        "{e}"
    );
    let e = fail(&["disk", "delete", &d.dir, "piped"]);
    assert!(e.ends_with("container piped is write-protected\n"), "{e}");
    let e = fail(&["disk", "read", &d.dir, "two", "--file", "2"]);
    assert!(e.contains("no file 2 (the container holds 2 files)"), "{e}");
    assert_eq!(ok(&["disk", "read", &d.dir, "piped"]), a);
}

#[test]
fn damaged_and_foreign_files_give_clear_errors() {
    let d = device();
    let a = data(200_000, 3);
    for name in ["good", "cut", "flip"] {
        let (code, _, err) = run(&["disk", "write", &d.dir, name, "--no-compress"], &a);
        assert_eq!(code, 0, "{err}");
    }
    let path = |n: &str| Path::new(&d.dir).join(format!("{n}.reel"));
    // Truncated.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path("cut"))
        .unwrap();
    f.set_len(150_000).unwrap();
    let e = fail(&["disk", "verify", &d.dir, "cut"]);
    assert!(
        e.contains("cut.reel: container is truncated or incomplete (no footer at the end of its 150000 bytes)"),
        "{e}"
    );
    // One bit flipped in the middle of the first record's payload.
    let mut bytes = std::fs::read(path("flip")).unwrap();
    bytes[100_000] ^= 0x04;
    std::fs::write(path("flip"), &bytes).unwrap();
    let e = fail(&["disk", "read", &d.dir, "flip"]);
    assert!(
        e.contains("medium error: ") && e.contains("flip.reel: record payload: CRC mismatch"),
        "{e}"
    );
    assert!(e.trim_end().ends_with("at offset 96"), "{e}");
    let json: serde_json::Value = {
        let (code, out, _) = run(&["disk", "verify", &d.dir, "flip", "--json"], b"");
        assert_eq!(code, 1);
        serde_json::from_slice(&out).unwrap()
    };
    assert_eq!(json["class"], "medium error");
    // Not a container at all.
    std::fs::write(path("notes"), b"shopping list: milk, eggs\n").unwrap();
    let e = fail(&["disk", "verify", &d.dir, "notes"]);
    assert!(
        e.contains("notes.reel: not a reel container (no container header; the file starts with 73 68 6f 70"),
        "{e}"
    );
    // A directory that is no device.
    let e = fail(&["disk", "list", "/proc/self"]);
    assert!(
        e.contains(
            "/proc/self: not a disk storage device (no reel-disk.conf; run `reelctl disk init`)"
        ),
        "{e}"
    );
    // Verify-all names each bad one and the good one still reads back.
    let e = fail(&["disk", "verify", &d.dir]);
    assert!(e.contains("good: ok"), "{e}");
    assert!(e.contains("3 of 4 containers failed verification"), "{e}");
    assert_eq!(ok(&["disk", "read", &d.dir, "good"]), a);
}

#[test]
fn recover_turns_a_leftover_partial_into_a_container() {
    let d = device();
    let a = data(400_000, 4);
    let (code, _, err) = run(
        &["disk", "write", &d.dir, "src", "--record-size", "64K"],
        &a,
    );
    assert_eq!(code, 0, "{err}");
    // What a killed writer leaves: the records, no trailer, a torn tail.
    let full = std::fs::read(Path::new(&d.dir).join("src.reel")).unwrap();
    let partial = Path::new(&d.dir).join(".crashed.reel.partial");
    std::fs::write(&partial, &full[..250_000]).unwrap();
    let l = String::from_utf8(ok(&["disk", "list", &d.dir])).unwrap();
    assert!(l.contains("crashed                  partial"), "{l}");
    let e = fail(&["disk", "write", &d.dir, "crashed"]);
    assert!(e.contains("an interrupted write of crashed left"), "{e}");
    let e = fail(&["disk", "read", &d.dir, "crashed"]);
    assert!(
        e.contains("container is truncated or incomplete (an interrupted write)"),
        "{e}"
    );
    let r = String::from_utf8(ok(&["disk", "recover", &d.dir, "crashed"])).unwrap();
    assert!(r.starts_with("recovered "), "{r}");
    assert!(r.contains("the last file was cut short"), "{r}");
    let got = ok(&["disk", "read", &d.dir, "crashed"]);
    assert!(!got.is_empty() && got.len() < a.len());
    assert_eq!(got.len() % 65536, 0);
    assert_eq!(got[..], a[..got.len()]);
    ok(&["disk", "verify", &d.dir, "crashed"]);
    let e = fail(&["disk", "recover", &d.dir, "crashed"]);
    assert!(
        e.contains("no interrupted write of crashed to recover"),
        "{e}"
    );
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Runs `script` (sh) in a private mount namespace with $BIN and $T (a
/// scratch directory) set. None when namespaces are unavailable.
fn in_namespace(script: &str) -> Option<(i32, String, String)> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = nix::unistd::geteuid().is_root();
    let mut c = Command::new("unshare");
    if !root {
        c.args(["--user", "--map-root-user"]);
    }
    let probe = c
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "set -u; mount -t tmpfs -o size=4m tmpfs \"$T\" || exit 97; {script}"
        ))
        .env("BIN", BIN)
        .env("T", tmp.path())
        .env_remove("REEL_LOG")
        .output();
    match probe {
        Ok(o) if o.status.code() != Some(97) => Some((
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )),
        other => {
            let why = format!("cannot mount a tmpfs in a private mount namespace: {other:?}");
            assert!(!in_ci(), "CI=true: {why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn full_filesystem_fails_cleanly_and_keeps_what_was_committed() {
    // A 4 MiB tmpfs; the device claims more capacity than the filesystem
    // has, so the real ENOSPC is what stops the write.
    let script = r#"
        D="$T/dev"
        "$BIN" disk init "$D" --capacity 1G >/dev/null || exit 10
        head -c 500000 /dev/urandom > "$T/small"
        "$BIN" disk write "$D" kept "$T/small" --no-compress >/dev/null || exit 11
        head -c 8000000 /dev/urandom | "$BIN" disk write "$D" big --no-compress
        echo "exit=$?"
        ls -a "$D"
        "$BIN" disk read "$D" kept | cmp - "$T/small" && echo kept-ok
        "$BIN" disk verify "$D"
    "#;
    let Some((code, out, err)) = in_namespace(script) else {
        return;
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("exit=1"), "{out}");
    assert!(err.contains("reelctl disk: "), "{err}");
    assert!(err.contains("no space left on device"), "{err}");
    assert!(out.contains("kept-ok"), "{out}{err}");
    assert!(
        !out.contains(".big.reel.partial"),
        "partial left behind: {out}"
    );
    assert!(!out.contains("big.reel"), "{out}");
    assert!(out.contains("kept: ok (1 files, 500000 bytes)"), "{out}");
}

#[test]
fn read_only_directory_refuses_writes_and_still_reads() {
    let script = r#"
        D="$T/dev"
        "$BIN" disk init "$D" --capacity 2M >/dev/null || exit 10
        echo committed | "$BIN" disk write "$D" kept >/dev/null || exit 11
        # A read-only bind mount over the device (a fresh mount has no
        # writers, so this works even while the kernel still holds files of
        # the exited writers).
        mount --bind "$D" "$D" && mount -o remount,bind,ro "$D" || exit 12
        echo more | "$BIN" disk write "$D" new
        echo "exit=$?"
        "$BIN" disk read "$D" kept
        "$BIN" disk list "$D" | wc -l
    "#;
    let Some((code, out, err)) = in_namespace(script) else {
        return;
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("exit=1"), "{out}");
    assert!(
        err.contains("dev: read-only file system or directory; nothing was written"),
        "{err}"
    );
    assert!(out.contains("committed\n"), "{out}");
    // Header line + one container.
    assert!(out.ends_with("2\n"), "{out}");
}
