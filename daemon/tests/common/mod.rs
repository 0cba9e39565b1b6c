//! Runs the real `reelctl` binary against a VTL directory in a tempdir.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_reelctl");
pub const BARCODE: &str = "A00001L8";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw: Vec<u8>,
}

/// Runs `program args...` with `stdin` fed in, no $TAPE, logging off.
pub fn run_program(program: &Path, args: &[&str], stdin: &[u8]) -> Out {
    let mut child = Command::new(program)
        .args(args)
        .env_remove("TAPE")
        .env_remove("REEL_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reelctl");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let o = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        raw: o.stdout,
    }
}

pub fn reelctl(args: &[&str]) -> Out {
    run_program(Path::new(BIN), args, &[])
}

/// A VTL with one LTO-8 drive holding a blank 64 MiB LTO-8 cartridge.
pub struct Vtl {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub dev: String,
}

impl Vtl {
    pub fn new() -> Vtl {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("vtl");
        let d = dir.to_str().expect("utf-8 path").to_string();
        ok(reelctl(&["vtl", "create", &d]));
        ok(reelctl(&["vtl", "add", &d, BARCODE, "--capacity", "64M"]));
        ok(reelctl(&["vtl", "insert", &d, BARCODE]));
        Vtl {
            dev: format!("vtl:{d}#drive0"),
            dir,
            _tmp: tmp,
        }
    }

    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }

    /// `reelctl mt -f DEV args...`
    pub fn mt(&self, args: &[&str]) -> Out {
        let mut a = vec!["mt", "-f", &self.dev];
        a.extend_from_slice(args);
        reelctl(&a)
    }

    /// `reelctl tape -f DEV args...` with `stdin`.
    pub fn tape(&self, args: &[&str], stdin: &[u8]) -> Out {
        let mut a = vec!["tape", "-f", &self.dev];
        a.extend_from_slice(args);
        run_program(Path::new(BIN), &a, stdin)
    }

    /// The logical block `mt tell` reports.
    pub fn tell(&self) -> u64 {
        let o = ok(self.mt(&["tell"]));
        o.stdout
            .strip_prefix("At block ")
            .and_then(|s| s.strip_suffix(".\n"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad tell output {:?}", o.stdout))
    }

    /// Writes `data` as one tape file (records of `block` bytes + filemark).
    pub fn write_file(&self, data: &[u8], block: usize) {
        let bs = block.to_string();
        ok(self.tape(&["write", "--block-size", &bs], data));
    }
}

#[track_caller]
pub fn ok(o: Out) -> Out {
    assert_eq!(
        o.code, 0,
        "exit {}\nstdout: {}\nstderr: {}",
        o.code, o.stdout, o.stderr
    );
    o
}

/// Deterministic incompressible bytes.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    reeld::bench::Prng::new(seed).fill(&mut v);
    v
}

/// mt-st's status text for an online LTO-8 drive in variable block mode.
pub fn status_text(file: i32, block: i32, gstat: &str, flags: &str) -> String {
    format!(
        "SCSI 2 tape drive:\n\
         File number={file}, block number={block}, partition=0.\n\
         Tape block size 0 bytes. Density code 0x5e (LTO-8).\n\
         Soft error count since last status=0\n\
         General status bits on ({gstat}):\n\
         {flags}\n"
    )
}
