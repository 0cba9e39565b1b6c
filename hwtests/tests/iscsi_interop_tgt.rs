//! tgtd (Debian `tgt`) as reel's iSCSI peer: the harness brings up a target
//! with a tape and a changer LUN; libiscsi's tools confirm both answer.
//! Under CI=true a missing tgtd or libiscsi tool fails these tests.

use reel_hwtests::libiscsi;
use reel_hwtests::tgt::{CHANGER_LUN, TAPE_LUN, TgtServer};
use reel_hwtests::tools::require_tools;

const TOOLS: &[(&str, &str)] = &[
    ("tgtd", "tgt"),
    ("tgtadm", "tgt"),
    ("tgtimg", "tgt"),
    ("iscsi-ls", libiscsi::PACKAGE),
    ("iscsi-inq", libiscsi::PACKAGE),
];

fn pid_alive(pid: u32) -> bool {
    // A reaped child has no /proc entry; a zombie would show state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
}

#[test]
fn iscsi_ls_lists_tape_and_changer_luns() {
    let Some(_) = require_tools(TOOLS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tgt = TgtServer::start(dir.path()).expect("start tgtd");
    let targets = libiscsi::ls(&tgt.portal_url()).unwrap_or_else(|e| panic!("{e}\n{}", tgt.log()));
    assert_eq!(targets.len(), 1, "{targets:?}");
    let t = &targets[0];
    assert_eq!(t.iqn, tgt.iqn());
    assert!(
        t.portal.starts_with(&format!("127.0.0.1:{},", tgt.port())),
        "{}",
        t.portal
    );
    let kinds: Vec<(u64, &str)> = t.luns.iter().map(|l| (l.lun, l.kind.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (0, "STORAGE_ARRAY_CONTROLLER"),
            (TAPE_LUN, "SEQUENTIAL_ACCESS"),
            (CHANGER_LUN, "MEDIA_CHANGER"),
        ]
    );
    tgt.stop().expect("stop tgtd");
}

#[test]
fn iscsi_inq_reports_tape_type_1_and_changer_type_8() {
    let Some(_) = require_tools(TOOLS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tgt = TgtServer::start(dir.path()).expect("start tgtd");

    let tape = libiscsi::inq(&tgt.url(TAPE_LUN)).unwrap();
    assert_eq!(tape.device_type_code(), Some(1), "{tape:?}");
    assert!(tape.removable);
    assert_eq!(tape.product.trim(), "VIRTUAL-TAPE");

    let changer = libiscsi::inq(&tgt.url(CHANGER_LUN)).unwrap();
    assert_eq!(changer.device_type_code(), Some(8), "{changer:?}");
    assert_eq!(changer.product.trim(), "VIRTUAL-CHANGER");

    // VPD page 00h (supported pages) always lists itself.
    let vpd = libiscsi::inq_vpd(&tgt.url(TAPE_LUN), 0).unwrap();
    assert!(libiscsi::parse_vpd00(&vpd).contains(&0x00), "{vpd}");
    tgt.stop().expect("stop tgtd");
}

#[test]
fn stop_and_drop_reap_tgtd_by_pid() {
    let Some(_) = require_tools(TOOLS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = TgtServer::start(dir.path().join("a").as_path()).expect("start tgtd a");
    let b = TgtServer::start(dir.path().join("b").as_path()).expect("start tgtd b");
    // Two instances side by side: distinct ports and control numbers.
    assert_ne!(a.port(), b.port());
    let (pa, pb) = (a.pid().unwrap(), b.pid().unwrap());
    assert!(pid_alive(pa) && pid_alive(pb));
    a.stop().expect("stop a");
    assert!(!pid_alive(pa), "tgtd {pa} still running after stop");
    drop(b);
    assert!(!pid_alive(pb), "tgtd {pb} still running after drop");
}
