//! Known gaps of the changer cases per target kind. Owner: helper `smc`.
//!
//! tgt 1.0.x's SMC emulation, as observed through reel's initiator (each
//! case against a fresh tgtd, see tests/conformance_smc.rs). Most of its
//! gaps share one cause: it counts the 8-byte header in BYTE COUNT OF
//! REPORT AVAILABLE, so every element status report declares 8 bytes more
//! than it holds. reel's driver reads that as short data and refuses the
//! report, so no case that needs an inventory gets past its first step.

use super::TargetKind;
use super::gaps::Gap;

/// The raw report's counts are checked and found 8 bytes too large.
const HEADER_COUNTS: &str = "tgt counts the 8-byte header in BYTE COUNT OF REPORT AVAILABLE \
    (SMC-3 counts only what follows it): the header declares 8 bytes more than it sends";

/// The case needs reel's inventory, which refuses tgt's reports.
const SHORT_DATA: &str = "tgt counts the 8-byte header in the report's byte count, so reel's \
    driver sees every READ ELEMENT STATUS report 8 bytes short of what it declares and refuses \
    it as short data: no inventory to check or to move from";

const TGTD: &[Gap] = &[
    ("smc.element_status.transport", HEADER_COUNTS),
    ("smc.element_status.storage", HEADER_COUNTS),
    (
        "smc.element_status.import_export",
        "tgt has no import/export elements and answers a request for them with a header \
         whose byte count (8) counts the header itself; no bytes follow it",
    ),
    ("smc.element_status.data_transfer", HEADER_COUNTS),
    (
        "smc.element_status.all_types",
        "tgt answers element type 0 (all types) with pages at wrong offsets (one of element \
         type code 0) and writes past its buffer: tgtd later aborts with malloc(): invalid next \
         size, so the case runs last",
    ),
    ("smc.element_status.counts_match_assignment", SHORT_DATA),
    ("smc.element_status.header_byte_counts", HEADER_COUNTS),
    ("smc.element_status.start_in_middle", HEADER_COUNTS),
    ("smc.element_status.element_count_limit", HEADER_COUNTS),
    ("smc.element_status.truncated_allocation", HEADER_COUNTS),
    ("smc.element_status.header_only_allocation", HEADER_COUNTS),
    ("smc.element_status.curdata", HEADER_COUNTS),
    ("smc.element_status.barcodes_unique", SHORT_DATA),
    ("smc.element_status.full_and_source", SHORT_DATA),
    ("smc.element_status.drive_identifiers", SHORT_DATA),
    ("smc.element_status.drive_matches_tape", SHORT_DATA),
    (
        "smc.illegal.move_invalid_source",
        "tgt answers an unassigned source element address with ILLEGAL REQUEST 24/00 \
         (invalid field in CDB), not 21/01 (invalid element address)",
    ),
    (
        "smc.illegal.move_invalid_destination",
        "tgt answers an unassigned destination element address with ILLEGAL REQUEST 24/00 \
         (invalid field in CDB), not 21/01 (invalid element address)",
    ),
    ("smc.initialize_element_status", SHORT_DATA),
    ("smc.move.load", SHORT_DATA),
    ("smc.move.unload", SHORT_DATA),
    ("smc.move.transfer", SHORT_DATA),
    ("smc.move.exchange", SHORT_DATA),
    ("smc.move.exchange_three_way", SHORT_DATA),
    ("smc.move.export_import", SHORT_DATA),
    ("smc.move.destination_full", SHORT_DATA),
    ("smc.move.source_empty", SHORT_DATA),
    ("smc.move.drive_not_unloaded", SHORT_DATA),
    ("smc.move.drive_removal_prevented", SHORT_DATA),
    (
        "smc.prevent.mail_slots_locked",
        "tgt's changer does not implement PREVENT ALLOW MEDIUM REMOVAL (ILLEGAL REQUEST 20/00): \
         nothing keeps an operator from the library",
    ),
    ("smc.position_to_element", SHORT_DATA),
    ("smc.move.round_trips", SHORT_DATA),
];

/// (case name, why it fails there) for the changer cases.
pub fn known_gaps(kind: TargetKind) -> &'static [Gap] {
    match kind {
        TargetKind::Tgtd => TGTD,
        TargetKind::VtlInProcess | TargetKind::VtlIscsi | TargetKind::Device => &[],
    }
}
