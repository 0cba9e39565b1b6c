use crate::iscsi::keys::*;
use crate::iscsi::pdu::PduError;

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn parse_and_encode() {
    let data = b"InitiatorName=iqn.2004-10.com.example:a\0SessionType=Normal\0";
    let p = parse_text(data).unwrap();
    assert_eq!(
        p,
        pairs(&[
            ("InitiatorName", "iqn.2004-10.com.example:a"),
            ("SessionType", "Normal")
        ])
    );
    assert_eq!(encode_text(&p), data);
    assert_eq!(encode_text(&[("A", "1"), ("B", "")]), b"A=1\0B=\0");
    // Values may hold '=' and ','; padding NULs and a missing final NUL are tolerated.
    assert_eq!(
        parse_text(b"TargetAddress=1.2.3.4:3260,1\0X=a=b\0\0\0").unwrap(),
        pairs(&[("TargetAddress", "1.2.3.4:3260,1"), ("X", "a=b")])
    );
    assert_eq!(parse_text(b"A=1").unwrap(), pairs(&[("A", "1")]));
    assert_eq!(parse_text(b"").unwrap(), vec![]);
}

#[test]
fn parse_errors() {
    assert!(matches!(parse_text(b"NoEquals\0"), Err(PduError::Text(_))));
    assert!(matches!(parse_text(b"=value\0"), Err(PduError::Text(_))));
    assert!(matches!(
        parse_text(b"Key=\xff\xfe\0"),
        Err(PduError::Text(_))
    ));
    assert!(matches!(parse_text(b"Bad Key=1\0"), Err(PduError::Text(_))));
    let long = format!("{}=1\0", "K".repeat(64));
    assert!(parse_text(long.as_bytes()).is_err());
    let ok = format!("{}=1\0", "K".repeat(63));
    assert!(parse_text(ok.as_bytes()).is_ok());
}

#[test]
fn duplicates_kept_in_parse_refused_by_check() {
    let p = parse_text(b"TargetName=a\0TargetAddress=x\0TargetName=b\0").unwrap();
    assert_eq!(p.len(), 3);
    assert!(check_unique(&p).is_err());
    assert!(check_unique(&p[..2]).is_ok());
}

#[test]
fn continuation_split_and_reassembly() {
    let text = encode_text(&[
        ("TargetName", "iqn.2024-01.dev.reel:vtl".repeat(20)),
        ("TargetAddress", "127.0.0.1:3260,1".into()),
    ]);
    let parts = split_text(&text, 100);
    assert!(parts.len() > 1);
    assert!(parts.iter().all(|p| p.len() <= 100));
    let mut asm = TextAssembler::new(64 * 1024);
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let got = asm.push(part, !last).unwrap();
        assert_eq!(got.is_some(), last);
        if let Some(p) = got {
            assert_eq!(p, parse_text(&text).unwrap());
        }
    }
    assert!(asm.is_empty());
    assert_eq!(split_text(b"", 10), vec![Vec::<u8>::new()]);
    assert_eq!(split_text(b"abc", 0).len(), 3);
}

#[test]
fn reassembly_is_bounded() {
    let mut asm = TextAssembler::new(10);
    assert_eq!(asm.push(b"A=12345", true), Ok(None));
    assert!(matches!(
        asm.push(b"6789", true),
        Err(PduError::DataTooLong { .. })
    ));
    assert!(asm.is_empty());
}

#[test]
fn numbers_and_booleans() {
    assert_eq!(parse_number("8192"), Some(8192));
    assert_eq!(parse_number("0x2000"), Some(8192));
    assert_eq!(parse_number(""), None);
    assert_eq!(parse_number("-1"), None);
    assert_eq!(parse_number("+1"), None);
    assert_eq!(parse_number("12a"), None);
    assert_eq!(parse_number("0x"), None);
    assert_eq!(parse_number("99999999999999999999999"), None);
    assert_eq!(parse_bool("Yes"), Some(true));
    assert_eq!(parse_bool("No"), Some(false));
    assert_eq!(parse_bool("yes"), None);
}

