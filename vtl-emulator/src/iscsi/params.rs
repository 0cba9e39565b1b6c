//! The target's side of operational key negotiation (RFC 7143 sections 6
//! and 13): what it answers to each key an initiator offers, and the
//! session parameters that result.

/// Largest value of the 24-bit length keys.
const MAX_LEN: u32 = 16_777_215;

/// What the target proposes for each key (its own limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLimits {
    /// The largest data segment we accept (declared to the initiator).
    pub max_recv_data_segment_length: u32,
    pub max_burst_length: u32,
    pub first_burst_length: u32,
    pub initial_r2t: bool,
    pub immediate_data: bool,
}

impl Default for TargetLimits {
    fn default() -> TargetLimits {
        TargetLimits {
            max_recv_data_segment_length: 262_144,
            max_burst_length: 1 << 20,
            first_burst_length: 262_144,
            initial_r2t: false,
            immediate_data: true,
        }
    }
}

/// The values in force for one session (RFC 7143 defaults until changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionParams {
    /// Largest data segment the initiator accepts: Data-In, Text and NOP-In
    /// replies are cut to it.
    pub initiator_mrdsl: u32,
    /// Largest data segment we accept (what the PDU decoder allows).
    pub target_mrdsl: u32,
    pub first_burst_length: u32,
    pub max_burst_length: u32,
    pub initial_r2t: bool,
    pub immediate_data: bool,
    pub max_outstanding_r2t: u32,
    pub header_digest: bool,
    pub data_digest: bool,
    pub default_time2wait: u32,
    pub default_time2retain: u32,
}

impl Default for SessionParams {
    fn default() -> SessionParams {
        SessionParams {
            initiator_mrdsl: 8192,
            target_mrdsl: 8192,
            first_burst_length: 65_536,
            max_burst_length: 262_144,
            initial_r2t: true,
            immediate_data: true,
            max_outstanding_r2t: 1,
            header_digest: false,
            data_digest: false,
            default_time2wait: 2,
            default_time2retain: 20,
        }
    }
}

fn number(v: &str, lo: u32, hi: u32) -> Option<u32> {
    let n: u32 = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else {
        v.parse().ok()?
    };
    (lo..=hi).contains(&n).then_some(n)
}

fn boolean(v: &str) -> Option<bool> {
    match v {
        "Yes" => Some(true),
        "No" => Some(false),
        _ => None,
    }
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_string()
}

/// Keys only the initiator declares: accepted silently.
const INITIATOR_DECLARATIVE: &[&str] = &[
    "InitiatorName",
    "InitiatorAlias",
    "SessionType",
    "TargetName",
];

/// Keys that do not apply to a discovery session (RFC 7143 section 13).
const NORMAL_ONLY: &[&str] = &[
    "FirstBurstLength",
    "MaxBurstLength",
    "InitialR2T",
    "ImmediateData",
    "MaxOutstandingR2T",
    "DataPDUInOrder",
    "DataSequenceInOrder",
    "MaxConnections",
    "DefaultTime2Wait",
    "DefaultTime2Retain",
];

