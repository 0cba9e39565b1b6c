//! READ(6), WRITE(6) and WRITE FILEMARKS(6) (SSC-5 7.x, 5.x): CDB builders
//! and the pure interpretation of what the drive answered.
//!
//! The interpretation takes the status, the decoded sense and the residual
//! the transport reported, and cross-checks the residual against the sense
//! INFORMATION field: some HBAs misreport the residual (field note A8), and a
//! mismatch must surface as a transport error, never as silently short data,
//! unless the caller chose [`ResidualPolicy::TrustSense`] for such an adapter.

use crate::scsi::bytes;
use crate::scsi::error::ScsiError;
use crate::scsi::opcodes;
use crate::scsi::sense::{Sense, SenseKey};

/// Largest TRANSFER LENGTH / COUNT a 6-byte CDB holds (24 bits).
pub const MAX_COUNT_6: u32 = 0x00ff_ffff;

fn check_u24(op: &'static str, what: &str, v: u32) -> Result<(), ScsiError> {
    if v > MAX_COUNT_6 {
        return Err(ScsiError::Invalid {
            op,
            detail: format!("{what} {v} does not fit the 24-bit field (max {MAX_COUNT_6})"),
        });
    }
    Ok(())
}

/// READ(6) (SSC-5 7.4). `length` is bytes in variable mode, blocks in fixed
/// mode. SILI with FIXED is forbidden by SSC and refused here.
pub fn read6_cdb(fixed: bool, sili: bool, length: u32) -> Result<[u8; 6], ScsiError> {
    check_u24("READ(6)", "transfer length", length)?;
    if fixed && sili {
        return Err(ScsiError::Invalid {
            op: "READ(6)",
            detail: "SILI cannot be combined with fixed-block mode".into(),
        });
    }
    let mut c = [opcodes::READ_6, 0, 0, 0, 0, 0];
    c[1] = u8::from(sili) << 1 | u8::from(fixed);
    c[2..5].copy_from_slice(&bytes::u24_be(length));
    Ok(c)
}

/// WRITE(6) (SSC-5 7.11). `length` is bytes in variable mode, blocks in fixed.
pub fn write6_cdb(fixed: bool, length: u32) -> Result<[u8; 6], ScsiError> {
    check_u24("WRITE(6)", "transfer length", length)?;
    let mut c = [opcodes::WRITE_6, u8::from(fixed), 0, 0, 0, 0];
    c[2..5].copy_from_slice(&bytes::u24_be(length));
    Ok(c)
}

/// WRITE FILEMARKS(6) (SSC-5 7.12). A count of 0 with IMMED clear flushes the
/// drive's buffer to the medium (a synchronisation point).
pub fn write_filemarks6_cdb(immediate: bool, count: u32) -> Result<[u8; 6], ScsiError> {
    check_u24("WRITE FILEMARKS(6)", "count", count)?;
    let mut c = [opcodes::WRITE_FILEMARKS_6, u8::from(immediate), 0, 0, 0, 0];
    c[2..5].copy_from_slice(&bytes::u24_be(count));
    Ok(c)
}

/// What one READ returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ReadOutcome {
    /// `len` bytes were read: a whole record (variable mode) or whole blocks
    /// (fixed mode).
    Block { len: usize },
    /// The record was shorter than the buffer (ILI); `len` is its true length.
    ShortBlock { len: usize },
    /// The record was longer than the buffer (ILI, negative residue). `len`
    /// is its true length, `copied` the bytes that fit; the rest is lost and
    /// the tape is positioned after the record.
    LongBlock { len: usize, copied: usize },
    /// A filemark was read; the tape is positioned after it.
    Filemark,
    /// End of data (BLANK CHECK, 00/05); the position does not move.
    EndOfData,
}

/// Which mode a READ was issued in, to read residues in the right unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Variable-length records; residues count bytes.
    Variable,
    /// Fixed-size blocks of this many bytes; residues count blocks.
    Fixed(u32),
}

/// A READ that stopped early in fixed mode: data before the stop is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interpreted {
    /// What the caller sees now.
    pub outcome: ReadOutcome,
    /// Fixed mode only: whole blocks were transferred before a filemark or
    /// end of data; report `outcome` (a `Block`) now and this stop on the
    /// next read, as the Linux st driver does.
    pub pending: Option<ReadOutcome>,
}

