//! Sans-I/O login of the initiator (RFC 7143 section 6): the security
//! stage with CHAP when credentials are configured, the operational
//! stage, and the limits that come out of it.
//!
//! [`Login::start`] gives the first request; every Login Response goes to
//! [`Login::on_response`], which answers with the next request or with the
//! negotiated [`Limits`].

use super::creds::ChapCredentials;
use crate::iscsi::chap::{self, Challenge, ChapAlgorithm};
use crate::iscsi::keys::{
    self, Negotiated, Rule, SessionParams, SessionType, TextAssembler, encode_text,
};
use crate::iscsi::pdu::{LoginRequest, LoginResponse, Pdu, Stage, login_status};

/// CHAP algorithms we offer, preferred first.
const CHAP_ALGORITHMS: [ChapAlgorithm; 3] = [
    ChapAlgorithm::Sha256,
    ChapAlgorithm::Sha1,
    ChapAlgorithm::Md5,
];

/// Bound on the login text of one stage reassembled across PDUs (C bit):
/// a target that never clears C must not grow memory without limit.
const MAX_LOGIN_TEXT: usize = 1 << 20;

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
    /// The limits the command phase uses, from negotiated parameters.
    fn from_params(p: &SessionParams) -> Limits {
        Limits {
            header_digest: p.header_digest,
            data_digest: p.data_digest,
            immediate_data: p.immediate_data,
            initial_r2t: p.initial_r2t,
            first_burst_length: p.first_burst_length,
            max_burst_length: p.max_burst_length,
            max_send_segment: p.peer_max_recv_data_segment_length,
            max_recv_segment: p.max_recv_data_segment_length,
        }
    }
}

impl InitiatorConfig {
    /// The operational values we want: the config's, and for the rest
    /// what a single-connection, ErrorRecoveryLevel 0 initiator that
    /// prefers unsolicited data asks for.
    fn desired(&self) -> SessionParams {
        SessionParams {
            max_recv_data_segment_length: self.max_recv_data_segment_length,
            first_burst_length: self.first_burst_length,
            max_burst_length: self.max_burst_length,
            initial_r2t: false,
            immediate_data: true,
            default_time2wait: 0,
            default_time2retain: 0,
            header_digest: self.header_digest,
            data_digest: self.data_digest,
            ..SessionParams::default()
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
    /// What we offer; `negotiate`'s side of keys the target offers.
    desired: SessionParams,
    /// The outcome so far: RFC 7143 defaults until a key settles.
    params: SessionParams,
    /// Our challenge to the target (mutual CHAP).
    mutual_challenge: Option<Challenge>,
    /// Keys we offered in the operational stage.
    offered: Vec<&'static str>,
    /// Text of a response split over several PDUs (C bit).
    text: TextAssembler,
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
        let desired = config.desired();
        let params = SessionParams {
            max_recv_data_segment_length: config.max_recv_data_segment_length,
            ..SessionParams::default()
        };
        let mut login = Login {
            kind,
            config,
            creds,
            isid,
            tsih,
            cmd_sn,
            exp_stat_sn: 0,
            phase: Phase::AuthMethod,
            desired,
            params,
            mutual_challenge: None,
            offered: Vec::new(),
            text: TextAssembler::new(MAX_LOGIN_TEXT),
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
                if c.mutual.is_some() {
                    // The algorithm is the one the target picks later.
                    login.mutual_challenge = Some(Challenge {
                        alg: ChapAlgorithm::Md5,
                        id: challenge[0],
                        challenge: challenge.to_vec(),
                    });
                }
                login.request(false, Stage::Security, Stage::Operational, &keys)
            }
            None => {
                // No credentials: straight to the operational stage with
                // the transit bit, as libiscsi does.
                login.phase = Phase::Operational;
                keys.extend(login.operational_offer());
                login.request(true, Stage::Operational, Stage::FullFeature, &keys)
            }
        };
        (login, pdu)
    }

