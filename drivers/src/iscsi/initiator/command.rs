//! Sans-I/O full feature phase of the initiator: sequence numbers, one
//! SCSI command at a time (immediate and unsolicited data, R2T answers,
//! Data-In collection, status, sense and residual), target pings.

use crate::iscsi::pdu::{
    AsyncEvent, AsyncMessage, DataIn, DataOut, Lun, NopIn, NopOut, Opcode, Pdu, R2T, RESERVED_TAG,
    Reject, ScsiCommand, ScsiResponse, TaskAttr, TaskMgmtRequest, TmfFunction,
};
use crate::iscsi::sn::{sn_le, sn_lt};
use crate::scsi::transport::{Completion, DataDirection, ScsiStatus, TransportError};

use super::login::Limits;

/// Sequence numbers and limits of one logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub limits: Limits,
    pub lun: Lun,
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

fn proto(m: String) -> TransportError {
    TransportError::Other(format!("iSCSI protocol error: {m}"))
}

impl Session {
    pub fn new(
        limits: Limits,
        lun: Lun,
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

    /// Whether the target's window admits a new non-immediate command
    /// (CmdSN <= MaxCmdSN; ExpCmdSN never passes our CmdSN).
    pub fn window_open(&self) -> bool {
        sn_le(self.cmd_sn, self.max_cmd_sn)
    }

    /// Takes ExpCmdSN/MaxCmdSN from a target PDU (RFC 7143 4.2.2.1: only
    /// when MaxCmdSN + 1 >= ExpCmdSN, and never backwards).
    fn update_window(&mut self, exp: u32, max: u32) {
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
        match p.opcode() {
            Ok(Opcode::NopIn) => {
                let n = match NopIn::from_pdu(p) {
                    Ok(n) => n,
                    Err(e) => return Some(Event::Goodbye(format!("bad NOP-In: {e}"))),
                };
                self.update_window(n.exp_cmd_sn, n.max_cmd_sn);
                if n.itt != RESERVED_TAG {
                    // Answer to our own ping.
                    self.saw_stat_sn(n.stat_sn);
                }
                if !n.wants_reply() {
                    return Some(Event::Nothing);
                }
                Some(Event::Reply(
                    NopOut::answer(&n, self.cmd_sn, self.exp_stat_sn).into_pdu(),
                ))
            }
            Ok(Opcode::AsyncMessage) => {
                let a = match AsyncMessage::from_pdu(p) {
                    Ok(a) => a,
                    Err(e) => return Some(Event::Goodbye(format!("bad async message: {e}"))),
                };
                self.update_window(a.exp_cmd_sn, a.max_cmd_sn);
                self.saw_stat_sn(a.stat_sn);
                match a.event {
                    // SCSI asynchronous event: sense in the data segment;
                    // the unit attention will come with the next command.
                    AsyncEvent::ScsiEvent => Some(Event::Nothing),
                    AsyncEvent::LogoutRequested => {
                        Some(Event::Goodbye("target requests logout".into()))
                    }
                    AsyncEvent::ConnectionDrop | AsyncEvent::SessionDrop => {
                        Some(Event::Goodbye("target drops the connection".into()))
                    }
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
        let itt = self.new_itt();
        let cmd_sn = self.cmd_sn;
        self.cmd_sn = self.cmd_sn.wrapping_add(1);
        let l = self.limits;
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
        let mut cmd = ScsiCommand {
            final_bit: sent >= unsolicited_end,
            read,
            write,
            attr: TaskAttr::Simple,
            lun: self.lun,
            itt,
            expected_len: expected,
            cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            data: immediate,
            ..ScsiCommand::default()
        };
        cmd.set_cdb(cdb);
        let mut pdus = vec![cmd.into_pdu()];
        if let DataDirection::ToDevice(buf) = &data {
            pdus.extend(self.data_outs(itt, RESERVED_TAG, buf, sent, unsolicited_end));
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

    /// Data-Out PDUs for `buf[from..to]` (one sequence: DataSN from 0, F on
    /// the last), each at most the target's MaxRecvDataSegmentLength.
    fn data_outs(&self, itt: u32, ttt: u32, buf: &[u8], from: usize, to: usize) -> Vec<Pdu> {
        let seg = (self.limits.max_send_segment as usize).max(1);
        let mut pdus = Vec::new();
        let mut at = from;
        let mut data_sn = 0u32;
        while at < to {
            let n = (to - at).min(seg);
            pdus.push(
                DataOut {
                    final_bit: at + n == to,
                    lun: self.lun,
                    itt,
                    ttt,
                    exp_stat_sn: self.exp_stat_sn,
                    data_sn,
                    buffer_offset: at as u32,
                    data: buf[at..at + n].to_vec(),
                }
                .into_pdu(),
            );
            data_sn = data_sn.wrapping_add(1);
            at += n;
        }
        pdus
    }

    /// Feeds one PDU of the running command.
    pub fn on_command_pdu(
        &mut self,
        ex: &mut Exchange<'_>,
        p: Pdu,
    ) -> Result<Progress, TransportError> {
        let op = p.opcode_byte();
        let bad = |e: crate::iscsi::pdu::PduError| proto(format!("bad PDU 0x{op:02x}: {e}"));
        let ours = |itt: u32| {
            if itt == ex.itt {
                Ok(())
            } else {
                Err(proto(format!(
                    "PDU 0x{op:02x} for unknown task 0x{itt:08x}"
                )))
            }
        };
        match Opcode::from_u8(op) {
            Some(Opcode::DataIn) => {
                let d = DataIn::from_owned(p).map_err(bad)?;
                ours(d.itt)?;
                self.update_window(d.exp_cmd_sn, d.max_cmd_sn);
                if d.data_sn != ex.next_data_sn {
                    return Err(proto(format!(
                        "Data-In DataSN {} where {} was expected",
                        d.data_sn, ex.next_data_sn
                    )));
                }
                ex.next_data_sn = ex.next_data_sn.wrapping_add(1);
                let DataDirection::FromDevice(buf) = &mut ex.data else {
                    if d.data.is_empty() && d.status_present {
                        return self.finish_from_data_in(ex, &d);
                    }
                    return Err(proto("Data-In for a command without a read buffer".into()));
                };
                let off = d.buffer_offset as usize;
                let end = off.checked_add(d.data.len()).filter(|e| *e <= buf.len());
                let Some(end) = end else {
                    return Err(proto(format!(
                        "Data-In of {} bytes at offset {off} overruns the {}-byte buffer",
                        d.data.len(),
                        buf.len()
                    )));
                };
                buf[off..end].copy_from_slice(&d.data);
                ex.received += d.data.len();
                if d.status_present {
                    return self.finish_from_data_in(ex, &d);
                }
                Ok(Progress::Pending(Vec::new()))
            }
            Some(Opcode::R2T) => {
                let r = R2T::from_pdu(&p).map_err(bad)?;
                ours(r.itt)?;
                self.update_window(r.exp_cmd_sn, r.max_cmd_sn);
                let DataDirection::ToDevice(buf) = &ex.data else {
                    return Err(proto("R2T for a command that writes nothing".into()));
                };
                let off = r.buffer_offset as usize;
                let end = off
                    .checked_add(r.desired_len as usize)
                    .filter(|e| *e <= buf.len() && r.desired_len > 0);
                let Some(end) = end else {
                    return Err(proto(format!(
                        "R2T for {} bytes at offset {off} outside the {}-byte buffer",
                        r.desired_len,
                        buf.len()
                    )));
                };
                Ok(Progress::Pending(
                    self.data_outs(ex.itt, r.ttt, buf, off, end),
                ))
            }
            Some(Opcode::ScsiResponse) => {
                let r = ScsiResponse::from_owned(p).map_err(bad)?;
                ours(r.itt)?;
                self.update_window(r.exp_cmd_sn, r.max_cmd_sn);
                self.saw_stat_sn(r.stat_sn);
                if r.response != 0 {
                    return Err(TransportError::Other(format!(
                        "iSCSI target failure (response 0x{:02x})",
                        r.response
                    )));
                }
                self.complete(ex, r.status, r.overflow, r.underflow, r.residual, r.sense)
            }
            Some(Opcode::Reject) => {
                let r = Reject::from_owned(p).map_err(bad)?;
                Err(proto(format!(
                    "target rejected a PDU (reason 0x{:02x})",
                    u8::from(r.reason)
                )))
            }
            Some(Opcode::TaskMgmtResponse) => Ok(Progress::Pending(Vec::new())),
            _ => Err(proto(format!("unexpected PDU opcode 0x{op:02x}"))),
        }
    }

    fn finish_from_data_in(
        &mut self,
        ex: &Exchange<'_>,
        d: &DataIn,
    ) -> Result<Progress, TransportError> {
        self.saw_stat_sn(d.stat_sn);
        self.complete(
            ex,
            d.status,
            d.overflow,
            d.underflow,
            d.residual,
            Vec::new(),
        )
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
        let pdu = TaskMgmtRequest {
            immediate: true,
            function: TmfFunction::AbortTask,
            lun: self.lun,
            itt,
            referenced_task_tag: ex.itt,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            ref_cmd_sn: ex.cmd_sn,
            exp_data_sn: 0,
        }
        .into_pdu();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_digest: false,
            data_digest: false,
            immediate_data: true,
            initial_r2t: false,
            first_burst_length: 8,
            max_burst_length: 64,
            max_send_segment: 4,
            max_recv_segment: 1 << 18,
        }
    }

    fn session() -> Session {
        Session::new(limits(), Lun::peripheral(1), 10, 3, 10, 20)
    }

    /// A target PDU from its first 48 bytes written out.
    fn pdu(bhs: &[(usize, &[u8])], data: &[u8]) -> Pdu {
        let mut b = [0u8; 48];
        for (at, bytes) in bhs {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        b[5..8].copy_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        Pdu {
            bhs: b,
            ahs: vec![],
            data: data.to_vec(),
        }
    }

    #[test]
    fn read_collects_data_in_and_status() {
        let mut s = session();
        let mut buf = [0u8; 8];
        let (mut ex, out) = s
            .begin(&[0x08, 0, 0, 0, 8, 0], DataDirection::FromDevice(&mut buf))
            .unwrap();
        assert_eq!(out.len(), 1);
        // F + R + SIMPLE, EDTL 8, CmdSN 10, ExpStatSN 3, CDB.
        assert_eq!(&out[0].bhs[..2], &[0x01, 0xc1]);
        assert_eq!(
            &out[0].bhs[16..32],
            &[0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 10, 0, 0, 0, 3]
        );
        assert_eq!(&out[0].bhs[32..38], &[0x08, 0, 0, 0, 8, 0]);
        assert_eq!(s.cmd_sn, 11);
        // Second half first (offsets may arrive in any order is not
        // allowed with DataPDUInOrder, but bounds are what matter here).
        let d0 = pdu(
            &[
                (0, &[0x25, 0x00]),
                (16, &[0, 0, 0, 1]),
                (28, &[0, 0, 0, 11]),
                (32, &[0, 0, 0, 30]),
            ],
            b"abcd",
        );
        assert_eq!(
            s.on_command_pdu(&mut ex, d0).unwrap(),
            Progress::Pending(vec![])
        );
        assert_eq!(s.max_cmd_sn, 30);
        // Final Data-In with status GOOD, underflow residual 2.
        let d1 = pdu(
            &[
                (0, &[0x25, 0x83, 0, 0]),
                (16, &[0, 0, 0, 1]),
                (24, &[0, 0, 0, 3]),
                (28, &[0, 0, 0, 11]),
                (32, &[0, 0, 0, 30]),
                (36, &[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]),
            ],
            b"ef",
        );
        assert_eq!(
            s.on_command_pdu(&mut ex, d1).unwrap(),
            Progress::Done(Completion::good(2))
        );
        assert_eq!(s.exp_stat_sn, 4);
        assert_eq!(&buf, b"abcdef\0\0");
    }

    #[test]
    fn data_in_beyond_the_buffer_is_an_error() {
        let mut s = session();
        let mut buf = [0u8; 4];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        let d = pdu(
            &[(0, &[0x25, 0]), (16, &[0, 0, 0, 1]), (40, &[0, 0, 0, 2])],
            b"xyz",
        );
        let e = s.on_command_pdu(&mut ex, d).unwrap_err();
        assert!(e.to_string().contains("overruns"), "{e}");
        // Offset near u32::MAX must not wrap.
        let mut buf = [0u8; 4];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        let d = pdu(
            &[(0, &[0x25, 0]), (16, &[0, 0, 0, 2]), (40, &[0xff; 4])],
            b"x",
        );
        assert!(s.on_command_pdu(&mut ex, d).is_err());
    }

    #[test]
    fn check_condition_with_sense_and_overflow() {
        let mut s = session();
        let mut buf = [0u8; 16];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        // SCSI Response: CHECK CONDITION, U bit, residual 16, sense
        // 70 00 08 (BLANK CHECK) behind its 2-byte length.
        let r = pdu(
            &[
                (0, &[0x21, 0x82, 0x00, 0x02]),
                (16, &[0, 0, 0, 1]),
                (24, &[0, 0, 0, 3]),
                (44, &[0, 0, 0, 16]),
            ],
            &[0, 3, 0x70, 0x00, 0x08],
        );
        assert_eq!(
            s.on_command_pdu(&mut ex, r).unwrap(),
            Progress::Done(Completion::check_condition(vec![0x70, 0, 8], 16))
        );
        // Overflow (O bit) is a transport error.
        let mut buf = [0u8; 16];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        let r = pdu(
            &[
                (0, &[0x21, 0x84, 0, 0]),
                (16, &[0, 0, 0, 2]),
                (44, &[0, 0, 0, 4]),
            ],
            &[],
        );
        assert!(matches!(
            s.on_command_pdu(&mut ex, r),
            Err(TransportError::ResidualMismatch {
                requested: 16,
                residual: 4,
                ..
            })
        ));
        // Underflow larger than the request.
        let mut buf = [0u8; 16];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        let r = pdu(
            &[
                (0, &[0x21, 0x82, 0, 0]),
                (16, &[0, 0, 0, 3]),
                (44, &[0, 0, 0, 17]),
            ],
            &[],
        );
        assert!(matches!(
            s.on_command_pdu(&mut ex, r),
            Err(TransportError::ResidualMismatch { .. })
        ));
    }

    #[test]
    fn write_sends_immediate_and_unsolicited_data_then_answers_r2t() {
        let mut s = session();
        let data: Vec<u8> = (0u8..20).collect();
        let (mut ex, out) = s
            .begin(&[0x0a, 1, 0, 0, 20, 0], DataDirection::ToDevice(&data))
            .unwrap();
        // Command with 4 bytes immediate (MaxRecvDataSegmentLength 4),
        // F clear; then one Data-Out of 4 with F: FirstBurstLength 8.
        assert_eq!(out.len(), 2);
        assert_eq!(&out[0].bhs[..8], &[0x01, 0x21, 0, 0, 0, 0, 0, 4]);
        assert_eq!(out[0].data, vec![0, 1, 2, 3]);
        assert_eq!(&out[1].bhs[..8], &[0x05, 0x80, 0, 0, 0, 0, 0, 4]);
        // TTT reserved, DataSN 0, offset 4.
        assert_eq!(&out[1].bhs[20..24], &[0xff; 4]);
        assert_eq!(&out[1].bhs[36..44], &[0, 0, 0, 0, 0, 0, 0, 4]);
        assert_eq!(out[1].data, vec![4, 5, 6, 7]);
        // R2T for the remaining 12 bytes at offset 8, TTT 0x77.
        let r2t = pdu(
            &[
                (0, &[0x31, 0x80]),
                (16, &[0, 0, 0, 1, 0, 0, 0, 0x77]),
                (36, &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 12]),
            ],
            &[],
        );
        let Progress::Pending(outs) = s.on_command_pdu(&mut ex, r2t).unwrap() else {
            panic!("R2T completed the command");
        };
        assert_eq!(outs.len(), 3);
        for (i, o) in outs.iter().enumerate() {
            assert_eq!(o.bhs[0], 0x05);
            assert_eq!(o.bhs[1], if i == 2 { 0x80 } else { 0 });
            assert_eq!(&o.bhs[20..24], &[0, 0, 0, 0x77]);
            assert_eq!(&o.bhs[36..40], &(i as u32).to_be_bytes());
            assert_eq!(&o.bhs[40..44], &(8 + 4 * i as u32).to_be_bytes());
            assert_eq!(o.data, data[8 + 4 * i..12 + 4 * i].to_vec());
        }
        // An R2T outside the buffer is refused.
        let bad = pdu(
            &[
                (0, &[0x31, 0x80]),
                (16, &[0, 0, 0, 1]),
                (36, &[0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 8]),
            ],
            &[],
        );
        assert!(s.on_command_pdu(&mut ex, bad).is_err());
        let resp = pdu(&[(0, &[0x21, 0x80, 0, 0]), (16, &[0, 0, 0, 1])], &[]);
        assert_eq!(
            s.on_command_pdu(&mut ex, resp).unwrap(),
            Progress::Done(Completion::good(0))
        );
    }

    #[test]
    fn initial_r2t_yes_without_immediate_data_sends_nothing_unsolicited() {
        let mut s = session();
        s.limits.initial_r2t = true;
        s.limits.immediate_data = false;
        let data = [9u8; 12];
        let (_, out) = s.begin(&[0x0a], DataDirection::ToDevice(&data)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bhs[1], 0xa1);
        assert!(out[0].data.is_empty());
    }

    #[test]
    fn target_ping_is_answered_and_window_tracked() {
        let mut s = session();
        // NOP-In ITT reserved, TTT 0x1234, LUN 1, StatSN 3, ExpCmdSN 10,
        // MaxCmdSN 9: window closed.
        let ping = pdu(
            &[
                (0, &[0x20, 0x80]),
                (8, &[0, 1]),
                (16, &[0xff, 0xff, 0xff, 0xff, 0, 0, 0x12, 0x34]),
                (24, &[0, 0, 0, 3, 0, 0, 0, 10, 0, 0, 0, 9]),
            ],
            &[],
        );
        s.max_cmd_sn = 9;
        let Some(Event::Reply(r)) = s.on_session_pdu(&ping) else {
            panic!("no reply to a ping");
        };
        let mut want = [0u8; 48];
        want[..2].copy_from_slice(&[0x40, 0x80]);
        want[9] = 1;
        want[16..24].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0x12, 0x34]);
        want[24..32].copy_from_slice(&[0, 0, 0, 10, 0, 0, 0, 3]);
        assert_eq!(r.bhs, want);
        assert!(!s.window_open());
        assert_eq!(
            s.exp_stat_sn, 3,
            "an unsolicited NOP-In does not advance StatSN"
        );
        // A NOP-In that needs no answer.
        let quiet = pdu(
            &[
                (0, &[0x20, 0x80]),
                (16, &[0xff; 8]),
                (28, &[0, 0, 0, 10, 0, 0, 0, 12]),
            ],
            &[],
        );
        assert_eq!(s.on_session_pdu(&quiet), Some(Event::Nothing));
        assert!(s.window_open());
        // Async message: target requests logout.
        let bye = pdu(&[(0, &[0x32, 0x80]), (36, &[1])], &[]);
        assert!(matches!(s.on_session_pdu(&bye), Some(Event::Goodbye(_))));
        // Command PDUs are not session PDUs.
        let d = pdu(&[(0, &[0x25])], &[]);
        assert_eq!(s.on_session_pdu(&d), None);
    }

    #[test]
    fn foreign_tags_data_sn_gaps_and_rejects() {
        let mut s = session();
        let mut buf = [0u8; 8];
        let (mut ex, _) = s
            .begin(&[0x08], DataDirection::FromDevice(&mut buf))
            .unwrap();
        let other = pdu(&[(0, &[0x25]), (16, &[0, 0, 0, 9])], b"x");
        assert!(s.on_command_pdu(&mut ex, other).is_err());
        let gap = pdu(
            &[(0, &[0x25]), (16, &[0, 0, 0, 1]), (36, &[0, 0, 0, 1])],
            b"x",
        );
        assert!(
            s.on_command_pdu(&mut ex, gap)
                .unwrap_err()
                .to_string()
                .contains("DataSN")
        );
        let rej = pdu(&[(0, &[0x3f, 0x80, 0x04])], &[]);
        assert!(s.on_command_pdu(&mut ex, rej).is_err());
        assert!(s.begin(&[0u8; 17], DataDirection::None).is_err());
    }

    #[test]
    fn scsi_command_layout() {
        // Write of 0x200 bytes, 4 of them immediate; FirstBurstLength 4
        // ends the unsolicited data there, so F is set.
        let mut s = Session::new(limits(), Lun::peripheral(1), 7, 9, 7, 20);
        s.limits.first_burst_length = 4;
        s.next_itt = 0x11223344;
        let data = [0xaa; 0x200];
        let (_, out) = s
            .begin(
                &[0x0a, 0x01, 0x00, 0x00, 0x02, 0x00],
                DataDirection::ToDevice(&data),
            )
            .unwrap();
        assert_eq!(out.len(), 1);
        let mut want = [0u8; 48];
        want[..8].copy_from_slice(&[0x01, 0xa1, 0, 0, 0, 0, 0, 4]);
        want[8..16].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        want[16..32].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 0, 2, 0, 0, 0, 0, 7, 0, 0, 0, 9]);
        want[32..38].copy_from_slice(&[0x0a, 0x01, 0x00, 0x00, 0x02, 0x00]);
        assert_eq!(out[0].bhs, want);
        assert_eq!(out[0].data, vec![0xaa; 4]);
    }

    #[test]
    fn sense_length_that_lies_is_a_protocol_error() {
        // RFC 7143 11.4.7: the data segment is SenseLength, then that
        // many sense bytes. A length beyond the segment, or a segment too
        // short for the length itself, is malformed, not clamped.
        for seg in [&[0u8, 9, 0x70][..], &[0][..]] {
            let mut s = session();
            let mut buf = [0u8; 4];
            let (mut ex, _) = s
                .begin(&[0x08], DataDirection::FromDevice(&mut buf))
                .unwrap();
            let r = pdu(&[(0, &[0x21, 0x80, 0, 2]), (16, &[0, 0, 0, 1])], seg);
            assert!(s.on_command_pdu(&mut ex, r).is_err());
        }
    }

    #[test]
    fn abort_task_refers_to_the_command() {
        let mut s = session();
        let (ex, _) = s.begin(&[0x00], DataDirection::None).unwrap();
        let (tmf_itt, p) = s.abort(&ex);
        assert_ne!(tmf_itt, ex.itt);
        // Immediate TMF, F + ABORT TASK, LUN 1, ITT 2, RTT 1, CmdSN 11,
        // ExpStatSN 3, RefCmdSN 10, the rest zero.
        let mut want = [0u8; 48];
        want[..2].copy_from_slice(&[0x42, 0x81]);
        want[9] = 1;
        want[19] = 2;
        want[23] = 1;
        want[27] = 11;
        want[31] = 3;
        want[35] = 10;
        assert_eq!(p.bhs, want);
        assert_eq!(&p.bhs[..2], &[0x42, 0x81]);
        assert_eq!(&p.bhs[20..24], &ex.itt.to_be_bytes());
        assert_eq!(&p.bhs[24..28], &11u32.to_be_bytes());
        assert_eq!(&p.bhs[32..36], &10u32.to_be_bytes());
    }

    #[test]
    fn serial_numbers_wrap() {
        assert!(sn_lt(0xffff_fff0, 5));
        assert!(!sn_lt(5, 0xffff_fff0));
        assert!(!sn_lt(7, 7));
    }
}
