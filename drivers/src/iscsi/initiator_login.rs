//! Sans-I/O login of the initiator (RFC 7143 section 6): the security
//! stage with CHAP when credentials are configured, the operational
//! stage, and the limits that come out of it.
//!
//! [`Login::start`] gives the first request; every Login Response goes to
//! [`Login::on_response`], which answers with the next request or with the
//! negotiated [`Limits`].

use super::initiator_creds::ChapCredentials;
use super::initiator_wire::{LoginRequest, LoginResponse, OP_LOGIN_RESPONSE, opcode};
use crate::iscsi::chap::{self, ChapAlgorithm};
use crate::iscsi::keys::{encode_text, parse_text};
use crate::iscsi::pdu::Pdu;

const STAGE_SECURITY: u8 = 0;
const STAGE_OPERATIONAL: u8 = 1;
const STAGE_FULL_FEATURE: u8 = 3;

/// What we offer (RFC 7143 13.12 - 13.14 ranges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiatorConfig {
    pub initiator_name: String,
    /// Offer CRC32C (then None) for header / data digests.
    pub header_digest: bool,
    pub data_digest: bool,
    pub max_recv_data_segment_length: u32,
    pub first_burst_length: u32,
    pub max_burst_length: u32,
}

impl Default for InitiatorConfig {
    fn default() -> Self {
        InitiatorConfig {
            initiator_name: default_initiator_name(),
            header_digest: false,
            data_digest: false,
            max_recv_data_segment_length: 256 * 1024,
            first_burst_length: 256 * 1024,
            // The largest legal value, 2^24 - 1 (RFC 7143 13.13).
            max_burst_length: (1 << 24) - 1,
        }
    }
}

/// `iqn.2024-01.org.reel:HOSTNAME` (host name from /etc/hostname when
/// readable; it only needs to be stable and unique per host).
pub fn default_initiator_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "localhost".into());
    format!("iqn.2024-01.org.reel:{host}")
}

/// The session parameters the command phase needs, after negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_digest: bool,
    pub data_digest: bool,
    pub immediate_data: bool,
    pub initial_r2t: bool,
    pub first_burst_length: u32,
    pub max_burst_length: u32,
    /// Largest data segment we may send (the target's declaration).
    pub max_send_segment: u32,
    /// Largest data segment we accept (our declaration).
    pub max_recv_segment: u32,
}

impl Limits {
    /// RFC 7143 defaults, before any key is negotiated.
    fn defaults(ours: &InitiatorConfig) -> Limits {
        Limits {
            header_digest: false,
            data_digest: false,
            immediate_data: true,
            initial_r2t: true,
            first_burst_length: 65536,
            max_burst_length: 262144,
            max_send_segment: 8192,
            max_recv_segment: ours.max_recv_data_segment_length,
        }
    }
}

/// Whether this is a normal session to one target or a discovery session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    Normal { target: String },
    Discovery,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("login rejected by the target: {0}")]
    Rejected(String),
    #[error("CHAP authentication failed: {0}")]
    Auth(String),
    #[error("login protocol error: {0}")]
    Protocol(String),
}

/// The result of a finished login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    pub limits: Limits,
    pub tsih: u16,
    /// Next expected StatSN, CmdSN window.
    pub exp_stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
}

/// Next step of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    Send(Pdu),
    Done(LoggedIn),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Sent AuthMethod, waiting for the target's choice.
    AuthMethod,
    /// Sent CHAP_A, waiting for CHAP_A/CHAP_I/CHAP_C.
    ChapChallenge,
    /// Sent CHAP_N/CHAP_R, waiting for the switch to operational (and the
    /// target's CHAP_N/CHAP_R with mutual CHAP).
    ChapResult,
    /// Waiting for the switch to the security stage's successor after
    /// AuthMethod=None.
    SecurityDone,
    Operational,
}

