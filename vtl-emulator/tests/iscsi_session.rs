//! The target's session state machine driven with literal PDUs (RFC 7143
//! layouts), no sockets.

use std::path::Path;
use std::sync::Arc;

use reel_drivers::iscsi::Pdu;
use reel_vtl::iscsi::{Connection, Phase, Portal, ServeConfig};
use reel_vtl::library::VirtualLibrary;

const IQN: &str = "iqn.2025-01.org.reel:vtl";

fn config(extra: &str) -> ServeConfig {
    let text = format!(
        "library = \"unused\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\", 2 = \"changer\" }}\n{extra}"
    );
    ServeConfig::parse(&text, Path::new("/")).unwrap()
}

struct Rig {
    _dir: tempfile::TempDir,
    lib: VirtualLibrary,
    conn: Connection,
}

fn rig(cfg: ServeConfig) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let lib = VirtualLibrary::create_default(&dir.path().join("lib")).unwrap();
    let portal = Arc::new(Portal::new(cfg, lib.clone()));
    Rig {
        _dir: dir,
        lib,
        conn: Connection::new(portal, "127.0.0.1:3260".into()),
    }
}

fn text(pairs: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in pairs {
        v.extend_from_slice(p.as_bytes());
        v.push(0);
    }
    v
}

fn keys(p: &Pdu) -> Vec<String> {
    p.data
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
        .collect()
}

fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Login Request (RFC 7143 11.12): ISID 80 00 00 00 00 01, CID 1.
fn login_req(flags: u8, itt: u32, cmd_sn: u32, exp_stat_sn: u32, data: Vec<u8>) -> Pdu {
    let mut bhs = [0u8; 48];
    bhs[0] = 0x43; // immediate + Login Request
    bhs[1] = flags;
    bhs[5..8].copy_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    bhs[8..14].copy_from_slice(&[0x80, 0, 0, 0, 0, 1]);
    bhs[16..20].copy_from_slice(&itt.to_be_bytes());
    bhs[20..22].copy_from_slice(&[0, 1]);
    bhs[24..28].copy_from_slice(&cmd_sn.to_be_bytes());
    bhs[28..32].copy_from_slice(&exp_stat_sn.to_be_bytes());
    Pdu {
        bhs,
        ahs: vec![],
        data,
    }
}

/// SCSI Command (RFC 7143 11.3).
fn scsi_cmd(
    flags: u8,
    lun: u8,
    itt: u32,
    edtl: u32,
    cmd_sn: u32,
    cdb: &[u8],
    data: Vec<u8>,
) -> Pdu {
    let mut bhs = [0u8; 48];
    bhs[0] = 0x01;
    bhs[1] = flags;
    bhs[5..8].copy_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    bhs[9] = lun;
    bhs[16..20].copy_from_slice(&itt.to_be_bytes());
    bhs[20..24].copy_from_slice(&edtl.to_be_bytes());
    bhs[24..28].copy_from_slice(&cmd_sn.to_be_bytes());
    bhs[32..32 + cdb.len()].copy_from_slice(cdb);
    Pdu {
        bhs,
        ahs: vec![],
        data,
    }
}

fn nop_out(itt: u32, cmd_sn: u32, immediate: bool) -> Pdu {
    let mut bhs = [0u8; 48];
    bhs[0] = if immediate { 0x40 } else { 0x00 };
    bhs[1] = 0x80;
    bhs[16..20].copy_from_slice(&itt.to_be_bytes());
    bhs[20..24].copy_from_slice(&[0xff; 4]);
    bhs[24..28].copy_from_slice(&cmd_sn.to_be_bytes());
    Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    }
}

/// Logs in straight to the operational stage (as libiscsi does without
/// CHAP) with `extra` keys; returns the login response.
fn login(r: &mut Rig, extra: &[&str]) -> Pdu {
    let mut k = vec![
        "InitiatorName=iqn.2025-01.org.test:init",
        "SessionType=Normal",
        "TargetName=iqn.2025-01.org.reel:vtl",
    ];
    k.extend_from_slice(extra);
    let out = r.conn.handle(login_req(0x87, 7, 10, 0, text(&k)));
    assert_eq!(out.len(), 1);
    out.into_iter().next().unwrap()
}

