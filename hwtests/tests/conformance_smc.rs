//! The changer (SMC) conformance cases against every target this process
//! can reach: the VTL library in process, the same library over reel's
//! iSCSI initiator and target, and tgtd's changer over iSCSI (whose
//! failures must be exactly its listed known gaps).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use reel_changer::ChangerOptions;
use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_hwtests::conformance::smc::restore::{Moves, with_restore};
use reel_hwtests::conformance::{
    Bench, CaseError, CaseResult, MediaPolicy, RunOptions, Status, TargetKind, Transport, failures,
    run, smc, smc_gaps,
};
use reel_hwtests::tgt::{self, TgtServer};
use reel_hwtests::tools::require_tools;
use reel_vtl::iscsi::{RunningServer, ServeConfig, Server};
use reel_vtl::library::VirtualLibrary;

const IQN: &str = "iqn.2025-01.org.reel:conformance-smc";
const CHANGER_LUN: u64 = 1;
const DRIVE0_LUN: u64 = 2;

fn policy(allow: &str) -> MediaPolicy {
    MediaPolicy {
        destructive: true,
        allow_barcodes: Some(allow.into()),
    }
}

/// Short retry pauses: the VTL becomes ready at once.
fn quick(b: &mut Bench) {
    b.set_changer_options(ChangerOptions {
        retry_interval: Duration::from_millis(5),
        ..ChangerOptions::default()
    });
}

fn run_smc(b: &mut Bench, target: TargetKind) -> Vec<CaseResult> {
    let opts = RunOptions {
        cases: Some("smc.*".into()),
        target,
    };
    run(b, &opts, &mut |_| {})
}

fn table(results: &[CaseResult]) -> String {
    results
        .iter()
        .map(|r| format!("{:6} {} {}", r.status.label(), r.name, r.status.detail()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every case ran and passed.
fn assert_all_pass(results: &[CaseResult]) {
    assert_eq!(results.len(), smc::cases().len(), "{}", table(results));
    let not_passed: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status != Status::Pass)
        .collect();
    assert!(not_passed.is_empty(), "{}", table(results));
}

/// reel's iSCSI target serving `lib` (changer LUN 1, drive n LUN 2 + n);
/// stopped and joined on drop.
fn serve(lib: &VirtualLibrary, dir: &Path) -> RunningServer {
    let luns = format!("{CHANGER_LUN} = \"changer\", {DRIVE0_LUN} = \"drive0\"");
    let text = format!("library = \"lib\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ {luns} }}\n");
    let cfg = ServeConfig::parse(&text, dir).expect("config");
    Server::with_library(cfg, lib.clone(), Some("127.0.0.1:0"))
        .expect("bind target")
        .spawn()
        .expect("target thread")
}

fn connect(port: u16, iqn: &str, lun: u64) -> Transport {
    let addr = IscsiAddress {
        host: "127.0.0.1".into(),
        port,
        target_iqn: iqn.into(),
        lun,
    };
    Box::new(IscsiTransport::connect(&addr, None).expect("iSCSI login"))
}

#[test]
fn vtl_in_process_passes_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let start = lib.changer_state();
    let mut b = Bench::new(
        Some(Box::new(lib.drive_transport(0).unwrap())),
        Some(Box::new(lib.changer_transport())),
        policy("*"),
        None,
    );
    quick(&mut b);
    let results = run_smc(&mut b, TargetKind::VtlInProcess);
    assert_all_pass(&results);
    // Independent cases: every cartridge is back where it started.
    let end = lib.changer_state();
    let tags = |s: &reel_vtl::changer::ChangerState| {
        let names = |v: &[Option<reel_vtl::changer::Medium>]| {
            v.iter()
                .map(|m| m.as_ref().map(|m| m.barcode.clone()))
                .collect::<Vec<_>>()
        };
        (names(&s.slots), names(&s.mail_slots), names(&s.drives))
    };
    assert_eq!(tags(&end), tags(&start));
}

#[test]
fn vtl_over_iscsi_passes_every_case() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let server = serve(&lib, dir.path());
    let port = server.local_addr().port();
    let mut b = Bench::new(
        Some(connect(port, IQN, DRIVE0_LUN)),
        Some(connect(port, IQN, CHANGER_LUN)),
        policy("*"),
        None,
    );
    quick(&mut b);
    let results = run_smc(&mut b, TargetKind::VtlIscsi);
    drop(b);
    drop(server);
    assert_all_pass(&results);
}

/// A changer-only bench (no tape device) on a library that unloads
/// drives itself and has no EXCHANGE MEDIUM: loads and unloads still
/// pass; exactly the cases needing a tape device or exchanges skip.
#[test]
fn changer_only_bench_auto_unload_without_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    lib.with_changer(|c| {
        c.options_mut().auto_unload = true;
        c.options_mut().exchange = false;
    })
    .unwrap();
    let mut b = Bench::new(
        None,
        Some(Box::new(lib.changer_transport())),
        policy("RL00*"),
        None,
    );
    quick(&mut b);
    let results = run_smc(&mut b, TargetKind::VtlInProcess);
    assert_eq!(results.len(), smc::cases().len());
    let skipped: BTreeSet<&str> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Skip(_)))
        .map(|r| r.name)
        .collect();
    let want: BTreeSet<&str> = [
        "smc.element_status.drive_matches_tape",
        "smc.move.drive_not_unloaded",
        "smc.move.drive_removal_prevented",
        "smc.move.exchange",
        "smc.move.exchange_three_way",
    ]
    .into();
    assert_eq!(skipped, want, "{}", table(&results));
    assert!(
        results
            .iter()
            .all(|r| r.status == Status::Pass || want.contains(r.name)),
        "{}",
        table(&results)
    );
    // Loaded and unloaded without a tape device: the library unloaded.
    assert_eq!(
        lib.location("RL0001L8"),
        Some(reel_vtl::changer::Location::Slot(0))
    );
}

