//! libiscsi's tools (an initiator reel did not write) against
//! `reel-vtl serve`: discovery lists the target and its LUNs, INQUIRY
//! reports a tape drive (type 1, MChngr clear) and a changer (type 8), and
//! VPD page 00h is present. Under CI=true a missing tool or reel-vtl
//! binary fails the tests.

use reel_hwtests::libiscsi;
use reel_hwtests::reel_vtl_server::{ReelVtlServer, reel_vtl_bin};
use reel_hwtests::tools::{in_ci, require_tools};

const IQN: &str = "iqn.2025-01.test.reel:vtl";

/// The documented layout (vtl-emulator/reel-vtl.example.toml): LUN 1 =
/// drive 0, LUN 2 = the changer. The library directory holds nothing yet,
/// so reel-vtl creates its default library there.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "library = \"lib\"\n\n[[target]]\niqn = \"{IQN}\"\n\
         luns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n"
    );
    let path = dir.join("reel-vtl.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn server(dir: &std::path::Path) -> Option<ReelVtlServer> {
    require_tools(&[
        ("iscsi-ls", libiscsi::PACKAGE),
        ("iscsi-inq", libiscsi::PACKAGE),
    ])?;
    match reel_vtl_bin() {
        Ok(_) => {}
        Err(e) if !in_ci() => {
            eprintln!("skipping: {e}");
            return None;
        }
        Err(e) => panic!("{e}"),
    }
    Some(ReelVtlServer::start(&config(dir)).expect("start reel-vtl serve"))
}

#[test]
fn iscsi_ls_discovers_reel_target_and_luns() {
    let dir = tempfile::tempdir().unwrap();
    let Some(srv) = server(dir.path()) else {
        return;
    };
    let targets = libiscsi::ls(&srv.portal_url()).unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    let t = targets
        .iter()
        .find(|t| t.iqn == IQN)
        .expect("target listed");
    let luns: Vec<(u64, &str)> = t.luns.iter().map(|l| (l.lun, l.kind.as_str())).collect();
    assert!(luns.contains(&(1, "SEQUENTIAL_ACCESS")), "{luns:?}");
    assert!(luns.contains(&(2, "MEDIA_CHANGER")), "{luns:?}");
    // The default library starts with every drive empty.
    let drive = t.luns.iter().find(|l| l.lun == 1).unwrap();
    assert_eq!(drive.note, "(No media loaded)");
    srv.stop().expect("clean shutdown on SIGTERM");
}

#[test]
fn iscsi_inq_sees_drive_and_changer() {
    let dir = tempfile::tempdir().unwrap();
    let Some(srv) = server(dir.path()) else {
        return;
    };
    let drive = libiscsi::inq(&srv.url(IQN, 1)).unwrap_or_else(|e| panic!("{e}\n{}", srv.log()));
    assert_eq!(drive.device_type_code(), Some(1), "{drive:?}");
    assert!(drive.removable);
    // MChngr must never be set on a drive's INQUIRY.
    assert_ne!(drive.field("MChngr").map(str::trim), Some("1"), "{drive:?}");
    let changer = libiscsi::inq(&srv.url(IQN, 2)).unwrap();
    assert_eq!(changer.device_type_code(), Some(8), "{changer:?}");
    for lun in [1, 2] {
        let vpd = libiscsi::inq_vpd(&srv.url(IQN, lun), 0).unwrap();
        assert!(
            libiscsi::parse_vpd00(&vpd).contains(&0x00),
            "LUN {lun}: {vpd}"
        );
    }
    srv.stop().expect("clean shutdown on SIGTERM");
}
