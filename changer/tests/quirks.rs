//! The Changer's handling of library quirks (field notes A1-A5) the VTL
//! does not exhibit: a scripted transport replays what such libraries
//! answer, byte for byte, and checks every CDB the driver sends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel_changer::{
    Changer, ChangerError, ChangerOptions, ElementType, InventoryOptions, Progress,
};
use reel_drivers::scsi::sense::{Sense, SenseKey};
use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

struct Step {
    cdb: Vec<u8>,
    data: Vec<u8>,
    sense: Option<(u8, u8, u8)>,
}

#[derive(Default)]
struct Script {
    steps: VecDeque<Step>,
}

impl Script {
    fn expect(mut self, cdb: &[u8], data: Vec<u8>) -> Self {
        self.steps.push_back(Step {
            cdb: cdb.to_vec(),
            data,
            sense: None,
        });
        self
    }

    fn fail(mut self, cdb: &[u8], key: u8, asc: u8, ascq: u8) -> Self {
        self.steps.push_back(Step {
            cdb: cdb.to_vec(),
            data: Vec::new(),
            sense: Some((key, asc, ascq)),
        });
        self
    }
}

impl ScsiTransport for Script {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataDirection<'_>,
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let step = self
            .steps
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected command {cdb:02x?}"));
        assert_eq!(cdb, &step.cdb[..], "CDB");
        let requested = data.len();
        if let Some((key, asc, ascq)) = step.sense {
            let s = Sense::new(SenseKey::from_u8(key), asc, ascq);
            return Ok(Completion::check_condition(s.encode_fixed(), requested));
        }
        let n = match data {
            DataDirection::FromDevice(buf) => {
                let n = buf.len().min(step.data.len());
                buf[..n].copy_from_slice(&step.data[..n]);
                n
            }
            _ => 0,
        };
        Ok(Completion::good(requested - n))
    }

    fn describe(&self) -> String {
        "scripted library".into()
    }
}

fn opts() -> ChangerOptions {
    ChangerOptions {
        retry_interval: Duration::from_millis(1),
        ..ChangerOptions::default()
    }
}

const INQUIRY: [u8; 6] = [0x12, 0x00, 0x00, 0x00, 0x60, 0x00];
/// MODE SENSE(10), DBD, page 1Dh, allocation length 0x400.
const SENSE_1D_10: [u8; 10] = [0x5a, 0x08, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00];

fn inquiry_data() -> Vec<u8> {
    let mut v = vec![0x08, 0x80, 0x06, 0x02, 31, 0, 0, 0];
    v.extend_from_slice(b"REEL    TESTLIB         0001");
    v
}

/// MODE SENSE(10) data holding page 1Dh.
fn page_1d(a: [(u16, u16); 4]) -> Vec<u8> {
    let mut v = vec![0x00, 0x1a, 0, 0, 0, 0, 0, 0, 0x1d, 0x12];
    for (first, count) in a {
        v.extend_from_slice(&first.to_be_bytes());
        v.extend_from_slice(&count.to_be_bytes());
    }
    v.extend_from_slice(&[0, 0]);
    v
}

fn res_cdb(voltag: bool, kind: u8, start: u16, count: u16, dvcid: bool) -> [u8; 12] {
    let s = start.to_be_bytes();
    let c = count.to_be_bytes();
    [
        0xb8,
        (u8::from(voltag) << 4) | kind,
        s[0],
        s[1],
        c[0],
        c[1],
        u8::from(dvcid),
        0x00,
        0xff,
        0xff,
        0,
        0,
    ]
}

/// A report of one page; `declared` overrides the byte counts (lying or
/// cut reports).
fn report(kind: u8, flags: u8, dl: usize, descs: &[Vec<u8>], declared: Option<usize>) -> Vec<u8> {
    let page = declared.unwrap_or(descs.len() * dl);
    let n = descs.len() as u16;
    let first = descs.first().map_or([0, 0], |d| [d[0], d[1]]);
    let mut v = vec![first[0], first[1]];
    v.extend_from_slice(&n.to_be_bytes());
    v.push(0);
    v.extend_from_slice(&((page + 8) as u32).to_be_bytes()[1..]);
    v.extend_from_slice(&[kind, flags]);
    v.extend_from_slice(&(dl as u16).to_be_bytes());
    v.push(0);
    v.extend_from_slice(&(page as u32).to_be_bytes()[1..]);
    for d in descs {
        assert_eq!(d.len(), dl);
        v.extend_from_slice(d);
    }
    v
}

