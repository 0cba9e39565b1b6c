//! Sans-I/O full feature phase of the initiator: sequence numbers, one
//! SCSI command at a time (immediate and unsolicited data, R2T answers,
//! Data-In collection, status, sense and residual), target pings.

use crate::scsi::transport::{Completion, DataDirection, ScsiStatus, TransportError};

use super::initiator_login::Limits;
use super::initiator_wire::{
    self as wire, DataIn, OP_ASYNC, OP_DATA_IN, OP_NOP_IN, OP_R2T, OP_REJECT, OP_SCSI_RESPONSE,
    OP_TASK_MGMT_RESPONSE, R2t, RESERVED_TAG, ScsiResponse,
};
use crate::iscsi::pdu::Pdu;

/// `a < b` in 32-bit serial number arithmetic (RFC 1982).
fn sn_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

/// Sequence numbers and limits of one logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub limits: Limits,
    pub lun: [u8; 8],
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    next_itt: u32,
}

/// What a PDU from the target means for the session.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Send this (a NOP-Out answering a ping) and keep waiting.
    Reply(Pdu),
    /// Nothing to do; keep waiting.
    Nothing,
    /// The target asks us to log out or drops the connection.
    Goodbye(String),
}

impl Session {
    pub fn new(
        limits: Limits,
        lun: [u8; 8],
        cmd_sn: u32,
        exp_stat_sn: u32,
        exp_cmd_sn: u32,
        max_cmd_sn: u32,
    ) -> Session {
        Session {
            limits,
            lun,
            cmd_sn,
            exp_stat_sn,
            exp_cmd_sn,
            max_cmd_sn,
            next_itt: 1,
        }
    }

    pub fn new_itt(&mut self) -> u32 {
        let itt = self.next_itt;
        // 0xffffffff is the reserved tag.
        self.next_itt = match itt.wrapping_add(1) {
            RESERVED_TAG => 1,
            n => n,
        };
        itt
    }

    /// Whether the target's window admits a new non-immediate command.
    pub fn window_open(&self) -> bool {
        !sn_lt(self.max_cmd_sn, self.cmd_sn)
    }

    /// Takes ExpCmdSN/MaxCmdSN from a target PDU (RFC 7143 4.2.2.1: only
    /// when MaxCmdSN + 1 >= ExpCmdSN, and never backwards).
    fn update_window(&mut self, p: &Pdu) {
        let exp = wire::exp_cmd_sn(p);
        let max = wire::max_cmd_sn(p);
        if sn_lt(max.wrapping_add(1), exp) {
            return;
        }
        if sn_lt(self.exp_cmd_sn, exp) {
            self.exp_cmd_sn = exp;
        }
        if sn_lt(self.max_cmd_sn, max) {
            self.max_cmd_sn = max;
        }
    }

    /// Status-carrying PDUs advance ExpStatSN.
    fn saw_stat_sn(&mut self, stat_sn: u32) {
        let next = stat_sn.wrapping_add(1);
        if sn_lt(self.exp_stat_sn, next) {
            self.exp_stat_sn = next;
        }
    }

    /// Handles PDUs that are not part of a command: NOP-In and
    /// asynchronous messages. `None`: the PDU belongs to a command.
    pub fn on_session_pdu(&mut self, p: &Pdu) -> Option<Event> {
        match wire::opcode(p) {
            OP_NOP_IN => {
                self.update_window(p);
                let ttt = wire::ttt(p);
                if wire::itt(p) != RESERVED_TAG {
                    // Answer to our own ping.
                    self.saw_stat_sn(wire::stat_sn(p));
                }
                if ttt == RESERVED_TAG {
                    return Some(Event::Nothing);
                }
                let mut lun = [0u8; 8];
                lun.copy_from_slice(&p.bhs[8..16]);
                Some(Event::Reply(wire::nop_out(
                    lun,
                    RESERVED_TAG,
                    ttt,
                    self.cmd_sn,
                    self.exp_stat_sn,
                )))
            }
            OP_ASYNC => {
                self.update_window(p);
                self.saw_stat_sn(wire::stat_sn(p));
                match p.bhs[36] {
                    // SCSI asynchronous event: sense in the data segment;
                    // the unit attention will come with the next command.
                    0 => Some(Event::Nothing),
                    1 => Some(Event::Goodbye("target requests logout".into())),
                    2 | 3 => Some(Event::Goodbye("target drops the connection".into())),
                    _ => Some(Event::Nothing),
                }
            }
            _ => None,
        }
    }

