//! The command table (one entry per opcode, as tgt's per-device tables) and
//! the checks every command goes through before its handler: CDB length,
//! reserved bits (from the same usage masks RSOC reports), unit attention,
//! injected faults, becoming ready and medium presence.

use reel_drivers::scsi::opcodes as op;
use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::sense::{Fail, HResult, invalid_cdb_field, invalid_opcode, no_medium, not_ready};
use super::{Drive, InitiatorId, MediumState};
use super::{attributes, density, inquiry, log, mode, position, report, rw};

/// What a handler sees of one command.
pub struct Ctx<'a> {
    pub initiator: InitiatorId,
    pub cdb: &'a [u8],
    pub data_out: &'a [u8],
    pub data_in: &'a mut [u8],
}

impl Ctx<'_> {
    /// Copies `bytes` to the data-in buffer, truncated to the allocation
    /// length and the buffer; returns the count.
    pub fn reply(&mut self, bytes: &[u8], alloc: usize) -> usize {
        let n = bytes.len().min(alloc).min(self.data_in.len());
        self.data_in[..n].copy_from_slice(&bytes[..n]);
        n
    }

    /// CDB byte `i` (0 past the end: lengths are checked before handlers).
    pub fn b(&self, i: usize) -> u8 {
        self.cdb.get(i).copied().unwrap_or(0)
    }

    pub fn be16(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.b(i), self.b(i + 1)])
    }

    pub fn be24(&self, i: usize) -> u32 {
        u32::from_be_bytes([0, self.b(i), self.b(i + 1), self.b(i + 2)])
    }

    pub fn be32(&self, i: usize) -> u32 {
        u32::from_be_bytes([self.b(i), self.b(i + 1), self.b(i + 2), self.b(i + 3)])
    }

    pub fn be64(&self, i: usize) -> u64 {
        let mut v = 0u64;
        for k in 0..8 {
            v = (v << 8) | u64::from(self.b(i + k));
        }
        v
    }
}

