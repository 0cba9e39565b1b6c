//! The changer's command table (one entry per opcode, as the drive's) and
//! the checks every command passes before its handler: CDB length, reserved
//! bits, unit attention, and readiness of the robot.

use std::ops::{Deref, DerefMut};

use reel_drivers::scsi::opcodes as op;
use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::{Changer, DriveBay, InitiatorId};
use super::{element_status, inquiry, mode, movement, volume_tag};
use crate::drive::dispatch::Ctx as Io;
use crate::drive::sense::{HResult, invalid_cdb_field, invalid_opcode};

/// What a handler sees of one command: the CDB and buffers (with the
/// drive model's helpers) and the drives.
pub struct Ctx<'a, 'b> {
    pub io: Io<'a>,
    pub bay: &'b mut dyn DriveBay,
}

impl<'a> Deref for Ctx<'a, '_> {
    type Target = Io<'a>;
    fn deref(&self) -> &Io<'a> {
        &self.io
    }
}

impl<'a> DerefMut for Ctx<'a, '_> {
    fn deref_mut(&mut self) -> &mut Io<'a> {
        &mut self.io
    }
}

pub type Handler = fn(&mut Changer, &mut Ctx<'_, '_>) -> HResult;

/// One supported command.
pub struct Command {
    pub opcode: u8,
    pub name: &'static str,
    /// CDB usage data (as REPORT SUPPORTED OPERATION CODES would return
    /// it): every bit the changer interprets. Its length is the CDB length.
    pub usage: &'static [u8],
    pub handler: Handler,
    /// Exempt from unit attention (INQUIRY, REPORT LUNS, REQUEST SENSE).
    pub ua_exempt: bool,
    /// Needs the robot: NOT READY while offline, door open or inventorying.
    pub needs_ready: bool,
}

macro_rules! cmd {
    ($op:expr, $name:expr, $usage:expr, $h:expr, ua_exempt: $u:expr, ready: $r:expr) => {
        Command {
            opcode: $op,
            name: $name,
            usage: $usage,
            handler: $h,
            ua_exempt: $u,
            needs_ready: $r,
        }
    };
}

/// The SMC changer's command table, in opcode order.
pub static COMMANDS: &[Command] = &[
    cmd!(op::TEST_UNIT_READY, "TEST UNIT READY", &[0x00, 0, 0, 0, 0, 0], inquiry::test_unit_ready,
        ua_exempt: false, ready: true),
    cmd!(op::REQUEST_SENSE, "REQUEST SENSE", &[0x03, 0x01, 0, 0, 0xff, 0], inquiry::request_sense,
        ua_exempt: true, ready: false),
    cmd!(op::INITIALIZE_ELEMENT_STATUS, "INITIALIZE ELEMENT STATUS", &[0x07, 0, 0, 0, 0, 0],
        movement::initialize_element_status, ua_exempt: false, ready: true),
    cmd!(op::INQUIRY, "INQUIRY", &[0x12, 0x01, 0xff, 0xff, 0xff, 0], inquiry::inquiry,
        ua_exempt: true, ready: false),
    cmd!(op::MODE_SELECT_6, "MODE SELECT(6)", &[0x15, 0x11, 0, 0, 0xff, 0], mode::mode_select6,
        ua_exempt: false, ready: false),
    cmd!(op::MODE_SENSE_6, "MODE SENSE(6)", &[0x1a, 0x08, 0xff, 0xff, 0xff, 0], mode::mode_sense6,
        ua_exempt: false, ready: false),
    cmd!(op::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT, "OPEN/CLOSE IMPORT/EXPORT ELEMENT",
        &[0x1b, 0, 0xff, 0xff, 0x1f, 0], movement::open_close_import_export,
        ua_exempt: false, ready: true),
    cmd!(op::PREVENT_ALLOW_MEDIUM_REMOVAL, "PREVENT ALLOW MEDIUM REMOVAL", &[0x1e, 0, 0, 0, 0x03, 0],
        movement::prevent_allow, ua_exempt: false, ready: false),
    cmd!(op::POSITION_TO_ELEMENT, "POSITION TO ELEMENT",
        &[0x2b, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0], movement::position_to_element,
        ua_exempt: false, ready: true),
    cmd!(op::INITIALIZE_ELEMENT_STATUS_WITH_RANGE, "INITIALIZE ELEMENT STATUS WITH RANGE",
        &[0x37, 0x03, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0], movement::initialize_element_status_with_range,
        ua_exempt: false, ready: true),
    cmd!(op::MODE_SELECT_10, "MODE SELECT(10)", &[0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0], mode::mode_select10,
        ua_exempt: false, ready: false),
    cmd!(op::MODE_SENSE_10, "MODE SENSE(10)", &[0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0], mode::mode_sense10,
        ua_exempt: false, ready: false),
    cmd!(op::REPORT_LUNS, "REPORT LUNS", &[0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0], inquiry::report_luns,
        ua_exempt: true, ready: false),
    cmd!(op::MOVE_MEDIUM, "MOVE MEDIUM",
        &[0xa5, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0], movement::move_medium,
        ua_exempt: false, ready: true),
    cmd!(op::EXCHANGE_MEDIUM, "EXCHANGE MEDIUM",
        &[0xa6, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0], movement::exchange_medium,
        ua_exempt: false, ready: true),
    cmd!(0xb5, "REQUEST VOLUME ELEMENT ADDRESS",
        &[0xb5, 0x1f, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0, 0], volume_tag::request_volume_element_address,
        ua_exempt: false, ready: true),
    cmd!(op::SEND_VOLUME_TAG, "SEND VOLUME TAG",
        &[0xb6, 0x0f, 0xff, 0xff, 0, 0x1f, 0, 0, 0xff, 0xff, 0, 0], volume_tag::send_volume_tag,
        ua_exempt: false, ready: true),
    cmd!(op::READ_ELEMENT_STATUS, "READ ELEMENT STATUS",
        &[0xb8, 0x1f, 0xff, 0xff, 0xff, 0xff, 0x03, 0xff, 0xff, 0xff, 0, 0], element_status::read_element_status,
        ua_exempt: false, ready: true),
];

