//! Byte-exact tests of the drive model. Expected bytes are written out from
//! SPC-5/SSC-5 layouts, not produced by the code under test.

use std::time::Duration;

use reel_drivers::scsi::transport::ScsiStatus;
use tempfile::TempDir;

use super::medium::{Cartridge, CartridgeSpec, Generation};
use super::*;

const I0: InitiatorId = 0;

struct Bench {
    d: Drive,
    dir: TempDir,
}

fn cart(dir: &TempDir, name: &str, g: Generation, capacity: u64) -> Cartridge {
    let mut spec = CartridgeSpec::new(name, g);
    spec.capacity = capacity;
    Cartridge::create(&dir.path().join(name), &spec).unwrap()
}

/// An LTO-8 drive holding a fresh LTO-8 cartridge, its UAs consumed.
fn bench() -> Bench {
    bench_with(Generation::Lto8, Generation::Lto8, 1 << 30)
}

fn bench_with(drive: Generation, media: Generation, capacity: u64) -> Bench {
    let dir = TempDir::new().unwrap();
    let mut d = Drive::new(DriveConfig::ibm(drive, "VTL0000001"));
    d.insert(cart(&dir, "A00001L8", media, capacity)).unwrap();
    let mut b = Bench { d, dir };
    let r = b.run(&[0, 0, 0, 0, 0, 0], &[]);
    assert_eq!(r.0.sense[12..14], [0x29, 0x00]);
    b
}

impl Bench {
    fn run(&mut self, cdb: &[u8], out: &[u8]) -> (Response, Vec<u8>) {
        self.run_as(I0, cdb, out)
    }

    fn run_as(&mut self, i: InitiatorId, cdb: &[u8], out: &[u8]) -> (Response, Vec<u8>) {
        let mut buf = vec![0u8; 1 << 16];
        let r = self.d.execute(i, cdb, out, &mut buf);
        buf.truncate(r.data_in_len);
        (r, buf)
    }

    fn good(&mut self, cdb: &[u8], out: &[u8]) -> Vec<u8> {
        let (r, data) = self.run(cdb, out);
        assert_eq!(r.status, ScsiStatus::GOOD, "sense {:02x?}", r.sense);
        data
    }

    fn check(&mut self, cdb: &[u8], out: &[u8]) -> Vec<u8> {
        let (r, _) = self.run(cdb, out);
        assert_eq!(r.status, ScsiStatus::CHECK_CONDITION);
        r.sense
    }

    fn write(&mut self, data: &[u8]) -> Response {
        let n = data.len();
        self.run(
            &[0x0a, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8, 0],
            data,
        )
        .0
    }

    fn weof(&mut self, n: u8) {
        self.good(&[0x10, 0, 0, 0, n, 0], &[]);
    }

    fn rewind(&mut self) {
        self.good(&[0x01, 0, 0, 0, 0, 0], &[]);
    }
}

fn read6(len: usize, sili: bool) -> [u8; 6] {
    [
        0x08,
        if sili { 0x02 } else { 0 },
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0,
    ]
}

/// Incompressible bytes (compression is on by default).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

const TUR: [u8; 6] = [0, 0, 0, 0, 0, 0];

#[test]
fn power_on_then_no_medium() {
    let mut d = Drive::new(DriveConfig::ibm(Generation::Lto8, "S1"));
    let mut buf = [0u8; 0];
    let r = d.execute(I0, &TUR, &[], &mut buf);
    assert_eq!(
        r.sense,
        [
            0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0
        ]
    );
    let r = d.execute(I0, &TUR, &[], &mut buf);
    assert_eq!(
        r.sense,
        [
            0x70, 0, 0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x3a, 0x00, 0, 0, 0, 0
        ]
    );
    // INQUIRY is exempt from unit attention for a new initiator.
    let mut b = [0u8; 36];
    let r = d.execute(7, &[0x12, 0, 0, 0, 36, 0], &[], &mut b);
    assert_eq!(r.status, ScsiStatus::GOOD);
    assert_eq!(r.data_in_len, 36);
}

#[test]
fn medium_change_ua_per_initiator() {
    let mut b = bench();
    // Initiator 1 meets the drive: power-on first.
    assert_eq!(b.run_as(1, &TUR, &[]).0.sense[12..14], [0x29, 0x00]);
    let c = b.d.eject().unwrap();
    b.d.insert(c).unwrap();
    for i in [0, 1] {
        let (r, _) = b.run_as(i, &TUR, &[]);
        assert_eq!(
            r.sense,
            [
                0x70, 0, 0x06, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x28, 0x00, 0, 0, 0, 0
            ]
        );
        assert_eq!(b.run_as(i, &TUR, &[]).0.status, ScsiStatus::GOOD);
    }
}

