//! Text parameters (RFC 7143 section 6 and 13): `key=value` pairs, each
//! NUL terminated, UTF-8; their split across PDUs with the C bit; and the
//! negotiation rule of every key.

use super::pdu::PduError;

/// Longest key name (RFC 7143 6.1: at most 63 bytes).
pub const MAX_KEY_LEN: usize = 63;

/// Parse a (reassembled) text data segment. Empty entries (padding, a
/// doubled NUL) are skipped; a missing NUL after the last pair is accepted.
/// Duplicate keys are kept in order (SendTargets answers repeat
/// TargetName/TargetAddress); use [`check_unique`] for a negotiation.
pub fn parse_text(data: &[u8]) -> Result<Vec<(String, String)>, PduError> {
    let mut out = Vec::new();
    for entry in data.split(|&b| b == 0) {
        if entry.is_empty() {
            continue;
        }
        let s = std::str::from_utf8(entry)
            .map_err(|_| PduError::Text("text parameter is not UTF-8".into()))?;
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| PduError::Text(format!("no '=' in {:?}", truncate(s))))?;
        check_key(k)?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn check_key(k: &str) -> Result<(), PduError> {
    if k.is_empty() || k.len() > MAX_KEY_LEN {
        return Err(PduError::Text(format!("bad key length {}", k.len())));
    }
    // RFC 7143 6.1: letters, digits, '.', '-', '+', '@', '_' (and the
    // 'X-'/'X#' vendor prefixes, which these already cover but for '#').
    if !k
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'@' | b'_' | b'#'))
    {
        return Err(PduError::Text(format!(
            "bad character in key {:?}",
            truncate(k)
        )));
    }
    Ok(())
}

/// Error on the first key sent twice (RFC 7143 6.2: a key must not be
/// offered twice in one negotiation).
pub fn check_unique(pairs: &[(String, String)]) -> Result<(), PduError> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in pairs {
        if !seen.insert(k.as_str()) {
            return Err(PduError::Text(format!("key {k} sent twice")));
        }
    }
    Ok(())
}

/// Encode pairs as `key=value\0...`.
pub fn encode_text<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref().as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_ref().as_bytes());
        out.push(0);
    }
    out
}

/// Split encoded text into data segments of at most `max_segment` bytes.
/// Every segment but the last goes out with the C bit set (and F/T clear);
/// pairs may be cut anywhere, the receiver reassembles.
pub fn split_text(text: &[u8], max_segment: usize) -> Vec<Vec<u8>> {
    if text.is_empty() {
        return vec![Vec::new()];
    }
    text.chunks(max_segment.max(1))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Reassembles text split across PDUs with the C bit (RFC 7143 11.10.2).
#[derive(Debug, Clone)]
pub struct TextAssembler {
    buf: Vec<u8>,
    max_len: usize,
}

impl TextAssembler {
    /// `max_len` bounds the reassembled text (a peer that never clears C
    /// must not grow memory without limit).
    pub fn new(max_len: usize) -> TextAssembler {
        TextAssembler {
            buf: Vec::new(),
            max_len,
        }
    }

    /// Add one PDU's data segment; `continues` is its C bit. Returns the
    /// parsed pairs once a PDU without C completes the text.
    pub fn push(
        &mut self,
        data: &[u8],
        continues: bool,
    ) -> Result<Option<Vec<(String, String)>>, PduError> {
        if self.buf.len() + data.len() > self.max_len {
            self.buf.clear();
            return Err(PduError::DataTooLong {
                len: self.buf.len() + data.len(),
                max: self.max_len,
            });
        }
        self.buf.extend_from_slice(data);
        if continues {
            return Ok(None);
        }
        let text = std::mem::take(&mut self.buf);
        parse_text(&text).map(Some)
    }

    /// True when no partial text is waiting.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Parse a numerical value: decimal, or hex with a `0x` prefix (RFC 7143
/// 6.1, "numerical-value").
pub fn parse_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 16 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(h, 16).ok()
    } else {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

/// Parse "Yes"/"No".
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "Yes" => Some(true),
        "No" => Some(false),
        _ => None,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

/// The responder's answer to one offered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// Answer `key=value` and use `value`.
    Value(String),
    /// A declarative key: nothing to answer; record the offered value.
    Declared,
    /// Unknown key: answer `key=NotUnderstood`.
    NotUnderstood,
    /// The key does not apply here: answer `key=Irrelevant`.
    Irrelevant,
    /// Malformed or out-of-range value: answer `key=Reject`.
    Reject,
}

impl Negotiated {
    /// The value to send back, `None` for a declarative key.
    pub fn answer(&self) -> Option<&str> {
        match self {
            Negotiated::Value(v) => Some(v),
            Negotiated::Declared => None,
            Negotiated::NotUnderstood => Some("NotUnderstood"),
            Negotiated::Irrelevant => Some("Irrelevant"),
            Negotiated::Reject => Some("Reject"),
        }
    }
}

/// How a key's outcome is computed (RFC 7143 section 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Declared by one side; not answered.
    Declarative,
    /// Declared numeric value in `lo..=hi` (MaxRecvDataSegmentLength).
    DeclarativeNumber {
        lo: u64,
        hi: u64,
    },
    /// The smaller of the two numbers, each in `lo..=hi`.
    Min {
        lo: u64,
        hi: u64,
    },
    /// The larger of the two numbers.
    Max {
        lo: u64,
        hi: u64,
    },
    /// Boolean AND.
    And,
    /// Boolean OR.
    Or,
    /// The first value of the offered list that the responder supports.
    List,
    /// Obsolete RFC 3720 marker keys: answered "No" / Irrelevant.
    ObsoleteMarker,
    ObsoleteMarkInt,
}

