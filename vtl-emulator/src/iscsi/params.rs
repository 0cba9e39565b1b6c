//! The target's negotiation policy (RFC 7143 sections 6 and 13): its own
//! limits and preferences, fed to the shared rules of
//! [`reel_drivers::iscsi::keys`], and which keys it refuses from an
//! initiator.

use reel_drivers::iscsi::keys::{self, Negotiated, SessionParams, SessionType};

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

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

impl TargetLimits {
    /// Our side of `key` in the form [`keys::negotiate`] takes.
    fn ours(&self, key: &str) -> String {
        match key {
            "HeaderDigest" | "DataDigest" => "CRC32C,None".into(),
            "FirstBurstLength" => self.first_burst_length.to_string(),
            "MaxBurstLength" => self.max_burst_length.to_string(),
            "InitialR2T" => yes_no(self.initial_r2t).into(),
            "ImmediateData" => yes_no(self.immediate_data).into(),
            // One R2T at a time: the data of a burst is in order.
            "MaxOutstandingR2T" => "1".into(),
            "DataPDUInOrder" | "DataSequenceInOrder" => "Yes".into(),
            "ErrorRecoveryLevel" => "0".into(),
            "MaxConnections" => "1".into(),
            "DefaultTime2Wait" => "2".into(),
            // ErrorRecoveryLevel 0: nothing to retain beyond this.
            "DefaultTime2Retain" => "20".into(),
            // RFC 7144: an RFC 7143 implementation is level 1.
            "iSCSIProtocolLevel" => "1".into(),
            "TaskReporting" => "RFC3720".into(),
            _ => String::new(),
        }
    }
}

/// Answers one offered operational key and records the outcome in
/// `params`. `None`: nothing to send back (a declaration, or a reply
/// value such as NotUnderstood).
pub fn answer(
    params: &mut SessionParams,
    limits: &TargetLimits,
    key: &str,
    value: &str,
    discovery: bool,
) -> Option<String> {
    if matches!(value, "NotUnderstood" | "Irrelevant" | "Reject") {
        return None;
    }
    // Keys only a target declares.
    if matches!(
        key,
        "TargetAlias" | "TargetAddress" | "TargetPortalGroupTag"
    ) {
        return Some("Reject".into());
    }
    let session = if discovery {
        SessionType::Discovery
    } else {
        SessionType::Normal
    };
    let outcome = keys::negotiate_for(session, key, value, &limits.ours(key));
    let applied = match &outcome {
        Negotiated::Value(v) => params.apply(key, v),
        // The initiator's receive limit.
        Negotiated::Declared => params.apply(key, value),
        _ => Ok(()),
    };
    if let Err(e) = applied {
        // negotiate only returns values apply accepts; keep going anyway.
        tracing::warn!("negotiated {key}: {e}");
    }
    outcome.answer().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(p: &mut SessionParams, k: &str, v: &str) -> Option<String> {
        answer(p, &TargetLimits::default(), k, v, false)
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
        assert_eq!(p.peer_max_recv_data_segment_length, 4096);
        assert_eq!(
            neg(&mut p, "MaxBurstLength", "16776192").as_deref(),
            Some("1048576")
        );
        assert_eq!(
            neg(&mut p, "FirstBurstLength", "8192").as_deref(),
            Some("8192")
        );
        assert_eq!(neg(&mut p, "InitialR2T", "No").as_deref(), Some("No"));
        assert!(!p.initial_r2t);
        assert_eq!(neg(&mut p, "ImmediateData", "No").as_deref(), Some("No"));
        assert_eq!(neg(&mut p, "MaxOutstandingR2T", "8").as_deref(), Some("1"));
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
        assert_eq!(
            neg(&mut p, "TargetPortalGroupTag", "1").as_deref(),
            Some("Reject")
        );
        assert_eq!(neg(&mut p, "InitiatorName", "iqn.x"), None);
        assert_eq!(neg(&mut p, "MaxBurstLength", "NotUnderstood"), None);
        assert_eq!(
            answer(
                &mut p,
                &TargetLimits::default(),
                "MaxBurstLength",
                "4096",
                true
            )
            .as_deref(),
            Some("Irrelevant")
        );
        assert_eq!(p.max_burst_length, 1 << 20);
    }
}
