//! Bacula's own `mtx-changer` script (Debian's bacula-sd package,
//! unmodified) drives a VTL through reel's mtx shim: slots, list, listall,
//! loaded, load, unload, transfer.
//!
//! The script hard-codes `MTX=/usr/sbin/mtx` and sources
//! `/etc/bacula/scripts/mtx-changer.conf`, so each run happens in a private
//! mount namespace (`unshare --mount`) where reel's binary is bind-mounted
//! over /usr/sbin/mtx, a test copy of the conf over the real one and a
//! temporary directory over /var/lib/bacula. `mt` (for `offline=1` and the
//! wait for the drive after a load) is reel's mt shim, first in PATH.
//! Nothing outside the namespace changes.
//!
//! Under `CI=true` a missing script or namespace support fails the test
//! (scripts/setup.sh installs bacula-sd); elsewhere the test says why it
//! skips.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use reel_vtl::library::VirtualLibrary;
use reel_vtl::library::config::LibrarySpec;

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");
const SCRIPT: &str = "/etc/bacula/scripts/mtx-changer";
const CONF: &str = "/etc/bacula/scripts/mtx-changer.conf";
const MTX: &str = "/usr/sbin/mtx";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Fails under CI, else explains the skip. Returns false to skip.
fn require(ok: bool, why: &str) -> bool {
    if !ok {
        assert!(!in_ci(), "CI=true: {why}");
        eprintln!("skipping Bacula test: {why}");
    }
    ok
}

struct Env {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    bin: PathBuf,
    conf: PathBuf,
    state: PathBuf,
    ctl: String,
}

impl Env {
    /// The default VTL library plus the namespace material, or None to skip.
    fn new(offline: bool) -> Option<Env> {
        if !require(
            Path::new(SCRIPT).is_file() && Path::new(CONF).is_file(),
            "Bacula's mtx-changer is not installed (apt-get install bacula-sd)",
        ) {
            return None;
        }
        if !require(
            Path::new(MTX).exists(),
            "/usr/sbin/mtx (the bind-mount target; bacula-sd depends on mtx) is missing",
        ) {
            return None;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("lib");
        drop(VirtualLibrary::create_with(&dir, &LibrarySpec::default_library()).expect("library"));
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        symlink(BIN, bin.join("mt")).expect("mt symlink");
        symlink(BIN, bin.join("mtx")).expect("mtx symlink");
        let conf = tmp.path().join("mtx-changer.conf");
        let text = std::fs::read_to_string(CONF).expect("read conf");
        let text = text.replace("offline=0", if offline { "offline=1" } else { "offline=0" });
        std::fs::write(&conf, text).expect("write conf");
        let state = tmp.path().join("var-lib-bacula");
        std::fs::create_dir(&state).expect("state dir");
        let ctl = format!("vtl:{}#changer", dir.display());
        let env = Env {
            _tmp: tmp,
            dir,
            bin,
            conf,
            state,
            ctl,
        };
        let probe = env.raw(&["true"]);
        if !require(
            probe.0 == 0,
            &format!(
                "cannot bind-mount in a private mount namespace: {}",
                probe.2
            ),
        ) {
            return None;
        }
        Some(env)
    }

    fn drive(&self, n: usize) -> String {
        format!("vtl:{}#drive{n}", self.dir.display())
    }

    /// Runs `argv` inside the namespace; (exit code, stdout, stderr).
    fn raw(&self, argv: &[&str]) -> (i32, String, String) {
        let root = nix::unistd::geteuid().is_root();
        let setup = "set -e; mount --bind \"$R_BIN\" /usr/sbin/mtx; \
                     mount --bind \"$R_CONF\" /etc/bacula/scripts/mtx-changer.conf; \
                     mount --bind \"$R_STATE\" /var/lib/bacula; exec \"$@\"";
        let mut c = Command::new("unshare");
        if !root {
            c.args(["--user", "--map-root-user"]);
        }
        c.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            setup,
            "sh",
        ])
        .args(argv)
        .env("R_BIN", BIN)
        .env("R_CONF", &self.conf)
        .env("R_STATE", &self.state)
        .env(
            "PATH",
            format!(
                "{}:{}",
                self.bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("TAPE")
        .env_remove("CHANGER")
        .env_remove("REEL_LOG");
        match c.output() {
            Ok(o) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ),
            Err(e) => (-1, String::new(), format!("unshare: {e}")),
        }
    }

