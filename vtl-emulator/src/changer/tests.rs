//! Byte-exact tests of the SMC model against SMC-3/SPC-5 layouts, written
//! out literally (not produced by the encoders under test).

use std::time::Duration;

use proptest::prelude::*;
use reel_drivers::scsi::transport::ScsiStatus;

use super::*;

fn id(vendor: &str, product: &str, serial: &str) -> Identity {
    Identity {
        vendor: vendor.into(),
        product: product.into(),
        revision: "R001".into(),
        serial: serial.into(),
    }
}

/// Picker 0x0001, drives 0x0100-0x0101, mail 0x0300-0x0301, slots
/// 0x0400-0x0403. Slot 1 holds AB0001L8, slot 3 CLN001L1, slot 2 AB0002L8.
fn small() -> (Changer, SimpleBay) {
    let cfg = ChangerConfig {
        identity: id("REEL", "VLIB", "SN01"),
        map: ElementMap::standard(4, 2, 2),
        drives: vec![
            id("IBM", "ULT3580-TD8", "D1"),
            id("IBM", "ULT3580-TD8", "D22"),
        ],
        options: ChangerOptions::default(),
    };
    let mut st = ChangerState::empty(&cfg.map);
    st.slots[0] = Some(Medium::data("AB0001L8"));
    st.slots[1] = Some(Medium::data("AB0002L8"));
    st.slots[2] = Some(Medium::cleaning("CLN001L1", 3));
    let mut ch = Changer::new(cfg, st);
    let mut bay = SimpleBay::new(2);
    // Consume the power-on unit attention.
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((0x06, 0x29, 0x00)));
    (ch, bay)
}

fn run(ch: &mut Changer, bay: &mut SimpleBay, cdb: &[u8], alloc: usize) -> (Response, Vec<u8>) {
    run_out(ch, bay, cdb, &[], alloc)
}

fn run_out(
    ch: &mut Changer,
    bay: &mut SimpleBay,
    cdb: &[u8],
    out: &[u8],
    alloc: usize,
) -> (Response, Vec<u8>) {
    let mut buf = vec![0u8; alloc];
    let r = ch.execute(7, cdb, out, &mut buf, bay);
    buf.truncate(r.data_in_len);
    (r, buf)
}

fn sense_code(r: &Response) -> Option<(u8, u8, u8)> {
    (r.status == ScsiStatus::CHECK_CONDITION).then(|| (r.sense[2] & 0x0f, r.sense[12], r.sense[13]))
}

fn good(r: &Response) {
    assert_eq!(r.status, ScsiStatus::GOOD, "sense {:02x?}", r.sense);
}

/// MOVE MEDIUM CDB.
fn mv(src: u16, dst: u16) -> [u8; 12] {
    let s = src.to_be_bytes();
    let d = dst.to_be_bytes();
    [0xa5, 0, 0, 0x01, s[0], s[1], d[0], d[1], 0, 0, 0, 0]
}

/// Fixed sense, ILLEGAL REQUEST with a CDB field pointer at `byte`.
fn illegal(asc: u8, ascq: u8, byte: u8) -> Vec<u8> {
    vec![
        0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, asc, ascq, 0, 0xc0, 0x00, byte,
    ]
}

fn pad(s: &str, n: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(n, b' ');
    v
}

#[test]
fn inquiry_standard_and_vpd() {
    let (mut ch, mut bay) = small();
    let (r, d) = run(&mut ch, &mut bay, &[0x12, 0, 0, 0, 0xff, 0], 255);
    good(&r);
    let mut want = vec![0x08, 0x80, 0x06, 0x02, 51, 0, 0, 0];
    want.extend_from_slice(b"REEL    VLIB            R001");
    want.extend_from_slice(&[0; 20]);
    assert_eq!(d, want);
    let (_, d) = run(&mut ch, &mut bay, &[0x12, 1, 0x00, 0, 0xff, 0], 255);
    assert_eq!(d, [0x08, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83]);
    let (_, d) = run(&mut ch, &mut bay, &[0x12, 1, 0x80, 0, 0xff, 0], 255);
    assert_eq!(d, [0x08, 0x80, 0x00, 0x04, b'S', b'N', b'0', b'1']);
    let (_, d) = run(&mut ch, &mut bay, &[0x12, 1, 0x83, 0, 0xff, 0], 255);
    assert_eq!(&d[..8], &[0x08, 0x83, 0x00, 44, 0x02, 0x01, 0x00, 28]);
    assert_eq!(&d[8..36], b"REEL    VLIB            SN01");
    assert_eq!(&d[36..40], &[0x01, 0x03, 0x00, 0x08]);
    assert_eq!(d[40] >> 4, 3, "NAA locally assigned");
    // Unsupported page: 24/00 pointing at byte 2.
    let (r, _) = run(&mut ch, &mut bay, &[0x12, 1, 0xb0, 0, 0xff, 0], 255);
    assert_eq!(r.sense, {
        let mut s = illegal(0x24, 0, 2);
        s[15] = 0xcf;
        s
    });
    // Allocation length truncates.
    let (_, d) = run(&mut ch, &mut bay, &[0x12, 0, 0, 0, 5, 0], 255);
    assert_eq!(d, [0x08, 0x80, 0x06, 0x02, 51]);
}

