//! `reelctl mt` and `reelctl mtx` over iSCSI print what they print through
//! `vtl:` addresses: the same library, first opened directly, then served by
//! reel's iSCSI target (in this process, on an ephemeral 127.0.0.1 port).

use std::path::{Path, PathBuf};

use reel_vtl::iscsi::{RunningServer, ServeConfig, Server};
use reel_vtl::library::VirtualLibrary;

const BIN: &str = env!("CARGO_BIN_EXE_reelctl");
const IQN: &str = "iqn.2025-01.org.reel:cli";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `reelctl ARGS`, with a private runtime dir (position cache) and no
/// inherited device or log settings.
fn reelctl(rt: &Path, args: &[&str]) -> Out {
    let o = std::process::Command::new(BIN)
        .args(args)
        .env("XDG_RUNTIME_DIR", rt)
        .env_remove("TAPE")
        .env_remove("CHANGER")
        .env_remove("REEL_LOG")
        .env_remove("REEL_ISCSI_CHAP_USER")
        .env_remove("REEL_ISCSI_CHAP_SECRET")
        .env_remove("REEL_ISCSI_CHAP_FILE")
        .output()
        .expect("run reelctl");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(rt: &Path, args: &[&str]) -> String {
    let o = reelctl(rt, args);
    assert_eq!(o.code, 0, "reelctl {args:?}: {}", o.stderr);
    o.stdout
}

/// The target serving the library; stopped and joined on drop.
struct Target(RunningServer);

impl Target {
    fn start(dir: &Path) -> Target {
        let text = format!(
            "library = \"lib\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"
        );
        let cfg = ServeConfig::parse(&text, dir).expect("config");
        let server = Server::bind(cfg, Some("127.0.0.1:0")).expect("bind");
        Target(server.spawn().expect("target thread"))
    }

    fn dev(&self, lun: u32) -> String {
        format!(
            "iscsi://127.0.0.1:{}/{IQN}/{lun}",
            self.0.local_addr().port()
        )
    }
}

struct Rig {
    tmp: tempfile::TempDir,
}

impl Rig {
    /// The default library with RL0001L8 in drive 0.
    fn new() -> Rig {
        let tmp = tempfile::tempdir().expect("tempdir");
        let lib = VirtualLibrary::create_default(&tmp.path().join("lib")).expect("library");
        lib.insert(0, "RL0001L8").expect("insert");
        drop(lib);
        std::fs::create_dir(tmp.path().join("rt")).expect("runtime dir");
        Rig { tmp }
    }

    fn rt(&self) -> PathBuf {
        self.tmp.path().join("rt")
    }

    fn vtl(&self, what: &str) -> String {
        format!("vtl:{}#{what}", self.tmp.path().join("lib").display())
    }
}

#[test]
fn mt_status_over_iscsi_matches_vtl() {
    let rig = Rig::new();
    let rt = rig.rt();
    let vtl = rig.vtl("drive0");
    // The golden outputs, through vtl: (BOT, then after two filemarks).
    let want = ok(&rt, &["mt", "-f", &vtl, "status"]);
    assert!(want.contains("BOT ONLINE"), "{want}");
    ok(&rt, &["mt", "-f", &vtl, "weof", "2"]);
    let want_fm = ok(&rt, &["mt", "-f", &vtl, "status"]);
    assert!(
        want_fm.contains("File number=2, block number=0"),
        "{want_fm}"
    );
    ok(&rt, &["mt", "-f", &vtl, "rewind"]);

    let target = Target::start(rig.tmp.path());
    let dev = target.dev(1);
    let got = reelctl(&rt, &["mt", "-f", &dev, "status"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.stdout, want);
    assert_eq!(got.stderr, "");

    // The same two filemarks written over iSCSI (over the old ones).
    ok(&rt, &["mt", "-f", &dev, "weof", "2"]);
    assert_eq!(ok(&rt, &["mt", "-f", &dev, "status"]), want_fm);
    ok(&rt, &["mt", "-f", &dev, "rewind"]);
    ok(&rt, &["mt", "-f", &dev, "fsf", "2"]);
    assert_eq!(ok(&rt, &["mt", "-f", &dev, "status"]), want_fm);
    drop(target);
}

#[test]
fn mtx_status_over_iscsi_matches_vtl() {
    let rig = Rig::new();
    let rt = rig.rt();
    let vtl = rig.vtl("changer");
    let want = ok(&rt, &["mtx", "-f", &vtl, "status"]);
    assert!(
        want.contains(
            "Data Transfer Element 0:Full (Storage Element 1 Loaded):VolumeTag = RL0001L8"
        ),
        "{want}"
    );

    let target = Target::start(rig.tmp.path());
    let dev = target.dev(2);
    let got = reelctl(&rt, &["mtx", "-f", &dev, "status"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    // The header names the device; the rest is identical.
    assert_eq!(got.stdout, want.replace(&vtl, &dev));
    assert_eq!(got.stderr, "");

    // A load over iSCSI shows through both paths alike.
    ok(&rt, &["mtx", "-f", &dev, "load", "5", "1"]);
    let after = ok(&rt, &["mtx", "-f", &dev, "status"]);
    assert!(
        after.contains(
            "Data Transfer Element 1:Full (Storage Element 5 Loaded):VolumeTag = RL0005L8"
        ),
        "{after}"
    );
    drop(target);
    assert_eq!(
        ok(&rt, &["mtx", "-f", &vtl, "status"]),
        after.replace(&dev, &vtl)
    );
}
