//! One iSCSI connection (= one session: MaxConnections is 1), sans-I/O:
//! [`Connection::handle`] takes a decoded PDU and returns the PDUs to send.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::bhs::*;
use super::login::{self, Chap};
use super::luns::LunSet;
use super::params::SessionParams;
use super::portal::{PORTAL_GROUP_TAG, Portal};
use super::wire::{Pdu, encode_text, parse_text};

/// Commands the initiator may have outstanding (MaxCmdSN - ExpCmdSN + 1).
pub const CMD_WINDOW: u32 = 32;

fn sn_lt(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

struct LoginState {
    first: bool,
    stage: u8,
    chap: Chap,
    pending_text: Vec<u8>,
    declared_mrdsl: bool,
}

/// A WRITE waiting for its data.
struct PendingWrite {
    itt: u32,
    lun: [u8; 8],
    cdb: Vec<u8>,
    buf: Vec<u8>,
    received: usize,
    /// Where the next R2T starts.
    next_r2t: usize,
    /// Current R2T: (TTT, offset, length, received).
    r2t: Option<(u32, usize, usize, usize)>,
    r2t_sn: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Login,
    FullFeature,
    Closed,
}

pub struct Connection {
    portal: Arc<Portal>,
    /// "host:port" initiators reach us at, for SendTargets.
    local_addr: String,
    phase: Phase,
    login: LoginState,
    pub params: SessionParams,
    discovery: bool,
    target: Option<usize>,
    initiator_name: String,
    isid: [u8; 6],
    tsih: u16,
    stat_sn: u32,
    exp_cmd_sn: u32,
    luns: Option<LunSet>,
    /// Commands that came ahead of ExpCmdSN, by CmdSN.
    queued: BTreeMap<u32, Pdu>,
    writes: Vec<PendingWrite>,
    next_ttt: u32,
    /// Text response still to send: (ITT, TTT, remaining bytes).
    text_cont: Option<(u32, u32, VecDeque<u8>)>,
    text_in: Vec<u8>,
}

impl Connection {
    pub fn new(portal: Arc<Portal>, local_addr: String) -> Connection {
        Connection {
            portal,
            local_addr,
            phase: Phase::Login,
            login: LoginState {
                first: true,
                stage: login::STAGE_SECURITY,
                chap: Chap::Start,
                pending_text: Vec::new(),
                declared_mrdsl: false,
            },
            params: SessionParams::default(),
            discovery: false,
            target: None,
            initiator_name: String::new(),
            isid: [0; 6],
            tsih: 0,
            stat_sn: 0,
            exp_cmd_sn: 0,
            luns: None,
            queued: BTreeMap::new(),
            writes: Vec::new(),
            next_ttt: 1,
            text_cont: None,
            text_in: Vec::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub fn tsih(&self) -> u16 {
        self.tsih
    }

    /// Digests in force: header, data (only in full feature phase).
    pub fn digests(&self) -> (bool, bool) {
        if self.phase == Phase::FullFeature {
            (self.params.header_digest, self.params.data_digest)
        } else {
            (false, false)
        }
    }

    /// The largest data segment the decoder should accept now.
    pub fn max_recv_data(&self) -> usize {
        if self.phase == Phase::FullFeature {
            self.params.target_mrdsl as usize
        } else {
            // Login PDUs: 8192 (RFC 7143 section 6.3), leave room.
            65_536
        }
    }

    fn max_cmd_sn(&self) -> u32 {
        self.exp_cmd_sn.wrapping_add(CMD_WINDOW - 1)
    }

    /// Fills StatSN (advancing it when `advance`), ExpCmdSN and MaxCmdSN.
    fn seal(&mut self, p: &mut Pdu, advance: bool) {
        put32(&mut p.bhs, 24, self.stat_sn);
        if advance {
            self.stat_sn = self.stat_sn.wrapping_add(1);
        }
        put32(&mut p.bhs, 28, self.exp_cmd_sn);
        put32(&mut p.bhs, 32, self.max_cmd_sn());
    }

    fn reject(&mut self, reason: u8, bad: &Pdu) -> Pdu {
        let mut p = new_pdu(OP_REJECT, 0x80, bad.bhs.to_vec());
        p.bhs[2] = reason;
        put32(&mut p.bhs, 16, NO_TAG);
        self.seal(&mut p, true);
        p
    }

    /// Handles one PDU from the initiator.
    pub fn handle(&mut self, pdu: Pdu) -> Vec<Pdu> {
        match self.phase {
            Phase::Login => self.login(pdu),
            Phase::FullFeature => self.full_feature(pdu),
            Phase::Closed => Vec::new(),
        }
    }

    // ---- login -------------------------------------------------------

    fn login_fail(&mut self, req: &Pdu, status: u16) -> Vec<Pdu> {
        tracing::info!(initiator = %self.initiator_name, "login refused: status 0x{status:04x}");
        let mut p = new_pdu(OP_LOGIN_RSP, 0, Vec::new());
        p.bhs[8..14].copy_from_slice(&req.bhs[8..14]);
        put32(&mut p.bhs, 16, itt(&req.bhs));
        self.seal(&mut p, true);
        put16(&mut p.bhs, 36, status);
        self.phase = Phase::Closed;
        vec![p]
    }

    fn login(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let b = pdu.bhs;
        if opcode(&b) != OP_LOGIN_REQ {
            let r = self.reject(REJECT_PROTOCOL_ERROR, &pdu);
            self.phase = Phase::Closed;
            return vec![r];
        }
        let f = flags(&b);
        let (transit, cont) = (f & 0x80 != 0, f & 0x40 != 0);
        let (csg, nsg) = ((f >> 2) & 3, f & 3);
        if self.login.first {
            self.isid.copy_from_slice(&b[8..14]);
            self.exp_cmd_sn = get32(&b, 24);
            self.stat_sn = get32(&b, 28);
            if b[3] > 0 {
                return self.login_fail(&pdu, login::STATUS_UNSUPPORTED_VERSION);
            }
            // MaxConnections=1: no connection joins an existing session.
            if get16(&b, 14) != 0 {
                return self.login_fail(&pdu, login::STATUS_SESSION_NOT_EXIST);
            }
        }
        if transit && cont {
            return self.login_fail(&pdu, login::STATUS_INITIATOR_ERROR);
        }
        self.login.pending_text.extend_from_slice(&pdu.data);
        if cont {
            // Partial text: acknowledge with an empty response.
            let mut p = new_pdu(OP_LOGIN_RSP, csg << 2, Vec::new());
            p.bhs[8..14].copy_from_slice(&self.isid);
            put32(&mut p.bhs, 16, itt(&b));
            self.seal(&mut p, true);
            return vec![p];
        }
        let text = std::mem::take(&mut self.login.pending_text);
        let Ok(keys) = parse_text(&text) else {
            return self.login_fail(&pdu, login::STATUS_INITIATOR_ERROR);
        };
        let get = |k: &str| keys.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        let mut out: Vec<(String, String)> = Vec::new();
        if self.login.first {
            let Some(name) = get("InitiatorName") else {
                return self.login_fail(&pdu, login::STATUS_MISSING_PARAMETER);
            };
            self.initiator_name = name;
            match get("SessionType").as_deref() {
                None | Some("Normal") => {}
                Some("Discovery") => self.discovery = true,
                Some(_) => return self.login_fail(&pdu, login::STATUS_INITIATOR_ERROR),
            }
            if !self.discovery {
                let Some(tn) = get("TargetName") else {
                    return self.login_fail(&pdu, login::STATUS_MISSING_PARAMETER);
                };
                let Some(i) = self
                    .portal
                    .config
                    .targets
                    .iter()
                    .position(|t| t.iqn.eq_ignore_ascii_case(&tn))
                else {
                    return self.login_fail(&pdu, login::STATUS_NOT_FOUND);
                };
                self.target = Some(i);
                out.push(("TargetPortalGroupTag".into(), PORTAL_GROUP_TAG.to_string()));
                if let Some(a) = &self.portal.config.targets[i].alias {
                    out.push(("TargetAlias".into(), a.clone()));
                }
            }
        }
        // Stages only move forward; the security stage only comes first.
        if csg == 2 || csg == login::STAGE_FULL_FEATURE || csg < self.login.stage {
            return self.login_fail(&pdu, login::STATUS_INVALID_DURING_LOGIN);
        }
        let chap = self
            .target
            .and_then(|i| self.portal.config.targets[i].chap.clone());
        self.login.stage = csg;
        if csg == login::STAGE_SECURITY {
            let auth_keys: Vec<(String, String)> = keys
                .iter()
                .filter(|(k, _)| k == "AuthMethod" || k.starts_with("CHAP_"))
                .cloned()
                .collect();
            match login::security(&mut self.login.chap, chap.as_ref(), &auth_keys) {
                Ok(k) => out.extend(k),
                Err(status) => return self.login_fail(&pdu, status),
            }
        } else if chap.is_some() && self.login.chap != Chap::Done {
            // Straight to the operational stage without authenticating.
            return self.login_fail(&pdu, login::STATUS_AUTH_FAILURE);
        }
        for (k, v) in &keys {
            if k == "AuthMethod" || k.starts_with("CHAP_") {
                if csg != login::STAGE_SECURITY {
                    out.push((k.clone(), "Reject".into()));
                }
                continue;
            }
            if let Some(ans) = self
                .params
                .negotiate(k, v, &self.portal.limits, self.discovery)
            {
                out.push((k.clone(), ans));
            }
        }
        // The security stage may end only once authentication is done.
        let done_auth = csg != login::STAGE_SECURITY || self.login.chap == Chap::Done;
        let will_transit = transit && done_auth && nsg > csg && nsg != 2;
        if (csg == login::STAGE_OPERATIONAL || (will_transit && nsg == login::STAGE_FULL_FEATURE))
            && !self.login.declared_mrdsl
        {
            // Declare what we accept (we keep the session default until now).
            self.login.declared_mrdsl = true;
            self.params.target_mrdsl = self.portal.limits.max_recv_data_segment_length;
            out.push((
                "MaxRecvDataSegmentLength".into(),
                self.params.target_mrdsl.to_string(),
            ));
        }
        let mut rf = csg << 2;
        if will_transit {
            rf |= 0x80 | nsg;
        }
        let mut p = new_pdu(OP_LOGIN_RSP, rf, encode_text(&out));
        p.bhs[8..14].copy_from_slice(&self.isid);
        put32(&mut p.bhs, 16, itt(&b));
        if will_transit && nsg == login::STAGE_FULL_FEATURE {
            self.tsih = self.portal.new_tsih();
            put16(&mut p.bhs, 14, self.tsih);
        }
        self.seal(&mut p, true);
        self.login.first = false;
        if will_transit {
            self.login.stage = nsg;
            if nsg == login::STAGE_FULL_FEATURE {
                self.enter_full_feature();
            }
        }
        vec![p]
    }

    fn enter_full_feature(&mut self) {
        self.phase = Phase::FullFeature;
        if let Some(i) = self.target {
            let t = &self.portal.config.targets[i];
            let id = self.portal.new_initiator();
            tracing::info!(
                initiator = %self.initiator_name,
                target = %t.iqn,
                tsih = self.tsih,
                initiator_id = id,
                "session logged in"
            );
            self.luns = Some(LunSet::open(&self.portal.library, &t.luns, id));
        } else {
            tracing::info!(initiator = %self.initiator_name, "discovery session logged in");
        }
    }

    // ---- full feature phase -----------------------------------------

    fn full_feature(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let op = opcode(&pdu.bhs);
        match op {
            OP_NOP_OUT | OP_SCSI_CMD | OP_TMF_REQ | OP_TEXT_REQ | OP_LOGOUT_REQ => {}
            OP_DATA_OUT => return self.data_out(pdu),
            OP_SNACK => return vec![self.reject(REJECT_NOT_SUPPORTED, &pdu)],
            _ => {
                let r = self.reject(REJECT_PROTOCOL_ERROR, &pdu);
                self.phase = Phase::Closed;
                return vec![r];
            }
        }
        if immediate(&pdu.bhs) {
            return self.command(pdu);
        }
        let sn = get32(&pdu.bhs, 24);
        if sn == self.exp_cmd_sn {
            self.exp_cmd_sn = self.exp_cmd_sn.wrapping_add(1);
            let mut out = self.command(pdu);
            while let Some(next) = self.queued.remove(&self.exp_cmd_sn) {
                self.exp_cmd_sn = self.exp_cmd_sn.wrapping_add(1);
                if self.phase == Phase::Closed {
                    break;
                }
                out.extend(self.command(next));
            }
            out
        } else if sn_lt(self.exp_cmd_sn, sn) && !sn_lt(self.max_cmd_sn(), sn) {
            // Ahead of a gap (another connection would fill it): keep it.
            self.queued.insert(sn, pdu);
            Vec::new()
        } else {
            // Outside the window: RFC 7143 section 4.2.2.1 says drop it.
            tracing::debug!(
                sn,
                exp = self.exp_cmd_sn,
                "CmdSN outside the window: dropped"
            );
            Vec::new()
        }
    }

    fn command(&mut self, pdu: Pdu) -> Vec<Pdu> {
        match opcode(&pdu.bhs) {
            OP_NOP_OUT => self.nop_out(pdu),
            OP_SCSI_CMD if self.discovery => vec![self.reject(REJECT_PROTOCOL_ERROR, &pdu)],
            OP_SCSI_CMD => self.scsi_command(pdu),
            OP_TMF_REQ => self.task_management(pdu),
            OP_TEXT_REQ => self.text(pdu),
            OP_LOGOUT_REQ => self.logout(pdu),
            _ => vec![self.reject(REJECT_PROTOCOL_ERROR, &pdu)],
        }
    }

    fn nop_out(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let tag = itt(&pdu.bhs);
        if tag == NO_TAG {
            // An answer to our ping, or a ping that wants no answer.
            return Vec::new();
        }
        let mut data = pdu.data;
        data.truncate(self.params.initiator_mrdsl as usize);
        let mut p = new_pdu(OP_NOP_IN, 0x80, data);
        p.bhs[8..16].copy_from_slice(&pdu.bhs[8..16]);
        put32(&mut p.bhs, 16, tag);
        put32(&mut p.bhs, 20, NO_TAG);
        self.seal(&mut p, true);
        vec![p]
    }

    /// A target-initiated NOP-In ping (the initiator answers with NOP-Out).
    pub fn ping(&mut self) -> Pdu {
        let mut p = new_pdu(OP_NOP_IN, 0x80, Vec::new());
        put32(&mut p.bhs, 16, NO_TAG);
        let ttt = self.new_ttt();
        put32(&mut p.bhs, 20, ttt);
        self.seal(&mut p, false);
        p
    }

    fn new_ttt(&mut self) -> u32 {
        let t = self.next_ttt;
        self.next_ttt = self.next_ttt.wrapping_add(1);
        if self.next_ttt == NO_TAG {
            self.next_ttt = 1;
        }
        t
    }

    fn logout(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let reason = pdu.bhs[1] & 0x7f;
        let mut p = new_pdu(OP_LOGOUT_RSP, 0x80, Vec::new());
        // Connection recovery needs ErrorRecoveryLevel 2.
        p.bhs[2] = if reason == 2 { 2 } else { 0 };
        put32(&mut p.bhs, 16, itt(&pdu.bhs));
        self.seal(&mut p, true);
        if reason != 2 {
            tracing::info!(initiator = %self.initiator_name, tsih = self.tsih, "logout");
            self.phase = Phase::Closed;
        }
        vec![p]
    }

    fn task_management(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let function = pdu.bhs[1] & 0x7f;
        let lun_raw = lun_field(&pdu.bhs);
        let lun = decode_lun(&lun_raw);
        let referenced = get32(&pdu.bhs, 20);
        let ref_cmd_sn = get32(&pdu.bhs, 32);
        let mapped = self.luns.as_ref().is_some_and(|l| l.is_mapped(lun));
        let response = match function {
            // ABORT TASK
            1 => {
                let before = self.writes.len();
                self.writes.retain(|w| w.itt != referenced);
                let queued = self
                    .queued
                    .iter()
                    .find(|(_, p)| itt(&p.bhs) == referenced)
                    .map(|(sn, _)| *sn);
                if let Some(sn) = queued {
                    // Keep CmdSN accounting: the slot completes as a no-op.
                    if let Some(p) = self.queued.get_mut(&sn) {
                        p.bhs[0] = OP_NOP_OUT;
                        put32(&mut p.bhs, 16, NO_TAG);
                    }
                }
                if self.writes.len() != before
                    || queued.is_some()
                    || sn_lt(ref_cmd_sn, self.exp_cmd_sn)
                {
                    // Found, or already completed (RFC 7143 section 11.5.1).
                    0
                } else {
                    1
                }
            }
            // ABORT TASK SET, LOGICAL UNIT RESET
            2 | 5 => {
                if !mapped {
                    2
                } else {
                    self.writes.retain(|w| w.lun != lun_raw);
                    if function == 5
                        && let (Some(l), Some(luns)) = (lun, self.luns.as_mut())
                    {
                        luns.reset(l);
                    }
                    0
                }
            }
            // CLEAR ACA, CLEAR TASK SET, TARGET WARM/COLD RESET, TASK
            // REASSIGN and the rest: not supported.
            _ => 5,
        };
        let mut p = new_pdu(OP_TMF_RSP, 0x80, Vec::new());
        p.bhs[2] = response;
        put32(&mut p.bhs, 16, itt(&pdu.bhs));
        self.seal(&mut p, true);
        vec![p]
    }

    // ---- text / SendTargets -----------------------------------------

    fn text(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let tag = itt(&pdu.bhs);
        let ttt = get32(&pdu.bhs, 20);
        if ttt != NO_TAG {
            // The initiator asks for the rest of a long response.
            return match self.text_cont.take() {
                Some((i, t, rest)) if i == tag && t == ttt => self.text_chunk(tag, rest),
                _ => vec![self.reject(REJECT_INVALID_FIELD, &pdu)],
            };
        }
        self.text_cont = None;
        self.text_in.extend_from_slice(&pdu.data);
        if pdu.bhs[1] & 0x40 != 0 {
            // Continued request: acknowledge, wait for the rest.
            let mut p = new_pdu(OP_TEXT_RSP, 0, Vec::new());
            put32(&mut p.bhs, 16, tag);
            let t = self.new_ttt();
            put32(&mut p.bhs, 20, t);
            self.seal(&mut p, true);
            return vec![p];
        }
        let text = std::mem::take(&mut self.text_in);
        let Ok(keys) = parse_text(&text) else {
            return vec![self.reject(REJECT_PROTOCOL_ERROR, &pdu)];
        };
        let mut out = Vec::new();
        for (k, v) in keys {
            if k == "SendTargets" {
                self.send_targets(&v, &mut out);
            } else if k == "MaxRecvDataSegmentLength" {
                // The one key an initiator may re-declare here.
                self.params
                    .negotiate(&k, &v, &self.portal.limits, self.discovery);
            } else {
                out.push((k, "NotUnderstood".to_string()));
            }
        }
        self.text_chunk(tag, encode_text(&out).into())
    }

    fn send_targets(&self, which: &str, out: &mut Vec<(String, String)>) {
        let targets = &self.portal.config.targets;
        let chosen: Vec<&str> = match which {
            "All" if self.discovery || self.target.is_some() => {
                targets.iter().map(|t| t.iqn.as_str()).collect()
            }
            "" => self
                .target
                .map(|i| vec![targets[i].iqn.as_str()])
                .unwrap_or_default(),
            name => targets
                .iter()
                .filter(|t| t.iqn.eq_ignore_ascii_case(name))
                .map(|t| t.iqn.as_str())
                .collect(),
        };
        for iqn in chosen {
            out.push(("TargetName".into(), iqn.to_string()));
            out.push((
                "TargetAddress".into(),
                format!("{},{}", self.local_addr, PORTAL_GROUP_TAG),
            ));
        }
    }

    /// Sends up to MaxRecvDataSegmentLength of `rest`, keeping the others
    /// for the initiator's next (empty) Text Request.
    fn text_chunk(&mut self, tag: u32, mut rest: VecDeque<u8>) -> Vec<Pdu> {
        let n = rest.len().min(self.params.initiator_mrdsl as usize);
        let chunk: Vec<u8> = rest.drain(..n).collect();
        let more = !rest.is_empty();
        let mut p = new_pdu(OP_TEXT_RSP, if more { 0x40 } else { 0x80 }, chunk);
        put32(&mut p.bhs, 16, tag);
        let ttt = if more { self.new_ttt() } else { NO_TAG };
        put32(&mut p.bhs, 20, ttt);
        self.seal(&mut p, true);
        if more {
            self.text_cont = Some((tag, ttt, rest));
        }
        vec![p]
    }

    // ---- SCSI --------------------------------------------------------

    fn scsi_command(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let b = pdu.bhs;
        let f = flags(&b);
        let (read, write) = (f & 0x40 != 0, f & 0x20 != 0);
        let edtl = get32(&b, 20) as usize;
        let tag = itt(&b);
        let lun = lun_field(&b);
        let Some(cdb) = full_cdb(&b, &pdu.ahs) else {
            return vec![self.reject(REJECT_INVALID_FIELD, &pdu)];
        };
        if read && write {
            // Bidirectional commands: no device model has any.
            return self.respond(tag, &lun, &cdb, 0, &[], check_invalid_cdb());
        }
        // A data segment larger than the transfer, or without W: broken.
        if pdu.data.len() > edtl || (!write && !pdu.data.is_empty()) {
            return vec![self.reject(REJECT_PROTOCOL_ERROR, &pdu)];
        }
        // Limits we accept: writes are buffered whole before the model runs.
        if edtl > 64 << 20 {
            return self.respond(tag, &lun, &cdb, 0, &[], check_invalid_cdb());
        }
        if write && edtl > 0 {
            let mut buf = vec![0u8; edtl];
            buf[..pdu.data.len()].copy_from_slice(&pdu.data);
            let unsolicited = if self.params.initial_r2t {
                pdu.data.len()
            } else {
                (self.params.first_burst_length as usize)
                    .min(edtl)
                    .max(pdu.data.len())
            };
            let w = PendingWrite {
                itt: tag,
                lun,
                cdb,
                buf,
                received: pdu.data.len(),
                next_r2t: unsolicited,
                r2t: None,
                r2t_sn: 0,
            };
            self.writes.push(w);
            return self.advance_write(self.writes.len() - 1);
        }
        let mut data_in = vec![0u8; if read { edtl } else { 0 }];
        let out = match self.luns.as_mut() {
            Some(l) => l.execute(decode_lun(&lun), &cdb, &[], &mut data_in),
            None => return vec![self.reject(REJECT_PROTOCOL_ERROR, &pdu)],
        };
        data_in.truncate(out.data_in_len);
        self.respond(tag, &lun, &cdb, edtl, &data_in, out.completion)
    }

    /// Sends the next R2T of write `i`, or runs it once all data is in.
    fn advance_write(&mut self, i: usize) -> Vec<Pdu> {
        let Some(w) = self.writes.get(i) else {
            return Vec::new();
        };
        if w.received >= w.buf.len() {
            let w = self.writes.remove(i);
            let out = match self.luns.as_mut() {
                Some(l) => l.execute(decode_lun(&w.lun), &w.cdb, &w.buf, &mut []),
                None => return Vec::new(),
            };
            let edtl = w.buf.len();
            return self.respond(w.itt, &w.lun, &w.cdb, edtl, &[], out.completion);
        }
        if w.r2t.is_some() || w.next_r2t >= w.buf.len() {
            // Waiting for data (solicited or unsolicited).
            return Vec::new();
        }
        let offset = w.next_r2t;
        let len = (w.buf.len() - offset).min(self.params.max_burst_length as usize);
        let ttt = self.new_ttt();
        let (stat_sn, exp, max) = (self.stat_sn, self.exp_cmd_sn, self.max_cmd_sn());
        let w = &mut self.writes[i];
        w.r2t = Some((ttt, offset, len, 0));
        w.next_r2t = offset + len;
        let mut p = new_pdu(OP_R2T, 0x80, Vec::new());
        p.bhs[8..16].copy_from_slice(&w.lun);
        put32(&mut p.bhs, 16, w.itt);
        put32(&mut p.bhs, 20, ttt);
        put32(&mut p.bhs, 24, stat_sn);
        put32(&mut p.bhs, 28, exp);
        put32(&mut p.bhs, 32, max);
        put32(&mut p.bhs, 36, w.r2t_sn);
        put32(&mut p.bhs, 40, offset as u32);
        put32(&mut p.bhs, 44, len as u32);
        w.r2t_sn = w.r2t_sn.wrapping_add(1);
        vec![p]
    }

    fn data_out(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let tag = itt(&pdu.bhs);
        let ttt = get32(&pdu.bhs, 20);
        let offset = get32(&pdu.bhs, 40) as usize;
        let Some(i) = self.writes.iter().position(|w| w.itt == tag) else {
            // Data for an aborted task is dropped (RFC 7143 section 4.2.3.3).
            tracing::debug!(itt = tag, "Data-Out for no pending write: dropped");
            return Vec::new();
        };
        let w = &mut self.writes[i];
        let end = offset.checked_add(pdu.data.len());
        let in_range = match (ttt, w.r2t) {
            (NO_TAG, _) => end.is_some_and(|e| e <= w.buf.len() && !self.params.initial_r2t),
            (t, Some((rt, off, len, _))) if t == rt => {
                end.is_some_and(|e| offset >= off && e <= off + len)
            }
            _ => false,
        };
        let Some(end) = end.filter(|_| in_range) else {
            let r = self.reject(REJECT_PROTOCOL_ERROR, &pdu);
            self.phase = Phase::Closed;
            return vec![r];
        };
        let w = &mut self.writes[i];
        w.buf[offset..end].copy_from_slice(&pdu.data);
        w.received += pdu.data.len();
        if let Some((rt, off, len, got)) = w.r2t
            && rt == ttt
        {
            let got = got + pdu.data.len();
            w.r2t = if got >= len {
                None
            } else {
                Some((rt, off, len, got))
            };
        }
        self.advance_write(i)
    }

    /// Data-In PDUs and the status for one command.
    fn respond(
        &mut self,
        tag: u32,
        lun: &[u8; 8],
        cdb: &[u8],
        edtl: usize,
        data: &[u8],
        c: reel_drivers::scsi::transport::Completion,
    ) -> Vec<Pdu> {
        // Residuals: overflow when the CDB asked for more than the
        // initiator expects; underflow when less moved.
        let (resid_flags, residual) = match cdb_transfer_length(cdb) {
            Some(want) if want > edtl => (0x04u8, want - edtl),
            _ if c.residual > 0 => (0x02, c.residual.min(edtl)),
            _ => (0, 0),
        };
        let mut out = Vec::new();
        let status_in_data = c.status.0 == 0 && c.sense.is_empty() && !data.is_empty();
        let seg = (self.params.initiator_mrdsl as usize).max(512);
        let burst = (self.params.max_burst_length as usize).max(seg);
        let mut data_sn = 0u32;
        let mut off = 0;
        while off < data.len() {
            let n = (data.len() - off).min(seg);
            let last = off + n == data.len();
            let burst_end = last || (off + n).is_multiple_of(burst);
            let mut fl = if burst_end { 0x80 } else { 0 };
            if last && status_in_data {
                fl |= 0x01 | resid_flags;
            }
            let mut p = new_pdu(OP_DATA_IN, fl, data[off..off + n].to_vec());
            p.bhs[8..16].copy_from_slice(lun);
            put32(&mut p.bhs, 16, tag);
            put32(&mut p.bhs, 20, NO_TAG);
            if last && status_in_data {
                p.bhs[3] = c.status.0;
                self.seal(&mut p, true);
                put32(&mut p.bhs, 44, residual as u32);
            } else {
                self.seal(&mut p, false);
                put32(&mut p.bhs, 24, 0);
            }
            put32(&mut p.bhs, 36, data_sn);
            put32(&mut p.bhs, 40, off as u32);
            data_sn += 1;
            off += n;
            out.push(p);
        }
        if !status_in_data {
            let mut sense = Vec::new();
            if !c.sense.is_empty() {
                sense.extend_from_slice(&(c.sense.len() as u16).to_be_bytes());
                sense.extend_from_slice(&c.sense);
            }
            let mut p = new_pdu(OP_SCSI_RSP, 0x80 | resid_flags, sense);
            p.bhs[3] = c.status.0;
            put32(&mut p.bhs, 16, tag);
            self.seal(&mut p, true);
            put32(&mut p.bhs, 36, data_sn);
            put32(&mut p.bhs, 44, residual as u32);
            out.push(p);
        }
        out
    }
}

fn check_invalid_cdb() -> reel_drivers::scsi::transport::Completion {
    use reel_drivers::scsi::sense::{Sense, SenseKey};
    reel_drivers::scsi::transport::Completion {
        status: reel_drivers::scsi::transport::ScsiStatus::CHECK_CONDITION,
        sense: Sense::new(SenseKey::IllegalRequest, 0x24, 0x00).encode_fixed(),
        residual: 0,
    }
}

/// The CDB: 16 bytes in the header, more in an Extended CDB AHS (type 1).
fn full_cdb(b: &[u8; BHS_LEN], ahs: &[u8]) -> Option<Vec<u8>> {
    let mut cdb = b[32..48].to_vec();
    let mut rest = ahs;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let kind = rest[2];
        // AHSLength counts the reserved byte, not the 3-byte head.
        let body = rest.get(3..3 + len)?;
        if kind == 1 {
            cdb.extend_from_slice(body.get(1..)?);
        }
        let padded = (3 + len).div_ceil(4) * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
    }
    Some(cdb)
}

/// The data length a CDB asks for, for the commands whose length is in the
/// CDB alone (None: unknown, e.g. fixed-block transfers).
pub fn cdb_transfer_length(cdb: &[u8]) -> Option<usize> {
    let be = |r: std::ops::Range<usize>| {
        cdb.get(r)
            .map(|s| s.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)))
    };
    match *cdb.first()? {
        0x00 | 0x01 | 0x0b | 0x10 | 0x11 | 0x19 | 0x1b | 0x1e | 0x2b => Some(0),
        0x03 | 0x1a | 0x15 => be(4..5),
        0x12 | 0x1c => be(3..5),
        0x05 => Some(6),
        0x08 | 0x0a if cdb.get(1).is_some_and(|f| f & 0x01 == 0) => be(2..5),
        0x4d | 0x5a | 0x55 | 0x4c => be(7..9),
        0xa0 => be(6..10),
        0xb8 => be(7..10),
        0x8c | 0x8d => be(10..14),
        _ => None,
    }
}