#[test]
fn login_straight_to_operational() {
    let mut r = rig(config(""));
    let p = login(
        &mut r,
        &[
            "MaxRecvDataSegmentLength=8192",
            "InitialR2T=No",
            "ImmediateData=Yes",
            "X-reel.Foo=1",
        ],
    );
    let b = &p.bhs;
    assert_eq!(b[0], 0x23);
    assert_eq!(b[1], 0x87, "T=1 CSG=1 NSG=3");
    assert_eq!(&b[2..4], &[0, 0], "version max/active 0");
    assert_eq!(&b[8..14], &[0x80, 0, 0, 0, 0, 1], "ISID echoed");
    assert_ne!(&b[14..16], &[0, 0], "TSIH assigned");
    assert_eq!(be32(b, 16), 7, "ITT");
    assert_eq!(be32(b, 28), 10, "ExpCmdSN = initial CmdSN");
    assert_eq!(be32(b, 32), 10 + 31, "MaxCmdSN");
    assert_eq!(&b[36..38], &[0, 0], "status success");
    let k = keys(&p);
    assert!(k.contains(&"TargetPortalGroupTag=1".to_string()), "{k:?}");
    assert!(k.contains(&"InitialR2T=No".to_string()), "{k:?}");
    assert!(k.contains(&"ImmediateData=Yes".to_string()), "{k:?}");
    assert!(k.contains(&"X-reel.Foo=NotUnderstood".to_string()), "{k:?}");
    assert!(
        k.contains(&"MaxRecvDataSegmentLength=262144".to_string()),
        "{k:?}"
    );
    assert!(
        !k.iter().any(|s| s.starts_with("InitiatorName")),
        "declarations not echoed"
    );
    assert_eq!(r.conn.phase(), Phase::FullFeature);
}

#[test]
fn unknown_target_and_missing_name() {
    let mut r = rig(config(""));
    let out = r.conn.handle(login_req(
        0x87,
        1,
        1,
        0,
        text(&["InitiatorName=iqn.x:y", "TargetName=iqn.nope:nope"]),
    ));
    assert_eq!(&out[0].bhs[36..38], &[0x02, 0x03], "target not found");
    assert!(r.conn.is_closed());
    let mut r = rig(config(""));
    let out = r.conn.handle(login_req(
        0x87,
        1,
        1,
        0,
        text(&["TargetName=iqn.2025-01.org.reel:vtl"]),
    ));
    assert_eq!(&out[0].bhs[36..38], &[0x02, 0x07], "missing parameter");
}

#[test]
fn unit_attention_first_then_report_luns_and_unmapped_lun() {
    let mut r = rig(config(""));
    login(&mut r, &[]);
    // TEST UNIT READY to LUN 1: 06/29/00 first.
    let out = r.conn.handle(scsi_cmd(0x80, 1, 1, 0, 10, &[0; 6], vec![]));
    assert_eq!(out.len(), 1);
    let p = &out[0];
    assert_eq!(p.bhs[0], 0x21);
    assert_eq!(p.bhs[3], 0x02, "CHECK CONDITION");
    assert_eq!(be32(&p.bhs, 24), 1, "StatSN after the login response's 0");
    assert_eq!(be32(&p.bhs, 28), 11, "ExpCmdSN advanced");
    assert_eq!(&p.data[0..2], &[0, 18], "sense length");
    assert_eq!(p.data[2 + 2] & 0x0f, 0x06, "UNIT ATTENTION");
    assert_eq!(&p.data[2 + 12..2 + 14], &[0x29, 0x00]);

    // REPORT LUNS, allocation 64: LUNs 1 and 2, status in the Data-In.
    let cdb = [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0];
    let out = r.conn.handle(scsi_cmd(0xc0, 0, 2, 64, 11, &cdb, vec![]));
    assert_eq!(out.len(), 1);
    let p = &out[0];
    assert_eq!(p.bhs[0], 0x25);
    assert_eq!(p.bhs[1], 0x80 | 0x02 | 0x01, "F, U, S");
    assert_eq!(p.bhs[3], 0);
    assert_eq!(be32(&p.bhs, 44), 64 - 24, "underflow residual");
    assert_eq!(
        p.data,
        [
            0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0
        ]
    );

    // INQUIRY to unmapped LUN 5: qualifier 3, type 1Fh.
    let out = r.conn.handle(scsi_cmd(
        0xc0,
        5,
        3,
        36,
        12,
        &[0x12, 0, 0, 0, 36, 0],
        vec![],
    ));
    assert_eq!(out[0].bhs[0], 0x25);
    assert_eq!(out[0].data[0], 0x7f);
    // TEST UNIT READY to LUN 5: 05/25/00.
    let out = r.conn.handle(scsi_cmd(0x80, 5, 4, 0, 13, &[0; 6], vec![]));
    assert_eq!(out[0].bhs[3], 0x02);
    assert_eq!(out[0].data[2 + 2] & 0x0f, 0x05);
    assert_eq!(&out[0].data[2 + 12..2 + 14], &[0x25, 0x00]);
}