/// The login state machine.
pub struct Login {
    kind: SessionKind,
    config: InitiatorConfig,
    creds: Option<ChapCredentials>,
    isid: [u8; 6],
    tsih: u16,
    cmd_sn: u32,
    exp_stat_sn: u32,
    phase: Phase,
    limits: Limits,
    /// Our challenge to the target (mutual CHAP): algorithm, id, bytes.
    mutual_challenge: Option<(ChapAlgorithm, u8, Vec<u8>)>,
    /// Keys we offered in the operational stage.
    offered: Vec<&'static str>,
    /// Text of a response split over several PDUs (C bit).
    partial: Vec<u8>,
}

impl Login {
    /// Starts a login; `challenge` is the random bytes used for our mutual
    /// CHAP challenge (passed in to keep this module deterministic).
    pub fn start(
        kind: SessionKind,
        config: InitiatorConfig,
        creds: Option<ChapCredentials>,
        isid: [u8; 6],
        tsih: u16,
        cmd_sn: u32,
        challenge: [u8; 16],
    ) -> (Login, Pdu) {
        let limits = Limits::defaults(&config);
        let mut login = Login {
            kind,
            config,
            creds,
            isid,
            tsih,
            cmd_sn,
            exp_stat_sn: 0,
            phase: Phase::AuthMethod,
            limits,
            mutual_challenge: None,
            offered: Vec::new(),
            partial: Vec::new(),
        };
        let mut keys = vec![
            (
                "InitiatorName".to_string(),
                login.config.initiator_name.clone(),
            ),
            (
                "SessionType".to_string(),
                match login.kind {
                    SessionKind::Normal { .. } => "Normal".to_string(),
                    SessionKind::Discovery => "Discovery".to_string(),
                },
            ),
        ];
        if let SessionKind::Normal { target } = &login.kind {
            keys.push(("TargetName".to_string(), target.clone()));
        }
        let pdu = match &login.creds {
            Some(c) => {
                // With mutual CHAP we insist on authenticating the target.
                let methods = if c.mutual.is_some() {
                    "CHAP"
                } else {
                    "CHAP,None"
                };
                keys.push(("AuthMethod".to_string(), methods.to_string()));
                if let Some(m) = &c.mutual {
                    let _ = m;
                    login.mutual_challenge =
                        Some((ChapAlgorithm::Md5, challenge[0], challenge.to_vec()));
                }
                login.request(false, STAGE_SECURITY, STAGE_OPERATIONAL, &keys)
            }
            None => {
                // No credentials: straight to the operational stage with
                // the transit bit, as libiscsi does.
                login.phase = Phase::Operational;
                keys.extend(login.operational_offer());
                login.request(true, STAGE_OPERATIONAL, STAGE_FULL_FEATURE, &keys)
            }
        };
        (login, pdu)
    }

    fn operational_offer(&mut self) -> Vec<(String, String)> {
        let c = &self.config;
        let digest = |on: bool| if on { "CRC32C,None" } else { "None" }.to_string();
        let mut keys: Vec<(&'static str, String)> = vec![
            ("HeaderDigest", digest(c.header_digest)),
            ("DataDigest", digest(c.data_digest)),
            (
                "MaxRecvDataSegmentLength",
                c.max_recv_data_segment_length.to_string(),
            ),
        ];
        if matches!(self.kind, SessionKind::Normal { .. }) {
            keys.extend([
                ("ImmediateData", "Yes".to_string()),
                ("InitialR2T", "No".to_string()),
                ("FirstBurstLength", c.first_burst_length.to_string()),
                ("MaxBurstLength", c.max_burst_length.to_string()),
                ("ErrorRecoveryLevel", "0".to_string()),
                ("MaxConnections", "1".to_string()),
                ("MaxOutstandingR2T", "1".to_string()),
                ("DataPDUInOrder", "Yes".to_string()),
                ("DataSequenceInOrder", "Yes".to_string()),
                ("DefaultTime2Wait", "0".to_string()),
                ("DefaultTime2Retain", "0".to_string()),
            ]);
        }
        // MaxRecvDataSegmentLength is declarative: no answer expected.
        self.offered = keys
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != "MaxRecvDataSegmentLength")
            .collect();
        keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn request(&self, transit: bool, csg: u8, nsg: u8, keys: &[(String, String)]) -> Pdu {
        LoginRequest {
            transit,
            csg,
            nsg,
            isid: self.isid,
            tsih: self.tsih,
            itt: 0,
            cid: 0,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            data: encode_text(keys),
        }
        .to_pdu()
    }