#[test]
fn report_luns_tur_request_sense() {
    let (mut ch, mut bay) = small();
    let (r, d) = run(
        &mut ch,
        &mut bay,
        &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0],
        16,
    );
    good(&r);
    assert_eq!(d, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    good(&r);
    let (r, d) = run(&mut ch, &mut bay, &[0x03, 0, 0, 0, 18, 0], 18);
    good(&r);
    assert_eq!(
        d,
        [0x70, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // Unknown opcode: 20/00.
    let (r, _) = run(&mut ch, &mut bay, &[0x08, 0, 0, 0, 1, 0], 0);
    assert_eq!(sense_code(&r), Some((5, 0x20, 0)));
}

#[test]
fn mode_pages_1d_1e_1f() {
    let (mut ch, mut bay) = small();
    let (r, d) = run(&mut ch, &mut bay, &[0x1a, 0x08, 0x1d, 0, 0xff, 0], 255);
    good(&r);
    assert_eq!(
        d,
        [
            0x17, 0, 0, 0, // header, no block descriptors
            0x1d, 0x12, 0x00, 0x01, 0x00, 0x01, // transport 0001, 1
            0x04, 0x00, 0x00, 0x04, // storage 0400, 4
            0x03, 0x00, 0x00, 0x02, // import/export 0300, 2
            0x01, 0x00, 0x00, 0x02, // data transfer 0100, 2
            0x00, 0x00,
        ]
    );
    let (_, d) = run(&mut ch, &mut bay, &[0x1a, 0, 0x1e, 0, 0xff, 0], 255);
    assert_eq!(d, [0x07, 0, 0, 0, 0x1e, 0x02, 0x00, 0x00]);
    let (_, d) = run(&mut ch, &mut bay, &[0x1a, 0, 0x1f, 0, 0xff, 0], 255);
    assert_eq!(
        d,
        [
            0x17, 0, 0, 0, 0x1f, 0x12, 0x0e, 0x00, // ST, I/E, DT store media
            0x00, 0x0e, 0x0e, 0x0e, // MT->, ST->, IE->, DT->
            0, 0, 0, 0, //
            0x00, 0x0e, 0x0e, 0x0e, // exchanges
            0, 0, 0, 0,
        ]
    );
    // MODE SENSE(10), all pages, 8-byte header; length 8+20+4+20-2 = 50.
    let (r, d) = run(
        &mut ch,
        &mut bay,
        &[0x5a, 0x08, 0x3f, 0, 0, 0, 0, 0, 0xff, 0],
        255,
    );
    good(&r);
    assert_eq!(&d[..10], &[0, 50, 0, 0, 0, 0, 0, 0, 0x1d, 0x12]);
    assert_eq!(d.len(), 52);
    assert_eq!(&d[28..32], &[0x1e, 0x02, 0, 0]);
    assert_eq!(&d[32..34], &[0x1f, 0x12]);
    // Truncated to the allocation length.
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 10, 0],
        255,
    );
    assert_eq!(d, [0, 50, 0, 0, 0, 0, 0, 0, 0x1d, 0x12]);
    // Changeable values: all zero.
    let (_, d) = run(&mut ch, &mut bay, &[0x1a, 0, 0x5d, 0, 0xff, 0], 255);
    assert_eq!(&d[4..6], &[0x1d, 0x12]);
    assert!(d[6..].iter().all(|&b| b == 0));
    // Saved values: 39/00. Unknown page: 24/00 at byte 2 bit 5.
    let (r, _) = run(&mut ch, &mut bay, &[0x1a, 0, 0xdd, 0, 0xff, 0], 255);
    assert_eq!(sense_code(&r), Some((5, 0x39, 0)));
    let (r, _) = run(&mut ch, &mut bay, &[0x1a, 0, 0x02, 0, 0xff, 0], 255);
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xcd, 0, 2]);
    // Exchange disabled: the exchange matrix is empty.
    ch.options_mut().exchange = false;
    let (_, d) = run(&mut ch, &mut bay, &[0x1a, 0, 0x1f, 0, 0xff, 0], 255);
    assert_eq!(&d[16..20], &[0, 0, 0, 0]);
}

#[test]
fn mode_select_accepts_current_values_only() {
    let (mut ch, mut bay) = small();
    let mut list = vec![0, 0, 0, 0];
    list.extend_from_slice(&[0x1e, 0x02, 0x00, 0x00]);
    let (r, _) = run_out(&mut ch, &mut bay, &[0x15, 0x10, 0, 0, 8, 0], &list, 0);
    good(&r);
    list[6] = 0x01; // ROTATE: not changeable
    let (r, _) = run_out(&mut ch, &mut bay, &[0x15, 0x10, 0, 0, 8, 0], &list, 0);
    assert_eq!(
        r.sense,
        [
            0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x26, 0, 0, 0x8f, 0, 6
        ]
    );
    // A list longer than the data sent: 1A/00.
    let (r, _) = run_out(&mut ch, &mut bay, &[0x15, 0x10, 0, 0, 12, 0], &list, 0);
    assert_eq!(sense_code(&r), Some((5, 0x1a, 0)));
}

