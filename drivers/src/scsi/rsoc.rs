//! REPORT SUPPORTED OPERATION CODES (SPC-5 6.34): which commands a device
//! implements and, with RCTD, how long each may take. The tape driver takes
//! its per-command timeouts from here when the drive offers them.
//!
//! Decoding honours COMMAND DATA LENGTH: surplus is ignored; data shorter
//! than declared, or a descriptor running past it, is an error.

use super::bytes;
use super::error::DecodeError;
use super::opcodes;

/// REPORTING OPTIONS values.
const ALL: u8 = 0b000;
const ONE_NO_SA: u8 = 0b001;
const ONE_WITH_SA: u8 = 0b010;

/// All-commands form. `rctd` asks for command timeouts descriptors.
pub fn rsoc_all_cdb(rctd: bool, alloc: u32) -> [u8; 12] {
    cdb(rctd, ALL, 0, 0, alloc)
}

/// One-command form: reporting option 001b without a service action,
/// 010b with one.
pub fn rsoc_one_cdb(opcode: u8, service_action: Option<u16>, rctd: bool, alloc: u32) -> [u8; 12] {
    match service_action {
        None => cdb(rctd, ONE_NO_SA, opcode, 0, alloc),
        Some(sa) => cdb(rctd, ONE_WITH_SA, opcode, sa, alloc),
    }
}

fn cdb(rctd: bool, options: u8, opcode: u8, sa: u16, alloc: u32) -> [u8; 12] {
    let s = sa.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        opcodes::MAINTENANCE_IN,
        opcodes::SA_REPORT_SUPPORTED_OPCODES,
        (u8::from(rctd) << 7) | options,
        opcode,
        s[0],
        s[1],
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// Command timeouts descriptor, in seconds (0 = not specified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CommandTimeouts {
    pub nominal_secs: u32,
    pub recommended_secs: u32,
}

impl CommandTimeouts {
    /// Parses the 12-byte descriptor (DESCRIPTOR LENGTH must be 0Ah).
    fn parse(what: &'static str, b: &[u8]) -> Result<CommandTimeouts, DecodeError> {
        let Some(d) = b.get(..12) else {
            return Err(DecodeError::new(
                what,
                format!("command timeouts descriptor cut after {} bytes", b.len()),
            ));
        };
        let len = u16::from_be_bytes([d[0], d[1]]);
        if len != 0x0a {
            return Err(DecodeError::new(
                what,
                format!("command timeouts descriptor length {len}, expected 10"),
            ));
        }
        Ok(CommandTimeouts {
            nominal_secs: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            recommended_secs: u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x00, 0x0a, 0, 0]);
        out.extend_from_slice(&self.nominal_secs.to_be_bytes());
        out.extend_from_slice(&self.recommended_secs.to_be_bytes());
    }
}

/// One entry of the all-commands list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CommandDescriptor {
    pub opcode: u8,
    /// Set when SERVACTV is (the opcode has service actions).
    pub service_action: Option<u16>,
    pub cdb_len: u16,
    pub timeouts: Option<CommandTimeouts>,
}

const WHAT_ALL: &str = "supported operation codes";

/// Parses the all-commands parameter data.
pub fn parse_all_commands(b: &[u8]) -> Result<Vec<CommandDescriptor>, DecodeError> {
    let h = bytes::need(WHAT_ALL, b, 4)?;
    let n = usize::try_from(u32::from_be_bytes([h[0], h[1], h[2], h[3]])).unwrap_or(usize::MAX);
    let mut rest = bytes::declared_body(WHAT_ALL, b, 4, n, "command data length")?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some(d) = rest.get(..8) else {
            return Err(DecodeError::new(
                WHAT_ALL,
                format!("command descriptor cut after {} bytes", rest.len()),
            ));
        };
        let ctdp = d[5] & 0x02 != 0;
        let servactv = d[5] & 0x01 != 0;
        let timeouts = if ctdp {
            Some(CommandTimeouts::parse(WHAT_ALL, &rest[8..])?)
        } else {
            None
        };
        out.push(CommandDescriptor {
            opcode: d[0],
            service_action: servactv.then_some(u16::from_be_bytes([d[2], d[3]])),
            cdb_len: u16::from_be_bytes([d[6], d[7]]),
            timeouts,
        });
        rest = &rest[if ctdp { 20 } else { 8 }..];
    }
    Ok(out)
}

