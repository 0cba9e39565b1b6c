//! One iSCSI connection (= one session: MaxConnections is 1), sans-I/O:
//! [`Connection::handle`] takes a decoded PDU and returns the PDUs to send.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use reel_drivers::iscsi::keys::{SessionParams, encode_text, parse_text};
use reel_drivers::iscsi::pdu::{
    DataIn, DataOut, LoginRequest, LoginResponse, LogoutResponse, LogoutResponseCode, Lun, NopIn,
    NopOut, Opcode, Pdu, R2T, RESERVED_TAG, Reject, RejectReason, ScsiCommand, ScsiResponse, Stage,
    TaskMgmtRequest, TaskMgmtResponse, TextRequest, TextResponse, TmfFunction, TmfResponse,
    login_status,
};
use reel_drivers::iscsi::sn::sn_lt;

use super::login::{self, Chap};
use super::luns::LunSet;
use super::params;
use super::portal::{PORTAL_GROUP_TAG, Portal};

/// The "no tag" value of ITT/TTT fields.
const NO_TAG: u32 = RESERVED_TAG;

/// Commands the initiator may have outstanding (MaxCmdSN - ExpCmdSN + 1).
pub const CMD_WINDOW: u32 = 32;

struct LoginState {
    first: bool,
    stage: Stage,
    chap: Chap,
    pending_text: Vec<u8>,
    declared_mrdsl: bool,
}