#[test]
fn element_status_storage_with_voltag() {
    let (mut ch, mut bay) = small();
    // Storage, VOLTAG, from 0x0400, 2 elements.
    let cdb = [
        0xb8, 0x12, 0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    good(&r);
    let mut want = vec![
        0x04, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x68, // header: 104 bytes follow
        0x02, 0x80, 0x00, 0x30, 0x00, 0x00, 0x00,
        0x60, // storage page, PVolTag, 48-byte descriptors
        0x04, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, // full, access, data medium
    ];
    want.extend(pad("AB0001L8", 32));
    want.extend([0, 0, 0, 0]);
    want.extend([0x04, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    want.extend(pad("AB0002L8", 32));
    want.extend([0, 0, 0, 0]);
    assert_eq!(d, want);
    // Slot 3 (cleaning) and the empty slot 4, from 0x0402 to the end.
    let cdb = [
        0xb8, 0x12, 0x04, 0x02, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (_, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    assert_eq!(&d[..8], &[0x04, 0x02, 0x00, 0x02, 0, 0, 0, 0x68]);
    assert_eq!(
        &d[16..28],
        &[0x04, 0x02, 0x09, 0, 0, 0, 0, 0, 0, 0x02, 0, 0]
    );
    assert_eq!(&d[28..36], b"CLN001L1");
    assert_eq!(&d[64..76], &[0x04, 0x03, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&d[76..112], &[0u8; 36]);
    // Without VOLTAG: 12-byte descriptors.
    let cdb = [
        0xb8, 0x02, 0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (_, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    assert_eq!(
        d,
        [
            0x04, 0x00, 0x00, 0x01, 0, 0x00, 0x00, 0x14, //
            0x02, 0x00, 0x00, 0x0c, 0, 0x00, 0x00, 0x0c, //
            0x04, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0x01, 0, 0,
        ]
    );
}

#[test]
fn element_status_truncation_reports_full_count() {
    let (mut ch, mut bay) = small();
    let cdb = [
        0xb8, 0x12, 0x04, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x14, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0x14);
    good(&r);
    // 20 bytes: the header still tells 4 elements and 8 + 4*48 = 200 bytes.
    assert_eq!(
        d,
        [
            0x04, 0x00, 0x00, 0x04, 0, 0x00, 0x00, 0xc8, //
            0x02, 0x80, 0x00, 0x30, 0, 0x00, 0x00, 0xc0, //
            0x04, 0x00, 0x09, 0,
        ]
    );
    assert_eq!(r.residual, 0);
    // A bigger buffer than the report: residual is the rest.
    let (r, d) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0x12, 4, 0, 0, 4, 0, 0, 1, 0, 0, 0],
        256,
    );
    assert_eq!(d.len(), 208);
    assert_eq!(r.residual, 48);
}

#[test]
fn element_status_drives_with_dvcid_and_source() {
    let (mut ch, mut bay) = small();
    good(&run(&mut ch, &mut bay, &mv(0x0401, 0x0101), 0).0);
    let cdb = [
        0xb8, 0x04, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    good(&r);
    let mut want = vec![
        0x01, 0x00, 0x00, 0x02, 0, 0x00, 0x00, 0x60, // 8 + 2*44
        0x04, 0x00, 0x00, 0x2c, 0, 0x00, 0x00, 0x58, // 44-byte descriptors
        0x01, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, // empty drive
        0x02, 0x01, 0x00, 0x1a, // ASCII, T10 vendor ID, 26 bytes
    ];
    want.extend_from_slice(b"IBM     ULT3580-TD8     D1");
    want.extend([0, 0]);
    want.extend([0x01, 0x01, 0x09, 0, 0, 0, 0, 0, 0, 0x81, 0x04, 0x01]); // SValid from 0401
    want.extend([0x02, 0x01, 0x00, 0x1b]);
    want.extend_from_slice(b"IBM     ULT3580-TD8     D22");
    want.push(0);
    assert_eq!(d, want);
    // With VOLTAG too: 12 + 36 + 4 + 28 = 80 bytes each.
    let cdb = [
        0xb8, 0x14, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (_, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    assert_eq!(
        &d[..16],
        &[1, 1, 0, 1, 0, 0, 0, 0x58, 4, 0x80, 0, 0x50, 0, 0, 0, 0x50]
    );
    assert_eq!(&d[28..36], b"AB0002L8");
    assert_eq!(&d[64..68], &[0x02, 0x01, 0x00, 0x1b]);
}

#[test]
fn element_status_all_types_in_address_order() {
    let (mut ch, mut bay) = small();
    ch.operator_import(0, Medium::data("IMP001L8")).unwrap();
    let _ = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0); // 28/01
    let cdb = [
        0xb8, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    good(&r);
    // 1 + 2 + 2 + 4 elements, 12-byte descriptors, 4 pages.
    assert_eq!(&d[..8], &[0x00, 0x01, 0x00, 0x09, 0, 0x00, 0x00, 0x8c]);
    assert_eq!(&d[8..16], &[0x01, 0, 0, 0x0c, 0, 0, 0, 0x0c]);
    assert_eq!(&d[16..28], &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&d[28..36], &[0x04, 0, 0, 0x0c, 0, 0, 0, 0x18]);
    assert_eq!(&d[60..68], &[0x03, 0, 0, 0x0c, 0, 0, 0, 0x18]);
    // Mail slot 1: full, ImpExp, access, InEnab, ExEnab; slot 2 empty.
    assert_eq!(
        &d[68..80],
        &[0x03, 0x00, 0x3b, 0, 0, 0, 0, 0, 0, 0x01, 0, 0]
    );
    assert_eq!(&d[80..92], &[0x03, 0x01, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&d[92..100], &[0x02, 0, 0, 0x0c, 0, 0, 0, 0x30]);
    assert_eq!(d.len(), 148);
    // Bad element type code: 24/00 at byte 1 bit 3.
    let (r, _) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0x05, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        0xffff,
    );
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xcb, 0, 1]);
    // Past every element: header only.
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0x00, 0xff, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        0xffff,
    );
    assert_eq!(d, [0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn alternate_volume_tags() {
    let (mut ch, mut bay) = small();
    ch.options_mut().alternate_tags = true;
    let mut m = Medium::data("ALT001L8");
    m.alternate_tag = Some("OFFSITE-7".into());
    ch.set_element(Location::Slot(3), Some(m)).unwrap();
    let cdb = [
        0xb8, 0x12, 0x04, 0x03, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (_, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    assert_eq!(&d[8..16], &[0x02, 0xc0, 0x00, 0x54, 0, 0, 0, 0x54]);
    assert_eq!(&d[28..60], pad("ALT001L8", 32).as_slice());
    assert_eq!(&d[64..96], pad("OFFSITE-7", 32).as_slice());
}

#[test]
fn moves_between_all_element_types() {
    let (mut ch, mut bay) = small();
    // slot -> drive -> mail -> slot, sources tracked.
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0100), 0).0);
    assert_eq!(bay.drives[0].barcode.as_deref(), Some("AB0001L8"));
    assert_eq!(ch.state().drives[0].as_ref().unwrap().source, Some(0x0400));
    bay.unload(0);
    good(&run(&mut ch, &mut bay, &mv(0x0100, 0x0301), 0).0);
    assert_eq!(bay.drives[0].barcode, None);
    let m = ch.state().mail_slots[1].clone().unwrap();
    assert_eq!((m.source, m.by_operator), (Some(0x0100), false));
    good(&run(&mut ch, &mut bay, &mv(0x0301, 0x0403), 0).0);
    assert_eq!(ch.state().find("AB0001L8"), Some(Location::Slot(3)));
    // drive -> drive (after an unload).
    good(&run(&mut ch, &mut bay, &mv(0x0401, 0x0100), 0).0);
    bay.unload(0);
    good(&run(&mut ch, &mut bay, &mv(0x0100, 0x0101), 0).0);
    assert_eq!(bay.drives[1].barcode.as_deref(), Some("AB0002L8"));
    // Same source and destination: nothing happens.
    good(&run(&mut ch, &mut bay, &mv(0x0403, 0x0403), 0).0);
    // Cleaning cartridge into a drive: one use spent, the drive keeps no tape.
    good(&run(&mut ch, &mut bay, &mv(0x0402, 0x0100), 0).0);
    assert_eq!(ch.state().drives[0].as_ref().unwrap().cleaning_uses, 2);
    assert_eq!(bay.drives[0].barcode, None);
    good(&run(&mut ch, &mut bay, &mv(0x0100, 0x0402), 0).0);
    // POSITION TO ELEMENT.
    good(
        &run(
            &mut ch,
            &mut bay,
            &[0x2b, 0, 0, 1, 0x04, 0x00, 0, 0, 0, 0],
            0,
        )
        .0,
    );
    let (r, _) = run(
        &mut ch,
        &mut bay,
        &[0x2b, 0, 0, 1, 0x09, 0x00, 0, 0, 0, 0],
        0,
    );
    assert_eq!(r.sense, illegal(0x21, 0x01, 4));
}

#[test]
fn move_errors_with_field_pointers() {
    let (mut ch, mut bay) = small();
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0403, 0x0100), 0);
    assert_eq!(r.sense, illegal(0x3b, 0x0e, 4), "source empty");
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0400, 0x0401), 0);
    assert_eq!(r.sense, illegal(0x3b, 0x0d, 6), "destination full");
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0500, 0x0401), 0);
    assert_eq!(r.sense, illegal(0x21, 0x01, 4), "bad source");
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0400, 0x0200), 0);
    assert_eq!(r.sense, illegal(0x21, 0x01, 6), "bad destination");
    let mut cdb = mv(0x0400, 0x0403);
    cdb[3] = 0x02;
    let (r, _) = run(&mut ch, &mut bay, &cdb, 0);
    assert_eq!(r.sense, illegal(0x21, 0x01, 2), "bad transport");
    cdb[3] = 0x00; // 0 = default transport
    good(&run(&mut ch, &mut bay, &cdb, 0).0);
    let mut cdb = mv(0x0403, 0x0400);
    cdb[10] = 0x01; // INVERT: cannot rotate
    let (r, _) = run(&mut ch, &mut bay, &cdb, 0);
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xc8, 0, 10]);
    let mut cdb = mv(0x0403, 0x0400);
    cdb[1] = 0x20; // reserved bit
    let (r, _) = run(&mut ch, &mut bay, &cdb, 0);
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xcd, 0, 1]);
    // Short CDB.
    let (r, _) = run(&mut ch, &mut bay, &[0xa5, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((5, 0x24, 0)));
}