fn v(s: &str) -> Negotiated {
    Negotiated::Value(s.to_string())
}

#[test]
fn negotiation_table() {
    use Negotiated::*;
    let table: &[(&str, &str, &str, Negotiated)] = &[
        // Declarative per direction: validated, not answered.
        ("MaxRecvDataSegmentLength", "262144", "65536", Declared),
        ("MaxRecvDataSegmentLength", "511", "65536", Reject),
        ("MaxRecvDataSegmentLength", "16777216", "65536", Reject),
        ("MaxRecvDataSegmentLength", "lots", "65536", Reject),
        // Min.
        ("FirstBurstLength", "262144", "65536", v("65536")),
        ("FirstBurstLength", "4096", "65536", v("4096")),
        ("FirstBurstLength", "100", "65536", Reject),
        ("MaxBurstLength", "1048576", "262144", v("262144")),
        ("MaxBurstLength", "0x1000", "262144", v("4096")),
        ("MaxOutstandingR2T", "8", "1", v("1")),
        ("MaxOutstandingR2T", "0", "1", Reject),
        ("ErrorRecoveryLevel", "2", "0", v("0")),
        ("ErrorRecoveryLevel", "3", "0", Reject),
        ("MaxConnections", "8", "1", v("1")),
        ("MaxConnections", "0", "1", Reject),
        ("DefaultTime2Retain", "0", "20", v("0")),
        ("DefaultTime2Retain", "3601", "20", Reject),
        // Max.
        ("DefaultTime2Wait", "0", "2", v("2")),
        ("DefaultTime2Wait", "10", "2", v("10")),
        ("DefaultTime2Wait", "x", "2", Reject),
        // OR.
        ("InitialR2T", "No", "No", v("No")),
        ("InitialR2T", "No", "Yes", v("Yes")),
        ("InitialR2T", "Yes", "No", v("Yes")),
        ("DataPDUInOrder", "No", "Yes", v("Yes")),
        ("DataSequenceInOrder", "No", "No", v("No")),
        ("InitialR2T", "maybe", "No", Reject),
        // AND.
        ("ImmediateData", "Yes", "Yes", v("Yes")),
        ("ImmediateData", "Yes", "No", v("No")),
        ("ImmediateData", "No", "Yes", v("No")),
        ("ImmediateData", "", "Yes", Reject),
        // Lists: the first offered value we support.
        ("HeaderDigest", "CRC32C,None", "CRC32C,None", v("CRC32C")),
        ("HeaderDigest", "None,CRC32C", "CRC32C,None", v("None")),
        ("DataDigest", "CRC32C,None", "None", v("None")),
        ("DataDigest", "CRC32C", "None", Reject),
        ("DataDigest", "", "None", Reject),
        ("DataDigest", "CRC32C,,None", "None", Reject),
        ("AuthMethod", "CHAP,None", "None", v("None")),
        ("AuthMethod", "SRP,CHAP,None", "CHAP", v("CHAP")),
        // Declarative identity keys.
        ("InitiatorName", "iqn.2004-10.com.example:a", "", Declared),
        ("InitiatorName", "", "", Reject),
        ("SessionType", "Discovery", "", Declared),
        ("SessionType", "Other", "", Reject),
        // Unknown, vendor and obsolete keys.
        ("FooBar", "1", "", NotUnderstood),
        ("X-com.example.Thing", "1", "", NotUnderstood),
        ("OFMarker", "Yes", "", v("No")),
        ("IFMarker", "No", "", v("No")),
        ("OFMarkInt", "2048~8192", "", Irrelevant),
    ];
    for (key, offered, ours, want) in table {
        assert_eq!(
            &negotiate(key, offered, ours),
            want,
            "{key}={offered} vs {ours}"
        );
    }
}