    /// Consumes one Login Response.
    pub fn on_response(&mut self, pdu: &Pdu) -> Result<LoginStep, LoginError> {
        if opcode(pdu) != OP_LOGIN_RESPONSE {
            return Err(LoginError::Protocol(format!(
                "expected a Login Response, got opcode 0x{:02x}",
                opcode(pdu)
            )));
        }
        let r = LoginResponse::from_pdu(pdu);
        if r.status_class != 0 {
            return Err(LoginError::Rejected(status_text(
                r.status_class,
                r.status_detail,
            )));
        }
        self.exp_stat_sn = r.stat_sn.wrapping_add(1);
        self.tsih = r.tsih;
        self.partial.extend_from_slice(&pdu.data);
        if r.cont {
            // More text follows: acknowledge with an empty request.
            let csg = r.csg;
            return Ok(LoginStep::Send(self.request(false, csg, 0, &[])));
        }
        let text = std::mem::take(&mut self.partial);
        let keys =
            parse_text(&text).map_err(|e| LoginError::Protocol(format!("bad login text: {e}")))?;
        match self.phase {
            Phase::AuthMethod => self.on_auth_method(&r, &keys),
            Phase::ChapChallenge => self.on_chap_challenge(&keys),
            Phase::ChapResult | Phase::SecurityDone => self.on_security_end(&r, &keys),
            Phase::Operational => self.on_operational(&r, &keys),
        }
    }

    fn on_auth_method(
        &mut self,
        r: &LoginResponse,
        keys: &[(String, String)],
    ) -> Result<LoginStep, LoginError> {
        let method = find(keys, "AuthMethod").unwrap_or("None");
        let mutual = self.creds.as_ref().is_some_and(|c| c.mutual.is_some());
        match method {
            "CHAP" => {
                self.phase = Phase::ChapChallenge;
                let keys = [("CHAP_A".to_string(), "7,6,5".to_string())];
                Ok(LoginStep::Send(self.request(
                    false,
                    STAGE_SECURITY,
                    STAGE_OPERATIONAL,
                    &keys,
                )))
            }
            "None" if mutual => Err(LoginError::Auth(
                "mutual CHAP is configured but the target does not authenticate".into(),
            )),
            "None" => {
                self.phase = Phase::SecurityDone;
                self.on_security_end(r, &[])
            }
            other => Err(LoginError::Auth(format!(
                "target chose unsupported AuthMethod {other:?}"
            ))),
        }
    }

    fn on_chap_challenge(&mut self, keys: &[(String, String)]) -> Result<LoginStep, LoginError> {
        let creds = self
            .creds
            .clone()
            .ok_or_else(|| LoginError::Protocol("CHAP without credentials".into()))?;
        let alg = find(keys, "CHAP_A")
            .and_then(|a| a.parse::<u8>().ok())
            .and_then(algorithm)
            .ok_or_else(|| LoginError::Auth("target chose no CHAP algorithm we offered".into()))?;
        let id = find(keys, "CHAP_I")
            .and_then(|i| i.parse::<u8>().ok())
            .ok_or_else(|| LoginError::Auth("missing or invalid CHAP_I".into()))?;
        let challenge = find(keys, "CHAP_C")
            .and_then(|c| chap::decode_binary(c).ok())
            .ok_or_else(|| LoginError::Auth("missing or invalid CHAP_C".into()))?;
        if let Some((_, _, ours)) = &self.mutual_challenge
            && *ours == challenge
        {
            // A target reflecting our own challenge could replay our answer.
            return Err(LoginError::Auth(
                "target sent our own challenge back".into(),
            ));
        }
        let response = chap::response(alg, id, &creds.initiator.secret, &challenge);
        let mut out = vec![
            ("CHAP_N".to_string(), creds.initiator.user.clone()),
            ("CHAP_R".to_string(), chap::encode_hex(&response)),
        ];
        if let Some((a, mid, ch)) = &mut self.mutual_challenge {
            // The mutual challenge uses the algorithm the target chose;
            // our identifier differs from the target's.
            *a = alg;
            if *mid == id {
                *mid = id.wrapping_add(1);
            }
            out.push(("CHAP_I".to_string(), mid.to_string()));
            out.push(("CHAP_C".to_string(), chap::encode_hex(ch)));
        }
        self.phase = Phase::ChapResult;
        Ok(LoginStep::Send(self.request(
            true,
            STAGE_SECURITY,
            STAGE_OPERATIONAL,
            &out,
        )))
    }