#[test]
fn write_with_r2t_then_read_with_data_in_segments() {
    let mut r = rig(config(""));
    r.lib.insert(0, "RL0001L8").unwrap();
    let p = login(
        &mut r,
        &[
            "MaxRecvDataSegmentLength=512",
            "MaxBurstLength=1024",
            "InitialR2T=Yes",
            "ImmediateData=Yes",
        ],
    );
    assert!(keys(&p).contains(&"MaxBurstLength=1024".to_string()));
    let mut sn = 10;
    let mut itt = 100;
    // Clear the unit attentions (29/00, then the load's 28/00 if any).
    loop {
        let out = r
            .conn
            .handle(scsi_cmd(0x80, 1, itt, 0, sn, &[0; 6], vec![]));
        sn += 1;
        itt += 1;
        if out[0].bhs[3] == 0 {
            break;
        }
        assert!(itt < 110, "drive never ready");
    }
    // WRITE(6) variable, 2000 bytes; 100 bytes of immediate data.
    let data: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    let cdb = [0x0a, 0x00, 0x00, 0x07, 0xd0, 0x00];
    let out = r
        .conn
        .handle(scsi_cmd(0xa0, 1, 50, 2000, sn, &cdb, data[..100].to_vec()));
    sn += 1;
    let mut offset = 100;
    let mut r2ts = vec![];
    let mut pending = out;
    loop {
        assert_eq!(pending.len(), 1);
        let p = pending.remove(0);
        if p.bhs[0] == 0x21 {
            assert_eq!(p.bhs[3], 0, "WRITE GOOD");
            break;
        }
        assert_eq!(p.bhs[0], 0x31, "R2T");
        assert_eq!(be32(&p.bhs, 16), 50);
        let ttt = be32(&p.bhs, 20);
        let (r2tsn, off, len) = (be32(&p.bhs, 36), be32(&p.bhs, 40), be32(&p.bhs, 44));
        r2ts.push((r2tsn, off, len));
        assert_eq!(off as usize, offset);
        // Data-Out in 512-byte PDUs (our MaxRecvDataSegmentLength is larger).
        let mut o = off as usize;
        let end = (off + len) as usize;
        let mut dsn = 0u32;
        while o < end {
            let n = (end - o).min(512);
            let mut bhs = [0u8; 48];
            bhs[0] = 0x05;
            bhs[1] = if o + n == end { 0x80 } else { 0 };
            bhs[9] = 1;
            bhs[16..20].copy_from_slice(&50u32.to_be_bytes());
            bhs[20..24].copy_from_slice(&ttt.to_be_bytes());
            bhs[36..40].copy_from_slice(&dsn.to_be_bytes());
            bhs[40..44].copy_from_slice(&(o as u32).to_be_bytes());
            bhs[5..8].copy_from_slice(&(n as u32).to_be_bytes()[1..]);
            let out = r.conn.handle(Pdu {
                bhs,
                ahs: vec![],
                data: data[o..o + n].to_vec(),
            });
            o += n;
            dsn += 1;
            if o < end {
                assert!(out.is_empty());
            } else {
                pending = out;
            }
        }
        offset = end;
    }
    assert_eq!(r2ts, vec![(0, 100, 1024), (1, 1124, 876)]);

    // REWIND, then READ(6) 2000 bytes: 4 Data-In of <= 512, status in the last.
    let out = r
        .conn
        .handle(scsi_cmd(0x80, 1, 60, 0, sn, &[0x01, 0, 0, 0, 0, 0], vec![]));
    sn += 1;
    assert_eq!(out[0].bhs[3], 0);
    let cdb = [0x08, 0x00, 0x00, 0x07, 0xd0, 0x00];
    let out = r.conn.handle(scsi_cmd(0xc0, 1, 61, 2000, sn, &cdb, vec![]));
    let lens: Vec<usize> = out.iter().map(|p| p.data.len()).collect();
    assert_eq!(lens, vec![512, 512, 512, 464]);
    let flags: Vec<u8> = out.iter().map(|p| p.bhs[1]).collect();
    assert_eq!(
        flags,
        vec![0x00, 0x80, 0x00, 0x81],
        "F at MaxBurstLength, S last"
    );
    for (i, p) in out.iter().enumerate() {
        assert_eq!(p.bhs[0], 0x25);
        assert_eq!(be32(&p.bhs, 36), i as u32, "DataSN");
        assert_eq!(be32(&p.bhs, 40), 512 * i as u32, "buffer offset");
    }
    let got: Vec<u8> = out.iter().flat_map(|p| p.data.clone()).collect();
    assert_eq!(got, data);
}

