//! Known gaps per target kind: cases a target is known to fail, with why.
//! A listed case that fails is reported as a known gap (not a failure); a
//! listed case that passes is reported as an unexpected pass, so the list
//! follows the target's behaviour both ways.

use super::{TargetKind, smc_gaps};

/// (case name, why the target fails it).
pub type Gap = (&'static str, &'static str);

/// READ POSITION on tgt stays at object 0 whatever was written or spaced.
const TGT_POSITION: &str =
    "READ POSITION reports logical object 0 after writes, filemarks and spaces";

/// tgt 1.0.x's SSC emulation (Debian `tgt`), as observed through reel's
/// initiator. Reasons are what the suite sees, not guesses at the cause.
const TGTD_SSC: &[Gap] = &[
    (
        "ssc.report_density.drive",
        "REPORT DENSITY SUPPORT is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.report_density.medium",
        "REPORT DENSITY SUPPORT is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.log_sense.supported_pages",
        "LOG SENSE is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.log_sense.sequential_access",
        "LOG SENSE is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.tape_alert.read",
        "LOG SENSE is not implemented, so no TapeAlert (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.write_read.variable_records",
        "a short read's iSCSI residual is the record length, not the bytes not transferred",
    ),
    (
        "ssc.position.bop_at_bot",
        "READ POSITION at BOT has BOP clear",
    ),
    ("ssc.position.after_writes", TGT_POSITION),
    ("ssc.position.after_filemark", TGT_POSITION),
    (
        "ssc.rewind.to_first_record",
        "a rewound tape does not report BOT (BOP clear)",
    ),
    ("ssc.filemark.read_stops", TGT_POSITION),
    ("ssc.filemark.write_several", TGT_POSITION),
    ("ssc.filemark.zero_flushes", TGT_POSITION),
    ("ssc.space.filemarks_forward", TGT_POSITION),
    ("ssc.space.filemark_backward", TGT_POSITION),
    ("ssc.space.blocks_forward", TGT_POSITION),
    ("ssc.space.blocks_backward", TGT_POSITION),
    (
        "ssc.space.blocks_into_filemark",
        "SPACE blocks into a filemark reports end of data (NO SENSE 00/05)",
    ),
    (
        "ssc.space.blocks_backward_into_filemark",
        "SPACE blocks backward crosses a filemark without stopping",
    ),
    ("ssc.space.to_eod", TGT_POSITION),
    (
        "ssc.space.past_eod_blocks",
        "SPACE past end of data is NO SENSE 00/05, not BLANK CHECK 00/05",
    ),
    (
        "ssc.space.past_eod_filemarks",
        "SPACE filemarks past end of data is NO SENSE 00/05, not BLANK CHECK 00/05",
    ),
    (
        "ssc.space.backward_past_bop",
        "SPACE backward past BOP ends GOOD, without 00/04 and residue",
    ),
    (
        "ssc.eod.read_blank_check",
        "READ at end of data is BLANK CHECK 00/00, not 00/05",
    ),
    (
        "ssc.eod.write_truncates",
        "LOCATE(10) is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.locate.then_read",
        "LOCATE(10) is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.locate.position_forms",
        "LOCATE(10) is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.locate.beyond_eod",
        "LOCATE(10) is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.read.short_ili",
        "a short read's iSCSI residual is the record length, not the bytes not transferred",
    ),
    (
        "ssc.read.long_ili",
        "an overlength read returns other bytes than the record's first ones",
    ),
    (
        "ssc.read.sili_short_good",
        "SILI is ignored: a short record still ends in CHECK CONDITION (ILI)",
    ),
    ("ssc.fixed.write_read", TGT_POSITION),
    ("ssc.fixed.read_at_filemark", TGT_POSITION),
    (
        "ssc.fixed.read_ili",
        "a wrong-length block in fixed mode is MEDIUM ERROR 31/00, not ILI",
    ),
    (
        "ssc.mam.read",
        "READ ATTRIBUTE is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.mam.write_user_attribute",
        "WRITE ATTRIBUTE is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.ua.after_load_other_nexus",
        "no UNIT ATTENTION to other initiators after UNLOAD + LOAD",
    ),
    (
        "ssc.ua.write_not_executed",
        "no UNIT ATTENTION to other initiators after UNLOAD + LOAD",
    ),
    (
        "ssc.load.unload_then_load",
        "the drive stays ready after UNLOAD",
    ),
    (
        "ssc.erase.truncates",
        "LOCATE(10) is not implemented (ILLEGAL REQUEST 20/00)",
    ),
    (
        "ssc.prevent.blocks_unload",
        "UNLOAD succeeds while medium removal is prevented",
    ),
    (
        "ssc.compression.toggle",
        "MODE SELECT of the data compression page: ILLEGAL REQUEST 26/00",
    ),
];

/// The known gaps of `kind`, tape cases then changer cases.
pub fn known_gaps(kind: TargetKind) -> Vec<Gap> {
    let ssc: &[Gap] = match kind {
        TargetKind::Tgtd => TGTD_SSC,
        TargetKind::VtlInProcess | TargetKind::VtlIscsi | TargetKind::Device => &[],
    };
    let mut v = ssc.to_vec();
    v.extend_from_slice(smc_gaps::known_gaps(kind));
    v
}