const MAX_24: u64 = 0x00ff_ffff;

/// The rule of a key, `None` for keys this implementation does not know.
pub fn rule(key: &str) -> Option<Rule> {
    Some(match key {
        "InitiatorName"
        | "TargetName"
        | "InitiatorAlias"
        | "TargetAlias"
        | "TargetAddress"
        | "TargetPortalGroupTag"
        | "SessionType"
        | "SendTargets"
        | "CHAP_A"
        | "CHAP_I"
        | "CHAP_C"
        | "CHAP_N"
        | "CHAP_R" => Rule::Declarative,
        "MaxRecvDataSegmentLength" => Rule::DeclarativeNumber {
            lo: 512,
            hi: MAX_24,
        },
        "FirstBurstLength" | "MaxBurstLength" => Rule::Min {
            lo: 512,
            hi: MAX_24,
        },
        "MaxOutstandingR2T" => Rule::Min { lo: 1, hi: 65535 },
        "ErrorRecoveryLevel" => Rule::Min { lo: 0, hi: 2 },
        "MaxConnections" => Rule::Min { lo: 1, hi: 65535 },
        "DefaultTime2Retain" => Rule::Min { lo: 0, hi: 3600 },
        "DefaultTime2Wait" => Rule::Max { lo: 0, hi: 3600 },
        "iSCSIProtocolLevel" => Rule::Min { lo: 0, hi: 31 },
        "InitialR2T" | "DataPDUInOrder" | "DataSequenceInOrder" => Rule::Or,
        "ImmediateData" => Rule::And,
        "HeaderDigest" | "DataDigest" | "AuthMethod" | "TaskReporting" => Rule::List,
        "IFMarker" | "OFMarker" => Rule::ObsoleteMarker,
        "IFMarkInt" | "OFMarkInt" => Rule::ObsoleteMarkInt,
        _ => return None,
    })
}

/// Session type, which makes some operational keys irrelevant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionType {
    #[default]
    Normal,
    Discovery,
}

/// Keys RFC 7143 section 13 marks "Irrelevant when SessionType=Discovery".
pub fn irrelevant_in_discovery(key: &str) -> bool {
    matches!(
        key,
        "MaxConnections"
            | "InitialR2T"
            | "ImmediateData"
            | "MaxBurstLength"
            | "FirstBurstLength"
            | "MaxOutstandingR2T"
            | "DataPDUInOrder"
            | "DataSequenceInOrder"
    )
}

/// The responder's outcome for `key`, offered as `offered` by the peer,
/// given `ours` (our limit, our preference, or for a list key our
/// supported values in order, comma separated) in a normal session.
pub fn negotiate(key: &str, offered: &str, ours: &str) -> Negotiated {
    negotiate_for(SessionType::Normal, key, offered, ours)
}