pub type Handler = fn(&mut Drive, &mut Ctx<'_>) -> HResult;

/// One supported command.
pub struct Command {
    pub opcode: u8,
    /// Service action (MAINTENANCE IN only).
    pub service_action: Option<u8>,
    pub name: &'static str,
    /// CDB usage data as REPORT SUPPORTED OPERATION CODES returns it: byte 0
    /// is the opcode, then every bit the drive interprets. Its length is the
    /// CDB length; any other bit set is rejected with 24/00.
    pub usage: &'static [u8],
    pub handler: Handler,
    /// NOT READY (3A/00, 04/01) applies before the handler runs.
    pub needs_medium: bool,
    /// Exempt from unit attention (INQUIRY, REPORT LUNS, REQUEST SENSE).
    pub ua_exempt: bool,
    /// Runs while an immediate operation is in progress.
    pub while_busy: bool,
    /// Nominal and recommended timeouts in seconds (RSOC with RCTD).
    pub timeouts: (u32, u32),
}

macro_rules! cmd {
    ($op:expr, $name:expr, $usage:expr, $h:expr, medium: $m:expr, ua_exempt: $u:expr, busy: $b:expr, $t:expr) => {
        Command {
            opcode: $op,
            service_action: None,
            name: $name,
            usage: $usage,
            handler: $h,
            needs_medium: $m,
            ua_exempt: $u,
            while_busy: $b,
            timeouts: $t,
        }
    };
}

/// The SSC drive's command table, in opcode order.
pub static COMMANDS: &[Command] = &[
    cmd!(op::TEST_UNIT_READY, "TEST UNIT READY", &[0x00, 0, 0, 0, 0, 0], report::test_unit_ready,
        medium: true, ua_exempt: false, busy: false, (0, 10)),
    cmd!(op::REWIND, "REWIND", &[0x01, 0x01, 0, 0, 0, 0], position::rewind,
        medium: true, ua_exempt: false, busy: false, (0, 600)),
    cmd!(op::REQUEST_SENSE, "REQUEST SENSE", &[0x03, 0x01, 0, 0, 0xff, 0], report::request_sense,
        medium: false, ua_exempt: true, busy: true, (0, 10)),
    cmd!(op::READ_BLOCK_LIMITS, "READ BLOCK LIMITS", &[0x05, 0x01, 0, 0, 0, 0], report::read_block_limits,
        medium: false, ua_exempt: false, busy: true, (0, 10)),
    cmd!(op::READ_6, "READ(6)", &[0x08, 0x03, 0xff, 0xff, 0xff, 0], rw::read6,
        medium: true, ua_exempt: false, busy: false, (0, 1800)),
    cmd!(op::WRITE_6, "WRITE(6)", &[0x0a, 0x01, 0xff, 0xff, 0xff, 0], rw::write6,
        medium: true, ua_exempt: false, busy: false, (0, 1800)),
    cmd!(op::WRITE_FILEMARKS_6, "WRITE FILEMARKS(6)", &[0x10, 0x03, 0xff, 0xff, 0xff, 0], rw::write_filemarks6,
        medium: true, ua_exempt: false, busy: false, (0, 1800)),
    cmd!(op::SPACE_6, "SPACE(6)", &[0x11, 0x0f, 0xff, 0xff, 0xff, 0], position::space6,
        medium: true, ua_exempt: false, busy: false, (0, 2400)),
    cmd!(op::INQUIRY, "INQUIRY", &[0x12, 0x01, 0xff, 0xff, 0xff, 0], inquiry::inquiry,
        medium: false, ua_exempt: true, busy: true, (0, 10)),
    cmd!(op::MODE_SELECT_6, "MODE SELECT(6)", &[0x15, 0x11, 0, 0, 0xff, 0], mode::mode_select6,
        medium: false, ua_exempt: false, busy: false, (0, 60)),
    cmd!(op::ERASE_6, "ERASE(6)", &[0x19, 0x03, 0, 0, 0, 0], rw::erase6,
        medium: true, ua_exempt: false, busy: false, (0, 86400)),
    cmd!(op::MODE_SENSE_6, "MODE SENSE(6)", &[0x1a, 0x08, 0xff, 0xff, 0xff, 0], mode::mode_sense6,
        medium: false, ua_exempt: false, busy: true, (0, 60)),
    cmd!(op::LOAD_UNLOAD, "LOAD UNLOAD", &[0x1b, 0x01, 0, 0, 0x0f, 0], position::load_unload,
        medium: false, ua_exempt: false, busy: false, (0, 900)),
    cmd!(op::PREVENT_ALLOW_MEDIUM_REMOVAL, "PREVENT ALLOW MEDIUM REMOVAL", &[0x1e, 0, 0, 0, 0x03, 0], report::prevent_allow,
        medium: false, ua_exempt: false, busy: true, (0, 10)),
    cmd!(op::LOCATE_10, "LOCATE(10)", &[0x2b, 0x07, 0, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0], position::locate10,
        medium: true, ua_exempt: false, busy: false, (0, 2400)),
    cmd!(op::READ_POSITION, "READ POSITION", &[0x34, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0], position::read_position,
        medium: true, ua_exempt: false, busy: false, (0, 10)),
    cmd!(op::REPORT_DENSITY_SUPPORT, "REPORT DENSITY SUPPORT", &[0x44, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, 0], density::report_density,
        medium: false, ua_exempt: false, busy: true, (0, 10)),
    cmd!(op::LOG_SELECT, "LOG SELECT", &[0x4c, 0x03, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], log::log_select,
        medium: false, ua_exempt: false, busy: true, (0, 60)),
    cmd!(op::LOG_SENSE, "LOG SENSE", &[0x4d, 0x03, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0], log::log_sense,
        medium: false, ua_exempt: false, busy: true, (0, 120)),
    cmd!(op::MODE_SELECT_10, "MODE SELECT(10)", &[0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0], mode::mode_select10,
        medium: false, ua_exempt: false, busy: false, (0, 60)),
    cmd!(op::MODE_SENSE_10, "MODE SENSE(10)", &[0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], mode::mode_sense10,
        medium: false, ua_exempt: false, busy: true, (0, 60)),
    cmd!(op::WRITE_FILEMARKS_16, "WRITE FILEMARKS(16)",
        &[0x80, 0x01, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0], rw::write_filemarks16,
        medium: true, ua_exempt: false, busy: false, (0, 1800)),
    cmd!(op::READ_ATTRIBUTE, "READ ATTRIBUTE",
        &[0x8c, 0x1f, 0, 0, 0, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0], attributes::read_attribute,
        medium: true, ua_exempt: false, busy: false, (0, 120)),
    cmd!(op::WRITE_ATTRIBUTE, "WRITE ATTRIBUTE",
        &[0x8d, 0x01, 0, 0, 0, 0xff, 0, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], attributes::write_attribute,
        medium: true, ua_exempt: false, busy: false, (0, 120)),
    cmd!(op::SPACE_16, "SPACE(16)",
        &[0x91, 0x0f, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0], position::space16,
        medium: true, ua_exempt: false, busy: false, (0, 2400)),
    cmd!(op::LOCATE_16, "LOCATE(16)",
        &[0x92, 0x1b, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], position::locate16,
        medium: true, ua_exempt: false, busy: false, (0, 2400)),
    cmd!(op::REPORT_LUNS, "REPORT LUNS", &[0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], report::report_luns,
        medium: false, ua_exempt: true, busy: true, (0, 10)),
    Command {
        opcode: op::MAINTENANCE_IN,
        service_action: Some(op::SA_REPORT_SUPPORTED_OPCODES),
        name: "REPORT SUPPORTED OPERATION CODES",
        usage: &[
            0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0,
        ],
        handler: report::report_supported_opcodes,
        needs_medium: false,
        ua_exempt: false,
        while_busy: true,
        timeouts: (0, 10),
    },
];

/// The table entry for `opcode` (and service action, for MAINTENANCE IN).
pub fn lookup(opcode: u8, service_action: Option<u8>) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| {
        c.opcode == opcode && (c.service_action.is_none() || c.service_action == service_action)
    })
}

