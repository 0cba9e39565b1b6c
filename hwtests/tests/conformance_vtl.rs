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
/// None today: with the fixture and a changer every case can run.
const EXPECTED_SKIPS: &[(&str, &str)] = &[];

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

#[test]
fn tape_cases_skip_without_a_drive_and_destructive_ones_without_leave() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(&dir.path().join("lib")).unwrap();
    // Changer only: every tape case is skipped, saying why.
    let mut b = Bench::new(
        None,
        Some(Box::new(lib.changer_transport())),
        policy(),
        None,
    );
    let results = conformance::run(
        &mut b,
        &RunOptions {
            cases: Some("ssc.*".into()),
            target: TargetKind::VtlInProcess,
        },
        &mut |_| {},
    );
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r.status == Status::Skip("no tape drive under test (--tape)".into()))
    );
    drop(b);
    // Not destructive: only read-only cases are selected, and a fixture
    // cartridge or scratch tape is refused even when a case asks.
    let mut b = in_process_bench(
        &lib,
        0,
        MediaPolicy {
            destructive: false,
            allow_barcodes: Some("*".into()),
        },
    )
    .unwrap();
    assert!(matches!(
        b.scratch_tape(),
        Err(conformance::CaseError::Skip(_))
    ));
    let mut events = Vec::new();
    let results = conformance::run(
        &mut b,
        &RunOptions {
            cases: Some("ssc.*".into()),
            target: TargetKind::VtlInProcess,
        },
        &mut |e| events.push(report::progress_line(&e)),
    );
    let read_only: Vec<&str> = conformance::ssc::cases()
        .iter()
        .filter(|c| !c.destructive)
        .map(|c| c.name)
        .collect();
    assert_eq!(
        results.iter().map(|r| r.name).collect::<Vec<_>>(),
        read_only
    );
    // A start and a done line per case.
    assert_eq!(events.len(), 2 * read_only.len());
    assert!(
        events[0].starts_with(&format!("[1/{}] ssc.", read_only.len())),
        "{events:?}"
    );
    // The drive was empty and nothing loaded one: those cases skip.
    let skipped: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Skip(_)))
        .map(|r| r.name)
        .collect();
    assert_eq!(
        skipped,
        [
            "ssc.report_density.medium",
            "ssc.read_position.forms_agree",
            "ssc.mam.read"
        ]
    );
    assert_eq!(
        lib.location("RL0001L8"),
        Some(reel_vtl::changer::Location::Slot(0))
    );
}