/// The all-commands parameter data a device returns (for device models).
pub fn encode_all_commands(cmds: &[CommandDescriptor]) -> Vec<u8> {
    let mut out = vec![0; 4];
    for c in cmds {
        let sa = c.service_action.unwrap_or(0).to_be_bytes();
        let flags = (u8::from(c.timeouts.is_some()) << 1) | u8::from(c.service_action.is_some());
        out.extend_from_slice(&[c.opcode, 0, sa[0], sa[1], 0, flags]);
        out.extend_from_slice(&c.cdb_len.to_be_bytes());
        if let Some(t) = &c.timeouts {
            t.encode(&mut out);
        }
    }
    let n = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&n.to_be_bytes());
    out
}

/// The descriptor for `opcode` (and service action, if it has them).
pub fn find(
    cmds: &[CommandDescriptor],
    opcode: u8,
    service_action: Option<u16>,
) -> Option<&CommandDescriptor> {
    cmds.iter()
        .find(|c| c.opcode == opcode && c.service_action == service_action)
}

/// SUPPORT field of the one-command form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Support {
    /// 000b: the device cannot tell right now.
    NotAvailable,
    /// 001b.
    NotSupported,
    /// 011b: as the standard defines it.
    Standard,
    /// 101b: in a vendor-specific way.
    VendorSpecific,
    Reserved(u8),
}

/// One-command parameter data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OneCommand {
    pub support: Support,
    /// CDB USAGE DATA: byte 0 is the opcode, then a bit mask of the bits
    /// the device looks at in each CDB byte.
    pub cdb_usage: Vec<u8>,
    pub timeouts: Option<CommandTimeouts>,
}

impl OneCommand {
    pub fn supported(&self) -> bool {
        matches!(self.support, Support::Standard | Support::VendorSpecific)
    }
}