#[test]
fn inquiry_standard_bytes() {
    let mut b = bench();
    let data = b.good(&[0x12, 0, 0, 0, 0xff, 0], &[]);
    assert_eq!(data.len(), 56);
    let mut want = vec![0x01, 0x80, 0x06, 0x02, 0x33, 0x00, 0x00, 0x00];
    want.extend_from_slice(b"IBM     ULT3580-TD8     R001");
    assert_eq!(&data[..36], &want[..]);
    // Allocation length truncates.
    assert_eq!(
        b.good(&[0x12, 0, 0, 0, 5, 0], &[]),
        [0x01, 0x80, 0x06, 0x02, 0x33]
    );
}

#[test]
fn inquiry_vpd_pages() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0x12, 1, 0x00, 0, 0xff, 0], &[]),
        [0x01, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xb0]
    );
    let mut want = vec![0x01, 0x80, 0x00, 0x0a];
    want.extend_from_slice(b"VTL0000001");
    assert_eq!(b.good(&[0x12, 1, 0x80, 0, 0xff, 0], &[]), want);
    assert_eq!(
        b.good(&[0x12, 1, 0xb0, 0, 0xff, 0], &[]),
        [0x01, 0xb0, 0x00, 0x02, 0x01, 0x00]
    );
    let p83 = b.good(&[0x12, 1, 0x83, 0, 0xff, 0], &[]);
    // T10 vendor designator: ASCII, LU, type 1, 34 bytes.
    assert_eq!(&p83[..8], &[0x01, 0x83, 0x00, 0x32, 0x02, 0x01, 0x00, 0x22]);
    assert_eq!(&p83[8..16], b"IBM     ");
    // Then the NAA designator, binary, type 3, 8 bytes, NAA 3.
    assert_eq!(&p83[42..46], &[0x01, 0x03, 0x00, 0x08]);
    assert_eq!(p83[46] >> 4, 0x3);
    // Unsupported page: 24/00, field pointer CDB byte 2 bit 7.
    assert_eq!(
        b.check(&[0x12, 1, 0x81, 0, 0xff, 0], &[]),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcf, 0x00, 0x02
        ]
    );
}

#[test]
fn invalid_opcode_and_reserved_bits() {
    let mut b = bench();
    assert_eq!(
        b.check(&[0xff, 0, 0, 0, 0, 0], &[]),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0, 0
        ]
    );
    assert_eq!(
        b.check(&[0x00, 0x01, 0, 0, 0, 0], &[]),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0xc8, 0x00, 0x01
        ]
    );
    // NACA in the control byte is not supported.
    assert_eq!(
        b.check(&[0x00, 0, 0, 0, 0, 0x04], &[]),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0xca, 0x00, 0x05
        ]
    );
    // Too short for its opcode.
    assert_eq!(b.check(&[0x2b, 0, 0], &[])[12], 0x24);
    // Empty CDB.
    assert_eq!(b.check(&[], &[])[12], 0x20);
}

#[test]
fn report_luns_and_block_limits() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0], &[]),
        [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        b.check(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0], &[])[12],
        0x24
    );
    assert_eq!(
        b.good(&[0x05, 0, 0, 0, 0, 0], &[]),
        [0x00, 0x80, 0x00, 0x00, 0x00, 0x01]
    );
}

#[test]
fn rsoc_forms() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0xa3, 0x0c, 0x01, 0x08, 0, 0, 0, 0, 1, 0, 0, 0], &[]),
        [0x00, 0x03, 0x00, 0x06, 0x08, 0x03, 0xff, 0xff, 0xff, 0x00]
    );
    assert_eq!(
        b.good(&[0xa3, 0x0c, 0x81, 0x08, 0, 0, 0, 0, 1, 0, 0, 0], &[]),
        [
            0x00, 0x83, 0x00, 0x06, 0x08, 0x03, 0xff, 0xff, 0xff, 0x00, 0x00, 0x0a, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08
        ]
    );
    // Unsupported opcode: SUPPORT 001b.
    assert_eq!(
        b.good(&[0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0], &[]),
        [0x00, 0x01, 0x00, 0x00]
    );
    // RSOC itself, with its service action.
    let own = b.good(&[0xa3, 0x0c, 0x02, 0xa3, 0, 0x0c, 0, 0, 1, 0, 0, 0], &[]);
    assert_eq!(&own[..6], &[0x00, 0x03, 0x00, 0x0c, 0xa3, 0x0c]);
    let all = b.good(&[0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], &[]);
    let n = dispatch::COMMANDS.len();
    assert_eq!(
        u32::from_be_bytes(all[..4].try_into().unwrap()) as usize,
        n * 20
    );
    // First descriptor: TEST UNIT READY, CTDP, CDB length 6, timeouts 0/10.
    assert_eq!(
        &all[4..24],
        &[
            0x00, 0, 0, 0, 0, 0x02, 0, 6, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10
        ]
    );
    // Unknown MAINTENANCE IN service action.
    assert_eq!(
        b.check(&[0xa3, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], &[])[15..18],
        [0xcc, 0x00, 0x01]
    );
}