impl Interpreted {
    fn now(outcome: ReadOutcome) -> Interpreted {
        Interpreted {
            outcome,
            pending: None,
        }
    }
}

/// How far a READ trusts the residual the adapter reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub enum ResidualPolicy {
    /// The residual must agree with the sense INFORMATION field; a mismatch
    /// is [`TransportError::ResidualMismatch`](crate::scsi::transport::TransportError).
    #[default]
    Strict,
    /// For adapters known to misreport the residual (field note A8; QEMU's
    /// iSCSI passthrough always reports 0): when the drive's sense carries
    /// the length (a valid INFORMATION field with ILI, a filemark, end of
    /// data or a benign sense key), the sense wins and the residual is
    /// ignored. A GOOD status still needs a zero residual, and SILI is
    /// never sent (it would make a short record look whole).
    TrustSense,
}

impl ResidualPolicy {
    /// The environment variable every reel tool reads: a true value (1,
    /// true, yes, on) selects [`ResidualPolicy::TrustSense`].
    pub const ENV: &'static str = "REEL_TRUST_SENSE_LENGTH";

    /// The policy `$REEL_TRUST_SENSE_LENGTH` asks for (strict unless set
    /// to a true value).
    pub fn from_env() -> ResidualPolicy {
        ResidualPolicy::from_env_value(std::env::var(Self::ENV).ok().as_deref())
    }

    /// The policy for a value of `$REEL_TRUST_SENSE_LENGTH`.
    pub fn from_env_value(value: Option<&str>) -> ResidualPolicy {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("1" | "true" | "yes" | "on") => ResidualPolicy::TrustSense,
            _ => ResidualPolicy::Strict,
        }
    }
}

/// Appended to a mismatch where the adapter reported no residual at all:
/// the A8 symptom, and the way out for an adapter known to have it.
pub const NO_RESIDUAL_HINT: &str = "the adapter reported no residual although the sense gives \
    a length (field note A8: some HBAs never report one); if this adapter is known to, \
    take lengths from sense with --trust-sense-length or REEL_TRUST_SENSE_LENGTH=1";

/// The INFORMATION field as the signed residue SSC defines for READ/WRITE
/// (requested minus actual). The fixed format carries 32 bits in two's
/// complement, the descriptor format 64.
pub fn signed_information(s: &Sense) -> Option<i64> {
    let v = s.information?;
    Some(if s.descriptor_format {
        v as i64
    } else {
        i64::from(v as u32 as i32)
    })
}

fn mismatch(requested: usize, residual: usize, detail: impl Into<String>) -> ScsiError {
    ScsiError::residual_mismatch("READ(6)", requested, residual, detail)
}

/// Checks the adapter's residual against the one the sense implies
/// (`expected`). Under [`ResidualPolicy::TrustSense`] the sense wins.
fn agree(
    policy: ResidualPolicy,
    requested: usize,
    residual: usize,
    expected: usize,
    detail: impl FnOnce() -> String,
) -> Result<(), ScsiError> {
    if residual == expected || policy == ResidualPolicy::TrustSense {
        return Ok(());
    }
    let mut detail = detail();
    if residual == 0 {
        detail = format!("{detail}; {NO_RESIDUAL_HINT}");
    }
    Err(mismatch(requested, residual, detail))
}

/// Interprets a READ(6) that completed with GOOD status. Without SILI the
/// drive reports every length mismatch with CHECK CONDITION, so a GOOD
/// status with a residual means the HBA lost data or lied (field note A8).
/// With SILI the drive stays silent about short records and the residual is
/// the only measure of the record length.
pub fn interpret_read_good(
    requested: usize,
    residual: usize,
    mode: Mode,
    sili: bool,
) -> Result<ReadOutcome, ScsiError> {
    if residual == 0 {
        return Ok(ReadOutcome::Block { len: requested });
    }
    if residual > requested {
        return Err(mismatch(
            requested,
            residual,
            "residual larger than the request",
        ));
    }
    match mode {
        Mode::Variable if sili => Ok(ReadOutcome::ShortBlock {
            len: requested - residual,
        }),
        _ => Err(mismatch(
            requested,
            residual,
            "GOOD status yet data missing (the drive reported no short block)",
        )),
    }
}