#[test]
fn discovery_makes_data_keys_irrelevant() {
    for key in [
        "MaxBurstLength",
        "FirstBurstLength",
        "InitialR2T",
        "ImmediateData",
        "MaxOutstandingR2T",
        "DataPDUInOrder",
        "DataSequenceInOrder",
        "MaxConnections",
    ] {
        assert_eq!(
            negotiate_for(SessionType::Discovery, key, "1", "1"),
            Negotiated::Irrelevant,
            "{key}"
        );
    }
    assert_eq!(
        negotiate_for(SessionType::Discovery, "HeaderDigest", "None", "None"),
        v("None")
    );
    assert_eq!(
        negotiate_for(
            SessionType::Discovery,
            "MaxRecvDataSegmentLength",
            "8192",
            "8192"
        ),
        Negotiated::Declared
    );
}

#[test]
fn answers() {
    assert_eq!(v("Yes").answer(), Some("Yes"));
    assert_eq!(Negotiated::Declared.answer(), None);
    assert_eq!(Negotiated::NotUnderstood.answer(), Some("NotUnderstood"));
    assert_eq!(Negotiated::Irrelevant.answer(), Some("Irrelevant"));
    assert_eq!(Negotiated::Reject.answer(), Some("Reject"));
}

#[test]
fn session_params_defaults_and_apply() {
    let mut p = SessionParams::default();
    // RFC 7143 section 13 defaults.
    assert_eq!(p.max_recv_data_segment_length, 8192);
    assert_eq!(p.peer_max_recv_data_segment_length, 8192);
    assert_eq!((p.first_burst_length, p.max_burst_length), (65536, 262144));
    assert!(p.initial_r2t && p.immediate_data && p.data_pdu_in_order && p.data_sequence_in_order);
    assert_eq!(
        (
            p.max_outstanding_r2t,
            p.error_recovery_level,
            p.max_connections
        ),
        (1, 0, 1)
    );
    assert_eq!((p.default_time2wait, p.default_time2retain), (2, 20));
    assert!(!p.header_digest && !p.data_digest);

    p.apply("MaxRecvDataSegmentLength", "262144").unwrap();
    assert_eq!(p.peer_max_recv_data_segment_length, 262144);
    assert_eq!(
        p.max_recv_data_segment_length, 8192,
        "our own declaration untouched"
    );
    p.apply("InitialR2T", "No").unwrap();
    p.apply("HeaderDigest", "CRC32C").unwrap();
    p.apply("MaxBurstLength", "32768").unwrap();
    assert_eq!(
        p.first_burst_length, 32768,
        "FirstBurstLength clamped to MaxBurstLength"
    );
    p.apply("DefaultTime2Wait", "0").unwrap();
    p.apply("UnknownKey", "whatever").unwrap();
    assert!(!p.initial_r2t && p.header_digest);
    assert_eq!(p.default_time2wait, 0);
    assert!(p.apply("ImmediateData", "Maybe").is_err());
    assert!(p.apply("MaxBurstLength", "1").is_err());
    assert!(p.apply("DataDigest", "CRC32C,None").is_err());
}

#[test]
fn offer_lists_every_operational_key() {
    let p = SessionParams {
        header_digest: true,
        ..Default::default()
    };
    let offer = p.offer();
    assert_eq!(offer.len(), OPERATIONAL_KEYS.len());
    let get = |k: &str| {
        offer
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("HeaderDigest"), Some("CRC32C,None"));
    assert_eq!(get("DataDigest"), Some("None"));
    assert_eq!(get("InitialR2T"), Some("Yes"));
    assert_eq!(get("MaxBurstLength"), Some("262144"));
    // Our own offer negotiates against our own values without Reject.
    for (k, val) in &offer {
        let n = negotiate(k, val, &p.value_of(k).unwrap());
        assert_ne!(n, Negotiated::Reject, "{k}");
    }
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        if let Ok(p) = parse_text(&data) {
            proptest::prop_assert_eq!(parse_text(&encode_text(&p)).unwrap(), p);
        }
    }

    #[test]
    fn negotiate_never_panics(key in "[A-Za-z]{0,30}", offered in ".{0,30}", ours in ".{0,30}") {
        let _ = negotiate(&key, &offered, &ours);
        let _ = SessionParams::default().apply(&key, &offered);
    }
}
