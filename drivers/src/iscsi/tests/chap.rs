use crate::iscsi::chap::*;

#[test]
fn response_is_hash_of_id_secret_challenge() {
    // id 'a', secret "b", challenge "c": the hash of "abc", whose digests
    // are the published RFC 1321 / FIPS 180 test vectors. This pins the
    // concatenation order.
    let (id, secret, challenge) = (b'a', b"b", b"c");
    assert_eq!(
        hex::encode(response(ChapAlgorithm::Md5, id, secret, challenge)),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        hex::encode(response(ChapAlgorithm::Sha1, id, secret, challenge)),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex::encode(response(ChapAlgorithm::Sha256, id, secret, challenge)),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn login_sized_vector() {
    // CHAP_I=42, secret "secretsecret", a 16-byte challenge (values from
    // Python's hashlib as an independent implementation).
    let c = decode_binary("0x0123456789abcdef0123456789abcdef").unwrap();
    let r = response(ChapAlgorithm::Md5, 42, b"secretsecret", &c);
    assert_eq!(encode_hex(&r), "0x22eee78bdbec12ab4bcdef3c443ca8c5");
    assert!(verify(ChapAlgorithm::Md5, 42, b"secretsecret", &c, &r));
    assert!(!verify(ChapAlgorithm::Md5, 42, b"secretsecreT", &c, &r));
    assert!(!verify(ChapAlgorithm::Md5, 43, b"secretsecret", &c, &r));
    assert!(!verify(
        ChapAlgorithm::Md5,
        42,
        b"secretsecret",
        &c,
        &r[..15]
    ));
    let r = response(ChapAlgorithm::Sha256, 42, b"secretsecret", &c);
    assert_eq!(
        hex::encode(&r),
        "fe642eaea335071f85c4350f91f11595ae2410339fd2a289d97d3c0e6fb7cb48"
    );
    assert_eq!(r.len(), ChapAlgorithm::Sha256.digest_len());
}

#[test]
fn algorithm_codes_and_choice() {
    assert_eq!(ChapAlgorithm::from_code(5), Some(ChapAlgorithm::Md5));
    assert_eq!(ChapAlgorithm::from_code(6), Some(ChapAlgorithm::Sha1));
    assert_eq!(ChapAlgorithm::from_code(7), Some(ChapAlgorithm::Sha256));
    assert_eq!(ChapAlgorithm::from_code(8), None);
    let all = [
        ChapAlgorithm::Sha256,
        ChapAlgorithm::Sha1,
        ChapAlgorithm::Md5,
    ];
    // The initiator's order wins; unknown and junk entries are skipped.
    assert_eq!(choose_algorithm("8,7,5", &all), Some(ChapAlgorithm::Sha256));
    assert_eq!(choose_algorithm("5,7", &all), Some(ChapAlgorithm::Md5));
    assert_eq!(choose_algorithm("x,6", &all), Some(ChapAlgorithm::Sha1));
    assert_eq!(choose_algorithm("7", &[ChapAlgorithm::Md5]), None);
    assert_eq!(choose_algorithm("", &all), None);
    assert_eq!(offer_algorithms(&all), "7,6,5");
}

#[test]
fn binary_encodings() {
    assert_eq!(encode_hex(&[0x00, 0xab, 0x10]), "0x00ab10");
    assert_eq!(decode_binary("0x00AB10").unwrap(), vec![0x00, 0xab, 0x10]);
    assert_eq!(decode_binary("0Xabc").unwrap(), vec![0x0a, 0xbc]);
    assert_eq!(
        encode_base64(&(0u8..10).collect::<Vec<_>>()),
        "0bAAECAwQFBgcICQ=="
    );
    assert_eq!(encode_base64(&[0xff, 0xfe]), "0b//4=");
    assert_eq!(encode_base64(&[0xff, 0xfe, 0xfd]), "0b//79");
    assert_eq!(
        decode_binary("0bAAECAwQFBgcICQ==").unwrap(),
        (0u8..10).collect::<Vec<_>>()
    );
    assert_eq!(decode_binary("0b//4").unwrap(), vec![0xff, 0xfe]);
    assert_eq!(decode_binary("0B//79").unwrap(), vec![0xff, 0xfe, 0xfd]);
    assert_eq!(decode_binary("abcd"), Err(ChapError::NoPrefix));
    assert_eq!(decode_binary("0x"), Err(ChapError::Empty));
    assert_eq!(decode_binary("0xzz"), Err(ChapError::BadHex));
    assert_eq!(decode_binary("0b@@@@"), Err(ChapError::BadBase64));
    assert_eq!(decode_binary("0bA"), Err(ChapError::BadBase64));
    assert_eq!(decode_binary("0bAA==="), Err(ChapError::BadBase64));
    assert_eq!(decode_binary("0b"), Err(ChapError::Empty));
}

#[test]
fn random_bytes_are_random_enough() {
    let a = random_bytes(16).unwrap();
    let b = random_bytes(16).unwrap();
    assert_eq!(a.len(), 16);
    assert_ne!(a, b);
}

proptest::proptest! {
    #[test]
    fn binary_roundtrip(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..100)) {
        proptest::prop_assert_eq!(decode_binary(&encode_hex(&bytes)).unwrap(), bytes.clone());
        proptest::prop_assert_eq!(decode_binary(&encode_base64(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn decode_never_panics(s in ".{0,40}") {
        let _ = decode_binary(&s);
    }
}

#[test]
fn one_way_exchange() {
    // Target side: a fresh challenge, sent as CHAP_A/CHAP_I/CHAP_C.
    let ch = Challenge::new(ChapAlgorithm::Md5).unwrap();
    assert_eq!(ch.challenge.len(), 16);
    let keys = ch.keys();
    let get = |k: &str| keys.iter().find(|(key, _)| key == k).unwrap().1.clone();
    assert_eq!(get("CHAP_A"), "5");
    assert_eq!(parse_identifier(&get("CHAP_I")).unwrap(), ch.id);
    // Initiator side answers.
    let answer = answer_challenge(
        &get("CHAP_A"),
        &get("CHAP_I"),
        &get("CHAP_C"),
        "alice",
        b"0123456789ab",
    )
    .unwrap();
    assert_eq!(answer[0], ("CHAP_N".to_string(), "alice".to_string()));
    assert!(ch.check(&answer[1].1, b"0123456789ab").unwrap());
    assert!(!ch.check(&answer[1].1, b"wrong-secret").unwrap());
    assert!(ch.check("nonsense", b"x").is_err());
    assert!(ch.is_reflection(&ch.challenge.clone()));
    assert!(!ch.is_reflection(b"other"));
    assert_eq!(
        Challenge::new(ChapAlgorithm::Sha256)
            .unwrap()
            .challenge
            .len(),
        32
    );
}

#[test]
fn fixed_answer_and_bad_values() {
    let a = answer_challenge(
        "5",
        "42",
        "0x0123456789abcdef0123456789abcdef",
        "u",
        b"secretsecret",
    )
    .unwrap();
    assert_eq!(a[1].1, "0x22eee78bdbec12ab4bcdef3c443ca8c5");
    assert!(matches!(
        answer_challenge("9", "1", "0x00", "u", b"s"),
        Err(ChapError::UnknownAlgorithm(_))
    ));
    assert!(matches!(
        answer_challenge("5", "256", "0x00", "u", b"s"),
        Err(ChapError::BadIdentifier(_))
    ));
    assert!(matches!(
        answer_challenge("5", "-1", "0x00", "u", b"s"),
        Err(ChapError::BadIdentifier(_))
    ));
    assert!(answer_challenge("5", "1", "00", "u", b"s").is_err());
    assert_eq!(parse_identifier("0xff"), Ok(255));
}