#[test]
fn drive_must_be_unloaded_or_auto_unload() {
    let (mut ch, mut bay) = small();
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0100), 0).0);
    // Still threaded: 3B/90 pointing at the source.
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0100, 0x0403), 0);
    assert_eq!(r.sense, illegal(0x3b, 0x90, 4));
    // Prevented by a host: 53/02 medium removal prevented.
    bay.drives[0].prevented = true;
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0100, 0x0403), 0);
    assert_eq!(r.sense, illegal(0x53, 0x02, 4));
    // The robot may unload itself, but not past a prevent.
    ch.options_mut().auto_unload = true;
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0100, 0x0403), 0);
    assert_eq!(r.sense, illegal(0x53, 0x02, 4));
    bay.drives[0].prevented = false;
    good(&run(&mut ch, &mut bay, &mv(0x0100, 0x0403), 0).0);
    assert_eq!(bay.drives[0].barcode, None);
    assert_eq!(ch.state().find("AB0001L8"), Some(Location::Slot(3)));
}

#[test]
fn failed_load_leaves_the_cartridge_home() {
    let (mut ch, mut bay) = small();
    bay.broken.push("AB0001L8".into());
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0400, 0x0100), 0);
    assert_eq!(sense_code(&r), Some((0x03, 0x53, 0x00)));
    assert_eq!(ch.state().find("AB0001L8"), Some(Location::Slot(0)));
    assert_eq!(ch.state().slots[0].as_ref().unwrap().source, None);
}