/// Rejects any bit the usage mask does not allow, pointing at the most
/// significant offending bit. Byte 0 (opcode) is skipped; for commands with
/// a service action, byte 1 bits 4..0 are the service action itself.
fn check_reserved(c: &Command, cdb: &[u8]) -> Result<(), Fail> {
    for (i, (&b, &m)) in cdb.iter().zip(c.usage).enumerate().skip(1) {
        let bad = b & !m;
        if bad != 0 {
            let bit = 7 - bad.leading_zeros() as u8;
            return Err(invalid_cdb_field(i, Some(bit)));
        }
    }
    Ok(())
}

/// Runs the common checks, then the handler.
pub fn dispatch(
    d: &mut Drive,
    initiator: InitiatorId,
    cdb: &[u8],
    data_out: &[u8],
    data_in: &mut [u8],
) -> HResult {
    // An initiator seen for the first time since power-on gets 29/00.
    let first_contact = !d.ua.contains_key(&initiator);
    if first_contact {
        d.ua.entry(initiator).or_default().push_back((0x29, 0x00));
        d.touch();
    }
    // A finished immediate operation no longer blocks anything.
    if let Some(b) = d.busy
        && std::time::Instant::now() >= b.until
    {
        d.busy = None;
    }

    let Some(&opcode) = cdb.first() else {
        return Err(invalid_opcode());
    };
    let sa = (opcode == op::MAINTENANCE_IN).then(|| cdb.get(1).copied().unwrap_or(0) & 0x1f);
    let command = lookup(opcode, sa);

    // Unit attention first (SAM-5 5.14), except for the exempt commands.
    let exempt = command.is_some_and(|c| c.ua_exempt);
    if !exempt
        && let Some(q) = d.ua.get_mut(&initiator)
        && let Some((asc, ascq)) = q.pop_front()
    {
        d.touch();
        return Err(Sense::new(SenseKey::UnitAttention, asc, ascq).into());
    }

    let Some(c) = command else {
        return Err(if sa.is_some() {
            invalid_cdb_field(1, Some(4))
        } else {
            invalid_opcode()
        });
    };
    if cdb.len() < c.usage.len() {
        // A CDB shorter than the opcode's length cannot be parsed.
        return Err(invalid_cdb_field(cdb.len(), None));
    }
    let cdb = &cdb[..c.usage.len()];
    check_reserved(c, cdb)?;

    if c.needs_medium {
        if let Some((asc, ascq)) = d.faults.hardware_error {
            d.set_tape_alert(super::faults::TA_HARDWARE_A);
            return Err(Sense::new(SenseKey::HardwareError, asc, ascq).into());
        }
        if let Some((asc, ascq)) = d.faults.not_ready {
            return Err(not_ready(asc, ascq));
        }
    }
    if let Some(b) = d.busy
        && !c.while_busy
    {
        return Err(d.busy_sense(&b, false).into());
    }
    if c.needs_medium {
        match d.medium {
            MediumState::Loaded => {}
            MediumState::Incompatible => {
                return Err(Sense::new(SenseKey::MediumError, 0x30, 0x00).into());
            }
            MediumState::Empty | MediumState::Unloaded => {
                // LOAD works on an unloaded cartridge; its handler checks.
                return Err(no_medium());
            }
        }
    }
    let mut ctx = Ctx {
        initiator,
        cdb,
        data_out,
        data_in,
    };
    (c.handler)(d, &mut ctx)
}
