//! Changer (SMC) cases: what backup software relies on when it drives a
//! tape library. Owner: helper `smc`.
//!
//! Non-destructive cases only read (INQUIRY, mode pages, READ ELEMENT
//! STATUS) or send requests a library must refuse without moving anything.
//! Destructive cases move cartridges the media policy allows
//! (`--allow-barcodes`; never cleaning cartridges) and put them back where
//! they started, also when they fail midway ([`restore`]).
//!
//! One file per concern: [`identify`] (INQUIRY, TEST UNIT READY, mode
//! pages, INITIALIZE ELEMENT STATUS), [`status`] (READ ELEMENT STATUS),
//! [`errors`] (illegal requests), [`moves`] (moves, exchanges, mail slots,
//! PREVENT), [`restore`] (putting media back), [`util`] (shared helpers).

pub mod errors;
pub mod identify;
pub mod moves;
pub mod restore;
pub mod status;
pub mod util;

use super::{Case, Needs};

macro_rules! case {
    ($name:literal, $needs:ident, $destructive:literal, $summary:literal, $run:path) => {
        Case {
            name: $name,
            needs: Needs::$needs,
            destructive: $destructive,
            summary: $summary,
            run: $run,
        }
    };
}

/// Every changer case: non-destructive ones first, then the
/// destructive ones, then the all-types report (see its comment).
pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "smc.inquiry.device_type",
            Changer,
            false,
            "INQUIRY reports a medium changer (type 08h): how hosts find the library",
            identify::inquiry_device_type
        ),
        case!(
            "smc.test_unit_ready",
            Changer,
            false,
            "TEST UNIT READY answers GOOD once unit attentions are read",
            identify::test_unit_ready
        ),
        case!(
            "smc.mode.element_assignment",
            Changer,
            false,
            "page 1Dh gives disjoint address ranges of transports, slots, mail slots and drives",
            identify::element_assignment
        ),
        case!(
            "smc.mode.transport_geometry",
            Changer,
            false,
            "page 1Eh has one descriptor per medium transport element",
            identify::transport_geometry
        ),
        case!(
            "smc.mode.device_capabilities",
            Changer,
            false,
            "page 1Fh says slots and drives store media and which moves the robot makes",
            identify::device_capabilities
        ),
        case!(
            "smc.element_status.transport",
            Changer,
            false,
            "READ ELEMENT STATUS of the transports, with and without VOLTAG and DVCID",
            status::transport
        ),
        case!(
            "smc.element_status.storage",
            Changer,
            false,
            "READ ELEMENT STATUS of the slots, with and without VOLTAG and DVCID",
            status::storage
        ),
        case!(
            "smc.element_status.import_export",
            Changer,
            false,
            "READ ELEMENT STATUS of the mail slots, with and without VOLTAG and DVCID",
            status::import_export
        ),
        case!(
            "smc.element_status.data_transfer",
            Changer,
            false,
            "READ ELEMENT STATUS of the drives, with and without VOLTAG and DVCID (identifiers)",
            status::data_transfer
        ),
        case!(
            "smc.element_status.counts_match_assignment",
            Changer,
            false,
            "the inventory holds exactly the elements page 1Dh assigns",
            status::counts_match_assignment
        ),
        case!(
            "smc.element_status.header_byte_counts",
            Changer,
            false,
            "header and page byte counts describe exactly the bytes sent (hosts size buffers by them)",
            status::header_byte_counts
        ),
        case!(
            "smc.element_status.start_in_middle",
            Changer,
            false,
            "a starting address in the middle returns the rest of the slots from there (paging)",
            status::start_in_middle
        ),
        case!(
            "smc.element_status.element_count_limit",
            Changer,
            false,
            "NUMBER OF ELEMENTS limits the report (paged inventories)",
            status::element_count_limit
        ),
        case!(
            "smc.element_status.truncated_allocation",
            Changer,
            false,
            "a short allocation length cuts the transfer, the header still counts the whole report",
            status::truncated_allocation
        ),
        case!(
            "smc.element_status.header_only_allocation",
            Changer,
            false,
            "an 8-byte allocation length returns the header with the whole report's counts",
            status::header_only_allocation
        ),
        case!(
            "smc.element_status.curdata",
            Changer,
            false,
            "CURDATA (no barcode scan) reports the same elements",
            status::curdata
        ),
        case!(
            "smc.element_status.barcodes_unique",
            Changer,
            false,
            "every full element has a barcode, none twice, empty elements none",
            status::barcodes_unique
        ),
        case!(
            "smc.element_status.full_and_source",
            Changer,
            false,
            "full drives know their source slot (SValid), source addresses are assigned ones",
            status::full_and_source
        ),
        case!(
            "smc.element_status.drive_identifiers",
            Changer,
            false,
            "DVCID names every drive, each differently (drive-to-device mapping)",
            status::drive_identifiers
        ),
        case!(
            "smc.element_status.drive_matches_tape",
            Both,
            false,
            "the tape device's serial matches a drive's DVCID identifier",
            status::drive_matches_tape
        ),
        case!(
            "smc.illegal.move_invalid_source",
            Changer,
            false,
            "MOVE MEDIUM from an unassigned address: 21/01 pointing at the source field",
            errors::move_invalid_source
        ),
        case!(
            "smc.illegal.move_invalid_destination",
            Changer,
            false,
            "MOVE MEDIUM to an unassigned address: 21/01 pointing at the destination field",
            errors::move_invalid_destination
        ),
        case!(
            "smc.illegal.element_type",
            Changer,
            false,
            "READ ELEMENT STATUS with a reserved element type: 24/00",
            errors::invalid_element_type
        ),
        case!(
            "smc.illegal.unknown_opcode",
            Changer,
            false,
            "an opcode no changer implements: ILLEGAL REQUEST 20/00",
            identify::unknown_opcode
        ),
        case!(
            "smc.initialize_element_status",
            Changer,
            false,
            "INITIALIZE ELEMENT STATUS completes and leaves the inventory as it was",
            identify::initialize_element_status
        ),
        case!(
            "smc.move.load",
            Changer,
            true,
            "slot to drive: the slot empties, the drive holds the barcode with the slot as source",
            moves::load
        ),
        case!(
            "smc.move.unload",
            Changer,
            true,
            "drive back to its source slot (mtx unload)",
            moves::unload
        ),
        case!(
            "smc.move.transfer",
            Changer,
            true,
            "slot to slot: barcode and source element follow the cartridge",
            moves::transfer
        ),
        case!(
            "smc.move.exchange",
            Changer,
            true,
            "EXCHANGE MEDIUM swaps two slots (when page 1Fh offers it)",
            moves::exchange
        ),
        case!(
            "smc.move.exchange_three_way",
            Changer,
            true,
            "EXCHANGE MEDIUM with a second destination: A to B, B to a free slot",
            moves::exchange_three_way
        ),
        case!(
            "smc.move.export_import",
            Changer,
            true,
            "slot to mail slot and back; ImpExp clear for what the robot put there",
            moves::export_import
        ),
        case!(
            "smc.move.destination_full",
            Changer,
            true,
            "a move onto a full slot: 3B/0D and nothing moves",
            moves::destination_full
        ),
        case!(
            "smc.move.source_empty",
            Changer,
            true,
            "a move from an empty slot: 3B/0E and nothing moves",
            moves::source_empty
        ),
        case!(
            "smc.move.drive_not_unloaded",
            Both,
            true,
            "a move out of a loaded drive: done, or refused until the host unloads (3B/90)",
            moves::drive_not_unloaded
        ),
        case!(
            "smc.move.drive_removal_prevented",
            Both,
            true,
            "a move out of a drive whose removal is prevented is refused (53/02)",
            moves::drive_removal_prevented
        ),
        case!(
            "smc.prevent.mail_slots_locked",
            Changer,
            true,
            "PREVENT MEDIUM REMOVAL keeps the mail slots closed (53/02), ALLOW releases",
            moves::prevent_locks_mail_slots
        ),
        case!(
            "smc.position_to_element",
            Changer,
            true,
            "POSITION TO ELEMENT (when implemented); an unassigned address gives 21/01",
            moves::position_to_element
        ),
        case!(
            "smc.move.round_trips",
            Changer,
            true,
            "load/unload round trips leave the inventory exactly as it was",
            moves::round_trips
        ),
        // Last: tgt's answer to element type 0 corrupts its heap, and the
        // abort comes with a later command (see smc_gaps.rs); here it
        // cannot take other cases down with it.
        case!(
            "smc.element_status.all_types",
            Changer,
            false,
            "element type 0 reports every element, one page per type in address order",
            status::all_types
        ),
    ]
}