#[test]
fn exchange_medium() {
    let (mut ch, mut bay) = small();
    // Swap slots 1 and 2 (second destination = source).
    let x = [0xa6, 0, 0, 1, 0x04, 0x00, 0x04, 0x01, 0x04, 0x00, 0, 0];
    good(&run(&mut ch, &mut bay, &x, 0).0);
    assert_eq!(ch.state().find("AB0001L8"), Some(Location::Slot(1)));
    assert_eq!(ch.state().find("AB0002L8"), Some(Location::Slot(0)));
    // Into a drive: slot 2's cartridge goes in, the drive's to slot 4.
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0100), 0).0);
    bay.unload(0);
    let x = [0xa6, 0, 0, 1, 0x04, 0x01, 0x01, 0x00, 0x04, 0x03, 0, 0];
    good(&run(&mut ch, &mut bay, &x, 0).0);
    assert_eq!(bay.drives[0].barcode.as_deref(), Some("AB0001L8"));
    assert_eq!(ch.state().find("AB0002L8"), Some(Location::Slot(3)));
    // Errors: empty first destination, full second destination.
    let x = [0xa6, 0, 0, 1, 0x04, 0x02, 0x04, 0x01, 0x04, 0x00, 0, 0];
    let (r, _) = run(&mut ch, &mut bay, &x, 0);
    assert_eq!(r.sense, illegal(0x3b, 0x0e, 6));
    let x = [0xa6, 0, 0, 1, 0x04, 0x02, 0x04, 0x03, 0x01, 0x00, 0, 0];
    let (r, _) = run(&mut ch, &mut bay, &x, 0);
    assert_eq!(r.sense, illegal(0x3b, 0x0d, 8));
    // Disabled: invalid operation code.
    ch.options_mut().exchange = false;
    let x = [0xa6, 0, 0, 1, 0x04, 0x02, 0x04, 0x03, 0x04, 0x02, 0, 0];
    let (r, _) = run(&mut ch, &mut bay, &x, 0);
    assert_eq!(sense_code(&r), Some((5, 0x20, 0)));
}