/// [`negotiate`] for a given session type.
pub fn negotiate_for(session: SessionType, key: &str, offered: &str, ours: &str) -> Negotiated {
    let Some(rule) = rule(key) else {
        return Negotiated::NotUnderstood;
    };
    if session == SessionType::Discovery && irrelevant_in_discovery(key) {
        return Negotiated::Irrelevant;
    }
    let num = |lo: u64, hi: u64| parse_number(offered).filter(|v| (lo..=hi).contains(v));
    let ours_num = |lo: u64, hi: u64| parse_number(ours).map(|v| v.clamp(lo, hi));
    match rule {
        Rule::Declarative => {
            let ok = match key {
                "SessionType" => matches!(offered, "Normal" | "Discovery"),
                "InitiatorName" | "TargetName" => !offered.is_empty() && offered.len() <= 223,
                _ => offered.len() <= 255 || key.starts_with("CHAP_") || key == "SendTargets",
            };
            if ok {
                Negotiated::Declared
            } else {
                Negotiated::Reject
            }
        }
        Rule::DeclarativeNumber { lo, hi } => match num(lo, hi) {
            Some(_) => Negotiated::Declared,
            None => Negotiated::Reject,
        },
        Rule::Min { lo, hi } => match (num(lo, hi), ours_num(lo, hi)) {
            (Some(a), Some(b)) => Negotiated::Value(a.min(b).to_string()),
            (Some(a), None) => Negotiated::Value(a.to_string()),
            _ => Negotiated::Reject,
        },
        Rule::Max { lo, hi } => match (num(lo, hi), ours_num(lo, hi)) {
            (Some(a), Some(b)) => Negotiated::Value(a.max(b).to_string()),
            (Some(a), None) => Negotiated::Value(a.to_string()),
            _ => Negotiated::Reject,
        },
        Rule::And | Rule::Or => {
            let Some(a) = parse_bool(offered) else {
                return Negotiated::Reject;
            };
            let b = parse_bool(ours).unwrap_or(a);
            let v = if rule == Rule::And { a && b } else { a || b };
            Negotiated::Value(yes_no(v).to_string())
        }
        Rule::List => {
            if offered.is_empty() || offered.split(',').any(|v| v.is_empty() || v.len() > 255) {
                return Negotiated::Reject;
            }
            let supported: Vec<&str> = ours.split(',').map(str::trim).collect();
            match offered.split(',').find(|v| supported.contains(v)) {
                Some(v) => Negotiated::Value(v.to_string()),
                // RFC 7143 6.2: no common value is answered with Reject.
                None => Negotiated::Reject,
            }
        }
        Rule::ObsoleteMarker => match parse_bool(offered) {
            Some(_) => Negotiated::Value("No".into()),
            None => Negotiated::Reject,
        },
        Rule::ObsoleteMarkInt => Negotiated::Irrelevant,
    }
}

/// Operational parameters of a session and connection, with the RFC 7143
/// section 13 defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionParams {
    /// What we declared we receive per PDU (the peer sends at most this).
    pub max_recv_data_segment_length: u32,
    /// What the peer declared it receives (we send at most this).
    pub peer_max_recv_data_segment_length: u32,
    pub first_burst_length: u32,
    pub max_burst_length: u32,
    pub initial_r2t: bool,
    pub immediate_data: bool,
    pub max_outstanding_r2t: u32,
    pub data_pdu_in_order: bool,
    pub data_sequence_in_order: bool,
    pub error_recovery_level: u8,
    pub max_connections: u16,
    pub default_time2wait: u16,
    pub default_time2retain: u16,
    /// CRC32C header digest.
    pub header_digest: bool,
    /// CRC32C data digest.
    pub data_digest: bool,
}

impl Default for SessionParams {
    fn default() -> Self {
        SessionParams {
            max_recv_data_segment_length: 8192,
            peer_max_recv_data_segment_length: 8192,
            first_burst_length: 65536,
            max_burst_length: 262_144,
            initial_r2t: true,
            immediate_data: true,
            max_outstanding_r2t: 1,
            data_pdu_in_order: true,
            data_sequence_in_order: true,
            error_recovery_level: 0,
            max_connections: 1,
            default_time2wait: 2,
            default_time2retain: 20,
            header_digest: false,
            data_digest: false,
        }
    }
}

/// Digest offer: with CRC32C wanted, still accept None (preferred first).
fn digest_name(on: bool) -> &'static str {
    if on { "CRC32C,None" } else { "None" }
}