/// The table entry for `opcode`.
pub fn lookup(opcode: u8) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.opcode == opcode)
}

/// Rejects any bit the usage mask does not allow, pointing at the most
/// significant offending bit (byte 0, the opcode, is skipped).
fn check_reserved(c: &Command, cdb: &[u8]) -> HResult {
    for (i, (&b, &m)) in cdb.iter().zip(c.usage).enumerate().skip(1) {
        let bad = b & !m;
        if bad != 0 {
            let bit = 7 - bad.leading_zeros() as u8;
            return Err(invalid_cdb_field(i, Some(bit)));
        }
    }
    Ok(0)
}

/// Runs the common checks, then the handler.
pub fn dispatch(
    ch: &mut Changer,
    bay: &mut dyn DriveBay,
    initiator: InitiatorId,
    cdb: &[u8],
    data_out: &[u8],
    data_in: &mut [u8],
) -> HResult {
    if !ch.ua.contains_key(&initiator) {
        ch.ua.entry(initiator).or_default().push_back((0x29, 0x00));
        ch.touch();
    }
    if let Some((_, until)) = ch.becoming_ready
        && std::time::Instant::now() >= until
    {
        ch.becoming_ready = None;
    }
    let Some(&opcode) = cdb.first() else {
        return Err(invalid_opcode());
    };
    let command = lookup(opcode);
    // Unit attention first (SAM-5 5.14), except for the exempt commands.
    if !command.is_some_and(|c| c.ua_exempt)
        && let Some(q) = ch.ua.get_mut(&initiator)
        && let Some((asc, ascq)) = q.pop_front()
    {
        ch.touch();
        return Err(Sense::new(SenseKey::UnitAttention, asc, ascq).into());
    }
    let Some(c) = command else {
        return Err(invalid_opcode());
    };
    if cdb.len() < c.usage.len() {
        return Err(invalid_cdb_field(cdb.len(), None));
    }
    let cdb = &cdb[..c.usage.len()];
    check_reserved(c, cdb)?;
    if c.needs_ready
        && let Some(s) = ch.not_ready_sense()
    {
        return Err(s.into());
    }
    let mut ctx = Ctx {
        io: Io {
            initiator,
            cdb,
            data_out,
            data_in,
        },
        bay,
    };
    (c.handler)(ch, &mut ctx)
}