    fn on_security_end(
        &mut self,
        r: &LoginResponse,
        keys: &[(String, String)],
    ) -> Result<LoginStep, LoginError> {
        if self.phase == Phase::ChapResult
            && let Some((alg, id, challenge)) = &self.mutual_challenge
        {
            let mutual = self
                .creds
                .as_ref()
                .and_then(|c| c.mutual.clone())
                .ok_or_else(|| LoginError::Protocol("mutual CHAP state without secret".into()))?;
            let name = find(keys, "CHAP_N");
            let resp = find(keys, "CHAP_R").and_then(|r| chap::decode_binary(r).ok());
            let (Some(name), Some(resp)) = (name, resp) else {
                return Err(LoginError::Auth(
                    "target did not answer our mutual CHAP challenge".into(),
                ));
            };
            if name != mutual.user {
                return Err(LoginError::Auth(format!(
                    "target answered as {name:?}, expected {:?}",
                    mutual.user
                )));
            }
            let want = chap::response(*alg, *id, &mutual.secret, challenge);
            if want != resp {
                return Err(LoginError::Auth("target's CHAP response is wrong".into()));
            }
            // Verified once; later responses of this stage carry nothing.
            self.mutual_challenge = None;
        }
        if !(r.transit && r.nsg == STAGE_OPERATIONAL) {
            // The target is not ready to leave the security stage.
            return Ok(LoginStep::Send(self.request(
                true,
                STAGE_SECURITY,
                STAGE_OPERATIONAL,
                &[],
            )));
        }
        self.phase = Phase::Operational;
        let keys = self.operational_offer();
        Ok(LoginStep::Send(self.request(
            true,
            STAGE_OPERATIONAL,
            STAGE_FULL_FEATURE,
            &keys,
        )))
    }

    fn on_operational(
        &mut self,
        r: &LoginResponse,
        keys: &[(String, String)],
    ) -> Result<LoginStep, LoginError> {
        let mut answers = Vec::new();
        for (k, v) in keys {
            if let Some(a) = self.apply(k, v)? {
                answers.push((k.clone(), a));
            }
        }
        if r.transit && r.nsg == STAGE_FULL_FEATURE && answers.is_empty() {
            return Ok(LoginStep::Done(LoggedIn {
                limits: self.limits,
                tsih: r.tsih,
                exp_stat_sn: self.exp_stat_sn,
                exp_cmd_sn: r.exp_cmd_sn,
                max_cmd_sn: r.max_cmd_sn,
            }));
        }
        Ok(LoginStep::Send(self.request(
            true,
            STAGE_OPERATIONAL,
            STAGE_FULL_FEATURE,
            &answers,
        )))
    }

