//! The conformance suite against reel's VTL: in process, and through
//! reel's iSCSI initiator against reel's iSCSI target serving the same
//! kind of library from this process. Every case passes, or skips for a
//! reason listed here as expected.

use std::time::Duration;

use reel_changer::ChangerOptions;
use reel_hwtests::conformance::vtl_fixture::{IscsiVtl, in_process_bench, iscsi_bench};
use reel_hwtests::conformance::{
    self, Bench, CaseResult, MediaPolicy, RunOptions, Status, TargetKind, report,
};
use reel_vtl::library::VirtualLibrary;

fn policy() -> MediaPolicy {
    MediaPolicy {
        destructive: true,
        allow_barcodes: Some("RL00*".into()),
    }
}

fn quick(b: &mut Bench) {
    b.set_changer_options(ChangerOptions {
        retry_interval: Duration::from_millis(50),
        not_ready_timeout: Duration::from_secs(10),
        ..ChangerOptions::default()
    });
}

/// Skips a VTL run may report, by case, with a fragment of the reason.
const EXPECTED_SKIPS: &[(&str, &str)] = &[
    // The bench loads a scratch cartridge before every case: the drive
    // is never empty when this case runs in a destructive run.
    ("ssc.tur.no_medium", "a cartridge is loaded"),
];

fn check_results(what: &str, results: &[CaseResult]) {
    let table = report::summary_table(results);
    println!("{what}:\n{table}");
    let all = conformance::all_cases();
    assert_eq!(results.len(), all.len(), "every case ran\n{table}");
    for r in results {
        match &r.status {
            Status::Pass => {}
            Status::Skip(why) => assert!(
                EXPECTED_SKIPS
                    .iter()
                    .any(|(c, frag)| *c == r.name && why.contains(frag)),
                "{what}: unexpected skip of {}: {why}\n{table}",
                r.name
            ),
            other => panic!("{what}: {} {other:?}\n{table}", r.name),
        }
    }
}

fn run(bench: &mut Bench, target: TargetKind) -> Vec<CaseResult> {
    let opts = RunOptions {
        cases: None,
        target,
    };
    conformance::run(bench, &opts, &mut |_| {})
}

#[test]
fn suite_passes_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(&dir.path().join("lib")).unwrap();
    let mut bench = in_process_bench(&lib, 0, policy()).unwrap();
    quick(&mut bench);
    let results = run(&mut bench, TargetKind::VtlInProcess);
    check_results("in-process VTL", &results);
}

#[test]
fn suite_passes_over_iscsi() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(&dir.path().join("lib")).unwrap();
    let target = IscsiVtl::start(&lib, 0).unwrap();
    let mut bench = iscsi_bench(&lib, 0, &target, policy()).unwrap();
    quick(&mut bench);
    let results = run(&mut bench, TargetKind::VtlIscsi);
    check_results("VTL over iSCSI", &results);
    drop(bench);
    target.stop().unwrap();
}