    /// `mtx-changer CTL CMD SLOT DEVICE DRIVE`, which must succeed.
    fn changer(&self, cmd: &str, slot: &str, drive: usize) -> String {
        let dev = self.drive(drive);
        let d = drive.to_string();
        let (code, out, err) = self.raw(&[SCRIPT, &self.ctl, cmd, slot, &dev, &d]);
        assert_eq!(code, 0, "mtx-changer {cmd} {slot} {drive}: {out}{err}");
        out
    }

    /// The script with only the arguments `list`, `listall` and `slots` need.
    fn changer2(&self, cmd: &str) -> String {
        let (code, out, err) = self.raw(&[SCRIPT, &self.ctl, cmd]);
        assert_eq!(code, 0, "mtx-changer {cmd}: {out}{err}");
        out
    }
}

fn pad(tag: &str) -> String {
    format!("{tag:<32}")
}

#[test]
fn bacula_mtx_changer_runs_unmodified_through_the_shim() {
    let Some(env) = Env::new(false) else { return };
    assert_eq!(env.changer2("slots"), "54\n");
    // The shim really is what the script ran.
    let (code, out, _) = env.raw(&["/usr/sbin/mtx", "-f", &env.ctl, "inquiry"]);
    assert_eq!(code, 0);
    assert!(out.contains("Vendor ID: 'IBM     '"), "{out}");

    let mut list: String = (1..=20).map(|n| format!("{n}:RL{n:04}L8\n")).collect();
    list.push_str("50:CLN001L1\n");
    assert_eq!(env.changer2("list"), list);

    assert_eq!(env.changer("loaded", "0", 1), "0\n");
    // load waits for `mt -f DRIVE status` to say ONLINE (reel's mt).
    assert_eq!(
        env.changer("load", "3", 1),
        "Loading media from Storage Element 3 into drive 1...done\n"
    );
    assert_eq!(env.changer("loaded", "0", 1), "3\n");
    assert_eq!(env.changer("loaded", "0", 0), "0\n");

    let mut list: String = (1..=20)
        .filter(|&n| n != 3)
        .map(|n| format!("{n}:RL{n:04}L8\n"))
        .collect();
    list.push_str("50:CLN001L1\n3:RL0003L8\n");
    assert_eq!(env.changer2("list"), list);

    let mut all = String::from("D:0:E\nD:1:F:3:");
    all.push_str(&pad("RL0003L8"));
    all.push_str("\nD:2:E\nD:3:E\n");
    for n in 1..=50 {
        match n {
            3 => all.push_str("S:3:E\n"),
            1..=20 => all.push_str(&format!("S:{n}:F:{}\n", pad(&format!("RL{n:04}L8")))),
            50 => all.push_str(&format!("S:50:F:{}\n", pad("CLN001L1"))),
            _ => all.push_str(&format!("S:{n}:E\n")),
        }
    }
    for n in 51..=54 {
        all.push_str(&format!("I:{n}:E\n"));
    }
    assert_eq!(env.changer2("listall"), all);

    // offline=0: the script unloads at once; the shim ejects the VTL drive.
    assert_eq!(
        env.changer("unload", "3", 1),
        "Unloading drive 1 into Storage Element 3...done\n"
    );
    assert_eq!(env.changer("loaded", "0", 1), "0\n");
    // transfer: slot 4 to slot 30 (the script passes the destination as $4).
    let (code, out, err) = env.raw(&[SCRIPT, &env.ctl, "transfer", "4", "30"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(env.changer2("list").contains("30:RL0004L8\n"));
}

#[test]
fn bacula_with_offline_before_unload() {
    let Some(env) = Env::new(true) else { return };
    env.changer("load", "7", 0);
    assert_eq!(env.changer("loaded", "0", 0), "7\n");
    // offline=1: `mt -f DRIVE offline` ejects first, then mtx unloads.
    assert_eq!(
        env.changer("unload", "7", 0),
        "Unloading drive 0 into Storage Element 7...done\n"
    );
    assert_eq!(env.changer("loaded", "0", 0), "0\n");
    assert!(env.changer2("list").starts_with("1:RL0001L8\n"));
}

#[test]
fn bacula_sees_a_failed_load() {
    let Some(env) = Env::new(false) else { return };
    env.changer("load", "5", 0);
    // Drive 0 is full: mtx's message (the script prints stderr after
    // stdout) and a failing exit status, without the five retries an
    // "Error Code=" sense dump would cause. (The script waits for the
    // drive after any load attempt; a loaded drive answers at once.)
    let dev = env.drive(0);
    let (code, out, err) = env.raw(&[SCRIPT, &env.ctl, "load", "6", &dev, "0"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        out, "/usr/sbin/mtx: Drive 0 Full (Storage Element 5 loaded)\n",
        "{err}"
    );
    assert_eq!(env.changer("loaded", "0", 0), "5\n");
}