#[test]
fn overflow_residual_when_cdb_asks_more() {
    let mut r = rig(config(""));
    login(&mut r, &[]);
    // INQUIRY allocation 255 but expected length 36: overflow of 219.
    let out = r.conn.handle(scsi_cmd(
        0xc0,
        1,
        1,
        36,
        10,
        &[0x12, 0, 0, 0, 255, 0],
        vec![],
    ));
    let last = out.last().unwrap();
    assert_eq!(last.bhs[0], 0x25);
    assert_eq!(last.bhs[1] & 0x07, 0x04 | 0x01, "O and S");
    assert_eq!(be32(&last.bhs, 44), 219);
    assert_eq!(last.data.len(), 36);
    assert_eq!(last.data[0] & 0x1f, 0x01, "sequential-access device");
}

#[test]
fn cmdsn_window() {
    let mut r = rig(config(""));
    login(&mut r, &[]);
    // Far outside the window (ExpCmdSN 10, MaxCmdSN 41): dropped.
    assert!(r.conn.handle(nop_out(1, 100, false)).is_empty());
    // Ahead of ExpCmdSN inside the window: held until 10 arrives.
    assert!(r.conn.handle(nop_out(2, 11, false)).is_empty());
    let out = r.conn.handle(nop_out(3, 10, false));
    assert_eq!(out.len(), 2);
    assert_eq!(be32(&out[0].bhs, 16), 3);
    assert_eq!(be32(&out[1].bhs, 16), 2);
    assert_eq!(out[1].bhs[0], 0x20, "NOP-In");
    assert_eq!(be32(&out[1].bhs, 28), 12, "ExpCmdSN");
    assert_eq!(be32(&out[1].bhs, 32), 12 + 31, "MaxCmdSN");
    // Immediate: answered, CmdSN not advanced.
    let out = r.conn.handle(nop_out(4, 12, true));
    assert_eq!(be32(&out[0].bhs, 28), 12);
    // A duplicate old CmdSN is dropped.
    assert!(r.conn.handle(nop_out(5, 10, false)).is_empty());
}

#[test]
fn discovery_send_targets_with_continuation() {
    let mut extra = String::new();
    for i in 0..20 {
        extra.push_str(&format!(
            "[[target]]\niqn = \"iqn.2025-01.org.reel:extra-target-number-{i}\"\n"
        ));
    }
    let mut r = rig(config(&extra));
    let out = r.conn.handle(login_req(
        0x87,
        1,
        1,
        0,
        text(&[
            "InitiatorName=iqn.x:y",
            "SessionType=Discovery",
            "MaxRecvDataSegmentLength=512",
        ]),
    ));
    assert_eq!(&out[0].bhs[36..38], &[0, 0]);
    assert!(
        !keys(&out[0])
            .iter()
            .any(|k| k.starts_with("TargetPortalGroupTag"))
    );
    // SCSI commands are refused in a discovery session.
    let out = r.conn.handle(scsi_cmd(0x80, 1, 9, 0, 1, &[0; 6], vec![]));
    assert_eq!(out[0].bhs[0], 0x3f);
    // Text Request: SendTargets=All (RFC 7143 11.10), CmdSN 2.
    let mut bhs = [0u8; 48];
    bhs[0] = 0x04;
    bhs[1] = 0x80;
    bhs[16..20].copy_from_slice(&5u32.to_be_bytes());
    bhs[20..24].copy_from_slice(&[0xff; 4]);
    bhs[24..28].copy_from_slice(&2u32.to_be_bytes());
    let req = Pdu {
        bhs,
        ahs: vec![],
        data: text(&["SendTargets=All"]),
    };
    let mut all = Vec::new();
    let mut p = r.conn.handle(req.clone()).remove(0);
    let mut sn = 3;
    let mut rounds = 0;
    while p.bhs[1] & 0x40 != 0 {
        assert_eq!(p.bhs[1], 0x40, "C without F");
        assert!(p.data.len() <= 512);
        all.extend_from_slice(&p.data);
        let mut next = req.clone();
        next.data.clear();
        next.bhs[20..24].copy_from_slice(&p.bhs[20..24]);
        next.bhs[24..28].copy_from_slice(&(sn as u32).to_be_bytes());
        sn += 1;
        p = r.conn.handle(next).remove(0);
        rounds += 1;
    }
    assert_eq!(p.bhs[1], 0x80);
    assert_eq!(be32(&p.bhs, 20), 0xffff_ffff);
    all.extend_from_slice(&p.data);
    assert!(rounds >= 2);
    let k = keys(&Pdu {
        bhs: [0; 48],
        ahs: vec![],
        data: all,
    });
    assert_eq!(k.len(), 42);
    assert_eq!(k[0], format!("TargetName={IQN}"));
    assert_eq!(k[1], "TargetAddress=127.0.0.1:3260,1");
}