fn desc(addr: u16, full: bool, len: usize) -> Vec<u8> {
    let a = addr.to_be_bytes();
    let mut d = vec![a[0], a[1], u8::from(full) | 0x08];
    d.resize(len, 0);
    d
}

fn only_storage(n: u16) -> [(u16, u16); 4] {
    [(1, 0), (0x1000, n), (0, 0), (0, 0)]
}

/// 2500 slots: three requests of at most 1000 elements, each with
/// allocation length 0xFFFF (A1, A3).
#[test]
fn inventory_pages_by_1000() {
    let page = |start: u16, n: u16| {
        let d: Vec<_> = (start..start + n)
            .map(|a| desc(a, a % 2 == 0, 12))
            .collect();
        report(2, 0, 12, &d, None)
    };
    let script = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(only_storage(2500)))
        .expect(&res_cdb(false, 2, 0x1000, 1000, false), page(0x1000, 1000))
        .expect(
            &res_cdb(false, 2, 0x1000 + 1000, 1000, false),
            page(0x1000 + 1000, 1000),
        )
        .expect(
            &res_cdb(false, 2, 0x1000 + 2000, 500, false),
            page(0x1000 + 2000, 500),
        );
    let mut ch = Changer::new(script, opts());
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    ch.on_progress(move |e| p.lock().unwrap().push(e.clone()));
    let inv = ch
        .inventory(&InventoryOptions {
            volume_tags: false,
            ..InventoryOptions::default()
        })
        .unwrap();
    assert_eq!(inv.slots.len(), 2500);
    assert_eq!(inv.vendor, "REEL");
    assert_eq!(inv.product, "TESTLIB");
    assert_eq!(inv.slots[2499].address, 0x1000 + 2499);
    assert!(inv.slots[0].full && !inv.slots[1].full);
    assert!(inv.drives.is_empty());
    assert_eq!(ch.element_status_requests(), 3);
    assert!(ch.transport().steps.is_empty());
    assert_eq!(
        progress.lock().unwrap().last(),
        Some(&Progress::Inventory {
            kind: ElementType::Storage,
            done: 2500,
            total: Some(2500)
        })
    );
}

/// A report cut at the allocation length (the header declares more):
/// whole descriptors are kept and the rest is re-requested from the next
/// address.
#[test]
fn rerequest_after_cut_report() {
    // 1000 descriptors of 120 bytes: 120016 bytes, cut at 65535 → 545 whole.
    let all: Vec<_> = (0..1000u16).map(|i| desc(0x1000 + i, true, 120)).collect();
    let first = report(2, 0, 120, &all, None);
    let rest: Vec<_> = all[545..].to_vec();
    let script = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(only_storage(1000)))
        .expect(&res_cdb(false, 2, 0x1000, 1000, false), first)
        .expect(
            &res_cdb(false, 2, 0x1000 + 545, 455, false),
            report(2, 0, 120, &rest, None),
        );
    let mut ch = Changer::new(script, opts());
    let inv = ch
        .inventory(&InventoryOptions {
            volume_tags: false,
            ..InventoryOptions::default()
        })
        .unwrap();
    assert_eq!(inv.slots.len(), 1000);
    assert!(
        inv.slots
            .windows(2)
            .all(|w| w[1].address == w[0].address + 1)
    );
}

/// A library that caps the elements per request below what was asked:
/// paging continues after the last address returned until the count of
/// page 1Dh is reached.
#[test]
fn library_capping_elements_per_request() {
    let d = |r: std::ops::Range<u16>| r.map(|a| desc(a, false, 12)).collect::<Vec<_>>();
    let script = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(only_storage(300)))
        .expect(
            &res_cdb(true, 2, 0x1000, 300, false),
            report(2, 0, 12, &d(0x1000..0x1000 + 255), None),
        )
        .expect(
            &res_cdb(true, 2, 0x1000 + 255, 45, false),
            report(2, 0, 12, &d(0x1000 + 255..0x1000 + 300), None),
        );
    let mut ch = Changer::new(script, opts());
    let inv = ch.inventory(&InventoryOptions::default()).unwrap();
    assert_eq!(inv.slots.len(), 300);
}

