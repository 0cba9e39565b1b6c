//! `mt status` exactly as mt-st 1.7 prints it for a Linux st ("SCSI 2")
//! drive: pure values in, bytes out.
//!
//! The general status word uses the GMT_* bits of
//! `linux/include/uapi/linux/mtio.h`, and is derived the way the st driver
//! derives it (BOT/EOF from file and block number, IM_REP_EN from buffered
//! mode), so scripts that test `mt status` output see what they expect.

use std::fmt::Write;

use super::density::mt_density_name;

pub const GMT_EOF: u32 = 0x8000_0000;
pub const GMT_BOT: u32 = 0x4000_0000;
pub const GMT_EOT: u32 = 0x2000_0000;
pub const GMT_SM: u32 = 0x1000_0000;
pub const GMT_EOD: u32 = 0x0800_0000;
pub const GMT_WR_PROT: u32 = 0x0400_0000;
pub const GMT_ONLINE: u32 = 0x0100_0000;
pub const GMT_D_6250: u32 = 0x0080_0000;
pub const GMT_D_1600: u32 = 0x0040_0000;
pub const GMT_D_800: u32 = 0x0020_0000;
pub const GMT_DR_OPEN: u32 = 0x0004_0000;
pub const GMT_IM_REP_EN: u32 = 0x0001_0000;
pub const GMT_CLN: u32 = 0x0000_8000;

/// Flag names in the order mt-st prints them.
const FLAG_NAMES: &[(u32, &str)] = &[
    (GMT_EOF, "EOF"),
    (GMT_BOT, "BOT"),
    (GMT_EOT, "EOT"),
    (GMT_SM, "SM"),
    (GMT_EOD, "EOD"),
    (GMT_WR_PROT, "WR_PROT"),
    (GMT_ONLINE, "ONLINE"),
    (GMT_D_6250, "D_6250"),
    (GMT_D_1600, "D_1600"),
    (GMT_D_800, "D_800"),
    (GMT_DR_OPEN, "DR_OPEN"),
    (GMT_IM_REP_EN, "IM_REP_EN"),
    (GMT_CLN, "CLN"),
];

/// The fields of `struct mtget` that `mt status` prints, already decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MtStatus {
    /// Filemarks before the position; -1 when unknown (as st reports it).
    pub file: i32,
    /// Blocks since the start of the current file; -1 when unknown.
    pub block: i32,
    pub partition: u32,
    /// 0 = variable block mode.
    pub block_size: u32,
    pub density: u8,
    pub soft_errors: u32,
    /// GMT_* bits.
    pub gstat: u32,
}

/// Facts about the drive from which st computes `mt_gstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GstatFacts {
    pub file: i32,
    pub block: i32,
    pub online: bool,
    pub no_tape: bool,
    pub write_protected: bool,
    /// Past early warning (st's EOT).
    pub early_warning: bool,
    /// At end of data.
    pub eod: bool,
    pub setmark: bool,
    pub density: u8,
    /// Buffered mode != 0 (st's IM_REP_EN).
    pub buffered: bool,
    pub cleaning_requested: bool,
}

/// `mt_gstat` as the Linux st driver computes it.
pub fn gstat(f: &GstatFacts) -> u32 {
    let mut g = 0;
    if f.write_protected {
        g |= GMT_WR_PROT;
    }
    // st: block 0 of file 0 is BOT, block 0 of any later file is just past
    // a filemark (EOF).
    if f.block == 0 {
        if f.file == 0 {
            g |= GMT_BOT;
        } else {
            g |= GMT_EOF;
        }
    }
    if f.early_warning {
        g |= GMT_EOT;
    } else if f.eod {
        g |= GMT_EOD;
    }
    match f.density {
        1 => g |= GMT_D_800,
        2 => g |= GMT_D_1600,
        3 => g |= GMT_D_6250,
        _ => {}
    }
    if f.online {
        g |= GMT_ONLINE;
    }
    if f.no_tape {
        g |= GMT_DR_OPEN;
    }
    if f.setmark {
        g |= GMT_SM;
    }
    if f.buffered {
        g |= GMT_IM_REP_EN;
    }
    if f.cleaning_requested {
        g |= GMT_CLN;
    }
    g
}

/// Names of the set flags, in mt-st's order.
pub fn flag_names(gstat: u32) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(bit, _)| gstat & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The complete `mt status` output, byte for byte as mt-st 1.7 prints it.
pub fn format_status(s: &MtStatus) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("SCSI 2 tape drive:\n");
    // mtget.mt_resid carries the partition; mt-st masks it with 0xff.
    let _ = writeln!(
        out,
        "File number={}, block number={}, partition={}.",
        s.file,
        s.block,
        s.partition & 0xff
    );
    let _ = writeln!(
        out,
        "Tape block size {} bytes. Density code 0x{:x} ({}).",
        s.block_size & 0xff_ffff,
        s.density,
        mt_density_name(s.density)
    );
    let _ = writeln!(
        out,
        "Soft error count since last status={}",
        s.soft_errors & 0xffff
    );
    let _ = writeln!(out, "General status bits on ({:x}):", s.gstat);
    for name in flag_names(s.gstat) {
        out.push(' ');
        out.push_str(name);
    }
    out.push('\n');
    out
}