fn chap_config() -> ServeConfig {
    config(
        "chap = { user = \"alice\", secret = \"a-12-byte-secret\", mutual_user = \"reel\", mutual_secret = \"target-secret\" }\n",
    )
}

fn md5(parts: &[&[u8]]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

fn chap_login(secret: &str) -> (Rig, Pdu) {
    let mut r = rig(chap_config());
    // Security stage, T=0: CSG=0 NSG=0.
    let out = r.conn.handle(login_req(
        0x01,
        1,
        1,
        0,
        text(&[
            "InitiatorName=iqn.x:y",
            &format!("TargetName={IQN}"),
            "AuthMethod=CHAP,None",
        ]),
    ));
    let k = keys(&out[0]);
    assert!(k.contains(&"AuthMethod=CHAP".to_string()), "{k:?}");
    assert!(k.contains(&"TargetPortalGroupTag=1".to_string()));
    assert_eq!(out[0].bhs[1], 0x00, "no transit yet: T=0, CSG=0");
    let out = r.conn.handle(login_req(0x01, 1, 1, 1, text(&["CHAP_A=5"])));
    let k = keys(&out[0]);
    assert_eq!(k[0], "CHAP_A=5");
    let id: u8 = k[1].strip_prefix("CHAP_I=").unwrap().parse().unwrap();
    let c = hex::decode(k[2].strip_prefix("CHAP_C=0x").unwrap()).unwrap();
    let resp = md5(&[&[id], secret.as_bytes(), &c]);
    let out = r.conn.handle(login_req(
        0x81,
        1,
        1,
        2,
        text(&[
            "CHAP_N=alice",
            &format!("CHAP_R=0x{}", hex::encode(resp)),
            "CHAP_I=9",
            "CHAP_C=0x00112233445566778899aabbccddeeff",
        ]),
    ));
    let p = out.into_iter().next().unwrap();
    (r, p)
}

#[test]
fn chap_success_with_mutual() {
    let (mut r, p) = chap_login("a-12-byte-secret");
    assert_eq!(&p.bhs[36..38], &[0, 0]);
    assert_eq!(p.bhs[1], 0x81, "T=1 CSG=0 NSG=1");
    let k = keys(&p);
    assert!(k.contains(&"CHAP_N=reel".to_string()));
    let c = hex::decode("00112233445566778899aabbccddeeff").unwrap();
    let want = md5(&[&[9], b"target-secret", &c]);
    assert!(
        k.contains(&format!("CHAP_R=0x{}", hex::encode(want))),
        "{k:?}"
    );
    // Operational stage to full feature.
    let out = r.conn.handle(login_req(
        0x87,
        1,
        1,
        3,
        text(&["MaxRecvDataSegmentLength=8192"]),
    ));
    assert_eq!(out[0].bhs[1], 0x87);
    assert_eq!(r.conn.phase(), Phase::FullFeature);
}

#[test]
fn chap_wrong_secret_is_refused() {
    let (r, p) = chap_login("not-the-secret");
    assert_eq!(p.bhs[0], 0x23);
    assert_eq!(&p.bhs[36..38], &[0x02, 0x01], "authentication failure");
    assert!(r.conn.is_closed());
}

#[test]
fn chap_required_cannot_be_skipped() {
    let mut r = rig(chap_config());
    let out = r.conn.handle(login_req(
        0x87,
        1,
        1,
        0,
        text(&["InitiatorName=iqn.x:y", &format!("TargetName={IQN}")]),
    ));
    assert_eq!(&out[0].bhs[36..38], &[0x02, 0x01]);
}

#[test]
fn logout_and_task_management() {
    let mut r = rig(config(""));
    login(&mut r, &[]);
    // TMF: CLEAR ACA (4) is not supported (response 5); ABORT TASK of an
    // unknown task with RefCmdSN ahead: "task does not exist" (1).
    let mut bhs = [0u8; 48];
    bhs[0] = 0x42;
    bhs[1] = 0x84;
    bhs[9] = 1;
    bhs[16..20].copy_from_slice(&9u32.to_be_bytes());
    bhs[24..28].copy_from_slice(&10u32.to_be_bytes());
    let out = r.conn.handle(Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    });
    assert_eq!(out[0].bhs[0], 0x22);
    assert_eq!(out[0].bhs[2], 5);
    bhs[1] = 0x81;
    bhs[20..24].copy_from_slice(&77u32.to_be_bytes());
    bhs[32..36].copy_from_slice(&20u32.to_be_bytes());
    let out = r.conn.handle(Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    });
    assert_eq!(out[0].bhs[2], 1);
    // LUN RESET of unmapped LUN 7: "LUN does not exist" (2).
    bhs[1] = 0x85;
    bhs[9] = 7;
    let out = r.conn.handle(Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    });
    assert_eq!(out[0].bhs[2], 2);
    // Logout (close session), CmdSN 10.
    let mut bhs = [0u8; 48];
    bhs[0] = 0x46;
    bhs[1] = 0x80;
    bhs[16..20].copy_from_slice(&3u32.to_be_bytes());
    bhs[24..28].copy_from_slice(&10u32.to_be_bytes());
    let out = r.conn.handle(Pdu {
        bhs,
        ahs: vec![],
        data: vec![],
    });
    assert_eq!(out[0].bhs[0], 0x26);
    assert_eq!(out[0].bhs[2], 0);
    assert_eq!(be32(&out[0].bhs, 16), 3);
    assert!(r.conn.is_closed());
}