/// A case that fails midway still puts back what it moved, including two
/// cartridges that swapped places (parked through a free slot).
#[test]
fn failed_case_restores_what_it_moved() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let start = lib.changer_state();
    let mut b = Bench::new(
        Some(Box::new(lib.drive_transport(0).unwrap())),
        Some(Box::new(lib.changer_transport())),
        policy("*"),
        None,
    );
    quick(&mut b);
    // Slots 1-3 are 0x400-0x402, slot 30 (0x41d) is empty, drive 0 is 0x100.
    let r = with_restore(&mut b, |b, m| {
        m.exchange(b, 0x400, 0x401, 0x400)?;
        m.mv(b, 0x402, 0x100)?;
        m.mv(b, 0x401, 0x41d)?;
        Err(CaseError::Fail("boom".into()))
    });
    assert!(
        matches!(&r, Err(CaseError::Fail(s)) if s == "boom"),
        "{r:?}"
    );
    let end = lib.changer_state();
    let names = |v: &[Option<reel_vtl::changer::Medium>]| {
        v.iter()
            .map(|m| m.as_ref().map(|m| m.barcode.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&end.slots), names(&start.slots));
    assert_eq!(names(&end.drives), names(&start.drives));
    // A plain swap is a cycle: one cartridge is parked in a free slot.
    let r = with_restore(&mut b, |b, m| {
        m.exchange(b, 0x403, 0x404, 0x403)?;
        assert_eq!(
            lib.location("RL0004L8"),
            Some(reel_vtl::changer::Location::Slot(4))
        );
        Err(CaseError::Fail("boom".into()))
    });
    assert!(r.is_err());
    assert_eq!(names(&lib.changer_state().slots), names(&start.slots));
    // A journal that cannot be undone says so.
    let mut m = Moves::default();
    m.mv(&mut b, 0x400, 0x41d).unwrap();
    // Slot 2's cartridge takes the home slot behind the journal's back.
    b.changer()
        .unwrap()
        .move_medium(0x401, 0x400, false)
        .unwrap();
    // The home is taken by a cartridge the journal does not know: restore
    // moves nothing and reports what is left where.
    let e = m.restore(&mut b).unwrap_err();
    assert!(e.contains("cartridge of 0x0400 left at 0x041d"), "{e}");
    assert_eq!(
        lib.location("RL0001L8"),
        Some(reel_vtl::changer::Location::Slot(29))
    );
}

/// No cartridge matches the policy: every destructive case skips (none
/// fails), every non-destructive one passes, and nothing moved.
#[test]
fn policy_protects_unmatched_cartridges() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(dir.path()).unwrap();
    let start = lib.changer_state();
    let mut b = Bench::new(
        Some(Box::new(lib.drive_transport(0).unwrap())),
        Some(Box::new(lib.changer_transport())),
        policy("NOPE*"),
        None,
    );
    quick(&mut b);
    let results = run_smc(&mut b, TargetKind::VtlInProcess);
    let destructive: BTreeSet<&str> = smc::cases()
        .iter()
        .filter(|c| c.destructive)
        .map(|c| c.name)
        .collect();
    // These need no allowed cartridge: they move nothing on a library
    // that behaves.
    let cartridge_free = [
        "smc.move.source_empty",
        "smc.prevent.mail_slots_locked",
        "smc.position_to_element",
    ];
    for r in &results {
        let want_skip = destructive.contains(r.name) && !cartridge_free.contains(&r.name);
        if want_skip {
            assert!(
                matches!(&r.status, Status::Skip(why) if why.contains("allow-barcodes")),
                "{}: {:?}",
                r.name,
                r.status
            );
        } else {
            assert_eq!(r.status, Status::Pass, "{}", r.name);
        }
    }
    let end = lib.changer_state();
    assert_eq!(end.slots, start.slots);
    assert_eq!(end.drives, start.drives);
    assert_eq!(end.mail_slots, start.mail_slots);
}

const TGT_TOOLS: &[(&str, &str)] = &[("tgtd", "tgt"), ("tgtadm", "tgt"), ("tgtimg", "tgt")];

/// tgtd's changer fails exactly the cases listed as its known gaps.
/// Each case gets a fresh tgtd: some requests crash it (heap corruption
/// in its READ ELEMENT STATUS), which must not decide the next case.
#[test]
fn tgtd_fails_exactly_its_known_gaps() {
    let Some(_) = require_tools(TGT_TOOLS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for (i, case) in smc::cases().iter().enumerate() {
        let tgt = TgtServer::start(&dir.path().join(i.to_string())).expect("start tgtd");
        let mut b = Bench::new(
            Some(connect(tgt.port(), tgt.iqn(), tgt::TAPE_LUN)),
            Some(connect(tgt.port(), tgt.iqn(), tgt::CHANGER_LUN)),
            policy("*"),
            None,
        );
        quick(&mut b);
        let opts = RunOptions {
            cases: Some(case.name.into()),
            target: TargetKind::Tgtd,
        };
        results.extend(run(&mut b, &opts, &mut |_| {}));
        drop(b);
        let _ = tgt.stop();
    }
    assert_eq!(results.len(), smc::cases().len());
    assert!(failures(&results).is_empty(), "{}", table(&results));
    let gaps: BTreeSet<&str> = results
        .iter()
        .filter(|r| matches!(r.status, Status::KnownGap { .. }))
        .map(|r| r.name)
        .collect();
    let listed: BTreeSet<&str> = smc_gaps::known_gaps(TargetKind::Tgtd)
        .iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(gaps, listed, "{}", table(&results));
}