    /// Applies one key of the target. Returns our answer when the target
    /// offered a key we did not (it expects a reply).
    fn apply(&mut self, key: &str, value: &str) -> Result<Option<String>, LoginError> {
        let bad = || LoginError::Protocol(format!("invalid value {value:?} for {key}"));
        let num = || value.parse::<u32>().map_err(|_| bad());
        let yes = || match value {
            "Yes" => Ok(true),
            "No" => Ok(false),
            _ => Err(bad()),
        };
        let l = &mut self.limits;
        match key {
            "HeaderDigest" | "DataDigest" => {
                let on = match value {
                    "CRC32C" => true,
                    "None" => false,
                    // Offered by the target: answer with our preference.
                    list if list.contains(',') => {
                        let ours = if key == "HeaderDigest" {
                            self.config.header_digest
                        } else {
                            self.config.data_digest
                        };
                        let pick = if ours && list.split(',').any(|x| x == "CRC32C") {
                            "CRC32C"
                        } else if list.split(',').any(|x| x == "None") {
                            "None"
                        } else {
                            return Err(bad());
                        };
                        let on = pick == "CRC32C";
                        if key == "HeaderDigest" {
                            l.header_digest = on;
                        } else {
                            l.data_digest = on;
                        }
                        return Ok(Some(pick.into()));
                    }
                    _ => return Err(bad()),
                };
                if key == "HeaderDigest" {
                    l.header_digest = on;
                } else {
                    l.data_digest = on;
                }
            }
            "MaxRecvDataSegmentLength" => l.max_send_segment = num()?.clamp(512, (1 << 24) - 1),
            "FirstBurstLength" => l.first_burst_length = num()?.max(512),
            "MaxBurstLength" => l.max_burst_length = num()?.max(512),
            "ImmediateData" => l.immediate_data = yes()?,
            "InitialR2T" => l.initial_r2t = yes()?,
            "ErrorRecoveryLevel" => {
                if num()? != 0 {
                    return Err(LoginError::Protocol(
                        "target insists on ErrorRecoveryLevel > 0".into(),
                    ));
                }
            }
            // Informational or accepted as answered.
            "TargetPortalGroupTag"
            | "TargetAlias"
            | "TargetAddress"
            | "MaxConnections"
            | "MaxOutstandingR2T"
            | "DataPDUInOrder"
            | "DataSequenceInOrder"
            | "DefaultTime2Wait"
            | "DefaultTime2Retain"
            | "OFMarker"
            | "IFMarker" => {}
            _ => {
                if value != "NotUnderstood" && value != "Irrelevant" && value != "Reject" {
                    return Ok(Some("NotUnderstood".into()));
                }
            }
        }
        // A target-initiated key we did not offer needs an answer.
        if !self.offered.contains(&key) && is_negotiated(key) {
            return Ok(Some(value.to_string()));
        }
        Ok(None)
    }
}

fn is_negotiated(key: &str) -> bool {
    !matches!(
        key,
        "MaxRecvDataSegmentLength" | "TargetPortalGroupTag" | "TargetAlias" | "TargetAddress"
    )
}

fn find<'a>(keys: &'a [(String, String)], key: &str) -> Option<&'a str> {
    keys.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn algorithm(code: u8) -> Option<ChapAlgorithm> {
    match code {
        5 => Some(ChapAlgorithm::Md5),
        6 => Some(ChapAlgorithm::Sha1),
        7 => Some(ChapAlgorithm::Sha256),
        _ => None,
    }
}

/// Login status class/detail in words (RFC 7143 11.13.5).
pub fn status_text(class: u8, detail: u8) -> String {
    let what = match (class, detail) {
        (1, 1) => "target moved temporarily",
        (1, 2) => "target moved permanently",
        (2, 0) => "initiator error",
        (2, 1) => "authentication failed",
        (2, 2) => "authorization failure",
        (2, 3) => "target not found",
        (2, 4) => "target removed",
        (2, 5) => "unsupported version",
        (2, 6) => "too many connections",
        (2, 7) => "missing parameter",
        (2, 8) => "cannot include in session",
        (2, 9) => "session type not supported",
        (2, 10) => "session does not exist",
        (2, 11) => "invalid during login",
        (3, 0) => "target error",
        (3, 1) => "service unavailable",
        (3, 2) => "out of resources",
        _ => "unknown status",
    };
    format!("{what} (class 0x{class:02x}, detail 0x{detail:02x})")
}