/// Interprets a READ(6) that completed with CHECK CONDITION. Returns the
/// outcome for filemark, end of data, short and long records; anything else
/// is an error (`check` is the error to return as is). `policy` says
/// whether the residual must agree with the sense INFORMATION field.
pub fn interpret_read_check(
    requested: usize,
    residual: usize,
    mode: Mode,
    sense: &Sense,
    check: ScsiError,
    policy: ResidualPolicy,
) -> Result<Interpreted, ScsiError> {
    let info = signed_information(sense);
    // Bytes actually transferred according to the sense INFORMATION field.
    let transferred_by_sense = |unit: usize| -> Result<usize, ScsiError> {
        let Some(info) = info else {
            // No INFORMATION: the residual is all we have; it cannot be
            // cross-checked, so only accept the unambiguous "nothing moved".
            return if residual == requested {
                Ok(0)
            } else {
                Err(mismatch(
                    requested,
                    residual,
                    "sense without a valid INFORMATION field",
                ))
            };
        };
        let units = requested / unit.max(1);
        if info < 0 || info as u64 > units as u64 {
            return Err(mismatch(
                requested,
                residual,
                format!("sense INFORMATION {info} outside 0..={units}"),
            ));
        }
        let moved = (units - info as usize) * unit.max(1);
        agree(policy, requested, residual, requested - moved, || {
            format!("sense INFORMATION says {moved} bytes were transferred")
        })?;
        Ok(moved)
    };
    let unit = match mode {
        Mode::Variable => 1,
        Mode::Fixed(b) => b as usize,
    };
    let stop = if sense.filemark {
        Some(ReadOutcome::Filemark)
    } else if sense.key == SenseKey::BlankCheck && sense.asc == 0x00 && sense.ascq == 0x05 {
        Some(ReadOutcome::EndOfData)
    } else {
        None
    };
    if let Some(stop) = stop {
        // Filemark or EOD: in variable mode nothing was transferred; in fixed
        // mode the blocks before it are good data.
        let moved = transferred_by_sense(unit)?;
        return Ok(if moved == 0 {
            Interpreted::now(stop)
        } else {
            Interpreted {
                outcome: ReadOutcome::Block { len: moved },
                pending: Some(stop),
            }
        });
    }
    let benign = matches!(sense.key, SenseKey::NoSense | SenseKey::RecoveredError);
    if sense.ili && benign {
        let Some(info) = info else {
            return Err(check);
        };
        return match mode {
            Mode::Variable if info > 0 => {
                let short = info as u64;
                if short > requested as u64 {
                    return Err(mismatch(
                        requested,
                        residual,
                        format!("sense INFORMATION {info} exceeds the request"),
                    ));
                }
                let len = requested - short as usize;
                agree(policy, requested, residual, short as usize, || {
                    format!("short record of {len} bytes per sense INFORMATION")
                })?;
                Ok(Interpreted::now(ReadOutcome::ShortBlock { len }))
            }
            Mode::Variable if info < 0 => {
                let extra = info.unsigned_abs();
                let len = usize::try_from(extra)
                    .ok()
                    .and_then(|e| requested.checked_add(e))
                    .ok_or_else(|| {
                        mismatch(requested, residual, format!("absurd residue {info}"))
                    })?;
                agree(policy, requested, residual, 0, || {
                    format!("long record of {len} bytes yet the buffer was not filled")
                })?;
                Ok(Interpreted::now(ReadOutcome::LongBlock {
                    len,
                    copied: requested,
                }))
            }
            Mode::Variable => Ok(Interpreted::now(ReadOutcome::Block { len: requested })),
            // Fixed mode: ILI means a record of the wrong size; the blocks
            // before it were transferred, the drive stopped after it.
            Mode::Fixed(_) => Err(check),
        };
    }
    if benign {
        // E.g. RECOVERED ERROR or an EOM warning on read: the data moved.
        return match info {
            Some(_) => {
                let moved = transferred_by_sense(unit)?;
                Ok(Interpreted::now(ReadOutcome::Block { len: moved }))
            }
            None => interpret_read_good(requested, residual, mode, false).map(Interpreted::now),
        };
    }
    Err(check)
}

/// Where a write left the tape, as states the caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum WriteStatus {
    Ok,
    /// Past early warning: finish up and span to the next cartridge.
    EarlyWarning,
    /// Past the programmable early warning (set in the device configuration
    /// extension page), before EW.
    ProgrammableEarlyWarning,
}