#[test]
fn mail_slots_prevent_and_open_close() {
    let (mut ch, mut bay) = small();
    ch.operator_import(1, Medium::data("IMP001L8")).unwrap();
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0301, 0x0403), 0);
    assert_eq!(
        sense_code(&r),
        Some((6, 0x28, 0x01)),
        "import/export element accessed"
    );
    good(&run(&mut ch, &mut bay, &mv(0x0301, 0x0403), 0).0);
    // Export: robot to a mail slot, then the operator takes it.
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0300), 0).0);
    // PREVENT locks the mail slots against the operator, not the robot.
    good(&run(&mut ch, &mut bay, &[0x1e, 0, 0, 0, 1, 0], 0).0);
    assert_eq!(ch.operator_export(0), Err(OperatorError::Prevented));
    good(&run(&mut ch, &mut bay, &mv(0x0401, 0x0301), 0).0);
    let (r, _) = run(&mut ch, &mut bay, &[0x1b, 0, 0x03, 0x00, 0x00, 0], 0);
    assert_eq!(r.sense, illegal(0x53, 0x02, 4), "OPEN while prevented");
    good(&run(&mut ch, &mut bay, &[0x1e, 0, 0, 0, 0, 0], 0).0);
    assert_eq!(ch.operator_export(0).unwrap().barcode, "AB0001L8");
    let _ = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0); // 28/01
    // OPEN: mail slots out of the robot's reach (Access 0, 3B/11).
    good(&run(&mut ch, &mut bay, &[0x1b, 0, 0x03, 0x01, 0x00, 0], 0).0);
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0301, 0x0400), 0);
    assert_eq!(r.sense, illegal(0x3b, 0x11, 4));
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0x03, 3, 1, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        255,
    );
    assert_eq!(d[18], 0x31, "full, InEnab, ExEnab, no access");
    good(&run(&mut ch, &mut bay, &[0x1b, 0, 0x03, 0x01, 0x01, 0], 0).0);
    good(&run(&mut ch, &mut bay, &mv(0x0301, 0x0400), 0).0);
    // OPEN on a storage element: 21/01; bad action code: 24/00.
    let (r, _) = run(&mut ch, &mut bay, &[0x1b, 0, 0x04, 0x00, 0x00, 0], 0);
    assert_eq!(r.sense, illegal(0x21, 0x01, 2));
    let (r, _) = run(&mut ch, &mut bay, &[0x1b, 0, 0x03, 0x00, 0x05, 0], 0);
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xcc, 0, 4]);
}

#[test]
fn door_offline_and_becoming_ready() {
    let (mut ch, mut bay) = small();
    ch.open_door();
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    assert_eq!(
        r.sense,
        [
            0x70, 0, 0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x04, 0x03, 0, 0, 0, 0
        ]
    );
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0400, 0x0403), 0);
    assert_eq!(sense_code(&r), Some((2, 0x04, 0x03)));
    // INQUIRY and MODE SENSE still work.
    good(&run(&mut ch, &mut bay, &[0x12, 0, 0, 0, 36, 0], 36).0);
    good(&run(&mut ch, &mut bay, &[0x1a, 0, 0x1d, 0, 0xff, 0], 255).0);
    ch.options_mut().init_delay = Duration::from_millis(150);
    ch.close_door();
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((6, 0x28, 0x00)));
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((2, 0x04, 0x01)), "becoming ready");
    assert_eq!(r.sense[15] & 0x80, 0x80, "progress indication");
    std::thread::sleep(Duration::from_millis(200));
    good(&run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0).0);
    ch.faults_mut().offline = true;
    let (r, _) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        255,
    );
    assert_eq!(sense_code(&r), Some((2, 0x04, 0x12)));
    let (r, d) = run(&mut ch, &mut bay, &[0x03, 0, 0, 0, 18, 0], 18);
    good(&r);
    assert_eq!((d[2], d[12], d[13]), (0x02, 0x04, 0x12));
}

#[test]
fn picker_faults_once_and_persistent() {
    let (mut ch, mut bay) = small();
    ch.faults_mut().picker = Some(PickerFault::positioning(false));
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0400, 0x0403), 0);
    assert_eq!(
        r.sense,
        [
            0x70, 0, 0x04, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x15, 0x01, 0, 0, 0, 0
        ]
    );
    assert_eq!(ch.state().find("AB0001L8"), Some(Location::Slot(0)));
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0403), 0).0);
    ch.faults_mut().picker = Some(PickerFault::positioning(true));
    for _ in 0..2 {
        let (r, _) = run(&mut ch, &mut bay, &mv(0x0403, 0x0400), 0);
        assert_eq!(sense_code(&r), Some((4, 0x15, 0x01)));
    }
    let (r, _) = run(&mut ch, &mut bay, &[0x07, 0, 0, 0, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((4, 0x15, 0x01)));
    // The transport element shows the exception.
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0xb8, 0x01, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        255,
    );
    assert_eq!(&d[16..28], &[0, 1, 0x04, 0, 0x15, 0x01, 0, 0, 0, 0, 0, 0]);
    // Inaccessible element: Access 0 and 3B/11.
    ch.faults_mut().picker = None;
    ch.faults_mut().inaccessible.insert(0x0401);
    let (r, _) = run(&mut ch, &mut bay, &mv(0x0401, 0x0400), 0);
    assert_eq!(r.sense, illegal(0x3b, 0x11, 4));
}

#[test]
fn initialize_element_status_and_range() {
    let (mut ch, mut bay) = small();
    good(&run(&mut ch, &mut bay, &[0x07, 0, 0, 0, 0, 0], 0).0);
    good(
        &run(
            &mut ch,
            &mut bay,
            &[0x37, 0x01, 0x04, 0x00, 0, 0, 0, 4, 0, 0],
            0,
        )
        .0,
    );
    good(&run(&mut ch, &mut bay, &[0x37, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], 0).0);
    let (r, _) = run(
        &mut ch,
        &mut bay,
        &[0x37, 0x01, 0x07, 0x00, 0, 0, 0, 4, 0, 0],
        0,
    );
    assert_eq!(r.sense, illegal(0x21, 0x01, 2));
    // Slow mechanics: IES takes the inventory time.
    ch.options_mut().init_delay = Duration::from_millis(60);
    let t = std::time::Instant::now();
    good(&run(&mut ch, &mut bay, &[0x07, 0, 0, 0, 0, 0], 0).0);
    assert!(t.elapsed() >= Duration::from_millis(60));
    ch.options_mut().move_delay = Duration::from_millis(30);
    let t = std::time::Instant::now();
    good(&run(&mut ch, &mut bay, &mv(0x0400, 0x0403), 0).0);
    assert!(t.elapsed() >= Duration::from_millis(30));
}