/// A WRITE waiting for its data.
struct PendingWrite {
    itt: u32,
    lun: Lun,
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
                stage: Stage::Security,
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
            self.params.max_recv_data_segment_length as usize
        } else {
            // Login PDUs: 8192 (RFC 7143 section 6.3), leave room.
            65_536
        }
    }

    fn max_cmd_sn(&self) -> u32 {
        self.exp_cmd_sn.wrapping_add(CMD_WINDOW - 1)
    }

    /// StatSN (advancing it when `advance`), ExpCmdSN and MaxCmdSN for
    /// the next target PDU.
    fn sns(&mut self, advance: bool) -> (u32, u32, u32) {
        let s = self.stat_sn;
        if advance {
            self.stat_sn = self.stat_sn.wrapping_add(1);
        }
        (s, self.exp_cmd_sn, self.max_cmd_sn())
    }

    fn reject(&mut self, reason: RejectReason, bad: &Pdu) -> Pdu {
        let mut r = Reject::of(bad, reason);
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        r.into_pdu()
    }

    /// Rejects `bad` and ends the connection (framing or state is lost).
    fn reject_close(&mut self, reason: RejectReason, bad: &Pdu) -> Vec<Pdu> {
        let r = self.reject(reason, bad);
        self.phase = Phase::Closed;
        vec![r]
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

    fn login_fail(&mut self, req: &Pdu, status: (u8, u8)) -> Vec<Pdu> {
        tracing::info!(
            initiator = %self.initiator_name,
            "login refused: status 0x{:02x}{:02x}", status.0, status.1
        );
        let mut r = LoginResponse {
            itt: req.itt(),
            ..LoginResponse::default()
        };
        r.isid.copy_from_slice(&req.bhs[8..14]);
        r.set_status(status);
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        self.phase = Phase::Closed;
        vec![r.into_pdu()]
    }

    /// A Login Response carrying `data`, in stage `csg` (moving to `nsg`
    /// when `transit`).
    fn login_response(
        &mut self,
        itt: u32,
        csg: Stage,
        transit: Option<Stage>,
        data: Vec<u8>,
    ) -> Pdu {
        let mut r = LoginResponse {
            transit: transit.is_some(),
            csg,
            nsg: transit.unwrap_or(Stage::Security),
            isid: self.isid,
            itt,
            data,
            ..LoginResponse::default()
        };
        if transit == Some(Stage::FullFeature) {
            self.tsih = self.portal.new_tsih();
            r.tsih = self.tsih;
        }
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        r.into_pdu()
    }

    fn login(&mut self, pdu: Pdu) -> Vec<Pdu> {
        if pdu.opcode_byte() != Opcode::LoginRequest as u8 {
            return self.reject_close(RejectReason::ProtocolError, &pdu);
        }
        // The only decode error of a login request: T and C both set.
        let req = match LoginRequest::from_pdu(&pdu) {
            Ok(r) => r,
            Err(_) => return self.login_fail(&pdu, login_status::INITIATOR_ERROR),
        };
        let (csg, nsg) = (req.csg, req.nsg);
        if self.login.first {
            self.isid = req.isid;
            self.exp_cmd_sn = req.cmd_sn;
            self.stat_sn = req.exp_stat_sn;
            if req.version_min > 0 {
                return self.login_fail(&pdu, login_status::UNSUPPORTED_VERSION);
            }
            // MaxConnections=1: no connection joins an existing session.
            if req.tsih != 0 {
                return self.login_fail(&pdu, login_status::SESSION_DOES_NOT_EXIST);
            }
        }
        self.login.pending_text.extend_from_slice(&pdu.data);
        if req.continue_bit {
            // Partial text: acknowledge with an empty response.
            return vec![self.login_response(req.itt, csg, None, Vec::new())];
        }
        let text = std::mem::take(&mut self.login.pending_text);
        let Ok(keys) = parse_text(&text) else {
            return self.login_fail(&pdu, login_status::INITIATOR_ERROR);
        };
        let get = |k: &str| keys.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        let mut out: Vec<(String, String)> = Vec::new();
        if self.login.first {
            let Some(name) = get("InitiatorName") else {
                return self.login_fail(&pdu, login_status::MISSING_PARAMETER);
            };
            self.initiator_name = name;
            match get("SessionType").as_deref() {
                None | Some("Normal") => {}
                Some("Discovery") => self.discovery = true,
                Some(_) => return self.login_fail(&pdu, login_status::INITIATOR_ERROR),
            }
            if !self.discovery {
                let Some(tn) = get("TargetName") else {
                    return self.login_fail(&pdu, login_status::MISSING_PARAMETER);
                };
                let Some(i) = self
                    .portal
                    .config
                    .targets
                    .iter()
                    .position(|t| t.iqn.eq_ignore_ascii_case(&tn))
                else {
                    return self.login_fail(&pdu, login_status::NOT_FOUND);
                };
                self.target = Some(i);
                out.push(("TargetPortalGroupTag".into(), PORTAL_GROUP_TAG.to_string()));
                if let Some(a) = &self.portal.config.targets[i].alias {
                    out.push(("TargetAlias".into(), a.clone()));
                }
            }
        }
        // Stages only move forward; the security stage only comes first.
        let stage_ok = matches!(csg, Stage::Security | Stage::Operational)
            && u8::from(csg) >= u8::from(self.login.stage);
        if !stage_ok {
            return self.login_fail(&pdu, login_status::INVALID_DURING_LOGIN);
        }
        let chap = self
            .target
            .and_then(|i| self.portal.config.targets[i].chap.clone());
        self.login.stage = csg;
        if csg == Stage::Security {
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
            return self.login_fail(&pdu, login_status::AUTHENTICATION_FAILURE);
        }
        for (k, v) in &keys {
            if k == "AuthMethod" || k.starts_with("CHAP_") {
                if csg != Stage::Security {
                    out.push((k.clone(), "Reject".into()));
                }
                continue;
            }
            if let Some(ans) =
                params::answer(&mut self.params, &self.portal.limits, k, v, self.discovery)
            {
                out.push((k.clone(), ans));
            }
        }
        // The security stage may end only once authentication is done.
        let done_auth = csg != Stage::Security || self.login.chap == Chap::Done;
        let will_transit = req.transit
            && done_auth
            && matches!(nsg, Stage::Operational | Stage::FullFeature)
            && u8::from(nsg) > u8::from(csg);
        if (csg == Stage::Operational || (will_transit && nsg == Stage::FullFeature))
            && !self.login.declared_mrdsl
        {
            // Declare what we accept (we keep the session default until now).
            self.login.declared_mrdsl = true;
            self.params.max_recv_data_segment_length =
                self.portal.limits.max_recv_data_segment_length;
            out.push((
                "MaxRecvDataSegmentLength".into(),
                self.params.max_recv_data_segment_length.to_string(),
            ));
        }
        let transit = will_transit.then_some(nsg);
        let p = self.login_response(req.itt, csg, transit, encode_text(&out));
        self.login.first = false;
        if will_transit {
            self.login.stage = nsg;
            if nsg == Stage::FullFeature {
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
        match pdu.opcode() {
            Ok(
                Opcode::NopOut
                | Opcode::ScsiCommand
                | Opcode::TaskMgmtRequest
                | Opcode::TextRequest
                | Opcode::LogoutRequest,
            ) => {}
            Ok(Opcode::DataOut) => return self.data_out(pdu),
            Ok(Opcode::SnackRequest) => {
                return vec![self.reject(RejectReason::CommandNotSupported, &pdu)];
            }
            _ => return self.reject_close(RejectReason::ProtocolError, &pdu),
        }
        if pdu.immediate() {
            return self.command(pdu);
        }
        let sn = pdu.sn24();
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
        match pdu.opcode() {
            Ok(Opcode::NopOut) => self.nop_out(pdu),
            Ok(Opcode::ScsiCommand) if self.discovery => {
                vec![self.reject(RejectReason::ProtocolError, &pdu)]
            }
            Ok(Opcode::ScsiCommand) => self.scsi_command(pdu),
            Ok(Opcode::TaskMgmtRequest) => self.task_management(pdu),
            Ok(Opcode::TextRequest) => self.text(pdu),
            Ok(Opcode::LogoutRequest) => self.logout(pdu),
            _ => vec![self.reject(RejectReason::ProtocolError, &pdu)],
        }
    }

    fn nop_out(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let Ok(req) = NopOut::from_owned(pdu) else {
            return Vec::new();
        };
        if !req.wants_reply() {
            // An answer to our ping, or a ping that wants no answer.
            return Vec::new();
        }
        let mut data = req.data;
        data.truncate(self.params.peer_max_recv_data_segment_length as usize);
        let mut r = NopIn {
            lun: req.lun,
            itt: req.itt,
            ttt: NO_TAG,
            data,
            ..NopIn::default()
        };
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        vec![r.into_pdu()]
    }

    /// A target-initiated NOP-In ping (the initiator answers with NOP-Out).
    pub fn ping(&mut self) -> Pdu {
        let mut r = NopIn {
            itt: NO_TAG,
            ttt: self.new_ttt(),
            ..NopIn::default()
        };
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(false);
        r.into_pdu()
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
        let reason = u8::from(
            reel_drivers::iscsi::pdu::LogoutRequest::from_pdu(&pdu)
                .map_or(reel_drivers::iscsi::pdu::LogoutReason::CloseSession, |r| {
                    r.reason
                }),
        );
        let mut r = LogoutResponse {
            // Connection recovery needs ErrorRecoveryLevel 2.
            response: if reason == 2 {
                LogoutResponseCode::RecoveryNotSupported
            } else {
                LogoutResponseCode::Success
            },
            itt: pdu.itt(),
            ..LogoutResponse::default()
        };
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        if reason != 2 {
            tracing::info!(initiator = %self.initiator_name, tsih = self.tsih, "logout");
            self.phase = Phase::Closed;
        }
        vec![r.into_pdu()]
    }

    fn task_management(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let Ok(req) = TaskMgmtRequest::from_pdu(&pdu) else {
            return vec![self.reject(RejectReason::ProtocolError, &pdu)];
        };
        let lun = req.lun.number();
        let referenced = req.referenced_task_tag;
        let mapped = self.luns.as_ref().is_some_and(|l| l.is_mapped(lun));
        let response = match req.function {
            TmfFunction::AbortTask => {
                let before = self.writes.len();
                self.writes.retain(|w| w.itt != referenced);
                let queued = self
                    .queued
                    .iter()
                    .find(|(_, p)| p.itt() == referenced)
                    .map(|(sn, _)| *sn);
                if let Some(sn) = queued {
                    // Keep CmdSN accounting: the slot completes as a no-op.
                    if let Some(p) = self.queued.get_mut(&sn) {
                        p.bhs[0] = Opcode::NopOut as u8;
                        p.set_itt(NO_TAG);
                    }
                }
                if self.writes.len() != before
                    || queued.is_some()
                    || sn_lt(req.ref_cmd_sn, self.exp_cmd_sn)
                {
                    // Found, or already completed (RFC 7143 section 11.5.1).
                    TmfResponse::Complete
                } else {
                    TmfResponse::TaskDoesNotExist
                }
            }
            TmfFunction::AbortTaskSet | TmfFunction::LunReset => {
                if !mapped {
                    TmfResponse::LunDoesNotExist
                } else {
                    self.writes.retain(|w| w.lun != req.lun);
                    if req.function == TmfFunction::LunReset
                        && let (Some(l), Some(luns)) = (lun, self.luns.as_mut())
                    {
                        luns.reset(l);
                    }
                    TmfResponse::Complete
                }
            }
            // CLEAR ACA, CLEAR TASK SET, TARGET WARM/COLD RESET, TASK
            // REASSIGN and the rest: not supported.
            _ => TmfResponse::FunctionNotSupported,
        };
        let mut r = TaskMgmtResponse {
            response,
            itt: req.itt,
            ..TaskMgmtResponse::default()
        };
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        vec![r.into_pdu()]
    }

    // ---- text / SendTargets -----------------------------------------

    fn text(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let Ok(req) = TextRequest::from_pdu(&pdu) else {
            return vec![self.reject(RejectReason::ProtocolError, &pdu)];
        };
        let tag = req.itt;
        if req.ttt != NO_TAG {
            // The initiator asks for the rest of a long response.
            return match self.text_cont.take() {
                Some((i, t, rest)) if i == tag && t == req.ttt => self.text_chunk(tag, rest),
                _ => vec![self.reject(RejectReason::InvalidPduField, &pdu)],
            };
        }
        self.text_cont = None;
        self.text_in.extend_from_slice(&req.data);
        if req.continue_bit {
            // Continued request: acknowledge, wait for the rest.
            let mut r = TextResponse {
                itt: tag,
                ttt: self.new_ttt(),
                ..TextResponse::default()
            };
            (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
            return vec![r.into_pdu()];
        }
        let text = std::mem::take(&mut self.text_in);
        let Ok(keys) = parse_text(&text) else {
            return vec![self.reject(RejectReason::ProtocolError, &pdu)];
        };
        let mut out = Vec::new();
        for (k, v) in keys {
            if k == "SendTargets" {
                self.send_targets(&v, &mut out);
            } else if k == "MaxRecvDataSegmentLength" {
                // The one key an initiator may re-declare here.
                params::answer(
                    &mut self.params,
                    &self.portal.limits,
                    &k,
                    &v,
                    self.discovery,
                );
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
        let n = rest
            .len()
            .min(self.params.peer_max_recv_data_segment_length as usize);
        let chunk: Vec<u8> = rest.drain(..n).collect();
        let more = !rest.is_empty();
        let ttt = if more { self.new_ttt() } else { NO_TAG };
        let mut r = TextResponse {
            final_bit: !more,
            continue_bit: more,
            itt: tag,
            ttt,
            data: chunk,
            ..TextResponse::default()
        };
        (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
        if more {
            self.text_cont = Some((tag, ttt, rest));
        }
        vec![r.into_pdu()]
    }

    // ---- SCSI --------------------------------------------------------

    fn scsi_command(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let Ok(req) = ScsiCommand::from_pdu(&pdu) else {
            return vec![self.reject(RejectReason::InvalidPduField, &pdu)];
        };
        let edtl = req.expected_len as usize;
        let (tag, lun) = (req.itt, req.lun);
        let cdb = req.full_cdb();
        if req.read && req.write {
            // Bidirectional commands: no device model has any.
            return self.respond(tag, lun, &cdb, 0, &[], check_invalid_cdb());
        }
        // A data segment larger than the transfer, or without W: broken.
        if pdu.data.len() > edtl || (!req.write && !pdu.data.is_empty()) {
            return vec![self.reject(RejectReason::ProtocolError, &pdu)];
        }
        // Limits we accept: writes are buffered whole before the model runs.
        if edtl > 64 << 20 {
            return self.respond(tag, lun, &cdb, 0, &[], check_invalid_cdb());
        }
        if req.write && edtl > 0 {
            // Buffers are allocated before their data arrives: bound what a
            // window full of announced writes may reserve, as a target
            // whose queue is full answers TASK SET FULL.
            let reserved: usize = self.writes.iter().map(|w| w.buf.len()).sum();
            if reserved + edtl > MAX_PENDING_WRITE_BYTES {
                let full = reel_drivers::scsi::transport::Completion {
                    status: reel_drivers::scsi::transport::ScsiStatus::TASK_SET_FULL,
                    sense: Vec::new(),
                    residual: 0,
                };
                return self.respond(tag, lun, &cdb, 0, &[], full);
            }
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
        let mut data_in = vec![0u8; if req.read { edtl } else { 0 }];
        let out = match self.luns.as_mut() {
            Some(l) => l.execute(lun.number(), &cdb, &[], &mut data_in),
            None => return vec![self.reject(RejectReason::ProtocolError, &pdu)],
        };
        data_in.truncate(out.data_in_len);
        self.respond(tag, lun, &cdb, edtl, &data_in, out.completion)
    }

    /// Sends the next R2T of write `i`, or runs it once all data is in.
    fn advance_write(&mut self, i: usize) -> Vec<Pdu> {
        let Some(w) = self.writes.get(i) else {
            return Vec::new();
        };
        if w.received >= w.buf.len() {
            let w = self.writes.remove(i);
            let out = match self.luns.as_mut() {
                Some(l) => l.execute(w.lun.number(), &w.cdb, &w.buf, &mut []),
                None => return Vec::new(),
            };
            let edtl = w.buf.len();
            return self.respond(w.itt, w.lun, &w.cdb, edtl, &[], out.completion);
        }
        if w.r2t.is_some() || w.next_r2t >= w.buf.len() {
            // Waiting for data (solicited or unsolicited).
            return Vec::new();
        }
        let offset = w.next_r2t;
        let len = (w.buf.len() - offset).min(self.params.max_burst_length as usize);
        let ttt = self.new_ttt();
        let (stat_sn, exp_cmd_sn, max_cmd_sn) = self.sns(false);
        let w = &mut self.writes[i];
        w.r2t = Some((ttt, offset, len, 0));
        w.next_r2t = offset + len;
        let r = R2T {
            lun: w.lun,
            itt: w.itt,
            ttt,
            stat_sn,
            exp_cmd_sn,
            max_cmd_sn,
            r2t_sn: w.r2t_sn,
            buffer_offset: offset as u32,
            desired_len: len as u32,
        };
        w.r2t_sn = w.r2t_sn.wrapping_add(1);
        vec![r.into_pdu()]
    }

    fn data_out(&mut self, pdu: Pdu) -> Vec<Pdu> {
        let Ok(d) = DataOut::from_pdu(&pdu) else {
            return self.reject_close(RejectReason::ProtocolError, &pdu);
        };
        let (tag, ttt, offset) = (d.itt, d.ttt, d.buffer_offset as usize);
        let Some(i) = self.writes.iter().position(|w| w.itt == tag) else {
            // Data for an aborted task is dropped (RFC 7143 section 4.2.3.3).
            tracing::debug!(itt = tag, "Data-Out for no pending write: dropped");
            return Vec::new();
        };
        let w = &mut self.writes[i];
        let end = offset.checked_add(d.data.len());
        let in_range = match (ttt, w.r2t) {
            (NO_TAG, _) => end.is_some_and(|e| e <= w.buf.len() && !self.params.initial_r2t),
            (t, Some((rt, off, len, _))) if t == rt => {
                end.is_some_and(|e| offset >= off && e <= off + len)
            }
            _ => false,
        };
        let Some(end) = end.filter(|_| in_range) else {
            return self.reject_close(RejectReason::ProtocolError, &pdu);
        };
        let w = &mut self.writes[i];
        w.buf[offset..end].copy_from_slice(&d.data);
        w.received += d.data.len();
        if let Some((rt, off, len, got)) = w.r2t
            && rt == ttt
        {
            let got = got + d.data.len();
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
        lun: Lun,
        cdb: &[u8],
        edtl: usize,
        data: &[u8],
        c: reel_drivers::scsi::transport::Completion,
    ) -> Vec<Pdu> {
        // Residuals: overflow when the CDB asked for more than the
        // initiator expects; underflow when less moved.
        let (overflow, underflow, residual) = match cdb_transfer_length(cdb) {
            Some(want) if want > edtl => (true, false, want - edtl),
            _ if c.residual > 0 => (false, true, c.residual.min(edtl)),
            _ => (false, false, 0),
        };
        let mut out = Vec::new();
        let status_in_data = c.status.0 == 0 && c.sense.is_empty() && !data.is_empty();
        let seg = (self.params.peer_max_recv_data_segment_length as usize).max(512);
        let burst = (self.params.max_burst_length as usize).max(seg);
        let mut data_sn = 0u32;
        let mut off = 0;
        while off < data.len() {
            let n = (data.len() - off).min(seg);
            let last = off + n == data.len();
            let status = last && status_in_data;
            let mut d = DataIn {
                final_bit: last || (off + n).is_multiple_of(burst),
                status_present: status,
                lun,
                itt: tag,
                ttt: NO_TAG,
                data_sn,
                buffer_offset: off as u32,
                data: data[off..off + n].to_vec(),
                ..DataIn::default()
            };
            (d.stat_sn, d.exp_cmd_sn, d.max_cmd_sn) = self.sns(status);
            if status {
                d.overflow = overflow;
                d.underflow = underflow;
                d.status = c.status.0;
                d.residual = residual as u32;
            } else {
                // StatSN is reserved without the S bit.
                d.stat_sn = 0;
            }
            data_sn += 1;
            off += n;
            out.push(d.into_pdu());
        }
        if !status_in_data {
            let mut r = ScsiResponse {
                overflow,
                underflow,
                status: c.status.0,
                itt: tag,
                exp_data_sn: data_sn,
                residual: residual as u32,
                sense: c.sense.clone(),
                ..ScsiResponse::default()
            };
            (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn) = self.sns(true);
            out.push(r.into_pdu());
        }
        out
    }
}

/// Write data one connection may hold before it runs the commands.
const MAX_PENDING_WRITE_BYTES: usize = 128 << 20;

fn check_invalid_cdb() -> reel_drivers::scsi::transport::Completion {
    use reel_drivers::scsi::sense::{Sense, SenseKey};
    reel_drivers::scsi::transport::Completion {
        status: reel_drivers::scsi::transport::ScsiStatus::CHECK_CONDITION,
        sense: Sense::new(SenseKey::IllegalRequest, 0x24, 0x00).encode_fixed(),
        residual: 0,
    }
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
