//! The tape check list (reel_hwtests::tape_checks) against reel's own
//! in-process VTL: the baseline every iSCSI peer is compared with. reel's
//! VTL passes every check; the tgt and reel-target runs of the same list
//! live in iscsi_interop_tgt.rs / iscsi_interop_reel.rs.

use std::time::Duration;

use reel_drivers::tape::TapeDrive;
use reel_hwtests::tape_checks::{self, CHECKS};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibraryConfig, VirtualLibrary};

#[test]
fn in_process_vtl_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create(
        &dir.path().join("lib"),
        LibraryConfig::single_drive(Generation::Lto9),
    )
    .unwrap();
    let spec = CartridgeSpec::new("CHK001L9", Generation::Lto9);
    lib.create_cartridge(&spec).unwrap();
    lib.insert(0, &spec.barcode).unwrap();
    let mut d = TapeDrive::new(lib.drive_transport(0).unwrap());
    d.wait_ready(Duration::from_secs(10)).unwrap();

    let mut other = lib.drive_transport(0).unwrap().with_initiator(2);
    let results = tape_checks::run_tape_checks(&mut d, &mut other, Duration::from_secs(10));
    let names: Vec<&str> = results.iter().map(|r| r.name).collect();
    assert_eq!(names, CHECKS, "every check runs, in order");
    assert_eq!(
        tape_checks::failed(&results),
        Vec::<&str>::new(),
        "\n{}",
        tape_checks::report(&results)
    );
}

#[test]
fn a_failing_check_is_reported_by_name() {
    // Without a cartridge every check fails, and each says why.
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create(
        &dir.path().join("lib"),
        LibraryConfig::single_drive(Generation::Lto9),
    )
    .unwrap();
    let mut d = TapeDrive::new(lib.drive_transport(0).unwrap());
    let mut other = lib.drive_transport(0).unwrap().with_initiator(2);
    let results = tape_checks::run_tape_checks(&mut d, &mut other, Duration::from_millis(50));
    assert_eq!(tape_checks::failed(&results), CHECKS);
    let report = tape_checks::report(&results);
    assert_eq!(report.lines().count(), CHECKS.len());
    assert!(report.lines().all(|l| l.starts_with("FAIL ")), "{report}");
}