/// Short data: the library returns less than it declares while the
/// allocation length had room. A clear error, not a silent truncation.
#[test]
fn short_data_is_an_error() {
    let d: Vec<_> = (0..3u16).map(|i| desc(0x1000 + i, false, 12)).collect();
    let mut r = report(2, 0, 12, &d, Some(5 * 12));
    r.truncate(r.len() - 6);
    let script = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(only_storage(5)))
        .expect(&res_cdb(true, 2, 0x1000, 5, false), r);
    let mut ch = Changer::new(script, opts());
    let e = ch.inventory(&InventoryOptions::default()).unwrap_err();
    assert!(matches!(e, ChangerError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("short data"), "{e}");
}

/// A2: the library rejects VOLTAG with DVCID: the driver asks without
/// DVCID, then for DVCID alone, and merges the identifiers.
#[test]
fn dvcid_fallback_merges_identifiers() {
    let drive = |addr: u16, id: &[u8]| {
        let mut d = desc(addr, false, 12);
        d.extend_from_slice(&[0x02, 0x00, 0x00, id.len() as u8]);
        d.extend_from_slice(id);
        d
    };
    let tagged = |addr: u16| {
        let mut d = desc(addr, true, 12);
        d.extend_from_slice(b"TAPE01L8");
        d.resize(48, b' ');
        d
    };
    let a = [(1, 0), (0, 0), (0, 0), (0x100, 2)];
    let script = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(a))
        .fail(&res_cdb(true, 4, 0x100, 2, true), 5, 0x24, 0x00)
        .expect(
            &res_cdb(true, 4, 0x100, 2, false),
            report(4, 0x80, 48, &[tagged(0x100), tagged(0x101)], None),
        )
        .expect(
            &res_cdb(false, 4, 0x100, 2, true),
            report(
                4,
                0,
                24,
                &[drive(0x100, b"SERIAL00"), drive(0x101, b"SERIAL01")],
                None,
            ),
        );
    let mut ch = Changer::new(script, opts());
    let inv = ch.inventory(&InventoryOptions::default()).unwrap();
    assert_eq!(inv.drives.len(), 2);
    assert_eq!(inv.drives[1].barcode().as_deref(), Some("TAPE01L8"));
    assert_eq!(
        inv.drives[1].identifier.as_ref().unwrap().value_string(),
        "SERIAL01"
    );
    // Learnt: the next inventory asks separately straight away.
    let again = Script::default()
        .expect(&INQUIRY, inquiry_data())
        .expect(&SENSE_1D_10, page_1d(a))
        .expect(
            &res_cdb(true, 4, 0x100, 2, false),
            report(4, 0x80, 48, &[tagged(0x100), tagged(0x101)], None),
        )
        .fail(&res_cdb(false, 4, 0x100, 2, true), 5, 0x24, 0x00);
    *ch.transport() = again;
    let inv = ch.inventory(&InventoryOptions::default()).unwrap();
    // DVCID unsupported altogether (Qualstar): no identifiers, no error.
    assert!(inv.drives.iter().all(|d| d.identifier.is_none()));
    assert!(ch.transport().steps.is_empty());
}

/// NOT READY 04/01 is retried and reported; UNIT ATTENTION is consumed.
#[test]
fn becoming_ready_and_unit_attention() {
    let script = Script::default()
        .fail(&INQUIRY, 6, 0x29, 0x00)
        .fail(&INQUIRY, 2, 0x04, 0x01)
        .fail(&INQUIRY, 2, 0x04, 0x01)
        .expect(&INQUIRY, inquiry_data());
    let mut ch = Changer::new(script, opts());
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    ch.on_progress(move |p| {
        if matches!(p, Progress::BecomingReady { op: "INQUIRY", .. }) {
            *s.lock().unwrap() += 1;
        }
    });
    assert_eq!(ch.inquiry().unwrap().vendor, "REEL");
    assert_eq!(*seen.lock().unwrap(), 2);
}