#[test]
fn unit_attentions_are_per_initiator() {
    let (mut ch, mut bay) = small();
    let mut buf = [0u8; 0];
    // Initiator 9 is new: 29/00 first, even after initiator 7 was served.
    let r = ch.execute(9, &[0, 0, 0, 0, 0, 0], &[], &mut buf, &mut bay);
    assert_eq!(sense_code(&r), Some((6, 0x29, 0)));
    ch.close_door(); // closed already: nothing
    ch.open_door();
    ch.close_door();
    let r = ch.execute(9, &[0, 0, 0, 0, 0, 0], &[], &mut buf, &mut bay);
    assert_eq!(sense_code(&r), Some((6, 0x28, 0)));
    let (r, _) = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    assert_eq!(sense_code(&r), Some((6, 0x28, 0)));
    // INQUIRY does not consume a UA.
    ch.operator_import(0, Medium::data("X")).unwrap();
    good(&run(&mut ch, &mut bay, &[0x12, 0, 0, 0, 36, 0], 36).0);
    let (r, _) = run(&mut ch, &mut bay, &[0x03, 0, 0, 0, 18, 0], 18);
    good(&r);
}

#[test]
fn volume_tag_templates() {
    use super::volume_tag::template_matches;
    let t = |s: &str| pad(s, 32);
    assert!(template_matches(&t("AB0001L8"), "AB0001L8"));
    assert!(!template_matches(&t("AB0001L8"), "AB0001L"));
    assert!(!template_matches(&t("AB0001"), "AB0001L8"));
    assert!(template_matches(&t("AB*"), "AB0001L8"));
    assert!(template_matches(&t("*L8"), "AB0001L8"));
    assert!(!template_matches(&t("*L9"), "AB0001L8"));
    assert!(template_matches(&t("AB000?L8"), "AB0002L8"));
    assert!(template_matches(&t("A*1?8"), "AB0001L8"));
    assert!(!template_matches(&t("?"), ""));
    assert!(template_matches(&[0u8; 32], ""));
}

#[test]
fn send_volume_tag_and_request_volume_element_address() {
    let (mut ch, mut bay) = small();
    let rvea = [0xb5, 0x12, 0, 0, 0, 10, 0, 0, 0xff, 0xff, 0, 0];
    // No translate yet: 2C/00 command sequence error.
    let (r, _) = run(&mut ch, &mut bay, &rvea, 0xffff);
    assert_eq!(sense_code(&r), Some((5, 0x2c, 0)));
    let svt = [0xb6, 0, 0, 0, 0, 0x05, 0, 0, 0, 40, 0, 0];
    let mut tmpl = pad("AB*", 32);
    tmpl.extend([0; 8]);
    good(&run_out(&mut ch, &mut bay, &svt, &tmpl, 0).0);
    let (r, d) = run(
        &mut ch,
        &mut bay,
        &[0xb5, 0x10, 0, 0, 0, 10, 0, 0, 0xff, 0xff, 0, 0],
        0xffff,
    );
    good(&r);
    // Two storage elements match; header byte 4 is the action code.
    assert_eq!(&d[..8], &[0x04, 0x00, 0x00, 0x02, 0x05, 0x00, 0x00, 0x68]);
    assert_eq!(&d[8..16], &[0x02, 0x80, 0x00, 0x30, 0, 0, 0, 0x60]);
    assert_eq!(&d[28..36], b"AB0001L8");
    assert_eq!(&d[64..66], &[0x04, 0x01]);
    // Starting past the first match, one element.
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0xb5, 0x02, 0x04, 0x01, 0, 1, 0, 0, 0xff, 0xff, 0, 0],
        0xffff,
    );
    assert_eq!(&d[..8], &[0x04, 0x01, 0x00, 0x01, 0x05, 0x00, 0x00, 0x14]);
    // A template that matches in a drive and a slot: two pages.
    good(&run(&mut ch, &mut bay, &mv(0x0401, 0x0100), 0).0);
    good(&run_out(&mut ch, &mut bay, &svt, &tmpl, 0).0);
    let (_, d) = run(
        &mut ch,
        &mut bay,
        &[0xb5, 0x00, 0, 0, 0, 10, 0, 0, 0xff, 0xff, 0, 0],
        0xffff,
    );
    assert_eq!(&d[..8], &[0x01, 0x00, 0x00, 0x02, 0x05, 0x00, 0x00, 0x28]);
    assert_eq!(&d[8..10], &[0x04, 0x00]);
    assert_eq!(&d[28..30], &[0x02, 0x00]);
    // Unsupported action (assert): 24/00 at byte 5; short list: 1A/00.
    let mut bad = svt;
    bad[5] = 0x08;
    let (r, _) = run_out(&mut ch, &mut bay, &bad, &tmpl, 0);
    assert_eq!(&r.sense[12..18], &[0x24, 0, 0, 0xcc, 0, 5]);
    let (r, _) = run_out(&mut ch, &mut bay, &svt, &tmpl[..20], 0);
    assert_eq!(sense_code(&r), Some((5, 0x1a, 0)));
}

