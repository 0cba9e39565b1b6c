use super::hex;
use crate::iscsi::pdu::*;

/// Decode `wire` (no digests) as one PDU, check it re-encodes to `wire`.
fn roundtrip(wire: &[u8]) -> Pdu {
    let mut buf = bytes::BytesMut::from(wire);
    let pdu = crate::iscsi::Decoder::default()
        .decode(&mut buf)
        .expect("decodes")
        .expect("whole PDU");
    assert!(buf.is_empty());
    assert_eq!(pdu.encode(false, false), wire);
    pdu
}

#[test]
fn scsi_command_rfc3720_read_pdu() {
    // The "iSCSI Read PDU" of RFC 3720 B.4: READ(10) of 2 blocks, F+R,
    // untagged, ITT 0x14000000, EDTL 1024, CmdSN 20, ExpStatSN 24.
    let wire = hex("01 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         14 00 00 00 00 00 04 00 00 00 00 14 00 00 00 18
         28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00");
    let cmd = ScsiCommand::from_pdu(&roundtrip(&wire)).unwrap();
    let mut cdb = [0u8; 16];
    cdb[0] = 0x28;
    cdb[8] = 0x02;
    let want = ScsiCommand {
        final_bit: true,
        read: true,
        attr: TaskAttr::Untagged,
        itt: 0x1400_0000,
        expected_len: 1024,
        cmd_sn: 20,
        exp_stat_sn: 24,
        cdb,
        ..Default::default()
    };
    assert_eq!(cmd, want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn scsi_command_write_with_immediate_data_padded() {
    // I bit, F|W|Simple, LUN 1, DSL 5, ITT 7, EDTL 4096, CmdSN 3,
    // ExpStatSN 2, WRITE(6) CDB; data "abcde" padded with 3 zero bytes.
    let wire = hex("41 a1 00 00 00 00 00 05 00 01 00 00 00 00 00 00
         00 00 00 07 00 00 10 00 00 00 00 03 00 00 00 02
         0a 00 00 10 00 00 00 00 00 00 00 00 00 00 00 00
         61 62 63 64 65 00 00 00");
    let mut cmd = ScsiCommand {
        immediate: true,
        final_bit: true,
        write: true,
        attr: TaskAttr::Simple,
        lun: Lun::peripheral(1),
        itt: 7,
        expected_len: 4096,
        cmd_sn: 3,
        exp_stat_sn: 2,
        data: b"abcde".to_vec(),
        ..Default::default()
    };
    cmd.set_cdb(&[0x0a, 0, 0, 0x10, 0, 0]);
    assert_eq!(cmd.to_pdu().encode(false, false), wire);
    let back = ScsiCommand::from_owned(roundtrip(&wire)).unwrap();
    assert_eq!(back, cmd);
    assert_eq!(back.data, b"abcde");
}

#[test]
fn scsi_command_extended_cdb_ahs() {
    // A 32-byte CDB: bytes 16..32 go in an Extended CDB AHS: AHSLength 17
    // (reserved byte + 16 CDB bytes), type 1, total 20 bytes = 5 words.
    let cdb: Vec<u8> = (0x80..0xa0).collect();
    let mut cmd = ScsiCommand {
        final_bit: true,
        itt: 1,
        ..Default::default()
    };
    cmd.set_cdb(&cdb);
    let p = cmd.to_pdu();
    let wire = p.encode(false, false);
    assert_eq!(wire[4], 5, "TotalAHSLength in words");
    assert_eq!(&wire[32..48], &cdb[..16]);
    let mut ahs = hex("00 11 01 00");
    ahs.extend_from_slice(&cdb[16..]);
    assert_eq!(&wire[48..68], &ahs[..]);
    assert_eq!(wire.len(), 68);
    let back = ScsiCommand::from_pdu(&roundtrip(&wire)).unwrap();
    assert_eq!(back.full_cdb(), cdb);
}

#[test]
fn scsi_command_bidi_read_length_ahs() {
    let cmd = ScsiCommand {
        read: true,
        write: true,
        bidi_read_len: Some(0x1000),
        ..Default::default()
    };
    let wire = cmd.to_pdu().encode(false, false);
    assert_eq!(wire[4], 2);
    assert_eq!(&wire[48..56], &hex("00 05 02 00 00 00 10 00")[..]);
    assert_eq!(
        ScsiCommand::from_pdu(&roundtrip(&wire))
            .unwrap()
            .bidi_read_len,
        Some(0x1000)
    );
}

#[test]
fn scsi_command_bad_ahs_is_an_error() {
    let mut p = ScsiCommand::default().to_pdu();
    // AHSLength 0x40 runs past the 8 AHS bytes.
    p.ahs = hex("00 40 01 00 00 00 00 00");
    assert!(ScsiCommand::from_pdu(&p).is_err());
    p.ahs = hex("00 01 09 00");
    assert!(matches!(
        ScsiCommand::from_pdu(&p),
        Err(PduError::InvalidField {
            field: "AHS type",
            ..
        })
    ));
}

#[test]
fn scsi_response_with_sense_and_underflow() {
    // F|U (0x82), response 0, status CHECK CONDITION, DSL 20 = 2 + 18
    // sense bytes, ITT 1, SNACK tag 0, StatSN 5, ExpCmdSN 6, MaxCmdSN 0x25,
    // ExpDataSN 0, bidi residual 0, residual 0x200.
    let wire = hex("21 82 00 02 00 00 00 14 00 00 00 00 00 00 00 00
         00 00 00 01 00 00 00 00 00 00 00 05 00 00 00 06
         00 00 00 25 00 00 00 00 00 00 00 00 00 00 02 00
         00 12 70 00 05 00 00 00 00 0a 00 00 00 00 24 00
         00 00 00 00");
    let sense = hex("70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00");
    let want = ScsiResponse {
        underflow: true,
        status: 0x02,
        itt: 1,
        stat_sn: 5,
        exp_cmd_sn: 6,
        max_cmd_sn: 0x25,
        residual: 0x200,
        sense: sense.clone(),
        ..Default::default()
    };
    let got = ScsiResponse::from_pdu(&roundtrip(&wire)).unwrap();
    assert_eq!(got, want);
    assert_eq!(got.signed_residual(), 0x200);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn scsi_response_flag_bits() {
    // o=0x10 u=0x08 O=0x04 U=0x02 each on its own.
    for (b1, o, u, big_o, big_u) in [
        (0x90u8, true, false, false, false),
        (0x88, false, true, false, false),
        (0x84, false, false, true, false),
        (0x82, false, false, false, true),
    ] {
        let mut p = Pdu::new(Opcode::ScsiResponse);
        p.bhs[1] = b1;
        let r = ScsiResponse::from_pdu(&p).unwrap();
        assert_eq!(
            (r.bidi_overflow, r.bidi_underflow, r.overflow, r.underflow),
            (o, u, big_o, big_u)
        );
        assert_eq!(r.to_pdu().bhs[1], b1);
    }
}

#[test]
fn scsi_response_sense_length_that_lies() {
    let mut p = Pdu::new(Opcode::ScsiResponse);
    p.data = hex("00 20 70 00 05");
    assert!(ScsiResponse::from_pdu(&p).is_err());
    p.data = hex("00");
    assert!(ScsiResponse::from_pdu(&p).is_err());
}

#[test]
fn data_in_with_status() {
    // F|U|S = 0x83, status GOOD, DSL 4, LUN 2, ITT 9, TTT ffffffff,
    // StatSN 0x10, ExpCmdSN 0x11, MaxCmdSN 0x30, DataSN 3, offset 0x2000,
    // residual 0x100.
    let wire = hex("25 83 00 00 00 00 00 04 00 02 00 00 00 00 00 00
         00 00 00 09 ff ff ff ff 00 00 00 10 00 00 00 11
         00 00 00 30 00 00 00 03 00 00 20 00 00 00 01 00
         de ad be ef");
    let want = DataIn {
        final_bit: true,
        underflow: true,
        status_present: true,
        lun: Lun::peripheral(2),
        itt: 9,
        ttt: RESERVED_TAG,
        stat_sn: 0x10,
        exp_cmd_sn: 0x11,
        max_cmd_sn: 0x30,
        data_sn: 3,
        buffer_offset: 0x2000,
        residual: 0x100,
        data: hex("de ad be ef"),
        ..Default::default()
    };
    assert_eq!(DataIn::from_owned(roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.into_pdu().encode(false, false), wire);
}

#[test]
fn data_in_a_and_o_bits() {
    let mut p = Pdu::new(Opcode::DataIn);
    p.bhs[1] = 0x40 | 0x04;
    p.bhs[3] = 0x02;
    let d = DataIn::from_pdu(&p).unwrap();
    assert!(d.acknowledge && d.overflow && !d.final_bit && !d.status_present);
    assert_eq!(d.status, 2);
}

#[test]
fn data_out() {
    // F, LUN 1, ITT 7, TTT 0x1234, ExpStatSN 4, DataSN 1, offset 0x10000.
    let wire = hex("05 80 00 00 00 00 00 02 00 01 00 00 00 00 00 00
         00 00 00 07 00 00 12 34 00 00 00 00 00 00 00 04
         00 00 00 00 00 00 00 01 00 01 00 00 00 00 00 00
         01 02 00 00");
    let want = DataOut {
        final_bit: true,
        lun: Lun::peripheral(1),
        itt: 7,
        ttt: 0x1234,
        exp_stat_sn: 4,
        data_sn: 1,
        buffer_offset: 0x10000,
        data: vec![1, 2],
    };
    assert_eq!(DataOut::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn r2t() {
    // LUN 1, ITT 7, TTT 0x55, StatSN 8, ExpCmdSN 9, MaxCmdSN 0x28,
    // R2TSN 2, offset 0x40000, desired length 0x40000.
    let wire = hex("31 80 00 00 00 00 00 00 00 01 00 00 00 00 00 00
         00 00 00 07 00 00 00 55 00 00 00 08 00 00 00 09
         00 00 00 28 00 00 00 02 00 04 00 00 00 04 00 00");
    let want = R2T {
        lun: Lun::peripheral(1),
        itt: 7,
        ttt: 0x55,
        stat_sn: 8,
        exp_cmd_sn: 9,
        max_cmd_sn: 0x28,
        r2t_sn: 2,
        buffer_offset: 0x40000,
        desired_len: 0x40000,
    };
    assert_eq!(R2T::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn login_request_straight_to_operational() {
    // libiscsi without CHAP: T, CSG 1, NSG 3 -> byte 1 = 0x87; version
    // 0/0; ISID 80 00 00 00 00 01; TSIH 0; ITT 0; CID 0; CmdSN 1;
    // ExpStatSN 0; data "SessionType=Normal\0" (19 bytes, 1 pad byte).
    let wire = hex("43 87 00 00 00 00 00 13 80 00 00 00 00 01 00 00
         00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         53 65 73 73 69 6f 6e 54 79 70 65 3d 4e 6f 72 6d
         61 6c 00 00");
    let want = LoginRequest {
        transit: true,
        csg: Stage::Operational,
        nsg: Stage::FullFeature,
        isid: [0x80, 0, 0, 0, 0, 1],
        cmd_sn: 1,
        data: b"SessionType=Normal\0".to_vec(),
        ..Default::default()
    };
    assert_eq!(LoginRequest::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn login_request_fields() {
    // C bit, CSG 0 NSG 1, version max 0 min 0, TSIH 0x1234, ITT 0xa,
    // CID 0x0102, ExpStatSN 0x33.
    let wire = hex("43 41 00 00 00 00 00 00 23 01 02 03 04 05 12 34
         00 00 00 0a 01 02 00 00 00 00 00 01 00 00 00 33
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    let l = LoginRequest::from_pdu(&roundtrip(&wire)).unwrap();
    assert!(l.continue_bit && !l.transit);
    assert_eq!((l.csg, l.nsg), (Stage::Security, Stage::Operational));
    assert_eq!(l.isid, [0x23, 1, 2, 3, 4, 5]);
    assert_eq!(
        (l.tsih, l.itt, l.cid, l.cmd_sn, l.exp_stat_sn),
        (0x1234, 10, 0x0102, 1, 0x33)
    );
    // NSG is reserved without T (RFC 7143 11.12.3): read as sent, but
    // written as zero.
    let mut sent = wire.clone();
    sent[1] = 0x40;
    assert_eq!(l.to_pdu().encode(false, false), sent);
}

#[test]
fn login_t_and_c_together_is_malformed() {
    let mut p = Pdu::new(Opcode::LoginRequest);
    p.bhs[1] = 0xc0;
    assert!(LoginRequest::from_pdu(&p).is_err());
}

#[test]
fn login_response_authentication_failure() {
    // T, CSG 0 NSG 1 (0x81), version max 0 active 0, ISID, TSIH 5, ITT 0,
    // StatSN 0x100, ExpCmdSN 2, MaxCmdSN 2, status class 2 detail 1.
    let wire = hex("23 81 00 00 00 00 00 00 80 00 00 00 00 01 00 05
         00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 02
         00 00 00 02 02 01 00 00 00 00 00 00 00 00 00 00");
    let r = LoginResponse::from_pdu(&roundtrip(&wire)).unwrap();
    assert!(r.transit);
    assert_eq!((r.csg, r.nsg), (Stage::Security, Stage::Operational));
    assert_eq!(r.status(), login_status::AUTHENTICATION_FAILURE);
    assert_eq!(
        (r.tsih, r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn),
        (5, 0x100, 2, 2)
    );
    let mut want = LoginResponse {
        transit: true,
        csg: Stage::Security,
        nsg: Stage::Operational,
        isid: [0x80, 0, 0, 0, 0, 1],
        tsih: 5,
        stat_sn: 0x100,
        exp_cmd_sn: 2,
        max_cmd_sn: 2,
        ..Default::default()
    };
    want.set_status(login_status::AUTHENTICATION_FAILURE);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn text_request_send_targets() {
    // I, F; LUN 0; ITT 1; TTT ffffffff; CmdSN 1; ExpStatSN 1;
    // "SendTargets=All\0" = 16 bytes.
    let wire = hex("44 80 00 00 00 00 00 10 00 00 00 00 00 00 00 00
         00 00 00 01 ff ff ff ff 00 00 00 01 00 00 00 01
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         53 65 6e 64 54 61 72 67 65 74 73 3d 41 6c 6c 00");
    let want = TextRequest {
        immediate: true,
        final_bit: true,
        itt: 1,
        ttt: RESERVED_TAG,
        cmd_sn: 1,
        exp_stat_sn: 1,
        data: b"SendTargets=All\0".to_vec(),
        ..Default::default()
    };
    assert_eq!(TextRequest::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn text_response_continued() {
    // C (0x40), ITT 1, TTT 5, StatSN 2, ExpCmdSN 2, MaxCmdSN 3, no data.
    let wire = hex("24 40 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 01 00 00 00 05 00 00 00 02 00 00 00 02
         00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00");
    let t = TextResponse::from_pdu(&roundtrip(&wire)).unwrap();
    assert!(t.continue_bit && !t.final_bit);
    assert_eq!(
        (t.itt, t.ttt, t.stat_sn, t.exp_cmd_sn, t.max_cmd_sn),
        (1, 5, 2, 2, 3)
    );
    assert_eq!(t.to_pdu().encode(false, false), wire);
    let mut bad = t.to_pdu();
    bad.bhs[1] = 0xc0;
    assert!(TextResponse::from_pdu(&bad).is_err());
}

#[test]
fn logout_request_and_response() {
    // Logout: I, reason close connection (0x81), ITT 3, CID 1, CmdSN 9,
    // ExpStatSN 7.
    let wire = hex("46 81 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 03 00 01 00 00 00 00 00 09 00 00 00 07
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    let want = LogoutRequest {
        immediate: true,
        reason: LogoutReason::CloseConnection,
        itt: 3,
        cid: 1,
        cmd_sn: 9,
        exp_stat_sn: 7,
    };
    assert_eq!(LogoutRequest::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);

    // Response: success, ITT 3, StatSN 7, ExpCmdSN 10, MaxCmdSN 10,
    // Time2Wait 2, Time2Retain 20.
    let wire = hex("26 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 03 00 00 00 00 00 00 00 07 00 00 00 0a
         00 00 00 0a 00 00 00 00 00 02 00 14 00 00 00 00");
    let want = LogoutResponse {
        response: LogoutResponseCode::Success,
        itt: 3,
        stat_sn: 7,
        exp_cmd_sn: 10,
        max_cmd_sn: 10,
        time2wait: 2,
        time2retain: 20,
    };
    assert_eq!(LogoutResponse::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn nop_out_ping_and_nop_in_answer() {
    // Initiator ping: I, ITT 0x10, TTT ffffffff, CmdSN 4, ExpStatSN 6,
    // 3 bytes of ping data (1 pad byte).
    let wire = hex("40 80 00 00 00 00 00 03 00 00 00 00 00 00 00 00
         00 00 00 10 ff ff ff ff 00 00 00 04 00 00 00 06
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         70 69 6e 00");
    let mut ping = NopOut::ping(0x10, 4, 6);
    ping.data = b"pin".to_vec();
    assert!(ping.wants_reply());
    assert_eq!(ping.to_pdu().encode(false, false), wire);
    assert_eq!(NopOut::from_pdu(&roundtrip(&wire)).unwrap(), ping);

    // Target ping asking for an answer: ITT ffffffff, TTT 0x77, StatSN 6,
    // ExpCmdSN 5, MaxCmdSN 0x24, LUN 0.
    let wire = hex("20 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         ff ff ff ff 00 00 00 77 00 00 00 06 00 00 00 05
         00 00 00 24 00 00 00 00 00 00 00 00 00 00 00 00");
    let nop_in = NopIn::from_pdu(&roundtrip(&wire)).unwrap();
    assert!(nop_in.wants_reply());
    assert_eq!(
        (
            nop_in.itt,
            nop_in.ttt,
            nop_in.stat_sn,
            nop_in.exp_cmd_sn,
            nop_in.max_cmd_sn
        ),
        (RESERVED_TAG, 0x77, 6, 5, 0x24)
    );
    assert_eq!(nop_in.to_pdu().encode(false, false), wire);
    // The answer: ITT ffffffff, echoing TTT 0x77; CmdSN 5 not advanced.
    let answer = NopOut::answer(&nop_in, 5, 7);
    assert!(!answer.wants_reply());
    assert_eq!(
        answer.to_pdu().encode(false, false),
        hex("40 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00
             ff ff ff ff 00 00 00 77 00 00 00 05 00 00 00 07
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
    );
}

#[test]
fn task_management_request_and_response() {
    // ABORT TASK (0x81), I, LUN 1, ITT 0x20, RTT 0x1f, CmdSN 8,
    // ExpStatSN 3, RefCmdSN 7, ExpDataSN 0.
    let wire = hex("42 81 00 00 00 00 00 00 00 01 00 00 00 00 00 00
         00 00 00 20 00 00 00 1f 00 00 00 08 00 00 00 03
         00 00 00 07 00 00 00 00 00 00 00 00 00 00 00 00");
    let want = TaskMgmtRequest {
        immediate: true,
        function: TmfFunction::AbortTask,
        lun: Lun::peripheral(1),
        itt: 0x20,
        referenced_task_tag: 0x1f,
        cmd_sn: 8,
        exp_stat_sn: 3,
        ref_cmd_sn: 7,
        exp_data_sn: 0,
    };
    assert_eq!(TaskMgmtRequest::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);

    // Function codes 1..=8 and the unknown code 0x7f.
    let codes = [
        (1u8, TmfFunction::AbortTask),
        (2, TmfFunction::AbortTaskSet),
        (3, TmfFunction::ClearAca),
        (4, TmfFunction::ClearTaskSet),
        (5, TmfFunction::LunReset),
        (6, TmfFunction::TargetWarmReset),
        (7, TmfFunction::TargetColdReset),
        (8, TmfFunction::TaskReassign),
        (0x7f, TmfFunction::Other(0x7f)),
    ];
    for (code, f) in codes {
        let mut p = Pdu::new(Opcode::TaskMgmtRequest);
        p.bhs[1] = 0x80 | code;
        assert_eq!(TaskMgmtRequest::from_pdu(&p).unwrap().function, f);
    }

    // Response "function not supported" (5), ITT 0x20, StatSN 3,
    // ExpCmdSN 9, MaxCmdSN 0x28.
    let wire = hex("22 80 05 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 20 00 00 00 00 00 00 00 03 00 00 00 09
         00 00 00 28 00 00 00 00 00 00 00 00 00 00 00 00");
    let want = TaskMgmtResponse {
        response: TmfResponse::FunctionNotSupported,
        itt: 0x20,
        stat_sn: 3,
        exp_cmd_sn: 9,
        max_cmd_sn: 0x28,
    };
    assert_eq!(TaskMgmtResponse::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
    for (code, r) in [
        (0u8, TmfResponse::Complete),
        (1, TmfResponse::TaskDoesNotExist),
        (2, TmfResponse::LunDoesNotExist),
        (3, TmfResponse::TaskStillAllegiant),
        (4, TmfResponse::ReassignmentNotSupported),
        (5, TmfResponse::FunctionNotSupported),
        (6, TmfResponse::AuthorizationFailed),
        (255, TmfResponse::Rejected),
    ] {
        assert_eq!(TmfResponse::from(code), r);
        assert_eq!(u8::from(r), code);
    }
}

#[test]
fn reject_carries_the_rejected_header() {
    let bad = Pdu::new(Opcode::SnackRequest);
    let mut rej = Reject::of(&bad, RejectReason::CommandNotSupported);
    rej.stat_sn = 1;
    rej.exp_cmd_sn = 2;
    rej.max_cmd_sn = 3;
    // Reason 5, ITT ffffffff, StatSN 1, ExpCmdSN 2, MaxCmdSN 3, DSL 48.
    let mut wire = hex("3f 80 05 00 00 00 00 30 00 00 00 00 00 00 00 00
         ff ff ff ff 00 00 00 00 00 00 00 01 00 00 00 02
         00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00");
    wire.push(0x10);
    wire.extend_from_slice(&[0u8; 47]);
    assert_eq!(rej.to_pdu().encode(false, false), wire);
    let back = Reject::from_pdu(&roundtrip(&wire)).unwrap();
    assert_eq!(back.reason, RejectReason::CommandNotSupported);
    assert_eq!(back.rejected_bhs(), Some(bad.bhs));
    assert_eq!(RejectReason::from(0x09), RejectReason::InvalidPduField);
}

#[test]
fn async_message_logout_request() {
    // Event 1 (target requests logout), LUN 0, ITT ffffffff, StatSN 4,
    // ExpCmdSN 5, MaxCmdSN 6, Parameter3 (Time2Wait) 0x000a at 42.
    let wire = hex("32 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         ff ff ff ff 00 00 00 00 00 00 00 04 00 00 00 05
         00 00 00 06 01 00 00 00 00 00 00 0a 00 00 00 00");
    let want = AsyncMessage {
        stat_sn: 4,
        exp_cmd_sn: 5,
        max_cmd_sn: 6,
        event: AsyncEvent::LogoutRequested,
        parameter3: 10,
        ..Default::default()
    };
    assert_eq!(AsyncMessage::from_pdu(&roundtrip(&wire)).unwrap(), want);
    assert_eq!(want.to_pdu().encode(false, false), wire);
}

#[test]
fn snack_request() {
    // Status SNACK (type 1 -> 0x81), LUN 0, ITT 4, tag 0, ExpStatSN 2,
    // BegRun 3, RunLength 1.
    let wire = hex("10 81 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 02
         00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 01");
    let s = SnackRequest::from_pdu(&roundtrip(&wire)).unwrap();
    assert_eq!(
        (s.snack_type, s.itt, s.exp_stat_sn, s.beg_run, s.run_length),
        (1, 4, 2, 3, 1)
    );
    assert_eq!(s.to_pdu().encode(false, false), wire);
}

#[test]
fn wrong_and_unknown_opcodes() {
    let p = Pdu::new(Opcode::NopIn);
    assert_eq!(
        ScsiCommand::from_pdu(&p),
        Err(PduError::WrongOpcode {
            expected: Opcode::ScsiCommand,
            got: 0x20
        })
    );
    let mut p = Pdu::new(Opcode::NopOut);
    p.bhs[0] = 0x1c;
    assert_eq!(p.opcode(), Err(PduError::UnknownOpcode(0x1c)));
    assert_eq!(Typed::from_pdu(p), Err(PduError::UnknownOpcode(0x1c)));
}

#[test]
fn typed_dispatch_roundtrip() {
    let d = DataIn {
        final_bit: true,
        itt: 5,
        data: vec![9; 10],
        ..Default::default()
    };
    let t = Typed::from_pdu(d.to_pdu()).unwrap();
    assert_eq!(t, Typed::DataIn(d.clone()));
    assert_eq!(t.into_pdu(), d.to_pdu());
}

#[test]
fn raw_accessors() {
    let wire = hex("41 a1 00 00 00 00 00 05 00 01 00 00 00 00 00 00
         00 00 00 07 00 00 10 00 00 00 00 03 00 00 00 02
         0a 00 00 10 00 00 00 00 00 00 00 00 00 00 00 00
         61 62 63 64 65 00 00 00");
    let mut p = roundtrip(&wire);
    assert_eq!(p.opcode(), Ok(Opcode::ScsiCommand));
    assert!(p.immediate() && p.final_bit());
    assert_eq!(p.flags(), 0xa1);
    assert_eq!(p.data_segment_length(), 5);
    assert_eq!(p.lun(), Lun::peripheral(1));
    assert_eq!((p.itt(), p.ttt(), p.sn24(), p.sn28()), (7, 0x1000, 3, 2));
    assert_eq!(p.u32_at(44), 0);
    p.set_itt(0xabcd);
    p.set_immediate(false);
    assert_eq!(
        &p.encode(false, false)[..20],
        &hex("01 a1 00 00 00 00 00 05 00 01 00 00 00 00 00 00 00 00 ab cd")[..]
    );
    assert!(Opcode::ScsiCommand.is_initiator() && !Opcode::DataIn.is_initiator());
}

#[test]
fn lun_encodings() {
    assert_eq!(Lun::peripheral(5).0, [0, 5, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Lun::flat(0x123).0, [0x41, 0x23, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Lun::from_number(255).0, [0, 0xff, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Lun::from_number(256).0, [0x41, 0x00, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Lun::peripheral(5).number(), Some(5));
    assert_eq!(Lun::flat(0x3fff).number(), Some(0x3fff));
    // Peripheral with a bus number, extended and multi-level LUNs: no number.
    assert_eq!(Lun([0x01, 0x05, 0, 0, 0, 0, 0, 0]).number(), None);
    assert_eq!(Lun([0xc0, 0, 0, 0, 0, 0, 0, 0]).number(), None);
    assert_eq!(Lun([0, 1, 0, 2, 0, 0, 0, 0]).number(), None);
    assert_eq!(Lun::from_u64(0x0001_0000_0000_0000), Lun::peripheral(1));
    assert_eq!(Lun::peripheral(1).to_u64(), 0x0001_0000_0000_0000);
}
