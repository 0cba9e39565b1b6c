//! The conformance suite against tgtd (Debian `tgt`, its own SSC and SMC
//! emulation) through reel's iSCSI initiator. tgt's known gaps are listed
//! per case in `conformance::gaps`; the test asserts that exactly those
//! cases fail, so a new gap or a fixed one is noticed. Under CI=true a
//! missing tgtd fails the test.

use std::time::Duration;

use reel_changer::ChangerOptions;
use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_hwtests::conformance::{
    self, Bench, CaseError, CaseResult, MediaPolicy, RunOptions, Status, TargetKind, Transport,
    gaps, report,
};
use reel_hwtests::tgt::{self, TgtServer};
use reel_hwtests::tools::require_tools;

const TGT_TOOLS: &[(&str, &str)] = &[("tgtd", "tgt"), ("tgtadm", "tgt"), ("tgtimg", "tgt")];

fn addr(srv: &TgtServer, lun: u64) -> IscsiAddress {
    IscsiAddress {
        host: "127.0.0.1".into(),
        port: srv.port(),
        target_iqn: srv.iqn().into(),
        lun,
    }
}

fn login(a: &IscsiAddress) -> Transport {
    Box::new(IscsiTransport::connect(a, None).unwrap_or_else(|e| panic!("login to {a}: {e}")))
}

/// A bench on tgt's tape LUN (its cartridge is always loaded), with a
/// second session as the other initiator; the changer when `changer`.
fn bench(srv: &TgtServer, changer: bool) -> Bench {
    let tape = addr(srv, tgt::TAPE_LUN);
    let mut b = Bench::new(
        Some(login(&tape)),
        changer.then(|| login(&addr(srv, tgt::CHANGER_LUN))),
        MediaPolicy {
            destructive: true,
            allow_barcodes: Some("*".into()),
        },
        None,
    );
    b.set_second_tape(Box::new(move || {
        IscsiTransport::connect(&tape, None)
            .map(|t| Box::new(t) as Transport)
            .map_err(|e| CaseError::Fail(format!("second login: {e}")))
    }));
    b.set_changer_options(ChangerOptions {
        retry_interval: Duration::from_millis(100),
        not_ready_timeout: Duration::from_secs(10),
        ..ChangerOptions::default()
    });
    b
}

#[test]
fn suite_against_tgtd_fails_exactly_its_known_gaps() {
    let Some(_) = require_tools(TGT_TOOLS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let srv = TgtServer::start(dir.path()).expect("start tgtd");
    // reel's changer driver refuses tgt's element status (see gaps.rs), so
    // the tape cases run on the drive's own cartridge, without the changer.
    let mut results: Vec<CaseResult> = {
        let mut b = bench(&srv, false);
        let opts = RunOptions {
            cases: Some("ssc.*".into()),
            target: TargetKind::Tgtd,
        };
        conformance::run(&mut b, &opts, &mut |_| {})
    };
    {
        let mut b = bench(&srv, true);
        let opts = RunOptions {
            cases: Some("smc.*".into()),
            target: TargetKind::Tgtd,
        };
        results.extend(conformance::run(&mut b, &opts, &mut |_| {}));
    }
    let table = report::summary_table(&results);
    println!("tgtd over reel's initiator:\n{table}");
    assert_eq!(results.len(), conformance::all_cases().len(), "\n{table}");
    let mut gapped: Vec<&str> = results
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                Status::KnownGap { .. } | Status::UnexpectedPass(_)
            )
        })
        .map(|r| r.name)
        .collect();
    let mut want: Vec<&str> = gaps::known_gaps(TargetKind::Tgtd)
        .iter()
        .map(|g| g.0)
        .collect();
    gapped.sort_unstable();
    want.sort_unstable();
    assert_eq!(gapped, want, "the cases tgt fails\n{table}");
    // Skipped: what needs a fixture (tgt is not a target reel controls),
    // and the empty-drive case (tgt's drive always holds its cartridge).
    for r in &results {
        if let Status::Skip(why) = &r.status {
            assert!(
                why.contains("needs a VTL fixture")
                    || (r.name == "ssc.tur.no_medium" && why.contains("a cartridge is loaded")),
                "unexpected skip of {}: {why}\n{table}",
                r.name
            );
        }
    }
    assert_eq!(
        conformance::failures(&results),
        Vec::<&str>::new(),
        "\n{table}\n{}",
        srv.log()
    );
    srv.stop().expect("stop tgtd");
}