/// Parses the one-command parameter data.
pub fn parse_one_command(b: &[u8]) -> Result<OneCommand, DecodeError> {
    const W: &str = "supported operation code";
    let h = bytes::need(W, b, 4)?;
    let support = match h[1] & 0x07 {
        0b000 => Support::NotAvailable,
        0b001 => Support::NotSupported,
        0b011 => Support::Standard,
        0b101 => Support::VendorSpecific,
        v => Support::Reserved(v),
    };
    let n = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let Some(cdb_usage) = b.get(4..4 + n) else {
        return Err(DecodeError::new(
            W,
            format!("CDB size {n}, only {} usage bytes present", b.len() - 4),
        ));
    };
    let timeouts = if h[1] & 0x80 != 0 {
        Some(CommandTimeouts::parse(W, &b[4 + n..])?)
    } else {
        None
    };
    Ok(OneCommand {
        support,
        cdb_usage: cdb_usage.to_vec(),
        timeouts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(
            rsoc_all_cdb(true, 0x0001_0000),
            [0xa3, 0x0c, 0x80, 0, 0, 0, 0x00, 0x01, 0x00, 0x00, 0, 0]
        );
        assert_eq!(
            rsoc_all_cdb(false, 0x1234),
            [0xa3, 0x0c, 0x00, 0, 0, 0, 0x00, 0x00, 0x12, 0x34, 0, 0]
        );
        assert_eq!(
            rsoc_one_cdb(0x08, None, true, 64),
            [0xa3, 0x0c, 0x81, 0x08, 0, 0, 0, 0, 0, 64, 0, 0]
        );
        assert_eq!(
            rsoc_one_cdb(0x9e, Some(0x0010), false, 64),
            [0xa3, 0x0c, 0x02, 0x9e, 0x00, 0x10, 0, 0, 0, 64, 0, 0]
        );
    }

    /// READ(6) with timeouts, MAINTENANCE IN / RSOC (service action) with
    /// timeouts, LOAD UNLOAD without.
    const ALL_CMDS: [u8; 4 + 20 + 20 + 8] = [
        0x00, 0x00, 0x00, 0x30, // 48 bytes
        0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x06, // READ(6), CTDP
        0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x0e,
        0x10, // 60 s / 3600 s
        0xa3, 0x00, 0x00, 0x0c, 0x00, 0x03, 0x00, 0x0c, // A3h/0Ch, CTDP SERVACTV
        0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, // 0 / 30 s
        0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, // LOAD UNLOAD
    ];

    #[test]
    fn parse_all() {
        let c = parse_all_commands(&ALL_CMDS).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[0],
            CommandDescriptor {
                opcode: 0x08,
                service_action: None,
                cdb_len: 6,
                timeouts: Some(CommandTimeouts {
                    nominal_secs: 60,
                    recommended_secs: 3600
                })
            }
        );
        assert_eq!(c[1].service_action, Some(0x0c));
        assert_eq!(c[1].cdb_len, 12);
        assert_eq!(c[1].timeouts.unwrap().recommended_secs, 30);
        assert_eq!(c[2].timeouts, None);
        assert_eq!(find(&c, 0xa3, Some(0x0c)).unwrap().cdb_len, 12);
        assert!(find(&c, 0xa3, None).is_none());
        assert_eq!(encode_all_commands(&c), ALL_CMDS.to_vec());
    }

    #[test]
    fn parse_all_lengths() {
        let mut b = ALL_CMDS.to_vec();
        b.extend_from_slice(&[0x00; 8]);
        assert_eq!(parse_all_commands(&b).unwrap().len(), 3);
        let e = parse_all_commands(&ALL_CMDS[..40]).unwrap_err();
        assert!(e.detail.contains("truncated"), "{e}");
        // CTDP set but the timeouts descriptor is outside the data.
        let b = [0, 0, 0, 8, 0x08, 0, 0, 0, 0, 0x02, 0, 6];
        assert!(parse_all_commands(&b).is_err());
        // Descriptor cut.
        let b = [0, 0, 0, 4, 0x08, 0, 0, 0];
        assert!(parse_all_commands(&b).is_err());
        // Wrong timeouts descriptor length.
        let mut b = ALL_CMDS;
        b[13] = 0x0b;
        assert!(parse_all_commands(&b).is_err());
        assert!(parse_all_commands(&[0, 0]).is_err());
        assert_eq!(parse_all_commands(&[0, 0, 0, 0]).unwrap(), vec![]);
    }

    #[test]
    fn one_command() {
        let b = [
            0x00, 0x83, 0x00, 0x06, 0x08, 0x03, 0xff, 0xff, 0xff, 0x07, // READ(6) usage
            0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x78,
        ];
        let o = parse_one_command(&b).unwrap();
        assert_eq!(o.support, Support::Standard);
        assert!(o.supported());
        assert_eq!(o.cdb_usage, vec![0x08, 0x03, 0xff, 0xff, 0xff, 0x07]);
        assert_eq!(
            o.timeouts,
            Some(CommandTimeouts {
                nominal_secs: 60,
                recommended_secs: 120
            })
        );
        let o = parse_one_command(&[0, 0x01, 0, 0]).unwrap();
        assert_eq!(o.support, Support::NotSupported);
        assert!(!o.supported());
        assert_eq!(
            parse_one_command(&[0, 0x05, 0, 0]).unwrap().support,
            Support::VendorSpecific
        );
        assert_eq!(
            parse_one_command(&[0, 0x02, 0, 0]).unwrap().support,
            Support::Reserved(2)
        );
        assert!(parse_one_command(&b[..8]).is_err());
        assert!(parse_one_command(&b[..20]).is_err());
        assert!(parse_one_command(&[0, 3]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_all_commands(&b);
            let _ = parse_one_command(&b);
        }

        #[test]
        fn round_trip(cmds in proptest::collection::vec(
            (any::<u8>(), proptest::option::of(any::<u16>()), any::<u16>(),
             proptest::option::of((any::<u32>(), any::<u32>()))), 0..10)
        ) {
            let cmds: Vec<CommandDescriptor> = cmds
                .into_iter()
                .map(|(opcode, service_action, cdb_len, t)| CommandDescriptor {
                    opcode,
                    service_action,
                    cdb_len,
                    timeouts: t.map(|(n, r)| CommandTimeouts { nominal_secs: n, recommended_secs: r }),
                })
                .collect();
            prop_assert_eq!(parse_all_commands(&encode_all_commands(&cmds)).unwrap(), cmds);
        }
    }
}