    /// Starts a command: the SCSI Command PDU with immediate data, then
    /// unsolicited Data-Out up to FirstBurstLength.
    pub fn begin<'a>(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'a>,
    ) -> Result<(Exchange<'a>, Vec<Pdu>), TransportError> {
        if cdb.is_empty() || cdb.len() > 16 {
            // Longer CDBs need an extended-CDB AHS; no tape command has one.
            return Err(TransportError::Other(format!(
                "CDB of {} bytes not supported over iSCSI (1..=16)",
                cdb.len()
            )));
        }
        let requested = data.len();
        let expected = u32::try_from(requested).map_err(|_| TransportError::TooLarge {
            requested,
            max: u32::MAX as usize,
        })?;
        let mut padded = [0u8; 16];
        padded[..cdb.len()].copy_from_slice(cdb);
        let itt = self.new_itt();
        let cmd_sn = self.cmd_sn;
        self.cmd_sn = self.cmd_sn.wrapping_add(1);
        let l = self.limits;
        let mut pdus = Vec::new();
        let (read, write) = match &data {
            DataDirection::None => (false, false),
            DataDirection::ToDevice(_) => (false, true),
            DataDirection::FromDevice(_) => (true, false),
        };
        let mut sent = 0usize;
        let mut unsolicited_end = 0usize;
        let mut immediate = Vec::new();
        if let DataDirection::ToDevice(buf) = &data {
            if !l.initial_r2t || l.immediate_data {
                unsolicited_end = requested.min(l.first_burst_length as usize);
            }
            if l.immediate_data {
                let n = unsolicited_end.min(l.max_send_segment as usize);
                immediate = buf[..n].to_vec();
                sent = n;
            }
            if l.initial_r2t {
                // Only immediate data is unsolicited.
                unsolicited_end = sent;
            }
        }
        let more_unsolicited = sent < unsolicited_end;
        pdus.push(wire::scsi_command(
            self.lun,
            itt,
            cmd_sn,
            self.exp_stat_sn,
            &padded,
            read,
            write,
            expected,
            !more_unsolicited,
            immediate,
        ));
        if let DataDirection::ToDevice(buf) = &data {
            let mut data_sn = 0;
            while sent < unsolicited_end {
                let n = (unsolicited_end - sent).min(l.max_send_segment as usize);
                let last = sent + n == unsolicited_end;
                pdus.push(wire::data_out(
                    self.lun,
                    itt,
                    RESERVED_TAG,
                    self.exp_stat_sn,
                    data_sn,
                    sent as u32,
                    last,
                    buf[sent..sent + n].to_vec(),
                ));
                data_sn += 1;
                sent += n;
            }
        }
        Ok((
            Exchange {
                itt,
                cmd_sn,
                data,
                requested,
                received: 0,
                next_data_sn: 0,
            },
            pdus,
        ))
    }

    /// Feeds one PDU of the running command.
    pub fn on_command_pdu(
        &mut self,
        ex: &mut Exchange<'_>,
        p: &Pdu,
    ) -> Result<Progress, TransportError> {
        let proto = |m: String| TransportError::Other(format!("iSCSI protocol error: {m}"));
        let op = wire::opcode(p);
        if matches!(op, OP_DATA_IN | OP_SCSI_RESPONSE | OP_R2T) && wire::itt(p) != ex.itt {
            return Err(proto(format!(
                "PDU 0x{op:02x} for unknown task 0x{:08x}",
                wire::itt(p)
            )));
        }
        match op {
            OP_DATA_IN => {
                self.update_window(p);
                let d = DataIn::from_pdu(p);
                if d.data_sn != ex.next_data_sn {
                    return Err(proto(format!(
                        "Data-In DataSN {} where {} was expected",
                        d.data_sn, ex.next_data_sn
                    )));
                }
                ex.next_data_sn = ex.next_data_sn.wrapping_add(1);
                let DataDirection::FromDevice(buf) = &mut ex.data else {
                    if p.data.is_empty() && d.status.is_some() {
                        return self.finish_from_data_in(ex, &d, p);
                    }
                    return Err(proto("Data-In for a command without a read buffer".into()));
                };
                let off = d.offset as usize;
                let end = off.checked_add(p.data.len()).filter(|e| *e <= buf.len());
                let Some(end) = end else {
                    return Err(proto(format!(
                        "Data-In of {} bytes at offset {off} overruns the {}-byte buffer",
                        p.data.len(),
                        buf.len()
                    )));
                };
                buf[off..end].copy_from_slice(&p.data);
                ex.received += p.data.len();
                if d.status.is_some() {
                    return self.finish_from_data_in(ex, &d, p);
                }
                Ok(Progress::Pending(Vec::new()))
            }
            OP_R2T => {
                self.update_window(p);
                let r = R2t::from_pdu(p);
                let DataDirection::ToDevice(buf) = &ex.data else {
                    return Err(proto("R2T for a command that writes nothing".into()));
                };
                let off = r.offset as usize;
                let end = off
                    .checked_add(r.length as usize)
                    .filter(|e| *e <= buf.len() && r.length > 0);
                let Some(end) = end else {
                    return Err(proto(format!(
                        "R2T for {} bytes at offset {off} outside the {}-byte buffer",
                        r.length,
                        buf.len()
                    )));
                };
                let seg = self.limits.max_send_segment as usize;
                let mut pdus = Vec::new();
                let mut at = off;
                let mut data_sn = 0;
                while at < end {
                    let n = (end - at).min(seg);
                    pdus.push(wire::data_out(
                        self.lun,
                        ex.itt,
                        r.ttt,
                        self.exp_stat_sn,
                        data_sn,
                        at as u32,
                        at + n == end,
                        buf[at..at + n].to_vec(),
                    ));
                    data_sn += 1;
                    at += n;
                }
                Ok(Progress::Pending(pdus))
            }
            OP_SCSI_RESPONSE => {
                self.update_window(p);
                self.saw_stat_sn(wire::stat_sn(p));
                let r = ScsiResponse::from_pdu(p);
                if r.response != 0 {
                    return Err(TransportError::Other(format!(
                        "iSCSI target failure (response 0x{:02x})",
                        r.response
                    )));
                }
                let sense = wire::sense_from_segment(&p.data);
                self.complete(ex, r.status, r.overflow, r.underflow, r.residual, sense)
            }
            OP_REJECT => Err(proto(format!(
                "target rejected a PDU (reason 0x{:02x})",
                p.bhs[2]
            ))),
            OP_TASK_MGMT_RESPONSE => Ok(Progress::Pending(Vec::new())),
            other => Err(proto(format!("unexpected PDU opcode 0x{other:02x}"))),
        }
    }

    fn finish_from_data_in(
        &mut self,
        ex: &Exchange<'_>,
        d: &DataIn,
        p: &Pdu,
    ) -> Result<Progress, TransportError> {
        self.saw_stat_sn(wire::stat_sn(p));
        let status = d.status.unwrap_or(0);
        self.complete(ex, status, d.overflow, d.underflow, d.residual, Vec::new())
    }

    fn complete(
        &self,
        ex: &Exchange<'_>,
        status: u8,
        overflow: bool,
        underflow: bool,
        residual: u32,
        sense: Vec<u8>,
    ) -> Result<Progress, TransportError> {
        let residual = residual as usize;
        if overflow {
            return Err(TransportError::ResidualMismatch {
                requested: ex.requested,
                residual,
                detail: "target reports an overflow: the device had more data than the buffer"
                    .into(),
            });
        }
        let residual = if underflow { residual } else { 0 };
        if residual > ex.requested {
            return Err(TransportError::ResidualMismatch {
                requested: ex.requested,
                residual,
                detail: "underflow larger than the request".into(),
            });
        }
        Ok(Progress::Done(Completion {
            status: ScsiStatus(status),
            sense,
            residual,
        }))
    }

    /// ABORT TASK for a command that timed out (immediate: CmdSN not
    /// advanced).
    pub fn abort(&mut self, ex: &Exchange<'_>) -> (u32, Pdu) {
        let itt = self.new_itt();
        let pdu = wire::abort_task(
            self.lun,
            itt,
            ex.itt,
            self.cmd_sn,
            self.exp_stat_sn,
            ex.cmd_sn,
        );
        (itt, pdu)
    }
}

/// One command in flight.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub itt: u32,
    pub cmd_sn: u32,
    data: DataDirection<'a>,
    requested: usize,
    /// Data-In bytes received.
    pub received: usize,
    next_data_sn: u32,
}

/// Progress of a command after one PDU.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// Send these (possibly nothing) and keep reading.
    Pending(Vec<Pdu>),
    Done(Completion),
}