#[test]
fn mode_sense_pages() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0x1a, 0, 0x0f, 0, 0xff, 0], &[]),
        [
            0x1b, 0x00, 0x10, 0x08, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0x0e, 0xc0, 0x80, 0, 0, 0, 1,
            0, 0, 0, 1, 0, 0, 0, 0
        ]
    );
    // DBD, changeable values of 0Fh.
    assert_eq!(
        b.good(&[0x1a, 0x08, 0x4f, 0, 0xff, 0], &[]),
        [
            0x13, 0x00, 0x70, 0x00, 0x0f, 0x0e, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    // MODE SENSE(10), page 1Ch, DBD.
    assert_eq!(
        b.good(&[0x5a, 0x08, 0x1c, 0, 0, 0, 0, 0, 0xff, 0], &[]),
        [
            0x00, 0x12, 0x00, 0x10, 0, 0, 0, 0, 0x1c, 0x0a, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    // Page 3Fh: all four pages after the descriptor.
    let all = b.good(&[0x1a, 0, 0x3f, 0, 0xff, 0], &[]);
    assert_eq!(usize::from(all[0]) + 1, all.len());
    assert_eq!(all[12], 0x0f);
    assert_eq!(all[28], 0x10);
    assert_eq!(all[44], 0x11);
    // Truncated to the allocation length.
    assert_eq!(b.good(&[0x1a, 0, 0x3f, 0, 4, 0], &[]).len(), 4);
    // Saved values are not supported: 39/00.
    assert_eq!(
        b.check(&[0x1a, 0, 0xcf, 0, 0xff, 0], &[])[12..14],
        [0x39, 0x00]
    );
    // Unknown page: 24/00 at CDB byte 2 bit 5.
    assert_eq!(
        b.check(&[0x1a, 0, 0x02, 0, 0xff, 0], &[])[15..18],
        [0xcd, 0x00, 0x02]
    );
}

#[test]
fn mode_select_block_size_and_compression() {
    let mut b = bench();
    // Header(6) + block descriptor with 64 KiB + page 0Fh with DCE off.
    let mut p = vec![0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    p.extend_from_slice(&[0x0f, 0x0e, 0x40, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    b.good(&[0x15, 0x10, 0, 0, p.len() as u8, 0], &p);
    let ms = b.good(&[0x1a, 0, 0x0f, 0, 0xff, 0], &[]);
    assert_eq!(&ms[4..12], &[0x5e, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    assert_eq!(ms[14], 0x40);
    assert_eq!(b.d.settings().block_size, 65536);
    assert!(!b.d.settings().compression);
    // A non-changeable bit (DDE, page byte 3) differs: 26/00 pointing
    // into the parameter list at byte 15 bit 7.
    p[15] = 0x00;
    assert_eq!(
        b.check(&[0x15, 0x10, 0, 0, p.len() as u8, 0], &p),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x26, 0x00, 0, 0x8f, 0x00, 0x0f
        ]
    );
    // Block length beyond READ BLOCK LIMITS.
    let big = [0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0x90, 0x00, 0x00];
    assert_eq!(
        b.check(&[0x15, 0x10, 0, 0, 12, 0], &big)[15..18],
        [0x8f, 0x00, 0x09]
    );
    // Parameter list shorter than the header.
    assert_eq!(b.check(&[0x15, 0x10, 0, 0, 2, 0], &[0, 0])[12], 0x1a);
    // Another initiator is told the parameters changed.
    b.run_as(9, &TUR, &[]);
    let v = [0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0];
    b.good(&[0x15, 0x10, 0, 0, 12, 0], &v);
    assert_eq!(b.run_as(9, &TUR, &[]).0.sense[12..14], [0x2a, 0x01]);
}

#[test]
fn variable_read_ili_filemark_eod() {
    let mut b = bench();
    assert_eq!(b.write(&[0xaa; 100]).status, ScsiStatus::GOOD);
    assert_eq!(b.write(&[0xbb; 100]).status, ScsiStatus::GOOD);
    assert_eq!(b.write(&[0xcc; 100]).status, ScsiStatus::GOOD);
    b.weof(1);
    b.rewind();
    // Short record, SILI=0: ILI with residue +100.
    let (r, data) = b.run(&read6(200, false), &[]);
    assert_eq!(
        r.sense,
        [
            0xf0, 0, 0x20, 0, 0, 0, 100, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    assert_eq!(data, vec![0xaa; 100]);
    // Long record: residue -40 in two's complement.
    let (r, data) = b.run(&read6(60, false), &[]);
    assert_eq!(
        r.sense,
        [
            0xf0, 0, 0x20, 0xff, 0xff, 0xff, 0xd8, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    assert_eq!(data, vec![0xbb; 60]);
    // Short record with SILI: GOOD, the residual tells the length.
    let (r, data) = b.run(&read6(200, true), &[]);
    assert_eq!(r.status, ScsiStatus::GOOD);
    assert_eq!(data.len(), 100);
    assert_eq!(r.residual, (1 << 16) - 100);
    // Filemark.
    assert_eq!(
        b.check(&read6(200, false), &[]),
        [
            0xf0, 0, 0x80, 0, 0, 0, 200, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0
        ]
    );
    // End of data: BLANK CHECK 00/05.
    assert_eq!(
        b.check(&read6(200, false), &[]),
        [
            0xf0, 0, 0x08, 0, 0, 0, 200, 0x0a, 0, 0, 0, 0, 0x00, 0x05, 0, 0, 0, 0
        ]
    );
}

#[test]
fn fixed_block_read_write() {
    let mut b = bench();
    let v = [0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0, 0x02, 0x00];
    b.good(&[0x15, 0x10, 0, 0, 12, 0], &v);
    let data: Vec<u8> = (0..2048u32).map(|i| i as u8).collect();
    // Four 512-byte blocks.
    b.good(&[0x0a, 0x01, 0, 0, 4, 0], &data);
    b.weof(1);
    b.rewind();
    assert_eq!(b.good(&[0x08, 0x01, 0, 0, 2, 0], &[]), &data[..1024]);
    // Ask for 4, get 2 then the filemark: residue 2 blocks.
    let (r, got) = b.run(&[0x08, 0x01, 0, 0, 4, 0], &[]);
    assert_eq!(
        r.sense,
        [
            0xf0, 0, 0x80, 0, 0, 0, 2, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0
        ]
    );
    assert_eq!(got, &data[1024..]);
    // FIXED with SILI is invalid; fixed read in variable mode too.
    assert_eq!(
        b.check(&[0x08, 0x03, 0, 0, 1, 0], &[])[15..18],
        [0xc9, 0x00, 0x01]
    );
    let v0 = [0x00, 0x00, 0x10, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0];
    b.good(&[0x15, 0x10, 0, 0, 12, 0], &v0);
    assert_eq!(
        b.check(&[0x08, 0x01, 0, 0, 1, 0], &[])[15..18],
        [0xc8, 0x00, 0x01]
    );
}

#[test]
fn read_position_forms() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]),
        [
            0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    b.write(&[1; 10]);
    b.write(&[2; 10]);
    b.weof(1);
    assert_eq!(
        b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]),
        [
            0x00, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
    assert_eq!(
        b.good(&[0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0], &[]),
        [
            0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
            0, 0, 0, 0
        ]
    );
    assert_eq!(
        b.good(&[0x34, 0x08, 0, 0, 0, 0, 0, 0, 32, 0], &[]),
        [
            0x00, 0, 0x00, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0,
            0, 0, 0, 0, 0, 0
        ]
    );
    assert_eq!(
        b.check(&[0x34, 0x07, 0, 0, 0, 0, 0, 0, 0, 0], &[])[15..18],
        [0xcc, 0, 1]
    );
}

#[test]
fn space_and_locate() {
    let mut b = bench();
    b.write(&[1; 10]);
    b.write(&[2; 10]);
    b.weof(1);
    b.write(&[3; 10]);
    b.rewind();
    // Forward 5 blocks: 2 spaced, then the filemark; 3 not done.
    assert_eq!(
        b.check(&[0x11, 0x00, 0, 0, 5, 0], &[]),
        [
            0xf0, 0, 0x80, 0, 0, 0, 3, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0
        ]
    );
    // To end of data, then back 1 filemark, then back 5 blocks to BOP.
    b.good(&[0x11, 0x03, 0, 0, 0, 0], &[]);
    let pos = b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]);
    assert_eq!(pos[4..8], [0, 0, 0, 4]);
    b.good(&[0x11, 0x01, 0xff, 0xff, 0xff, 0], &[]);
    let pos = b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]);
    assert_eq!(pos[4..8], [0, 0, 0, 2]);
    assert_eq!(
        b.check(&[0x11, 0x00, 0xff, 0xff, 0xfb, 0], &[]),
        [
            0xf0, 0, 0x40, 0, 0, 0, 3, 0x0a, 0, 0, 0, 0, 0x00, 0x04, 0, 0, 0, 0
        ]
    );
    // Forward filemarks past the end: BLANK CHECK, 1 not done.
    assert_eq!(
        b.check(&[0x91, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0], &[]),
        [
            0xf0, 0, 0x08, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0x00, 0x05, 0, 0, 0, 0
        ]
    );
    // LOCATE(10) to block 3, LOCATE(16) beyond EOD.
    b.good(&[0x2b, 0, 0, 0, 0, 0, 3, 0, 0, 0], &[]);
    assert_eq!(b.good(&read6(100, true), &[]), vec![3; 10]);
    let s = b.check(&[0x92, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0], &[]);
    assert_eq!((s[2], s[12], s[13]), (0x08, 0x00, 0x05));
    // No partition 2 on this cartridge.
    let s = b.check(&[0x2b, 0x02, 0, 0, 0, 0, 0, 0, 2, 0], &[]);
    assert_eq!(s[15..18], [0xcf, 0x00, 0x08]);
    // Setmarks are not supported.
    assert_eq!(
        b.check(&[0x11, 0x04, 0, 0, 1, 0], &[])[15..18],
        [0xcb, 0x00, 0x01]
    );
}

#[test]
fn write_protect_worm_and_generations() {
    let mut b = bench();
    b.d.cartridge_mut()
        .unwrap()
        .set_write_protected(true)
        .unwrap();
    assert_eq!(
        b.write(&[0; 10]).sense,
        [
            0x70, 0, 0x07, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x27, 0x00, 0, 0, 0, 0
        ]
    );
    // MODE SENSE reports WP.
    assert_eq!(b.good(&[0x1a, 0x08, 0x0f, 0, 4, 0], &[])[2] & 0x80, 0x80);

    let dir = TempDir::new().unwrap();
    let mut spec = CartridgeSpec::new("W00001L8", Generation::Lto8);
    spec.capacity = 1 << 30;
    spec.worm = true;
    let c = Cartridge::create(&dir.path().join("w"), &spec).unwrap();
    let mut w = bench();
    w.d.eject().unwrap();
    w.d.insert(c).unwrap();
    w.run(&TUR, &[]);
    assert_eq!(w.write(&[1; 10]).status, ScsiStatus::GOOD);
    w.rewind();
    assert_eq!(
        w.write(&[2; 10]).sense,
        [
            0x70, 0, 0x07, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x30, 0x0c, 0, 0, 0, 0
        ]
    );

    // LTO-5 media in an LTO-7 drive: readable, not writable.
    let mut old = bench_with(Generation::Lto7, Generation::Lto5, 1 << 30);
    assert_eq!(
        old.write(&[1; 10]).sense,
        [
            0x70, 0, 0x07, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x30, 0x05, 0, 0, 0, 0
        ]
    );
    // LTO-5 media in an LTO-9 drive: incompatible medium.
    let dir9 = TempDir::new().unwrap();
    let mut d9 = Drive::new(DriveConfig::ibm(Generation::Lto9, "S9"));
    d9.insert(cart(&dir9, "OLD", Generation::Lto5, 1 << 30))
        .unwrap();
    let mut buf = [0u8; 0];
    d9.execute(I0, &TUR, &[], &mut buf);
    assert_eq!(
        d9.execute(I0, &TUR, &[], &mut buf).sense,
        [
            0x70, 0, 0x03, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x30, 0x00, 0, 0, 0, 0
        ]
    );
    assert!(d9.eject().is_ok());
}

#[test]
fn early_warning_and_overflow() {
    // 1 MB cartridge: EW is 2 % before the end.
    let mut b = bench_with(Generation::Lto8, Generation::Lto8, 1_000_000);
    let rec = noise(10_000);
    let mut ew = None;
    for i in 0..200 {
        let r = b.write(&rec);
        if r.status != ScsiStatus::GOOD {
            ew = Some((i, r.sense));
            break;
        }
    }
    let (_, s) = ew.expect("early warning before 200 records");
    assert_eq!(
        s,
        [
            0xf0, 0, 0x40, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0
        ]
    );
    // READ POSITION shows EOP and BPEW.
    assert_eq!(b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[])[0], 0x41);
    // Keep writing until the volume overflows: residue = the whole record.
    let mut last = Vec::new();
    for _ in 0..10 {
        let r = b.write(&rec);
        if r.sense[2] & 0x0f == 0x0d {
            last = r.sense;
            break;
        }
    }
    assert_eq!(
        last,
        [
            0xf0, 0, 0x4d, 0, 0, 0x27, 0x10, 0x0a, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0
        ]
    );
}

/// READ POSITION short form, byte 0 (SSC-5 7.7.2): BOP 0x80, EOP 0x40, BPEW 0x01.
fn rp_flags(b: &mut Bench) -> u8 {
    b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[])[0]
}

/// LOCATE(10) to `block` in the current partition.
fn locate10(b: &mut Bench, block: u8) {
    b.good(&[0x2b, 0, 0, 0, 0, 0, block, 0, 0, 0], &[]);
}

#[test]
fn early_warning_zone_follows_the_position() {
    // 1 MB: EW at 980000 bytes. Each record takes 10032 bytes, so block k
    // starts at k * 10032: block 98 (983136) is the first past EW.
    let mut b = bench_with(Generation::Lto8, Generation::Lto8, 1_000_000);
    let rec = noise(10_000);
    for _ in 0..98 {
        b.write(&rec);
    }
    assert_eq!(rp_flags(&mut b), 0x41);
    b.rewind();
    assert_eq!(rp_flags(&mut b), 0x80);
    // LOCATE into the zone: EOP and BPEW, position 98.
    locate10(&mut b, 98);
    let rp = b.good(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[]);
    assert_eq!(rp[0], 0x41);
    assert_eq!(rp[4..12], [0, 0, 0, 98, 0, 0, 0, 98]);
    locate10(&mut b, 97);
    assert_eq!(rp_flags(&mut b), 0x00);
    // SPACE(6) one block forward crosses EW.
    b.good(&[0x11, 0, 0, 0, 1, 0], &[]);
    assert_eq!(rp_flags(&mut b), 0x41);
    // PEW 20000 bytes before EW (960000): block 96 (963072) is in it.
    b.d.cartridge_mut().unwrap().set_pew_size(20_000);
    locate10(&mut b, 96);
    assert_eq!(rp_flags(&mut b), 0x01);
    locate10(&mut b, 95);
    assert_eq!(rp_flags(&mut b), 0x00);
    // Rewind, SPACE to end of data, READ: BLANK CHECK with EOM (0x40 | 8).
    b.rewind();
    b.good(&[0x11, 0x03, 0, 0, 0, 0], &[]);
    let s = b.check(&read6(10_000, false), &[]);
    assert_eq!(s[2], 0x48);
    assert_eq!(s[12..14], [0x00, 0x05]);
    // Reload the cartridge: BOP, then LOCATE finds the zone again.
    let cart = b.d.eject().unwrap();
    b.d.insert(cart).unwrap();
    b.run(&TUR, &[]);
    assert_eq!(rp_flags(&mut b), 0x80);
    locate10(&mut b, 98);
    assert_eq!(rp_flags(&mut b), 0x41);
}

#[test]
fn programmable_early_warning() {
    let mut b = bench_with(Generation::Lto8, Generation::Lto8, 1_000_000);
    b.d.cartridge_mut().unwrap().set_pew_size(200_000);
    let rec = noise(10_000);
    let mut first = None;
    for _ in 0..200 {
        let r = b.write(&rec);
        if r.status != ScsiStatus::GOOD {
            first = Some(r.sense);
            break;
        }
    }
    assert_eq!(
        first.unwrap(),
        [
            0xf0, 0, 0x40, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x00, 0x07, 0, 0, 0, 0
        ]
    );
}

#[test]
fn write_filemarks_variants() {
    let mut b = bench();
    // Immediate, WF(16) at the current position, count 0 (flush).
    b.good(&[0x10, 0x01, 0, 0, 1, 0], &[]);
    b.good(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0], &[]);
    b.good(&[0x10, 0, 0, 0, 0, 0], &[]);
    let pos = b.good(&[0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0], &[]);
    assert_eq!(pos[15], 3);
    assert_eq!(pos[23], 3);
    // WF(16) naming another position; WSMK.
    let s = b.check(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[]);
    assert_eq!(s[15..18], [0xcf, 0x00, 0x04]);
    assert_eq!(
        b.check(&[0x10, 0x02, 0, 0, 1, 0], &[])[15..18],
        [0xc9, 0x00, 0x01]
    );
}

#[test]
fn erase_then_read_is_blank() {
    let mut b = bench();
    b.write(&[1; 10]);
    b.write(&[2; 10]);
    b.good(&[0x2b, 0, 0, 0, 0, 0, 1, 0, 0, 0], &[]);
    b.good(&[0x19, 0, 0, 0, 0, 0], &[]);
    b.rewind();
    b.good(&read6(10, false), &[]);
    assert_eq!(b.check(&read6(10, false), &[])[12..14], [0x00, 0x05]);
}

#[test]
fn prevent_blocks_unload() {
    let mut b = bench();
    b.good(&[0x1e, 0, 0, 0, 1, 0], &[]);
    assert_eq!(
        b.check(&[0x1b, 0, 0, 0, 0, 0], &[]),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x53, 0x02, 0, 0, 0, 0
        ]
    );
    assert_eq!(b.d.eject().unwrap_err(), DriveError::RemovalPrevented);
    b.good(&[0x1e, 0, 0, 0, 0, 0], &[]);
    b.good(&[0x1b, 0, 0, 0, 0, 0], &[]);
    // Unloaded: NOT READY 3A/00 until LOAD.
    assert_eq!(b.check(&TUR, &[])[12..14], [0x3a, 0x00]);
    b.good(&[0x1b, 0, 0, 0, 1, 0], &[]);
    b.good(&TUR, &[]);
    assert_eq!(b.d.cartridge().unwrap().load_count(), 2);
    // LOAD with EOT is invalid.
    assert_eq!(
        b.check(&[0x1b, 0, 0, 0, 0x05, 0], &[])[15..18],
        [0xca, 0x00, 0x04]
    );
}

#[test]
fn log_pages() {
    let mut b = bench();
    assert_eq!(
        b.good(&[0x4d, 0, 0x40, 0, 0, 0, 0, 0x01, 0x00, 0], &[]),
        [0x00, 0x00, 0x00, 0x06, 0x00, 0x0c, 0x0d, 0x12, 0x17, 0x2e]
    );
    b.d.set_tape_alert(9);
    assert_eq!(
        b.good(&[0x4d, 0, 0x52, 0, 0, 0, 0, 0x01, 0x00, 0], &[]),
        [
            0x12, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x03, 0x08, 0x00, 0x80, 0, 0, 0, 0, 0, 0
        ]
    );
    let ta = b.good(&[0x4d, 0, 0x6e, 0, 0, 0, 0, 0x02, 0x00, 0], &[]);
    assert_eq!(&ta[..4], &[0x2e, 0x00, 0x01, 0x40]);
    assert_eq!(&ta[44..49], &[0x00, 0x09, 0x03, 0x01, 0x01]);
    // Reading 2Eh cleared the flags.
    let ta = b.good(&[0x4d, 0, 0x6e, 0, 0, 0, 0, 0x02, 0x00, 0], &[]);
    assert_eq!(ta[48], 0x00);
    // Sequential-access counters after writing 1000 bytes, then reset.
    b.write(&[5; 1000]);
    let p = b.good(&[0x4d, 0, 0x4c, 0, 0, 0, 0, 0x01, 0x00, 0], &[]);
    assert_eq!(&p[4..16], &[0, 0, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]);
    b.good(&[0x4c, 0x02, 0x40, 0, 0, 0, 0, 0, 0, 0], &[]);
    let p = b.good(&[0x4d, 0, 0x4c, 0, 0, 0, 0, 0x01, 0x00, 0], &[]);
    assert_eq!(&p[14..16], &[0, 0]);
    // Parameter pointer: volume statistics from 0040h on.
    let v = b.good(&[0x4d, 0, 0x57, 0, 0, 0x00, 0x40, 0x01, 0x00, 0], &[]);
    assert_eq!(&v[4..8], &[0x00, 0x40, 0x01, 0x20]);
    assert_eq!(&v[8..16], b"A00001L8");
    // Unknown page.
    assert_eq!(
        b.check(&[0x4d, 0, 0x55, 0, 0, 0, 0, 1, 0, 0], &[])[15..18],
        [0xcd, 0, 2]
    );
}

#[test]
fn mam_attributes() {
    let mut b = bench();
    let p = [
        0, 0, 0, 9, 0x08, 0x00, 0x01, 0x00, 0x04, b'R', b'E', b'E', b'L',
    ];
    b.good(&[0x8d, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0], &p);
    assert_eq!(
        b.good(
            &[0x8c, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0, 0, 0x10, 0, 0, 0],
            &[]
        ),
        [
            0, 0, 0, 13, 0x08, 0x00, 0x01, 0x00, 0x08, b'R', b'E', b'E', b'L', b' ', b' ', b' ',
            b' '
        ]
    );
    // Device attribute 0003h load count = 1, read-only.
    let all = b.good(
        &[0x8c, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x03, 0, 0, 0x10, 0, 0, 0],
        &[],
    );
    assert_eq!(
        &all[4..17],
        &[0x00, 0x03, 0x80, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    // Writing the read-only medium serial: 26/00 at parameter byte 4.
    let ro = [0, 0, 0, 6, 0x04, 0x01, 0x01, 0x00, 0x01, b'X'];
    assert_eq!(
        b.check(&[0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0], &ro),
        [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x26, 0x00, 0, 0x8f, 0x00, 0x04
        ]
    );
    // IBM: an absent first attribute (barcode) is an error (field note A12).
    assert_eq!(
        b.check(
            &[0x8c, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06, 0, 0, 0x10, 0, 0, 0],
            &[]
        )[15..18],
        [0xcf, 0x00, 0x08]
    );
    // Wrong format for a known attribute: 26/00 at its format byte.
    let bad = [0, 0, 0, 6, 0x08, 0x01, 0x00, 0x00, 0x01, b'X'];
    let s = b.check(&[0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0], &bad);
    assert_eq!(s[15..18], [0x89, 0x00, 0x06]);
}

#[test]
fn report_density_media_form() {
    let mut b = bench();
    let r = b.good(&[0x44, 0x01, 0, 0, 0, 0, 0, 0x01, 0x00, 0], &[]);
    let mut want = vec![
        0x00, 0x36, 0x00, 0x00, 0x5e, 0x5e, 0xa1, 0x00, 0x31, 0x00, 0x50, 0xbc,
    ];
    want.extend_from_slice(&[0x00, 0x7f, 0x1a, 0x00, 0x00, 0x00, 0x04, 0x00]);
    want.extend_from_slice(b"LTO-CVE U-832   Ultrium 8/32T       ");
    // Capacity of this (1 GiB) cartridge in MB: 1073.
    assert_eq!(&r[..16], &want[..16]);
    assert_eq!(&r[16..20], &[0x00, 0x00, 0x04, 0x31]);
    assert_eq!(&r[20..], &want[20..]);
    // Drive form: LTO-8 reads LTO-7, LTO-7 M8 and LTO-8.
    let r = b.good(&[0x44, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0], &[]);
    assert_eq!(r.len(), 4 + 3 * 52);
    assert_eq!([r[4], r[56], r[108]], [0x5c, 0x5d, 0x5e]);
}

#[test]
fn crc_mismatch_is_medium_error() {
    let mut b = bench();
    b.write(&noise(4096));
    b.weof(0);
    let cart = b.d.eject().unwrap();
    drop(cart);
    let data = b.dir.path().join("A00001L8").join("p0.data");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();
    let c = Cartridge::open(&b.dir.path().join("A00001L8")).unwrap();
    b.d.insert(c).unwrap();
    b.run(&TUR, &[]);
    assert_eq!(
        b.check(&read6(4096, false), &[]),
        [
            0xf0, 0, 0x03, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0
        ]
    );
}

#[test]
fn injected_faults() {
    let mut b = bench();
    b.write(&[1; 10]);
    b.write(&[2; 10]);
    b.rewind();
    b.d.faults_mut().read_error_at.insert(1);
    b.good(&read6(10, false), &[]);
    assert_eq!(
        b.check(&read6(10, false), &[]),
        [
            0xf0, 0, 0x03, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0
        ]
    );
    b.d.faults_mut().write_error_at.insert(2);
    assert_eq!(b.write(&[3; 10]).sense[12..14], [0x0c, 0x00]);
    b.d.faults_mut().hardware_error = Some((0x44, 0x00));
    assert_eq!(
        b.check(&TUR, &[]),
        [
            0x70, 0, 0x04, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x44, 0x00, 0, 0, 0, 0
        ]
    );
    // INQUIRY still answers.
    b.good(&[0x12, 0, 0, 0, 36, 0], &[]);
    b.d.faults_mut().hardware_error = None;
    b.d.faults_mut().not_ready = Some((0x04, 0x03));
    assert_eq!(
        b.check(&TUR, &[])[2..14],
        [0x02, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x04, 0x03]
    );
    b.d.faults_mut().not_ready = None;
    b.d.raise_unit_attention(0x3f, 0x0e);
    assert_eq!(b.check(&TUR, &[])[12..14], [0x3f, 0x0e]);
    b.good(&TUR, &[]);
    // Misreported residual: the data is there, the residual lies.
    b.d.faults_mut().misreport_residual = Some(ResidualLie::Zero);
    let (r, data) = b.run(&[0x12, 0, 0, 0, 0xff, 0], &[]);
    assert_eq!((data.len(), r.residual), (56, 0));
    // TapeAlert flags raised by the read and write failures: 3, 5, 6.
    assert_eq!(b.d.tape_alert_flags() >> 58, 0b001011);
}

#[test]
fn load_delay_and_immediate_rewind_progress() {
    let mut b = bench();
    b.d.faults_mut().load_delay = Duration::from_millis(300);
    let c = b.d.eject().unwrap();
    b.d.insert(c).unwrap();
    assert_eq!(b.check(&TUR, &[])[12..14], [0x28, 0x00]);
    let s = b.check(&TUR, &[]);
    assert_eq!((s[2], s[12], s[13], s[15]), (0x02, 0x04, 0x01, 0x80));
    let rs = b.good(&[0x03, 0, 0, 0, 18, 0], &[]);
    assert_eq!((rs[2], rs[12], rs[13], rs[15]), (0x02, 0x04, 0x01, 0x80));
    std::thread::sleep(Duration::from_millis(350));
    b.good(&TUR, &[]);

    b.d.faults_mut().rewind_delay = Duration::from_millis(300);
    b.good(&[0x01, 0x01, 0, 0, 0, 0], &[]);
    let s = b.check(&TUR, &[]);
    assert_eq!((s[2], s[12], s[13]), (0x02, 0x04, 0x07));
    let rs = b.good(&[0x03, 0, 0, 0, 18, 0], &[]);
    assert_eq!((rs[2], rs[12], rs[13], rs[15]), (0x00, 0x00, 0x1a, 0x80));
    std::thread::sleep(Duration::from_millis(350));
    b.good(&TUR, &[]);
    // REQUEST SENSE with nothing pending: NO SENSE.
    assert_eq!(
        b.good(&[0x03, 0, 0, 0, 18, 0], &[]),
        [
            0x70, 0, 0x00, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]
    );
}

mod fuzz {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    /// Any bytes as a CDB (half the time behind a supported opcode), any
    /// data-out: never a panic, always GOOD or CHECK CONDITION with valid
    /// fixed sense.
    #[test]
    fn arbitrary_cdbs_never_panic() {
        let b = std::cell::RefCell::new(bench_with(Generation::Lto8, Generation::Lto8, 4_000_000));
        let ops: Vec<u8> = dispatch::COMMANDS.iter().map(|c| c.opcode).collect();
        let strategy = (
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::option::of(proptest::sample::select(ops)),
            proptest::collection::vec(any::<u8>(), 0..600),
            0usize..300,
        );
        let mut runner = TestRunner::new(Config::with_cases(3000));
        runner
            .run(&strategy, |(mut cdb, op, out, in_len)| {
                if let (Some(op), Some(first)) = (op, cdb.first_mut()) {
                    *first = op;
                }
                let mut buf = vec![0u8; in_len];
                let r = b.borrow_mut().d.execute(3, &cdb, &out, &mut buf);
                prop_assert!(r.data_in_len <= in_len);
                match r.status {
                    ScsiStatus::GOOD => prop_assert!(r.sense.is_empty()),
                    ScsiStatus::CHECK_CONDITION => {
                        prop_assert_eq!(r.sense.len(), 18);
                        prop_assert_eq!(r.sense[0] & 0x7f, 0x70);
                    }
                    s => prop_assert!(false, "unexpected status {s:?}"),
                }
                Ok(())
            })
            .unwrap();
    }
}