/// The becoming-ready wait is bounded.
#[test]
fn becoming_ready_gives_up() {
    let mut script = Script::default();
    for _ in 0..1000 {
        script = script.fail(&INQUIRY, 2, 0x04, 0x01);
    }
    let mut ch = Changer::new(
        script,
        ChangerOptions {
            not_ready_timeout: Duration::from_millis(20),
            ..opts()
        },
    );
    let e = ch.inquiry().unwrap_err();
    let ChangerError::NotReady { waited, .. } = &e else {
        panic!("{e}")
    };
    assert!(*waited >= Duration::from_millis(20));
    assert!(
        e.to_string().to_lowercase().contains("becoming ready"),
        "{e}"
    );
}

/// Offline and door-open conditions are named, not retried.
#[test]
fn offline_and_manual_intervention() {
    let script = Script::default()
        .fail(&INQUIRY, 2, 0x04, 0x12)
        .fail(&INQUIRY, 2, 0x04, 0x03);
    let mut ch = Changer::new(script, opts());
    assert!(matches!(ch.inquiry(), Err(ChangerError::Offline { .. })));
    assert!(matches!(
        ch.inquiry(),
        Err(ChangerError::ManualIntervention { .. })
    ));
}

/// MODE SENSE(10) unknown → MODE SENSE(6); invalid field → DBD flipped.
#[test]
fn mode_sense_fallbacks() {
    let mut six = vec![0x17, 0, 0, 0, 0x1d, 0x12];
    for (f, n) in [(1u16, 1u16), (0x400, 10), (0x300, 2), (0x100, 2)] {
        six.extend_from_slice(&f.to_be_bytes());
        six.extend_from_slice(&n.to_be_bytes());
    }
    six.extend_from_slice(&[0, 0]);
    let script = Script::default()
        .fail(&SENSE_1D_10, 5, 0x20, 0x00)
        .fail(&[0x1a, 0x08, 0x1d, 0x00, 0xff, 0x00], 5, 0x24, 0x00)
        .expect(&[0x1a, 0x00, 0x1d, 0x00, 0xff, 0x00], six);
    let mut ch = Changer::new(script, opts());
    let a = ch.element_assignment().unwrap();
    assert_eq!(a.storage, (0x400, 10));
    assert_eq!(a.data_transfer, (0x100, 2));
}

/// Move errors name the element; the transport address comes from 1Dh.
#[test]
fn move_errors_name_elements() {
    let script = Script::default()
        .expect(
            &SENSE_1D_10,
            page_1d([(1, 1), (0x400, 10), (0x300, 2), (0x100, 2)]),
        )
        .fail(
            &[0xa5, 0, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0, 0, 0, 0],
            5,
            0x3b,
            0x0d,
        )
        .fail(
            &[0xa5, 0, 0x00, 0x01, 0x04, 0x01, 0x01, 0x01, 0, 0, 0, 0],
            5,
            0x3b,
            0x0e,
        )
        .fail(
            &[0xa5, 0, 0x00, 0x01, 0x01, 0x00, 0x04, 0x00, 0, 0, 0, 0],
            5,
            0x53,
            0x02,
        )
        .fail(
            &[0xa5, 0, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0, 0, 0, 0],
            6,
            0x28,
            0x00,
        )
        .expect(
            &[0xa5, 0, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0, 0, 0, 0],
            vec![],
        );
    let mut ch = Changer::new(script, opts());
    let e = ch.move_medium(0x400, 0x100, false).unwrap_err();
    assert!(
        matches!(e, ChangerError::DestinationFull { element: 0x100, .. }),
        "{e}"
    );
    let e = ch.move_medium(0x401, 0x101, false).unwrap_err();
    assert!(
        matches!(e, ChangerError::SourceEmpty { element: 0x401, .. }),
        "{e}"
    );
    let e = ch.move_medium(0x100, 0x400, false).unwrap_err();
    assert!(
        matches!(e, ChangerError::RemovalPrevented { element: 0x100, .. }),
        "{e}"
    );
    ch.move_medium(0x400, 0x100, false).unwrap();
}