impl SessionParams {
    /// Record the outcome of `key`: the negotiated value (ours or the
    /// peer's answer), or for MaxRecvDataSegmentLength the peer's
    /// declaration. Unknown keys are ignored; a malformed value is an error.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<(), PduError> {
        let bad = || PduError::Text(format!("bad value {value:?} for {key}"));
        let num = |lo: u64, hi: u64| {
            parse_number(value)
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(bad)
        };
        let boolean = || parse_bool(value).ok_or_else(bad);
        match key {
            "MaxRecvDataSegmentLength" => {
                self.peer_max_recv_data_segment_length = num(512, MAX_24)? as u32
            }
            "FirstBurstLength" => self.first_burst_length = num(512, MAX_24)? as u32,
            "MaxBurstLength" => self.max_burst_length = num(512, MAX_24)? as u32,
            "InitialR2T" => self.initial_r2t = boolean()?,
            "ImmediateData" => self.immediate_data = boolean()?,
            "MaxOutstandingR2T" => self.max_outstanding_r2t = num(1, 65535)? as u32,
            "DataPDUInOrder" => self.data_pdu_in_order = boolean()?,
            "DataSequenceInOrder" => self.data_sequence_in_order = boolean()?,
            "ErrorRecoveryLevel" => self.error_recovery_level = num(0, 2)? as u8,
            "MaxConnections" => self.max_connections = num(1, 65535)? as u16,
            "DefaultTime2Wait" => self.default_time2wait = num(0, 3600)? as u16,
            "DefaultTime2Retain" => self.default_time2retain = num(0, 3600)? as u16,
            "HeaderDigest" | "DataDigest" => {
                let on = match value {
                    "CRC32C" => true,
                    "None" => false,
                    _ => return Err(bad()),
                };
                if key == "HeaderDigest" {
                    self.header_digest = on;
                } else {
                    self.data_digest = on;
                }
            }
            _ => {}
        }
        // RFC 7143 13.14: FirstBurstLength must not exceed MaxBurstLength.
        self.first_burst_length = self.first_burst_length.min(self.max_burst_length);
        Ok(())
    }

    /// Our value of a key in the form negotiation uses (`ours` of
    /// [`negotiate`]; for the digests, the list we accept, preferred first).
    pub fn value_of(&self, key: &str) -> Option<String> {
        Some(match key {
            "MaxRecvDataSegmentLength" => self.max_recv_data_segment_length.to_string(),
            "FirstBurstLength" => self.first_burst_length.to_string(),
            "MaxBurstLength" => self.max_burst_length.to_string(),
            "InitialR2T" => yes_no(self.initial_r2t).into(),
            "ImmediateData" => yes_no(self.immediate_data).into(),
            "MaxOutstandingR2T" => self.max_outstanding_r2t.to_string(),
            "DataPDUInOrder" => yes_no(self.data_pdu_in_order).into(),
            "DataSequenceInOrder" => yes_no(self.data_sequence_in_order).into(),
            "ErrorRecoveryLevel" => self.error_recovery_level.to_string(),
            "MaxConnections" => self.max_connections.to_string(),
            "DefaultTime2Wait" => self.default_time2wait.to_string(),
            "DefaultTime2Retain" => self.default_time2retain.to_string(),
            "HeaderDigest" => digest_name(self.header_digest).into(),
            "DataDigest" => digest_name(self.data_digest).into(),
            _ => return None,
        })
    }

    /// The operational keys an initiator offers in the operational stage,
    /// from these (desired) values.
    pub fn offer(&self) -> Vec<(String, String)> {
        OPERATIONAL_KEYS
            .iter()
            .filter_map(|k| self.value_of(k).map(|v| (k.to_string(), v)))
            .collect()
    }
}

/// The operational keys, in the order initiators commonly send them.
pub const OPERATIONAL_KEYS: &[&str] = &[
    "HeaderDigest",
    "DataDigest",
    "MaxConnections",
    "InitialR2T",
    "ImmediateData",
    "MaxRecvDataSegmentLength",
    "MaxBurstLength",
    "FirstBurstLength",
    "DefaultTime2Wait",
    "DefaultTime2Retain",
    "MaxOutstandingR2T",
    "DataPDUInOrder",
    "DataSequenceInOrder",
    "ErrorRecoveryLevel",
];