    fn operational_offer(&mut self) -> Vec<(String, String)> {
        let mut keys = vec!["HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"];
        if matches!(self.kind, SessionKind::Normal { .. }) {
            keys.extend([
                "ImmediateData",
                "InitialR2T",
                "FirstBurstLength",
                "MaxBurstLength",
                "ErrorRecoveryLevel",
                "MaxConnections",
                "MaxOutstandingR2T",
                "DataPDUInOrder",
                "DataSequenceInOrder",
                "DefaultTime2Wait",
                "DefaultTime2Retain",
            ]);
        }
        // MaxRecvDataSegmentLength is declarative: no answer expected.
        self.offered = keys
            .iter()
            .copied()
            .filter(|k| *k != "MaxRecvDataSegmentLength")
            .collect();
        keys.into_iter()
            .filter_map(|k| self.desired.value_of(k).map(|v| (k.to_string(), v)))
            .collect()
    }

    fn request(&self, transit: bool, csg: Stage, nsg: Stage, keys: &[(String, String)]) -> Pdu {
        LoginRequest {
            transit,
            continue_bit: false,
            csg,
            nsg,
            // Version-max and version-min 0 (RFC 7143 11.12.4).
            version_max: 0,
            version_min: 0,
            isid: self.isid,
            tsih: self.tsih,
            itt: 0,
            cid: 0,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            data: encode_text(keys),
        }
        .into_pdu()
    }