/// `mt tell` output.
pub fn format_tell(block: u64) -> String {
    format!("At block {block}.\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded_at_bot() -> GstatFacts {
        GstatFacts {
            file: 0,
            block: 0,
            online: true,
            density: 0x5e,
            buffered: true,
            ..Default::default()
        }
    }

    #[test]
    fn bits_match_linux_mtio_h() {
        assert_eq!(GMT_EOF, 0x80000000);
        assert_eq!(GMT_BOT, 0x40000000);
        assert_eq!(GMT_EOT, 0x20000000);
        assert_eq!(GMT_SM, 0x10000000);
        assert_eq!(GMT_EOD, 0x08000000);
        assert_eq!(GMT_WR_PROT, 0x04000000);
        assert_eq!(GMT_ONLINE, 0x01000000);
        assert_eq!(GMT_D_6250, 0x00800000);
        assert_eq!(GMT_D_1600, 0x00400000);
        assert_eq!(GMT_D_800, 0x00200000);
        assert_eq!(GMT_DR_OPEN, 0x00040000);
        assert_eq!(GMT_IM_REP_EN, 0x00010000);
        assert_eq!(GMT_CLN, 0x00008000);
    }

    #[test]
    fn lto8_at_bot_exact_bytes() {
        let f = loaded_at_bot();
        let s = MtStatus {
            file: 0,
            block: 0,
            partition: 0,
            block_size: 0,
            density: 0x5e,
            soft_errors: 0,
            gstat: gstat(&f),
        };
        assert_eq!(s.gstat, 0x41010000);
        assert_eq!(
            format_status(&s).as_bytes(),
            b"SCSI 2 tape drive:\n\
File number=0, block number=0, partition=0.\n\
Tape block size 0 bytes. Density code 0x5e (LTO-8).\n\
Soft error count since last status=0\n\
General status bits on (41010000):\n BOT ONLINE IM_REP_EN\n"
        );
    }

    #[test]
    fn after_filemark_write_protected_fixed_blocks() {
        let f = GstatFacts {
            file: 2,
            block: 0,
            write_protected: true,
            ..loaded_at_bot()
        };
        let s = MtStatus {
            file: 2,
            block: 0,
            partition: 1,
            block_size: 262144,
            density: 0x60,
            soft_errors: 3,
            gstat: gstat(&f),
        };
        assert_eq!(s.gstat, 0x85010000);
        assert_eq!(
            format_status(&s),
            "SCSI 2 tape drive:\n\
File number=2, block number=0, partition=1.\n\
Tape block size 262144 bytes. Density code 0x60 (LTO-9).\n\
Soft error count since last status=3\n\
General status bits on (85010000):\n EOF WR_PROT ONLINE IM_REP_EN\n"
        );
    }

    #[test]
    fn no_tape_unknown_position() {
        let f = GstatFacts {
            file: -1,
            block: -1,
            no_tape: true,
            buffered: true,
            ..Default::default()
        };
        let s = MtStatus {
            file: -1,
            block: -1,
            partition: 0,
            block_size: 0,
            density: 0,
            soft_errors: 0,
            gstat: gstat(&f),
        };
        assert_eq!(
            format_status(&s),
            "SCSI 2 tape drive:\n\
File number=-1, block number=-1, partition=0.\n\
Tape block size 0 bytes. Density code 0x0 (default).\n\
Soft error count since last status=0\n\
General status bits on (50000):\n DR_OPEN IM_REP_EN\n"
        );
    }

    #[test]
    fn mid_file_at_eod_unknown_density_and_cleaning() {
        let f = GstatFacts {
            file: 1,
            block: 7,
            eod: true,
            cleaning_requested: true,
            density: 0x62,
            ..loaded_at_bot()
        };
        let s = MtStatus {
            file: 1,
            block: 7,
            partition: 0,
            block_size: 0,
            density: 0x62,
            soft_errors: 0,
            gstat: gstat(&f),
        };
        assert_eq!(s.gstat, 0x09018000);
        assert_eq!(
            format_status(&s),
            "SCSI 2 tape drive:\n\
File number=1, block number=7, partition=0.\n\
Tape block size 0 bytes. Density code 0x62 (no translation).\n\
Soft error count since last status=0\n\
General status bits on (9018000):\n EOD ONLINE IM_REP_EN CLN\n"
        );
    }

    #[test]
    fn early_warning_wins_over_eod_and_all_flags_order() {
        let f = GstatFacts {
            early_warning: true,
            eod: true,
            ..loaded_at_bot()
        };
        assert_eq!(gstat(&f) & (GMT_EOT | GMT_EOD), GMT_EOT);
        assert_eq!(
            flag_names(u32::MAX),
            vec![
                "EOF",
                "BOT",
                "EOT",
                "SM",
                "EOD",
                "WR_PROT",
                "ONLINE",
                "D_6250",
                "D_1600",
                "D_800",
                "DR_OPEN",
                "IM_REP_EN",
                "CLN"
            ]
        );
        assert_eq!(
            gstat(&GstatFacts {
                density: 1,
                block: 5,
                ..Default::default()
            }),
            GMT_D_800
        );
        assert_eq!(
            gstat(&GstatFacts {
                density: 2,
                block: 5,
                ..Default::default()
            }),
            GMT_D_1600
        );
        assert_eq!(
            gstat(&GstatFacts {
                density: 3,
                block: 5,
                ..Default::default()
            }),
            GMT_D_6250
        );
    }

    #[test]
    fn status_without_flags_prints_empty_flag_line() {
        let s = MtStatus {
            file: 3,
            block: 12,
            partition: 0x1ff,
            block_size: 0x0100_0400,
            density: 0x58,
            soft_errors: 0x1_0002,
            gstat: 0,
        };
        assert_eq!(
            format_status(&s),
            "SCSI 2 tape drive:\n\
File number=3, block number=12, partition=255.\n\
Tape block size 1024 bytes. Density code 0x58 (LTO-5).\n\
Soft error count since last status=2\n\
General status bits on (0):\n\n"
        );
    }

    #[test]
    fn tell() {
        assert_eq!(format_tell(0), "At block 0.\n");
        assert_eq!(format_tell(123456), "At block 123456.\n");
    }
}
