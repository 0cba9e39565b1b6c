//! The mtx shim end to end: the real `reelctl` binary (as `reelctl mtx` and
//! through an `mtx` symlink) against VTL libraries in a tempdir, one
//! process per invocation as scripts run mtx. Expected texts are mtx
//! 1.3.12's formats written out literally.

use std::path::{Path, PathBuf};
use std::process::Command;

use reel_vtl::library::VirtualLibrary;
use reel_vtl::library::config::{CartridgeSection, LibrarySpec};

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = Command::new(program);
    c.args(args)
        .env_remove("TAPE")
        .env_remove("CHANGER")
        .env_remove("REEL_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run reelctl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A VTL library directory in a tempdir.
struct Lib {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    dev: String,
}

impl Lib {
    fn with_spec(spec: &LibrarySpec) -> Lib {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lib");
        drop(VirtualLibrary::create_with(&dir, spec).expect("create library"));
        let dev = format!("vtl:{}#changer", dir.display());
        Lib {
            _tmp: tmp,
            dir,
            dev,
        }
    }

    fn default() -> Lib {
        Lib::with_spec(&LibrarySpec::default_library())
    }

    /// `reelctl mtx -f DEV args...`
    fn mtx(&self, args: &[&str]) -> Out {
        let mut a = vec!["mtx", "-f", &self.dev];
        a.extend_from_slice(args);
        run_in(Path::new(BIN), &a, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.mtx(args);
        assert_eq!(o.code, 0, "mtx {args:?}: {}", o.stderr);
        assert_eq!(o.stderr, "", "mtx {args:?}");
        o.stdout
    }

    fn status(&self) -> String {
        self.ok(&["status"])
    }
}

/// `      Storage Element N:Full :VolumeTag=TAG` with the tag padded to 32.
fn full(n: usize, tag: &str) -> String {
    format!("      Storage Element {n}:Full :VolumeTag={tag:<32}\n")
}

fn empty(n: usize) -> String {
    format!("      Storage Element {n}:Empty\n")
}

fn default_status(dev: &str, drives: &[&str], slot: impl Fn(usize) -> String) -> String {
    let mut s = format!("  Storage Changer {dev}:4 Drives, 54 Slots ( 4 Import/Export )\n");
    for (i, d) in drives.iter().enumerate() {
        s.push_str(&format!("Data Transfer Element {i}:{d}\n"));
    }
    for n in 1..=54 {
        s.push_str(&slot(n));
    }
    s
}

fn default_slots(n: usize) -> String {
    match n {
        1..=20 => full(n, &format!("RL{n:04}L8")),
        50 => full(50, "CLN001L1"),
        51..=54 => format!("      Storage Element {n} IMPORT/EXPORT:Empty\n"),
        _ => empty(n),
    }
}

#[test]
fn status_of_the_default_library() {
    let lib = Lib::default();
    let want = default_status(&lib.dev, &["Empty"; 4], default_slots);
    assert_eq!(lib.status(), want);
}