    /// Consumes one Login Response.
    pub fn on_response(&mut self, pdu: &Pdu) -> Result<LoginStep, LoginError> {
        let r = LoginResponse::from_pdu(pdu).map_err(|e| {
            LoginError::Protocol(format!(
                "expected a Login Response, got opcode 0x{:02x}: {e}",
                pdu.opcode_byte()
            ))
        })?;
        if r.status_class != 0 {
            return Err(LoginError::Rejected(status_text(
                r.status_class,
                r.status_detail,
            )));
        }
        self.exp_stat_sn = r.stat_sn.wrapping_add(1);
        self.tsih = r.tsih;
        let keys = self
            .text
            .push(&r.data, r.continue_bit)
            .map_err(|e| LoginError::Protocol(format!("bad login text: {e}")))?;
        let Some(keys) = keys else {
            // More text follows: acknowledge with an empty request.
            return Ok(LoginStep::Send(self.request(false, r.csg, r.csg, &[])));
        };
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
                let keys = [(
                    "CHAP_A".to_string(),
                    chap::offer_algorithms(&CHAP_ALGORITHMS),
                )];
                Ok(LoginStep::Send(self.request(
                    false,
                    Stage::Security,
                    Stage::Operational,
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
        let auth = |e: chap::ChapError| LoginError::Auth(e.to_string());
        let (Some(alg), Some(id), Some(c)) = (
            find(keys, "CHAP_A"),
            find(keys, "CHAP_I"),
            find(keys, "CHAP_C"),
        ) else {
            return Err(LoginError::Auth(
                "target sent no CHAP_A, CHAP_I and CHAP_C".into(),
            ));
        };
        let chosen = chap::parse_algorithm(alg).map_err(auth)?;
        if !CHAP_ALGORITHMS.contains(&chosen) {
            return Err(LoginError::Auth(
                "target chose no CHAP algorithm we offered".into(),
            ));
        }
        if let Some(ours) = &self.mutual_challenge
            && ours.is_reflection(&chap::decode_binary(c).map_err(auth)?)
        {
            // A target reflecting our own challenge could replay our answer.
            return Err(LoginError::Auth(
                "target sent our own challenge back".into(),
            ));
        }
        let mut out =
            chap::answer_challenge(alg, id, c, &creds.initiator.user, &creds.initiator.secret)
                .map_err(auth)?;
        let id = chap::parse_identifier(id).map_err(auth)?;
        if let Some(m) = &mut self.mutual_challenge {
            // The mutual challenge uses the algorithm the target chose;
            // our identifier differs from the target's.
            m.alg = chosen;
            if m.id == id {
                m.id = id.wrapping_add(1);
            }
            out.extend(m.keys().into_iter().filter(|(k, _)| k != "CHAP_A"));
        }
        self.phase = Phase::ChapResult;
        Ok(LoginStep::Send(self.request(
            true,
            Stage::Security,
            Stage::Operational,
            &out,
        )))
    }

    fn on_security_end(
        &mut self,
        r: &LoginResponse,
        keys: &[(String, String)],
    ) -> Result<LoginStep, LoginError> {
        if self.phase == Phase::ChapResult
            && let Some(challenge) = &self.mutual_challenge
        {
            let mutual = self
                .creds
                .as_ref()
                .and_then(|c| c.mutual.clone())
                .ok_or_else(|| LoginError::Protocol("mutual CHAP state without secret".into()))?;
            let (Some(name), Some(resp)) = (find(keys, "CHAP_N"), find(keys, "CHAP_R")) else {
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
            if !challenge.check(resp, &mutual.secret).unwrap_or(false) {
                return Err(LoginError::Auth("target's CHAP response is wrong".into()));
            }
            // Verified once; later responses of this stage carry nothing.
            self.mutual_challenge = None;
        }
        if !(r.transit && r.nsg == Stage::Operational) {
            // The target is not ready to leave the security stage.
            return Ok(LoginStep::Send(self.request(
                true,
                Stage::Security,
                Stage::Operational,
                &[],
            )));
        }
        self.phase = Phase::Operational;
        let keys = self.operational_offer();
        Ok(LoginStep::Send(self.request(
            true,
            Stage::Operational,
            Stage::FullFeature,
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
        if r.transit && r.nsg == Stage::FullFeature && answers.is_empty() {
            return Ok(LoginStep::Done(LoggedIn {
                limits: Limits::from_params(&self.params),
                tsih: r.tsih,
                exp_stat_sn: self.exp_stat_sn,
                exp_cmd_sn: r.exp_cmd_sn,
                max_cmd_sn: r.max_cmd_sn,
            }));
        }
        Ok(LoginStep::Send(self.request(
            true,
            Stage::Operational,
            Stage::FullFeature,
            &answers,
        )))
    }

    /// Applies one key of the target: the answer to a key we offered, a
    /// declaration, or a key the target offers (negotiated by the shared
    /// rules, RFC 7143 section 13). Returns our answer to the last kind.
    fn apply(&mut self, key: &str, value: &str) -> Result<Option<String>, LoginError> {
        if matches!(value, "NotUnderstood" | "Irrelevant" | "Reject") {
            // The target refused our offer: the RFC default stays.
            return Ok(None);
        }
        let rule = keys::rule(key);
        // A list where an answer holds one value is the target's own offer.
        let offer =
            !self.offered.contains(&key) || (rule == Some(Rule::List) && value.contains(','));
        let result = match rule {
            // Informational (TargetPortalGroupTag, TargetAlias, ...).
            Some(Rule::Declarative) => return Ok(None),
            Some(Rule::DeclarativeNumber { .. }) => value.to_string(),
            _ if !offer => value.to_string(),
            _ => {
                let session = match self.kind {
                    SessionKind::Normal { .. } => SessionType::Normal,
                    SessionKind::Discovery => SessionType::Discovery,
                };
                let ours = self.desired.value_of(key).unwrap_or_default();
                let n = keys::negotiate_for(session, key, value, &ours);
                let Negotiated::Value(v) = &n else {
                    return Ok(n.answer().map(str::to_string));
                };
                self.record(key, v)?;
                return Ok(Some(v.clone()));
            }
        };
        self.record(key, &result)?;
        Ok(None)
    }

    /// Records a settled key; we only run ErrorRecoveryLevel 0.
    fn record(&mut self, key: &str, value: &str) -> Result<(), LoginError> {
        self.params
            .apply(key, value)
            .map_err(|e| LoginError::Protocol(format!("invalid value {value:?} for {key}: {e}")))?;
        if self.params.error_recovery_level != 0 {
            return Err(LoginError::Protocol(
                "target insists on ErrorRecoveryLevel > 0".into(),
            ));
        }
        Ok(())
    }
}

fn find<'a>(keys: &'a [(String, String)], key: &str) -> Option<&'a str> {
    keys.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Login status class/detail in words (RFC 7143 11.13.5).
pub fn status_text(class: u8, detail: u8) -> String {
    use login_status::*;
    let what = match (class, detail) {
        TARGET_MOVED_TEMPORARILY => "target moved temporarily",
        TARGET_MOVED_PERMANENTLY => "target moved permanently",
        INITIATOR_ERROR => "initiator error",
        AUTHENTICATION_FAILURE => "authentication failed",
        AUTHORIZATION_FAILURE => "authorization failure",
        NOT_FOUND => "target not found",
        TARGET_REMOVED => "target removed",
        UNSUPPORTED_VERSION => "unsupported version",
        TOO_MANY_CONNECTIONS => "too many connections",
        MISSING_PARAMETER => "missing parameter",
        CANT_INCLUDE_IN_SESSION => "cannot include in session",
        SESSION_TYPE_NOT_SUPPORTED => "session type not supported",
        SESSION_DOES_NOT_EXIST => "session does not exist",
        INVALID_DURING_LOGIN => "invalid during login",
        TARGET_ERROR => "target error",
        SERVICE_UNAVAILABLE => "service unavailable",
        OUT_OF_RESOURCES => "out of resources",
        _ => "unknown status",
    };
    format!("{what} (class 0x{class:02x}, detail 0x{detail:02x})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iscsi::initiator::creds::ChapSecret;

    fn config() -> InitiatorConfig {
        InitiatorConfig {
            initiator_name: "iqn.2024-01.org.reel:test".into(),
            ..InitiatorConfig::default()
        }
    }

    fn normal() -> SessionKind {
        SessionKind::Normal {
            target: "iqn.2024-01.org.reel:vtl".into(),
        }
    }

    /// A Login Response: flags byte, TSIH, StatSN, status, text.
    fn resp(flags: u8, tsih: u16, stat_sn: u32, class: u8, text: &str) -> Pdu {
        let mut b = [0u8; 48];
        b[0] = 0x23;
        b[1] = flags;
        b[5..8].copy_from_slice(&(text.len() as u32).to_be_bytes()[1..]);
        b[14..16].copy_from_slice(&tsih.to_be_bytes());
        b[24..28].copy_from_slice(&stat_sn.to_be_bytes());
        b[28..32].copy_from_slice(&1u32.to_be_bytes());
        b[32..36].copy_from_slice(&8u32.to_be_bytes());
        b[36] = class;
        Pdu {
            bhs: b,
            ahs: vec![],
            data: text.as_bytes().to_vec(),
        }
    }

    fn text(p: &Pdu) -> String {
        String::from_utf8(p.data.clone())
            .unwrap()
            .replace('\0', "|")
    }

    #[test]
    fn without_credentials_goes_straight_to_operational() {
        let (mut l, first) = Login::start(
            normal(),
            config(),
            None,
            [0x80, 1, 2, 3, 4, 5],
            0,
            1,
            [7; 16],
        );
        // Immediate login, T=1, CSG=1, NSG=3, versions 0, ISID, TSIH 0,
        // ITT 0, CID 0, CmdSN 1, ExpStatSN 0.
        let mut want = [0u8; 48];
        want[..5].copy_from_slice(&[0x43, 0x87, 0, 0, 0]);
        want[5..8].copy_from_slice(&(first.data.len() as u32).to_be_bytes()[1..]);
        want[8..14].copy_from_slice(&[0x80, 1, 2, 3, 4, 5]);
        want[27] = 1;
        assert_eq!(first.bhs, want);
        assert_eq!(
            text(&first),
            "InitiatorName=iqn.2024-01.org.reel:test|SessionType=Normal|\
             TargetName=iqn.2024-01.org.reel:vtl|HeaderDigest=None|DataDigest=None|\
             MaxRecvDataSegmentLength=262144|ImmediateData=Yes|InitialR2T=No|\
             FirstBurstLength=262144|MaxBurstLength=16777215|ErrorRecoveryLevel=0|\
             MaxConnections=1|MaxOutstandingR2T=1|DataPDUInOrder=Yes|\
             DataSequenceInOrder=Yes|DefaultTime2Wait=0|DefaultTime2Retain=0|"
        );
        let r = resp(
            0x87,
            0x1234,
            5,
            0,
            "TargetPortalGroupTag=1\0HeaderDigest=None\0DataDigest=None\0\
             MaxRecvDataSegmentLength=65536\0ImmediateData=Yes\0InitialR2T=Yes\0\
             FirstBurstLength=65536\0MaxBurstLength=262144\0ErrorRecoveryLevel=0\0",
        );
        let LoginStep::Done(done) = l.on_response(&r).unwrap() else {
            panic!("login not finished");
        };
        assert_eq!(done.tsih, 0x1234);
        assert_eq!(done.exp_stat_sn, 6);
        assert_eq!((done.exp_cmd_sn, done.max_cmd_sn), (1, 8));
        assert_eq!(
            done.limits,
            Limits {
                header_digest: false,
                data_digest: false,
                immediate_data: true,
                initial_r2t: true,
                first_burst_length: 65536,
                max_burst_length: 262144,
                max_send_segment: 65536,
                max_recv_segment: 262144,
            }
        );
    }

    #[test]
    fn target_keys_needing_answers_keep_the_stage_open() {
        let (mut l, _) = Login::start(normal(), config(), None, [0; 6], 0, 0, [0; 16]);
        // The target offers a digest list and a key we do not know, without T.
        let r = resp(0x04, 0, 0, 0, "HeaderDigest=CRC32C,None\0X-vendor=1\0");
        let LoginStep::Send(next) = l.on_response(&r).unwrap() else {
            panic!("finished with unanswered keys");
        };
        assert_eq!(&next.bhs[..2], &[0x43, 0x87]);
        assert_eq!(text(&next), "HeaderDigest=None|X-vendor=NotUnderstood|");
        let LoginStep::Done(_) = l.on_response(&resp(0x87, 1, 1, 0, "")).unwrap() else {
            panic!("not done");
        };
    }

    #[test]
    fn target_offers_are_negotiated_by_the_key_rules() {
        let (mut l, _) = Login::start(normal(), config(), None, [0; 6], 0, 0, [0; 16]);
        // An obsolete marker key the target offers is answered No; the
        // answers to our own offers are recorded without a reply.
        let r = resp(
            0x04,
            0,
            0,
            0,
            "IFMarker=Yes\0DefaultTime2Wait=5\0MaxBurstLength=1024\0",
        );
        let LoginStep::Send(next) = l.on_response(&r).unwrap() else {
            panic!("finished with unanswered keys");
        };
        assert_eq!(text(&next), "IFMarker=No|");
        let LoginStep::Done(done) = l.on_response(&resp(0x87, 1, 1, 0, "")).unwrap() else {
            panic!("not done");
        };
        assert_eq!(done.limits.max_burst_length, 1024);
        // In a discovery session, data-transfer keys are Irrelevant.
        let (mut l, _) = Login::start(
            SessionKind::Discovery,
            config(),
            None,
            [0; 6],
            0,
            0,
            [0; 16],
        );
        let r = resp(0x04, 0, 0, 0, "ImmediateData=Yes\0");
        let LoginStep::Send(next) = l.on_response(&r).unwrap() else {
            panic!()
        };
        assert_eq!(text(&next), "ImmediateData=Irrelevant|");
    }

    #[test]
    fn rejection_and_bad_values() {
        let (mut l, _) = Login::start(normal(), config(), None, [0; 6], 0, 0, [0; 16]);
        let e = l.on_response(&resp(0, 0, 0, 2, "")).unwrap_err();
        assert!(e.to_string().contains("initiator error"), "{e}");
        let (mut l, _) = Login::start(normal(), config(), None, [0; 6], 0, 0, [0; 16]);
        assert!(
            l.on_response(&resp(0x87, 0, 0, 0, "ImmediateData=Maybe\0"))
                .is_err()
        );
        let (mut l, _) = Login::start(normal(), config(), None, [0; 6], 0, 0, [0; 16]);
        assert!(
            l.on_response(&resp(0x87, 0, 0, 0, "ErrorRecoveryLevel=2\0"))
                .is_err()
        );
        let mut not_login = resp(0x87, 0, 0, 0, "");
        not_login.bhs[0] = 0x21;
        assert!(l.on_response(&not_login).is_err());
    }

    fn creds(mutual: bool) -> ChapCredentials {
        ChapCredentials {
            initiator: ChapSecret {
                user: "alice".into(),
                secret: b"initiator-secret".to_vec(),
            },
            mutual: mutual.then(|| ChapSecret {
                user: "tgt".into(),
                secret: b"target-secret!".to_vec(),
            }),
        }
    }

    #[test]
    fn one_way_chap() {
        let (mut l, first) = Login::start(
            normal(),
            config(),
            Some(creds(false)),
            [0; 6],
            0,
            0,
            [9; 16],
        );
        // Security stage, no transit.
        assert_eq!(&first.bhs[..2], &[0x43, 0x00]);
        assert!(
            text(&first).ends_with("AuthMethod=CHAP,None|"),
            "{}",
            text(&first)
        );
        let LoginStep::Send(a) = l
            .on_response(&resp(0x00, 0, 0, 0, "AuthMethod=CHAP\0"))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(text(&a), "CHAP_A=7,6,5|");
        let LoginStep::Send(r) = l
            .on_response(&resp(0x00, 0, 1, 0, "CHAP_A=5\0CHAP_I=3\0CHAP_C=0x0102\0"))
            .unwrap()
        else {
            panic!()
        };
        // T=1, CSG=0, NSG=1.
        assert_eq!(&r.bhs[..2], &[0x43, 0x81]);
        let want = chap::encode_hex(&chap::response(
            ChapAlgorithm::Md5,
            3,
            b"initiator-secret",
            &[1, 2],
        ));
        assert_eq!(text(&r), format!("CHAP_N=alice|CHAP_R={want}|"));
        // The target moves to operational: we offer the operational keys.
        let LoginStep::Send(op) = l.on_response(&resp(0x81, 0, 2, 0, "")).unwrap() else {
            panic!()
        };
        assert_eq!(&op.bhs[..2], &[0x43, 0x87]);
        assert!(text(&op).starts_with("HeaderDigest=None|"));
        assert!(matches!(
            l.on_response(&resp(0x87, 9, 3, 0, "")).unwrap(),
            LoginStep::Done(_)
        ));
    }

    #[test]
    fn mutual_chap_verifies_the_target() {
        let run = |target_secret: &[u8], name: &str| {
            let (mut l, first) = Login::start(
                normal(),
                config(),
                Some(creds(true)),
                [0; 6],
                0,
                0,
                [0x5a; 16],
            );
            assert!(text(&first).ends_with("AuthMethod=CHAP|"));
            l.on_response(&resp(0, 0, 0, 0, "AuthMethod=CHAP\0"))
                .unwrap();
            let LoginStep::Send(r) = l
                .on_response(&resp(0, 0, 1, 0, "CHAP_A=7\0CHAP_I=1\0CHAP_C=0xaabbcc\0"))
                .unwrap()
            else {
                panic!()
            };
            let t = text(&r);
            assert!(
                t.contains(&format!("|CHAP_I=90|CHAP_C=0x{}|", "5a".repeat(16))),
                "{t}"
            );
            let answer = chap::encode_hex(&chap::response(
                ChapAlgorithm::Sha256,
                90,
                target_secret,
                &[0x5a; 16],
            ));
            l.on_response(&resp(
                0x81,
                0,
                2,
                0,
                &format!("CHAP_N={name}\0CHAP_R={answer}\0"),
            ))
        };
        assert!(matches!(
            run(b"target-secret!", "tgt"),
            Ok(LoginStep::Send(_))
        ));
        assert!(matches!(run(b"wrong", "tgt"), Err(LoginError::Auth(_))));
        assert!(matches!(
            run(b"target-secret!", "other"),
            Err(LoginError::Auth(_))
        ));
    }

    #[test]
    fn mutual_chap_refuses_a_target_without_authentication() {
        let (mut l, _) = Login::start(normal(), config(), Some(creds(true)), [0; 6], 0, 0, [1; 16]);
        assert!(matches!(
            l.on_response(&resp(0x81, 0, 0, 0, "AuthMethod=None\0")),
            Err(LoginError::Auth(_))
        ));
        // A reflected challenge is refused.
        let (mut l, _) = Login::start(normal(), config(), Some(creds(true)), [0; 6], 0, 0, [1; 16]);
        l.on_response(&resp(0, 0, 0, 0, "AuthMethod=CHAP\0"))
            .unwrap();
        let c = format!("CHAP_A=5\0CHAP_I=1\0CHAP_C=0x{}\0", "01".repeat(16));
        assert!(matches!(
            l.on_response(&resp(0, 0, 0, 0, &c)),
            Err(LoginError::Auth(_))
        ));
    }
}