/// 1000 slots, 16 drives: the whole inventory comes back at once and fast.
#[test]
fn thousand_slot_inventory_is_fast() {
    let cfg = ChangerConfig {
        identity: id("REEL", "BIG", "SN"),
        map: ElementMap::standard(1000, 16, 16),
        drives: (0..16)
            .map(|i| id("IBM", "ULT3580-TD9", &format!("S{i:09}")))
            .collect(),
        options: ChangerOptions::default(),
    };
    let mut st = ChangerState::empty(&cfg.map);
    for (i, s) in st.slots.iter_mut().enumerate().take(900) {
        *s = Some(Medium::data(format!("B{i:05}L9")));
    }
    let mut ch = Changer::restore(cfg, st);
    let mut bay = SimpleBay::new(16);
    let _ = run(&mut ch, &mut bay, &[0, 0, 0, 0, 0, 0], 0);
    let t = std::time::Instant::now();
    let cdb = [
        0xb8, 0x12, 0x04, 0x00, 0x03, 0xe8, 0, 0xff, 0xff, 0xff, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0xff_ffff);
    good(&r);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(&d[..8], &[0x04, 0x00, 0x03, 0xe8, 0, 0x00, 0xbb, 0x88]);
    assert_eq!(d.len(), 8 + 8 + 1000 * 48);
    assert_eq!(&d[16 + 899 * 48 + 12..16 + 899 * 48 + 20], b"B00899L9");
    // With alternate tags the report (84 bytes a slot) exceeds the A1
    // allocation length of 0xFFFF: truncated, the header tells the rest.
    ch.options_mut().alternate_tags = true;
    let cdb = [
        0xb8, 0x12, 0x04, 0x00, 0x03, 0xe8, 0, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (r, d) = run(&mut ch, &mut bay, &cdb, 0xff_ffff);
    good(&r);
    assert_eq!(d.len(), 0xffff);
    assert_eq!(&d[..8], &[0x04, 0x00, 0x03, 0xe8, 0, 0x01, 0x48, 0x28]);
    assert_eq!(&d[8..16], &[0x02, 0xc0, 0, 84, 0, 0x01, 0x48, 0x20]);
    let cdb = [
        0xb8, 0x14, 0x01, 0x00, 0x00, 0x10, 0x01, 0x00, 0xff, 0xff, 0, 0,
    ];
    let (_, d) = run(&mut ch, &mut bay, &cdb, 0xffff);
    assert_eq!(&d[2..4], &[0, 16]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Any CDB and data: no panic, GOOD or CHECK CONDITION with 18 bytes of
    /// fixed sense, and the model stays consistent (each cartridge once).
    #[test]
    fn random_cdbs_never_panic(
        cmds in proptest::collection::vec(
            (
                prop_oneof![
                    Just(0xa5u8), Just(0xa6), Just(0xb8), Just(0x1a), Just(0x5a), Just(0x15),
                    Just(0x55), Just(0x1b), Just(0x1e), Just(0x2b), Just(0x07), Just(0x37),
                    Just(0x12), Just(0x03), Just(0xa0), Just(0x00), Just(0xb5), Just(0xb6), any::<u8>()
                ],
                proptest::collection::vec(
                    prop_oneof![Just(0u8), Just(1), Just(3), Just(4), any::<u8>()], 0..16),
                proptest::collection::vec(any::<u8>(), 0..64),
                0usize..300,
            ),
            1..12,
        ),
        auto_unload in any::<bool>(),
    ) {
        let (mut ch, mut bay) = small();
        ch.options_mut().auto_unload = auto_unload;
        for (op, rest, out, alloc) in cmds {
            let mut cdb = vec![op];
            cdb.extend(rest);
            let mut buf = vec![0u8; alloc];
            let r = ch.execute(7, &cdb, &out, &mut buf, &mut bay);
            prop_assert!(r.status == ScsiStatus::GOOD || r.status == ScsiStatus::CHECK_CONDITION);
            if r.status == ScsiStatus::CHECK_CONDITION {
                prop_assert_eq!(r.sense.len(), 18);
                prop_assert_eq!(r.sense[0], 0x70);
            }
            prop_assert!(r.data_in_len <= alloc);
            prop_assert_eq!(r.residual, alloc - r.data_in_len);
            for b in ["AB0001L8", "AB0002L8", "CLN001L1"] {
                let n = ch.state().slots.iter().chain(&ch.state().mail_slots)
                    .chain(&ch.state().drives)
                    .filter(|m| m.as_ref().is_some_and(|m| m.barcode == b)).count();
                prop_assert_eq!(n, 1, "{} present once", b);
            }
            for (i, d) in bay.drives.iter().enumerate() {
                let held = ch.state().drives[i].as_ref()
                    .filter(|m| m.kind != MediumKind::Cleaning).map(|m| m.barcode.clone());
                prop_assert_eq!(&d.barcode, &held);
            }
        }
    }
}