#[test]
fn malformed_pdus_close_with_reject() {
    let mut r = rig(config(""));
    // A SCSI command before login.
    let out = r.conn.handle(scsi_cmd(0x80, 1, 1, 0, 1, &[0; 6], vec![]));
    assert_eq!(out[0].bhs[0], 0x3f);
    assert!(r.conn.is_closed());
    // Data-Out outside the R2T's range.
    let mut r = rig(config(""));
    login(&mut r, &["InitialR2T=Yes"]);
    let out = r.conn.handle(scsi_cmd(
        0xa0,
        1,
        5,
        1000,
        10,
        &[0x0a, 0, 0, 3, 0xe8, 0],
        vec![],
    ));
    assert_eq!(out[0].bhs[0], 0x31);
    let mut bhs = [0u8; 48];
    bhs[0] = 0x05;
    bhs[1] = 0x80;
    bhs[16..20].copy_from_slice(&5u32.to_be_bytes());
    bhs[20..24].copy_from_slice(&out[0].bhs[20..24]);
    bhs[40..44].copy_from_slice(&990u32.to_be_bytes());
    let out = r.conn.handle(Pdu {
        bhs,
        ahs: vec![],
        data: vec![0; 100],
    });
    assert_eq!(out[0].bhs[0], 0x3f);
    assert!(r.conn.is_closed());
}

/// Writes announce their length before sending data; the target reserves a
/// buffer per write, so a window of large announced writes is answered
/// TASK SET FULL once 128 MiB are reserved, and nothing else breaks.
#[test]
fn announced_writes_beyond_the_buffer_budget_get_task_set_full() {
    let mut r = rig(config(""));
    r.lib.insert(0, "RL0001L8").unwrap();
    login(&mut r, &["InitialR2T=Yes", "ImmediateData=No"]);
    // WRITE(6) variable of 48 MiB each (CmdSN from 10, as the login), no
    // data sent yet: the first two fit
    // the budget (R2T answers), the third does not.
    let len: u32 = 48 << 20;
    let cdb = [
        0x0a,
        0x00,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0x00,
    ];
    let mut statuses = Vec::new();
    for i in 0..3u32 {
        let out = r
            .conn
            .handle(scsi_cmd(0xa0, 1, 200 + i, len, 10 + i, &cdb, vec![]));
        assert_eq!(out.len(), 1, "one answer per command");
        statuses.push((out[0].bhs[0] & 0x3f, out[0].bhs[3]));
    }
    assert_eq!(statuses[0].0, 0x31, "first write gets an R2T");
    assert_eq!(statuses[1].0, 0x31, "second write gets an R2T");
    assert_eq!(
        statuses[2],
        (0x21, 0x28),
        "third: SCSI Response, TASK SET FULL"
    );
    assert!(!r.conn.is_closed());
}
