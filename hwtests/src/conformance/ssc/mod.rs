//! Tape (SSC) cases: what backup software relies on a tape drive for.
//! Non-destructive cases ([`info`]) only read; the others write to a
//! scratch cartridge the [`Bench`](super::Bench) provides, or to one the
//! fixture makes (small, write-protected, WORM).

mod info;
mod media;
mod motion;
mod reads;
pub mod util;

use super::{Case, Needs};

macro_rules! case {
    ($name:literal, $destructive:expr, $summary:literal, $f:path) => {
        Case {
            name: $name,
            needs: Needs::Tape,
            destructive: $destructive,
            summary: $summary,
            run: $f,
        }
    };
}

const RO: bool = false;
const RW: bool = true;

pub fn cases() -> Vec<Case> {
    vec![
        // Identification and settings: nothing changes.
        case!(
            "ssc.inquiry.standard",
            RO,
            "INQUIRY says sequential-access, removable, with vendor and product",
            info::inquiry_standard
        ),
        case!(
            "ssc.inquiry.vpd_pages",
            RO,
            "VPD 00h lists the serial (80h) and identification (83h) pages",
            info::vpd_supported_pages
        ),
        case!(
            "ssc.inquiry.vpd_serial",
            RO,
            "VPD 80h gives the serial that matches a drive to its library element",
            info::vpd_unit_serial
        ),
        case!(
            "ssc.inquiry.vpd_device_id",
            RO,
            "VPD 83h names the logical unit (persistent device naming)",
            info::vpd_device_identification
        ),
        case!(
            "ssc.read_block_limits",
            RO,
            "READ BLOCK LIMITS allows the 64 KiB+ records backup software writes",
            info::read_block_limits
        ),
        case!(
            "ssc.report_density.drive",
            RO,
            "REPORT DENSITY SUPPORT lists a writable density",
            info::report_density_drive
        ),
        case!(
            "ssc.report_density.medium",
            RO,
            "REPORT DENSITY SUPPORT (MEDIA) describes the loaded cartridge",
            info::report_density_medium
        ),
        case!(
            "ssc.mode_sense.block_descriptor",
            RO,
            "MODE SENSE returns one block descriptor (block size, density)",
            info::mode_sense_block_descriptor
        ),
        case!(
            "ssc.mode_sense.device_config",
            RO,
            "MODE SENSE returns the device configuration page 10h",
            info::mode_sense_device_configuration
        ),
        case!(
            "ssc.mode_sense.data_compression",
            RO,
            "MODE SENSE returns the data compression page 0Fh",
            info::mode_sense_data_compression
        ),
        case!(
            "ssc.log_sense.supported_pages",
            RO,
            "LOG SENSE page 00h lists TapeAlert (2Eh)",
            info::log_sense_supported_pages
        ),
        case!(
            "ssc.log_sense.sequential_access",
            RO,
            "LOG SENSE page 0Ch gives the bytes written and read",
            info::log_sense_sequential_access
        ),
        case!(
            "ssc.tape_alert.read",
            RO,
            "TapeAlert flags are readable (page 12h, without clearing them)",
            info::tape_alert_read
        ),
        case!(
            "ssc.tur.no_medium",
            RO,
            "TEST UNIT READY on an empty drive is NOT READY 3A/xx",
            info::test_unit_ready_no_medium
        ),
        case!(
            "ssc.request_sense.format",
            RO,
            "REQUEST SENSE returns current fixed or descriptor sense",
            info::request_sense_format
        ),
        case!(
            "ssc.read_position.forms_agree",
            RO,
            "READ POSITION short and long forms agree",
            info::read_position_forms_agree
        ),
        case!(
            "ssc.rsoc.io_commands",
            RO,
            "REPORT SUPPORTED OPERATION CODES lists READ, WRITE, WRITE FILEMARKS, SPACE, READ POSITION",
            info::report_supported_opcodes
        ),
        // Positions, filemarks, SPACE, end of data, LOCATE.
        case!(
            "ssc.write_read.variable_records",
            RW,
            "records of several sizes come back with their exact lengths and bytes",
            motion::write_read_records
        ),
        case!(
            "ssc.position.bop_at_bot",
            RW,
            "at BOT READ POSITION reports object 0 with BOP set",
            motion::bop_at_bot
        ),
        case!(
            "ssc.position.after_writes",
            RW,
            "every record written advances the logical object number by one",
            motion::after_writes
        ),
        case!(
            "ssc.position.after_filemark",
            RW,
            "a filemark is an object and starts a new file",
            motion::after_filemark
        ),
        case!(
            "ssc.rewind.to_first_record",
            RW,
            "REWIND returns to the first record and reports BOT",
            motion::rewind_to_first_record
        ),
        case!(
            "ssc.filemark.read_stops",
            RW,
            "READ at a filemark ends with FILEMARK 00/01 and moves past it",
            motion::filemark_read_stops
        ),
        case!(
            "ssc.filemark.write_several",
            RW,
            "WRITE FILEMARKS 3 writes three filemarks",
            motion::filemarks_write_several
        ),
        case!(
            "ssc.filemark.zero_flushes",
            RW,
            "WRITE FILEMARKS 0 writes nothing (a flush)",
            motion::filemarks_zero_flushes
        ),
        case!(
            "ssc.space.filemarks_forward",
            RW,
            "SPACE filemarks forward lands at the next file's first record",
            motion::space_filemarks_forward
        ),
        case!(
            "ssc.space.filemark_backward",
            RW,
            "SPACE -1 filemark lands before the filemark; then back one block",
            motion::space_filemark_backward
        ),
        case!(
            "ssc.space.blocks_forward",
            RW,
            "SPACE blocks forward skips records",
            motion::space_blocks_forward
        ),
        case!(
            "ssc.space.blocks_backward",
            RW,
            "SPACE blocks backward re-reads records",
            motion::space_blocks_backward
        ),
        case!(
            "ssc.space.blocks_into_filemark",
            RW,
            "SPACE blocks stops after a filemark with the count not moved",
            motion::space_blocks_into_filemark
        ),
        case!(
            "ssc.space.blocks_backward_into_filemark",
            RW,
            "SPACE blocks backward stops before a filemark with the count not moved",
            motion::space_blocks_backward_into_filemark
        ),
        case!(
            "ssc.space.to_eod",
            RW,
            "SPACE to end of data positions for appending",
            motion::space_to_eod
        ),
        case!(
            "ssc.space.past_eod_blocks",
            RW,
            "SPACE blocks past end of data: BLANK CHECK 00/05 with the count not moved",
            motion::space_past_eod_blocks
        ),
        case!(
            "ssc.space.past_eod_filemarks",
            RW,
            "SPACE filemarks past end of data stops at end of data",
            motion::space_past_eod_filemarks
        ),
        case!(
            "ssc.space.backward_past_bop",
            RW,
            "SPACE backward past BOP: 00/04 with EOM and the count not moved",
            motion::space_backward_past_bop
        ),
        case!(
            "ssc.eod.read_blank_check",
            RW,
            "READ at end of data: BLANK CHECK 00/05, the tape does not move",
            motion::eod_read_blank_check
        ),
        case!(
            "ssc.eod.write_truncates",
            RW,
            "a write in the middle becomes the new end of data",
            motion::eod_write_truncates
        ),
        case!(
            "ssc.locate.then_read",
            RW,
            "LOCATE to an object, then READ returns that record",
            motion::locate_then_read
        ),
        case!(
            "ssc.locate.position_forms",
            RW,
            "after LOCATE both READ POSITION forms report the object and file",
            motion::locate_position_forms
        ),
        case!(
            "ssc.locate.beyond_eod",
            RW,
            "LOCATE beyond end of data: BLANK CHECK, stopped at end of data",
            motion::locate_beyond_eod
        ),
        // Record lengths.
        case!(
            "ssc.read.short_ili",
            RW,
            "a short record: ILI, INFORMATION and residual give its true length",
            reads::short_read_ili
        ),
        case!(
            "ssc.read.long_ili",
            RW,
            "an overlength record: ILI with a negative INFORMATION, tape after it",
            reads::long_read_ili
        ),
        case!(
            "ssc.read.exact_good",
            RW,
            "a read of the exact length is GOOD with no residual",
            reads::exact_read_good
        ),
        case!(
            "ssc.read.sili_short_good",
            RW,
            "with SILI a short record is GOOD and the residual tells its length",
            reads::sili_short_read_good
        ),
        case!(
            "ssc.fixed.block_size",
            RW,
            "MODE SELECT sets a fixed block size that MODE SENSE reports",
            reads::fixed_block_size
        ),
        case!(
            "ssc.fixed.write_read",
            RW,
            "fixed-block writes and reads of several blocks",
            reads::fixed_write_read
        ),
        case!(
            "ssc.fixed.read_at_filemark",
            RW,
            "a fixed read into a filemark returns the blocks before it, residue in blocks",
            reads::fixed_read_at_filemark
        ),
        case!(
            "ssc.fixed.read_ili",
            RW,
            "a wrong-length block in fixed mode: ILI, residue in blocks",
            reads::fixed_read_ili
        ),
        // Medium and drive state.
        case!(
            "ssc.ew.early_warning",
            RW,
            "early warning is reported before the end and writes still succeed",
            media::early_warning
        ),
        case!(
            "ssc.ew.filemark_in_early_warning",
            RW,
            "filemarks can be written past early warning",
            media::filemark_in_early_warning
        ),
        case!(
            "ssc.ew.volume_overflow",
            RW,
            "at the physical end: VOLUME OVERFLOW 00/02 with EOM",
            media::volume_overflow
        ),
        case!(
            "ssc.ew.readable_after_overflow",
            RW,
            "every record accepted before the overflow reads back",
            media::readable_after_overflow
        ),
        case!(
            "ssc.pew.programmable_early_warning",
            RW,
            "programmable early warning comes before early warning",
            media::programmable_early_warning
        ),
        case!(
            "ssc.write_protect.flag",
            RW,
            "MODE SENSE WP is set for a write-protected cartridge",
            media::write_protect_flag
        ),
        case!(
            "ssc.write_protect.writes_refused",
            RW,
            "WRITE and WRITE FILEMARKS on a protected cartridge: DATA PROTECT 27/00",
            media::write_protect_refuses_writes
        ),
        case!(
            "ssc.write_protect.reads_allowed",
            RW,
            "a protected cartridge still reads",
            media::write_protect_allows_reads
        ),
        case!(
            "ssc.worm.reported",
            RW,
            "a WORM cartridge is reported as such",
            media::worm_reported
        ),
        case!(
            "ssc.worm.appends",
            RW,
            "a WORM cartridge appends at end of data",
            media::worm_appends
        ),
        case!(
            "ssc.worm.overwrite_refused",
            RW,
            "a WORM cartridge refuses overwriting: DATA PROTECT 30/0C",
            media::worm_refuses_overwrite
        ),
        case!(
            "ssc.mam.read",
            RO,
            "READ ATTRIBUTE returns the cartridge memory",
            media::mam_read
        ),
        case!(
            "ssc.mam.write_user_attribute",
            RW,
            "WRITE ATTRIBUTE stores a user label that reads back",
            media::mam_write_user_attribute
        ),
        case!(
            "ssc.ua.after_load_other_nexus",
            RW,
            "after another initiator reloads, this one gets UNIT ATTENTION 28/00",
            media::ua_after_load_other_nexus
        ),
        case!(
            "ssc.ua.write_not_executed",
            RW,
            "a WRITE that meets a medium-change UNIT ATTENTION is not executed",
            media::ua_write_not_executed
        ),
        case!(
            "ssc.ua.after_reset",
            RW,
            "after a reset the first command gets UNIT ATTENTION 29/xx",
            media::ua_after_reset
        ),
        case!(
            "ssc.ua.reset_every_nexus",
            RW,
            "a reset is reported to every initiator",
            media::ua_reset_every_nexus
        ),
        case!(
            "ssc.load.unload_then_load",
            RW,
            "UNLOAD makes the drive not ready; LOAD brings it back at BOT",
            media::unload_then_load
        ),
        case!(
            "ssc.erase.truncates",
            RW,
            "a short ERASE makes end of data at the current position",
            media::erase_truncates
        ),
        case!(
            "ssc.prevent.blocks_unload",
            RW,
            "PREVENT MEDIUM REMOVAL refuses UNLOAD with 53/02; ALLOW releases it",
            media::prevent_blocks_unload
        ),
        case!(
            "ssc.compression.toggle",
            RW,
            "MODE SELECT turns data compression off and on",
            media::compression_toggle
        ),
        case!(
            "ssc.tape_alert.raised_and_cleared",
            RW,
            "a TapeAlert flag shows on page 12h and clears on reading page 2Eh",
            media::tape_alert_raised_and_cleared
        ),
    ]
}