impl SessionParams {
    /// Answers one offered operational key, updating the session values.
    /// `None`: nothing to send back (a declaration, or a reply value).
    pub fn negotiate(
        &mut self,
        key: &str,
        value: &str,
        ours: &TargetLimits,
        discovery: bool,
    ) -> Option<String> {
        if matches!(value, "NotUnderstood" | "Irrelevant" | "Reject") {
            return None;
        }
        if INITIATOR_DECLARATIVE.contains(&key) {
            return None;
        }
        if discovery && NORMAL_ONLY.contains(&key) {
            return Some("Irrelevant".into());
        }
        let reject = || Some("Reject".to_string());
        match key {
            "HeaderDigest" | "DataDigest" => {
                // List rule: the first of the initiator's choices we support.
                let Some(pick) = value.split(',').find(|c| matches!(*c, "None" | "CRC32C")) else {
                    return reject();
                };
                let pick = pick.to_string();
                let on = pick == "CRC32C";
                if key == "HeaderDigest" {
                    self.header_digest = on;
                } else {
                    self.data_digest = on;
                }
                Some(pick)
            }
            "MaxRecvDataSegmentLength" => {
                // Declarative: the initiator's receive limit.
                let Some(n) = number(value, 512, MAX_LEN) else {
                    return reject();
                };
                self.initiator_mrdsl = n;
                None
            }
            "FirstBurstLength" | "MaxBurstLength" => {
                let Some(n) = number(value, 512, MAX_LEN) else {
                    return reject();
                };
                let (mine, slot) = if key == "FirstBurstLength" {
                    (ours.first_burst_length, &mut self.first_burst_length)
                } else {
                    (ours.max_burst_length, &mut self.max_burst_length)
                };
                *slot = n.min(mine);
                Some(slot.to_string())
            }
            "InitialR2T" => {
                let Some(b) = boolean(value) else {
                    return reject();
                };
                self.initial_r2t = b || ours.initial_r2t;
                Some(yes_no(self.initial_r2t))
            }
            "ImmediateData" => {
                let Some(b) = boolean(value) else {
                    return reject();
                };
                self.immediate_data = b && ours.immediate_data;
                Some(yes_no(self.immediate_data))
            }
            "MaxOutstandingR2T" => {
                // One R2T at a time: the data of a burst is in order.
                if number(value, 1, 65_535).is_none() {
                    return reject();
                }
                self.max_outstanding_r2t = 1;
                Some("1".into())
            }
            "DataPDUInOrder" | "DataSequenceInOrder" => {
                // OR rule with our Yes: always Yes.
                boolean(value).map_or_else(reject, |_| Some("Yes".into()))
            }
            "ErrorRecoveryLevel" => number(value, 0, 2).map_or_else(reject, |_| Some("0".into())),
            "MaxConnections" => number(value, 1, 65_535).map_or_else(reject, |_| Some("1".into())),
            "DefaultTime2Wait" => {
                let Some(n) = number(value, 0, 3600) else {
                    return reject();
                };
                self.default_time2wait = n.max(2);
                Some(self.default_time2wait.to_string())
            }
            "DefaultTime2Retain" => {
                let Some(n) = number(value, 0, 3600) else {
                    return reject();
                };
                // ErrorRecoveryLevel 0: nothing to retain beyond this.
                self.default_time2retain = n.min(20);
                Some(self.default_time2retain.to_string())
            }
            // Markers (RFC 3720, dropped by RFC 7143): never used.
            "IFMarker" | "OFMarker" => boolean(value).map_or_else(reject, |_| Some("No".into())),
            "IFMarkInt" | "OFMarkInt" => Some("Irrelevant".into()),
            // Keys only a target sends.
            "TargetAlias" | "TargetAddress" | "TargetPortalGroupTag" => reject(),
            _ => Some("NotUnderstood".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(p: &mut SessionParams, k: &str, v: &str) -> Option<String> {
        p.negotiate(k, v, &TargetLimits::default(), false)
    }

    #[test]
    fn rules() {
        let mut p = SessionParams::default();
        assert_eq!(
            neg(&mut p, "HeaderDigest", "CRC32C,None").as_deref(),
            Some("CRC32C")
        );
        assert!(p.header_digest);
        assert_eq!(neg(&mut p, "DataDigest", "None").as_deref(), Some("None"));
        assert_eq!(neg(&mut p, "DataDigest", "MD5").as_deref(), Some("Reject"));
        assert_eq!(neg(&mut p, "MaxRecvDataSegmentLength", "4096"), None);
        assert_eq!(p.initiator_mrdsl, 4096);
        assert_eq!(
            neg(&mut p, "MaxBurstLength", "16776192").as_deref(),
            Some("1048576")
        );
        assert_eq!(
            neg(&mut p, "FirstBurstLength", "8192").as_deref(),
            Some("8192")
        );
        assert_eq!(neg(&mut p, "InitialR2T", "No").as_deref(), Some("No"));
        assert_eq!(neg(&mut p, "ImmediateData", "No").as_deref(), Some("No"));
        assert_eq!(neg(&mut p, "ErrorRecoveryLevel", "2").as_deref(), Some("0"));
        assert_eq!(neg(&mut p, "MaxConnections", "8").as_deref(), Some("1"));
        assert_eq!(neg(&mut p, "DefaultTime2Wait", "0").as_deref(), Some("2"));
        assert_eq!(
            neg(&mut p, "DefaultTime2Retain", "60").as_deref(),
            Some("20")
        );
        assert_eq!(
            neg(&mut p, "X-com.example.Foo", "1").as_deref(),
            Some("NotUnderstood")
        );
        assert_eq!(
            neg(&mut p, "MaxBurstLength", "100").as_deref(),
            Some("Reject")
        );
        assert_eq!(
            neg(&mut p, "InitialR2T", "maybe").as_deref(),
            Some("Reject")
        );
        assert_eq!(neg(&mut p, "InitiatorName", "iqn.x"), None);
        assert_eq!(
            p.negotiate("MaxBurstLength", "4096", &TargetLimits::default(), true)
                .as_deref(),
            Some("Irrelevant")
        );
    }
}