/// Interprets a WRITE or WRITE FILEMARKS that completed with CHECK
/// CONDITION. EW (NO SENSE, EOM, 00/02) and PEW (NO SENSE, 00/07) mean the
/// data WAS written when the residue is zero; anything else is returned as
/// the error `check` (VOLUME OVERFLOW, DATA PROTECT, MEDIUM ERROR...).
pub fn interpret_write_check(sense: &Sense, check: ScsiError) -> Result<WriteStatus, ScsiError> {
    if sense.key != SenseKey::NoSense || sense.deferred {
        return Err(check);
    }
    let state = match (sense.asc, sense.ascq) {
        (0x00, 0x02) => WriteStatus::EarlyWarning,
        (0x00, 0x07) => WriteStatus::ProgrammableEarlyWarning,
        // Some drives flag EW only by the EOM bit with 00/00.
        (0x00, 0x00) if sense.eom => WriteStatus::EarlyWarning,
        _ => return Err(check),
    };
    // In unbuffered mode a nonzero residue means part of the request was not
    // written: that is a failure the caller must see, not a warning.
    match signed_information(sense) {
        None | Some(0) => Ok(state),
        Some(_) => Err(check),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::transport::TransportError;

    fn check_of(raw: &[u8]) -> (Sense, ScsiError) {
        let sense = Sense::parse(raw).expect("valid sense");
        let err = ScsiError::Check {
            op: "READ(6)",
            sense: sense.clone(),
            raw: raw.to_vec(),
        };
        (sense, err)
    }

    fn read(
        requested: usize,
        residual: usize,
        mode: Mode,
        raw: &[u8],
    ) -> Result<Interpreted, ScsiError> {
        read_with(ResidualPolicy::Strict, requested, residual, mode, raw)
    }

    fn read_with(
        policy: ResidualPolicy,
        requested: usize,
        residual: usize,
        mode: Mode,
        raw: &[u8],
    ) -> Result<Interpreted, ScsiError> {
        let (s, e) = check_of(raw);
        interpret_read_check(requested, residual, mode, &s, e, policy)
    }

    fn is_mismatch(e: &ScsiError) -> bool {
        matches!(
            e,
            ScsiError::Transport {
                source: TransportError::ResidualMismatch { .. },
                ..
            }
        )
    }

    #[test]
    fn read6_cdb_bytes() {
        // Variable, 256 KiB: 08 00 04 00 00 00.
        assert_eq!(
            read6_cdb(false, false, 0x40000).unwrap(),
            [0x08, 0x00, 0x04, 0x00, 0x00, 0x00]
        );
        // Variable with SILI, 0x123456 bytes.
        assert_eq!(
            read6_cdb(false, true, 0x12_3456).unwrap(),
            [0x08, 0x02, 0x12, 0x34, 0x56, 0x00]
        );
        // Fixed, 16 blocks.
        assert_eq!(
            read6_cdb(true, false, 16).unwrap(),
            [0x08, 0x01, 0x00, 0x00, 0x10, 0x00]
        );
        assert!(read6_cdb(true, true, 1).is_err());
        assert!(read6_cdb(false, false, 0x0100_0000).is_err());
        assert_eq!(
            read6_cdb(false, false, 0x00ff_ffff).unwrap(),
            [0x08, 0x00, 0xff, 0xff, 0xff, 0x00]
        );
    }

    #[test]
    fn write6_and_filemark_cdb_bytes() {
        assert_eq!(
            write6_cdb(false, 0x10_0000).unwrap(),
            [0x0a, 0x00, 0x10, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            write6_cdb(true, 3).unwrap(),
            [0x0a, 0x01, 0x00, 0x00, 0x03, 0x00]
        );
        assert!(write6_cdb(false, 0x0100_0000).is_err());
        assert_eq!(
            write_filemarks6_cdb(false, 0).unwrap(),
            [0x10, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            write_filemarks6_cdb(true, 2).unwrap(),
            [0x10, 0x01, 0x00, 0x00, 0x02, 0x00]
        );
    }

    // Fixed sense: 70 (valid bit 80), key byte 2 with FM/EOM/ILI bits,
    // INFORMATION bytes 3..7, additional length 0A, ASC 12, ASCQ 13.
    const FILEMARK_VAR_64K: [u8; 18] = [
        0xf0, 0, 0x80, 0x00, 0x01, 0x00, 0x00, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
    ];

    #[test]
    fn filemark_in_variable_mode() {
        let r = read(65536, 65536, Mode::Variable, &FILEMARK_VAR_64K).unwrap();
        assert_eq!(r.outcome, ReadOutcome::Filemark);
        assert_eq!(r.pending, None);
        // The HBA claims 100 bytes moved although the sense says none did.
        let e = read(65536, 65436, Mode::Variable, &FILEMARK_VAR_64K).unwrap_err();
        assert!(is_mismatch(&e), "{e}");
    }

    #[test]
    fn end_of_data_blank_check() {
        // 08/00/05, INFORMATION = 512 (all of the request).
        let raw = [
            0xf0, 0, 0x08, 0x00, 0x00, 0x02, 0x00, 0x0a, 0, 0, 0, 0, 0x00, 0x05, 0, 0, 0, 0,
        ];
        let r = read(512, 512, Mode::Variable, &raw).unwrap();
        assert_eq!(r.outcome, ReadOutcome::EndOfData);
    }

    #[test]
    fn other_blank_check_is_an_error() {
        // BLANK CHECK 14/03 "end-of-data not found": distinct from EOD.
        let raw = [
            0x70, 0, 0x08, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x14, 0x03, 0, 0, 0, 0,
        ];
        let e = read(512, 512, Mode::Variable, &raw).unwrap_err();
        assert_eq!(e.class(), crate::ErrorClass::BlankCheck);
    }

    #[test]
    fn short_record_with_ili() {
        // Asked 1024, record is 1000: ILI, INFORMATION = +24.
        let raw = [
            0xf0, 0, 0x20, 0x00, 0x00, 0x00, 0x18, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let r = read(1024, 24, Mode::Variable, &raw).unwrap();
        assert_eq!(r.outcome, ReadOutcome::ShortBlock { len: 1000 });
        // Residual misreported as 0 (field note A8): refuse.
        let e = read(1024, 0, Mode::Variable, &raw).unwrap_err();
        assert!(is_mismatch(&e), "{e}");
    }

    /// An adapter that always reports residual 0 (field note A8): Strict
    /// refuses with a hint at the option, TrustSense takes every length
    /// from the sense INFORMATION field.
    #[test]
    fn trust_sense_takes_lengths_from_sense() {
        let trust = |requested, residual, mode, raw: &[u8]| {
            read_with(ResidualPolicy::TrustSense, requested, residual, mode, raw).map(|i| i.outcome)
        };
        // Short record: asked 1024, record 1000 (ILI, INFORMATION +24).
        let short = [
            0xf0, 0, 0x20, 0x00, 0x00, 0x00, 0x18, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let e = read(1024, 0, Mode::Variable, &short).unwrap_err();
        assert!(is_mismatch(&e), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("--trust-sense-length") && msg.contains("REEL_TRUST_SENSE_LENGTH=1"),
            "{msg}"
        );
        assert_eq!(
            trust(1024, 0, Mode::Variable, &short).unwrap(),
            ReadOutcome::ShortBlock { len: 1000 }
        );
        // Filemark in variable mode, residual 0 instead of 65536.
        assert!(is_mismatch(
            &read(65536, 0, Mode::Variable, &FILEMARK_VAR_64K).unwrap_err()
        ));
        assert_eq!(
            trust(65536, 0, Mode::Variable, &FILEMARK_VAR_64K).unwrap(),
            ReadOutcome::Filemark
        );
        // End of data (08/00/05, INFORMATION 512).
        let eod = [
            0xf0, 0, 0x08, 0x00, 0x00, 0x02, 0x00, 0x0a, 0, 0, 0, 0, 0x00, 0x05, 0, 0, 0, 0,
        ];
        assert_eq!(
            trust(512, 0, Mode::Variable, &eod).unwrap(),
            ReadOutcome::EndOfData
        );
        // Fixed mode, filemark after 3 of 4 blocks (INFORMATION 1 block).
        let fm_fixed = [
            0xf0, 0, 0x80, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
        ];
        let r = read_with(
            ResidualPolicy::TrustSense,
            2048,
            0,
            Mode::Fixed(512),
            &fm_fixed,
        )
        .unwrap();
        assert_eq!(r.outcome, ReadOutcome::Block { len: 1536 });
        assert_eq!(r.pending, Some(ReadOutcome::Filemark));
        // Long record (INFORMATION -3072) with a residual that lies upward.
        let long = [
            0xf0, 0, 0x20, 0xff, 0xff, 0xf4, 0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            trust(1024, 10, Mode::Variable, &long).unwrap(),
            ReadOutcome::LongBlock {
                len: 4096,
                copied: 1024
            }
        );
    }

    /// TrustSense trusts only a sense that carries a plausible length.
    #[test]
    fn trust_sense_still_refuses_what_sense_cannot_vouch_for() {
        // INFORMATION 4096 on a 16-byte request.
        let beyond = [
            0xf0, 0, 0x20, 0, 0, 0x10, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(is_mismatch(
            &read_with(ResidualPolicy::TrustSense, 16, 0, Mode::Variable, &beyond).unwrap_err()
        ));
        // Filemark without a valid INFORMATION field (byte 0 = 70h): only
        // the residual could tell, and it says data moved.
        let no_info = [
            0x70, 0, 0x80, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
        ];
        assert!(is_mismatch(
            &read_with(ResidualPolicy::TrustSense, 512, 0, Mode::Variable, &no_info).unwrap_err()
        ));
        // ILI without INFORMATION: the CHECK CONDITION itself.
        let ili_no_info = [
            0x70, 0, 0x20, 0, 0, 0, 0x18, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let e = read_with(
            ResidualPolicy::TrustSense,
            1024,
            0,
            Mode::Variable,
            &ili_no_info,
        )
        .unwrap_err();
        assert!(matches!(e, ScsiError::Check { .. }), "{e}");
    }

    #[test]
    fn residual_policy_from_env_values() {
        for on in ["1", "true", "YES", " on "] {
            assert_eq!(
                ResidualPolicy::from_env_value(Some(on)),
                ResidualPolicy::TrustSense,
                "{on}"
            );
        }
        for off in [
            None,
            Some(""),
            Some("0"),
            Some("false"),
            Some("no"),
            Some("2"),
        ] {
            assert_eq!(
                ResidualPolicy::from_env_value(off),
                ResidualPolicy::Strict,
                "{off:?}"
            );
        }
    }

    #[test]
    fn long_record_with_negative_residue() {
        // Asked 1024, record is 4096: INFORMATION = -3072 = FFFF F400.
        let raw = [
            0xf0, 0, 0x20, 0xff, 0xff, 0xf4, 0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let r = read(1024, 0, Mode::Variable, &raw).unwrap();
        assert_eq!(
            r.outcome,
            ReadOutcome::LongBlock {
                len: 4096,
                copied: 1024
            }
        );
        let e = read(1024, 10, Mode::Variable, &raw).unwrap_err();
        assert!(is_mismatch(&e));
    }

    #[test]
    fn long_record_descriptor_format() {
        // Descriptor sense 72h, key NO SENSE, stream commands descriptor (04h)
        // with ILI, information descriptor (00h) VALID, value -8 (64-bit).
        let raw = [
            0x72, 0x00, 0x00, 0x00, 0, 0, 0, 0x12, // header, additional length 18
            0x00, 0x0a, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf8, // info
            0x04, 0x02, 0x00, 0x20, // stream commands: ILI
        ];
        let r = read(8, 0, Mode::Variable, &raw).unwrap();
        assert_eq!(r.outcome, ReadOutcome::LongBlock { len: 16, copied: 8 });
    }

    #[test]
    fn fixed_mode_filemark_after_blocks() {
        // 4 blocks of 512 asked, filemark after 3: INFORMATION = 1 block.
        let raw = [
            0xf0, 0, 0x80, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0,
        ];
        let r = read(2048, 512, Mode::Fixed(512), &raw).unwrap();
        assert_eq!(r.outcome, ReadOutcome::Block { len: 1536 });
        assert_eq!(r.pending, Some(ReadOutcome::Filemark));
        // Residual in bytes must agree with the residue in blocks.
        assert!(is_mismatch(
            &read(2048, 1, Mode::Fixed(512), &raw).unwrap_err()
        ));
    }

    #[test]
    fn fixed_mode_wrong_record_size_is_an_error() {
        let raw = [
            0xf0, 0, 0x20, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(read(2048, 512, Mode::Fixed(512), &raw).is_err());
    }

    #[test]
    fn medium_error_passes_through() {
        let raw = [
            0x70, 0, 0x03, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0,
        ];
        let e = read(512, 512, Mode::Variable, &raw).unwrap_err();
        assert_eq!(e.class(), crate::ErrorClass::MediumError);
    }

    #[test]
    fn information_beyond_request_is_refused() {
        let raw = [
            0xf0, 0, 0x20, 0, 0, 0x10, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(is_mismatch(
            &read(16, 16, Mode::Variable, &raw).unwrap_err()
        ));
    }

    #[test]
    fn good_status_with_residual() {
        assert_eq!(
            interpret_read_good(100, 0, Mode::Variable, false).unwrap(),
            ReadOutcome::Block { len: 100 }
        );
        assert!(interpret_read_good(100, 10, Mode::Variable, false).is_err());
        assert_eq!(
            interpret_read_good(100, 10, Mode::Variable, true).unwrap(),
            ReadOutcome::ShortBlock { len: 90 }
        );
        assert!(interpret_read_good(100, 101, Mode::Variable, true).is_err());
    }

    fn write(raw: &[u8]) -> Result<WriteStatus, ScsiError> {
        let (s, e) = check_of(raw);
        interpret_write_check(&s, e)
    }

    #[test]
    fn write_early_warning_is_a_state() {
        // NO SENSE, EOM, 00/02, INFORMATION valid = 0.
        let ew = [
            0xf0, 0, 0x40, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0,
        ];
        assert_eq!(write(&ew).unwrap(), WriteStatus::EarlyWarning);
        // PEW: NO SENSE 00/07.
        let pew = [
            0x70, 0, 0x40, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x07, 0, 0, 0, 0,
        ];
        assert_eq!(write(&pew).unwrap(), WriteStatus::ProgrammableEarlyWarning);
        // EW with a residue: not all written.
        let partial = [
            0xf0, 0, 0x40, 0, 0, 0x02, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0,
        ];
        assert!(write(&partial).is_err());
    }

    #[test]
    fn write_overflow_and_protect_are_errors() {
        // VOLUME OVERFLOW, EOM, 00/02.
        let vo = [
            0x70, 0, 0x4d, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0,
        ];
        assert_eq!(
            write(&vo).unwrap_err().class(),
            crate::ErrorClass::VolumeOverflow
        );
        // DATA PROTECT 27/00 write protected.
        let wp = [
            0x70, 0, 0x07, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x27, 0x00, 0, 0, 0, 0,
        ];
        assert_eq!(
            write(&wp).unwrap_err().class(),
            crate::ErrorClass::DataProtect
        );
        // Deferred EW is an error from an earlier command, not a state.
        let deferred = [
            0x71, 0, 0x40, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0,
        ];
        assert!(write(&deferred).is_err());
    }

    #[test]
    fn signed_information_fixed_and_descriptor() {
        let mut s = Sense::new(SenseKey::NoSense, 0, 0);
        s.information = Some(0xffff_fffe);
        assert_eq!(signed_information(&s), Some(-2));
        s.descriptor_format = true;
        assert_eq!(signed_information(&s), Some(0xffff_fffe));
        s.information = Some(u64::MAX);
        assert_eq!(signed_information(&s), Some(-1));
    }

    proptest::proptest! {
        /// Whatever sense bytes, residual and request the HBA and drive
        /// report, interpretation returns a value or an error, never
        /// panics, and never claims more bytes than were requested.
        #[test]
        fn read_interpretation_never_panics(
            code in 0x70u8..0x74,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            requested in 0usize..1 << 20,
            residual in proptest::num::usize::ANY,
            block in proptest::option::of(0u32..1 << 20),
            sili in proptest::bool::ANY,
        ) {
            let mode = block.map_or(Mode::Variable, Mode::Fixed);
            let mut raw = vec![code];
            raw.extend_from_slice(&body);
            if let Ok(o) = interpret_read_good(requested, residual, mode, sili) {
                let len = match o {
                    ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => len,
                    _ => 0,
                };
                proptest::prop_assert!(len <= requested);
            }
            if let Ok(sense) = Sense::parse(&raw) {
                for policy in [ResidualPolicy::Strict, ResidualPolicy::TrustSense] {
                    let check = ScsiError::Check { op: "READ(6)", sense: sense.clone(), raw: raw.clone() };
                    if let Ok(i) = interpret_read_check(requested, residual, mode, &sense, check, policy) {
                        let moved = match i.outcome {
                            ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => len,
                            ReadOutcome::LongBlock { copied, .. } => copied,
                            _ => 0,
                        };
                        proptest::prop_assert!(moved <= requested);
                    }
                }
                let check = ScsiError::Check { op: "WRITE(6)", sense: sense.clone(), raw };
                let _ = interpret_write_check(&sense, check);
            }
        }
    }
}
