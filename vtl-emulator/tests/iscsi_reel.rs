//! reel's iSCSI initiator against reel's iSCSI target, for real: the
//! `reel-vtl serve` binary on an ephemeral 127.0.0.1 port, driven by
//! `IscsiTransport` through the tape and changer drivers.
//!
//! Every server process is stopped by PID when its guard drops, also when
//! an assertion fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reel_changer::{Changer, ChangerOptions, InventoryOptions, Library};
use reel_drivers::iscsi::initiator::{
    ChapCredentials, ChapSecret, InitiatorConfig, IscsiAddress, IscsiError, IscsiTransport,
    send_targets,
};
use reel_drivers::scsi::luns::{parse_report_luns, report_luns_cdb};
use reel_drivers::scsi::sense::Sense;
use reel_drivers::scsi::transport::{DataDirection, ScsiStatus, ScsiTransport, TransportError};
use reel_drivers::tape::{ReadOutcome, SpaceKind, SpaceOutcome, TapeDrive, WriteStatus};
use reel_drivers::{ErrorClass, ScsiError};
use reel_vtl::library::VirtualLibrary;

const IQN: &str = "iqn.2025-01.org.reel:e2e";
const CMD: Duration = Duration::from_secs(30);

/// LUNs of the test target.
const LUN_DRIVE0: u64 = 1;
const LUN_CHANGER: u64 = 2;
const LUN_DRIVE1: u64 = 3;
const LUN_DRIVE2: u64 = 4;

/// The cartridge in drive 0 (writable) and in drive 1 (write protected).
const CART0: &str = "RL0001L8";
const CART_WP: &str = "RL0002L8";

/// A running `reel-vtl serve`; killed and reaped by PID on drop.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn address(&self, lun: u64) -> IscsiAddress {
        IscsiAddress {
            host: "127.0.0.1".into(),
            port: self.port(),
            target_iqn: IQN.into(),
            lun,
        }
    }

    /// Kills the server (SIGKILL: a crash, not a clean shutdown).
    fn kill(mut self) -> SocketAddr {
        self.stop();
        self.addr
    }

    fn stop(&mut self) {
        // Only our own child, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A library directory and the target config serving it.
struct Rig {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Rig {
    /// The default library (4 LTO-8 drives, RL0001L8..RL0020L8 in slots
    /// 1-20) with CART0 in drive 0 and the write-protected CART_WP in
    /// drive 1. `chap` adds a CHAP table to the target.
    fn new(chap: Option<&str>) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = VirtualLibrary::create_default(&dir.path().join("lib")).expect("library");
        lib.insert(0, CART0).expect("insert");
        lib.set_write_protect(CART_WP, true).expect("write protect");
        lib.insert(1, CART_WP).expect("insert");
        lib.save(true).expect("save");
        drop(lib);
        let chap = chap.map(|c| format!("chap = {c}\n")).unwrap_or_default();
        let text = format!(
            "library = \"lib\"\n\n[[target]]\niqn = \"{IQN}\"\nalias = \"reel e2e\"\n\
             luns = {{ {LUN_DRIVE0} = \"drive0\", {LUN_CHANGER} = \"changer\", \
             {LUN_DRIVE1} = \"drive1\", {LUN_DRIVE2} = \"drive2\" }}\n{chap}"
        );
        let config = dir.path().join("reel-vtl.toml");
        std::fs::write(&config, text).expect("config");
        Rig { dir, config }
    }

    /// Starts `reel-vtl serve` on `listen` and waits for its
    /// `listening on ADDR` line.
    fn serve(&self, listen: &str) -> Served {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("reel-vtl.log"))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_reel-vtl"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--listen")
            .arg(listen)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("starting reel-vtl");
        let stdout = child.stdout.take().expect("stdout");
        // The guard exists before we wait, so a timeout still kills it.
        let mut served = Served {
            child,
            addr: "127.0.0.1:0".parse().expect("addr"),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = line.strip_prefix("reel-vtl: listening on ") {
                    let _ = tx.send(a.trim().to_string());
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(e) => {
                served.stop();
                panic!("reel-vtl did not start ({e}); log:\n{}", self.log());
            }
        };
        served.addr = line.parse().expect("listening address");
        served
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("reel-vtl.log")).unwrap_or_default()
    }

    fn library(&self) -> PathBuf {
        self.dir.path().join("lib")
    }
}

fn record(n: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| n.wrapping_mul(31).wrapping_add((i % 251) as u8))
        .collect()
}

fn connect(s: &Served, lun: u64) -> IscsiTransport {
    IscsiTransport::connect(&s.address(lun), None).expect("login")
}

/// TEST UNIT READY until GOOD; the (asc, ascq) of each UNIT ATTENTION.
fn drain_unit_attentions(t: &mut IscsiTransport) -> Vec<(u8, u8)> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let c = t
            .execute(&[0; 6], DataDirection::None, CMD)
            .expect("TEST UNIT READY");
        if c.status == ScsiStatus::GOOD {
            return seen;
        }
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        let s = Sense::parse(&c.sense).expect("sense");
        assert_eq!(s.key.code(), 6, "not a unit attention: {s:?}");
        seen.push((s.asc, s.ascq));
    }
    panic!("unit attentions never stop: {seen:?}");
}

#[test]
fn tape_drive_over_iscsi() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut t = connect(&srv, LUN_DRIVE0);
    // A new session first hears of the power on (which may subsume the
    // medium change of the tape loaded before it: SPC-5 5.14).
    let ua = drain_unit_attentions(&mut t);
    assert_eq!(ua.first(), Some(&(0x29, 0x00)), "{ua:?}");
    assert!(ua[1..].iter().all(|&a| a == (0x28, 0x00)), "{ua:?}");

    let lim = t.limits();
    assert!(
        lim.first_burst_length >= 65536 && lim.first_burst_length < 1 << 20,
        "a 1 MiB write must need R2T: {lim:?}"
    );
    let mut d = TapeDrive::new(t);
    let id = d.identify().expect("identify");
    assert_eq!(id.lto_generation, Some(8), "{id:?}");
    assert!(id.block_limits.expect("block limits").max >= 0x10_0000);

    // 64 KiB fits FirstBurstLength; 1 MiB and 3 MiB take R2T bursts.
    let sizes = [65536usize, 1 << 20, 3 << 20, 1000];
    for (i, &n) in sizes.iter().enumerate() {
        assert_eq!(
            d.write(&record(i as u8, n)).expect("write"),
            WriteStatus::Ok
        );
    }
    d.write_filemarks(1, false).expect("filemark");
    d.write(&record(9, 512)).expect("write");
    d.write_filemarks(1, false).expect("filemark");
    let p = d.read_position().expect("read position");
    assert_eq!((p.block, p.file), (Some(7), Some(2)));

    d.rewind(false).expect("rewind");
    let mut buf = vec![0u8; 4 << 20];
    for (i, &n) in sizes.iter().enumerate() {
        assert_eq!(
            d.read(&mut buf).expect("read"),
            ReadOutcome::ShortBlock { len: n }
        );
        assert!(buf[..n] == record(i as u8, n)[..], "record {i} differs");
    }
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    let st = d.status().expect("status");
    assert_eq!((st.file, st.block), (Some(1), Some(0)));

    // Exact, short and long reads (ILI).
    d.rewind(false).unwrap();
    let mut exact = vec![0u8; 65536];
    assert_eq!(
        d.read(&mut exact).unwrap(),
        ReadOutcome::Block { len: 65536 }
    );
    assert_eq!(exact, record(0, 65536));
    let mut small = vec![0u8; 4096];
    assert_eq!(
        d.read(&mut small).unwrap(),
        ReadOutcome::LongBlock {
            len: 1 << 20,
            copied: 4096
        }
    );
    assert_eq!(small[..], record(1, 1 << 20)[..4096]);
    // Past the long record: the 3 MiB one is next.
    assert_eq!(
        d.read_position().unwrap().block,
        Some(2),
        "a long read leaves the tape after the record"
    );

    // SPACE and LOCATE.
    assert_eq!(
        d.space(SpaceKind::Filemarks, 1).unwrap(),
        SpaceOutcome::Done
    );
    assert_eq!(d.read_position().unwrap().block, Some(5));
    assert_eq!(
        d.read(&mut small).unwrap(),
        ReadOutcome::ShortBlock { len: 512 }
    );
    assert_eq!(small[..512], record(9, 512)[..]);
    assert_eq!(d.read(&mut small).unwrap(), ReadOutcome::Filemark);
    assert_eq!(d.read(&mut small).unwrap(), ReadOutcome::EndOfData);
    assert_eq!(
        d.space(SpaceKind::Blocks, -2).unwrap(),
        SpaceOutcome::Filemark { remaining: 2 },
        "the filemark right behind stops the space at once"
    );
    assert_eq!(d.read_position().unwrap().block, Some(6));
    d.locate(3, None).unwrap();
    assert_eq!(
        d.read(&mut small).unwrap(),
        ReadOutcome::ShortBlock { len: 1000 }
    );
    assert_eq!(small[..1000], record(3, 1000)[..]);
    let e = d.locate(100, None).unwrap_err();
    assert_eq!(e.class(), ErrorClass::BlankCheck, "{e}");
    assert_eq!(
        d.space(SpaceKind::EndOfData, 0).unwrap(),
        SpaceOutcome::Done
    );
    assert_eq!(d.read_position().unwrap().block, Some(7));
    drop(d);
    drop(srv);
}

#[test]
fn write_protected_cartridge_over_iscsi() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut d = TapeDrive::new(connect(&srv, LUN_DRIVE1));
    d.wait_ready(Duration::from_secs(10)).expect("ready");
    assert!(d.status().unwrap().write_protected);
    let e = d.write(&[0u8; 512]).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
    let e = d.write_filemarks(1, false).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
    // A write-protect refusal of a 1 MiB write (data already on its way
    // through R2T or refused before) leaves the session usable.
    let e = d.write(&vec![7u8; 1 << 20]).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
    assert!(d.status().unwrap().online);
}

#[test]
fn changer_over_iscsi() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let opts = ChangerOptions {
        eject_before_move: false,
        retry_interval: Duration::from_millis(100),
        ..ChangerOptions::default()
    };
    let ch = Changer::new(connect(&srv, LUN_CHANGER), opts);
    let mut lib = Library::open(ch, InventoryOptions::default()).expect("inventory");
    assert_eq!(lib.slot_count(), 54, "50 storage + 4 mail slots");
    assert_eq!(lib.drive_count(), 4);
    let inv = lib.inventory().clone();
    assert_eq!(
        inv.drives[0].barcode().as_deref(),
        Some(CART0),
        "{:?}",
        inv.drives[0]
    );
    assert_eq!(inv.drives[1].barcode().as_deref(), Some(CART_WP));
    assert!(!inv.drives[2].full);
    assert_eq!(inv.slots[2].barcode().as_deref(), Some("RL0003L8"));
    assert!(!inv.slots[0].full, "slot 1's cartridge is in drive 0");

    // A session open on the empty drive hears NOT READY, then of the
    // tape the robot loads: UNIT ATTENTION 28/00.
    let mut t2 = connect(&srv, LUN_DRIVE2);
    let mut sense = Vec::new();
    for _ in 0..4 {
        let c = t2.execute(&[0; 6], DataDirection::None, CMD).unwrap();
        let s = Sense::parse(&c.sense).expect("sense");
        sense.push((s.key.code(), s.asc, s.ascq));
        if s.key.code() != 6 {
            break;
        }
    }
    assert_eq!(sense, vec![(6, 0x29, 0), (2, 0x3a, 0)]);

    lib.load(3, 2).expect("load slot 3 into drive 2");
    let c = t2.execute(&[0; 6], DataDirection::None, CMD).unwrap();
    let s = Sense::parse(&c.sense).expect("sense");
    assert_eq!((s.key.code(), s.asc, s.ascq), (6, 0x28, 0));
    drop(t2);
    lib.refresh().unwrap();
    assert_eq!(lib.drive(2).unwrap().barcode().as_deref(), Some("RL0003L8"));
    assert!(!lib.slot(3).unwrap().full);

    // The drive LUN sees the tape the robot put there.
    let mut d = TapeDrive::new(connect(&srv, LUN_DRIVE2));
    d.wait_ready(Duration::from_secs(10)).expect("ready");
    d.write(&record(1, 4096)).unwrap();
    d.rewind(false).unwrap();
    d.unload().expect("unload the tape");

    assert_eq!(lib.unload(2, None, None).expect("unload"), 3);
    lib.refresh().unwrap();
    assert!(!lib.drive(2).unwrap().full);
    assert_eq!(lib.slot(3).unwrap().barcode().as_deref(), Some("RL0003L8"));
}

#[test]
fn report_luns_and_send_targets() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut t = connect(&srv, LUN_DRIVE0);
    let mut buf = vec![0u8; 4096];
    // REPORT LUNS is answered even with a unit attention pending (SPC-4).
    let c = t
        .execute(
            &report_luns_cdb(0, buf.len() as u32),
            DataDirection::FromDevice(&mut buf),
            CMD,
        )
        .expect("REPORT LUNS");
    assert_eq!(c.status, ScsiStatus::GOOD, "{c:?}");
    let n = buf.len() - c.residual;
    let luns = parse_report_luns(&buf[..n]).expect("parse");
    // Peripheral device addressing (SAM-5 4.7.7): LUN n is 00 nn 00.. .
    assert_eq!(
        luns,
        vec![
            0x0001_0000_0000_0000,
            0x0002_0000_0000_0000,
            0x0003_0000_0000_0000,
            0x0004_0000_0000_0000
        ]
    );

    let targets = send_targets("127.0.0.1", srv.port()).expect("SendTargets");
    let (name, addrs) = targets
        .iter()
        .find(|(n, _)| n == IQN)
        .unwrap_or_else(|| panic!("{IQN} not in {targets:?}"));
    assert_eq!(name, IQN);
    assert!(
        addrs
            .iter()
            .any(|a| a.starts_with(&format!("127.0.0.1:{},", srv.port()))),
        "{addrs:?}"
    );
}

fn chap(user: &str, secret: &str) -> ChapCredentials {
    ChapCredentials {
        initiator: ChapSecret {
            user: user.into(),
            secret: secret.as_bytes().to_vec(),
        },
        mutual: None,
    }
}

#[test]
fn chap_logins() {
    let rig = Rig::new(Some(
        "{ user = \"backup\", secret = \"a-12-byte-secret\", mutual_user = \"reel\", mutual_secret = \"target-secret-1\" }",
    ));
    let srv = rig.serve("127.0.0.1:0");
    let addr = srv.address(LUN_DRIVE0);

    let mut t = IscsiTransport::connect(&addr, Some(chap("backup", "a-12-byte-secret")))
        .expect("CHAP login with the right secret");
    let c = t.execute(&[0; 6], DataDirection::None, CMD).unwrap();
    assert_eq!(c.status, ScsiStatus::CHECK_CONDITION, "first answer: 29/00");

    // Mutual: the target proves itself with its own secret.
    let mut mutual = chap("backup", "a-12-byte-secret");
    mutual.mutual = Some(ChapSecret {
        user: "reel".into(),
        secret: b"target-secret-1".to_vec(),
    });
    IscsiTransport::connect(&addr, Some(mutual.clone())).expect("mutual CHAP");
    // ... and a target that does not know our expected secret is refused.
    mutual.mutual = Some(ChapSecret {
        user: "reel".into(),
        secret: b"something-else!".to_vec(),
    });
    let e = IscsiTransport::connect(&addr, Some(mutual))
        .err()
        .expect("a target with the wrong mutual secret is refused");
    assert!(matches!(e, IscsiError::Login(_)), "{e}");

    let e = IscsiTransport::connect(&addr, Some(chap("backup", "wrong-secret-000")))
        .err()
        .expect("a wrong secret is refused");
    assert!(matches!(e, IscsiError::Login(_)), "{e}");
    let e = IscsiTransport::connect(&addr, Some(chap("someone", "a-12-byte-secret")))
        .err()
        .expect("a wrong user is refused");
    assert!(matches!(e, IscsiError::Login(_)), "{e}");
    let e = IscsiTransport::connect(&addr, None)
        .err()
        .expect("no CHAP is refused");
    assert!(matches!(e, IscsiError::Login(_)), "{e}");
    drop(t);
}

#[test]
fn dropped_connection_fails_then_reconnects() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut d = TapeDrive::new(connect(&srv, LUN_DRIVE0));
    d.wait_ready(Duration::from_secs(10)).expect("ready");
    d.write(&record(1, 1000)).unwrap();
    d.write_filemarks(1, false).unwrap();

    let addr = srv.kill();
    // The WRITE in flight fails and is never re-issued.
    let e = d.write(&record(2, 1000)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transport, "{e}");
    assert!(
        matches!(
            e,
            ScsiError::Transport {
                source: TransportError::Disconnected(_),
                ..
            }
        ),
        "{e:?}"
    );
    // No server: reconnecting fails, again as a lost connection.
    let e = d.read_position().unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transport, "{e}");

    let srv = rig.serve(&addr.to_string());
    assert_eq!(srv.addr, addr);
    // The next command logs in again; the new session starts with unit
    // attentions, which status() consumes.
    let st = d.status().expect("status after reconnecting");
    assert!(st.online, "{st:?}");
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 1000 }
    );
    assert_eq!(buf[..1000], record(1, 1000)[..]);
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::EndOfData,
        "the lost WRITE must not reach the tape"
    );
    drop(d);
    drop(srv);
    assert!(VirtualLibrary::exists(&rig.library()));
}

#[test]
fn two_sessions_at_once() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut tape = TapeDrive::new(connect(&srv, LUN_DRIVE0));
    let ch = Changer::new(
        connect(&srv, LUN_CHANGER),
        ChangerOptions {
            eject_before_move: false,
            ..ChangerOptions::default()
        },
    );
    tape.wait_ready(Duration::from_secs(10)).unwrap();
    let mut drive2 = TapeDrive::new(connect(&srv, LUN_DRIVE2));
    let worker = std::thread::spawn(move || {
        let mut lib = Library::open(ch, InventoryOptions::default()).expect("inventory");
        for _ in 0..3 {
            lib.load(5, 2).expect("load");
            lib.refresh().unwrap();
            drive2.wait_ready(Duration::from_secs(10)).expect("ready");
            drive2.unload().expect("eject");
            lib.unload(2, Some(5), None).expect("unload");
            lib.refresh().unwrap();
        }
        lib.drive(2).unwrap().full
    });
    for i in 0..20u8 {
        tape.write(&record(i, 256 * 1024)).unwrap();
    }
    tape.rewind(false).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    for i in 0..20u8 {
        assert_eq!(
            tape.read(&mut buf).unwrap(),
            ReadOutcome::Block { len: 256 * 1024 }
        );
        assert!(buf == record(i, 256 * 1024), "record {i}");
    }
    assert!(!worker.join().expect("changer thread"));
}

#[test]
fn harness_stops_the_server_on_drop() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let addr = srv.addr;
    drop(srv);
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

#[test]
fn digests_and_small_segments() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    // CRC32C on headers and data, and small sizes: many Data-In PDUs per
    // read, many R2T bursts per write.
    let config = InitiatorConfig {
        header_digest: true,
        data_digest: true,
        max_recv_data_segment_length: 4096,
        first_burst_length: 8192,
        max_burst_length: 16384,
        ..InitiatorConfig::default()
    };
    let t = IscsiTransport::connect_with(&srv.address(LUN_DRIVE0), None, config).expect("login");
    let lim = t.limits();
    assert!(lim.header_digest && lim.data_digest, "{lim:?}");
    assert_eq!(
        (
            lim.max_recv_segment,
            lim.first_burst_length,
            lim.max_burst_length
        ),
        (4096, 8192, 16384)
    );
    let mut d = TapeDrive::new(t);
    d.wait_ready(Duration::from_secs(10)).expect("ready");
    for (i, n) in [1usize, 4096, 8193, 1 << 20].into_iter().enumerate() {
        assert_eq!(d.write(&record(i as u8, n)).unwrap(), WriteStatus::Ok);
    }
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for (i, n) in [1usize, 4096, 8193, 1 << 20].into_iter().enumerate() {
        assert_eq!(
            d.read(&mut buf).unwrap(),
            if n == buf.len() {
                ReadOutcome::Block { len: n }
            } else {
                ReadOutcome::ShortBlock { len: n }
            }
        );
        assert!(buf[..n] == record(i as u8, n)[..], "record {i}");
    }
}

#[test]
fn unknown_target_and_unmapped_lun() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut addr = srv.address(LUN_DRIVE0);
    addr.target_iqn = "iqn.2025-01.org.reel:nobody".into();
    let e = IscsiTransport::connect(&addr, None)
        .err()
        .expect("an unknown target name is refused");
    assert!(matches!(e, IscsiError::Login(_)), "{e}");

    // LUN 9 is not mapped: INQUIRY answers with peripheral qualifier 3,
    // other commands with LOGICAL UNIT NOT SUPPORTED (25/00).
    let mut t = connect(&srv, 9);
    let mut inq = [0u8; 36];
    let c = t
        .execute(
            &[0x12, 0, 0, 0, 36, 0],
            DataDirection::FromDevice(&mut inq),
            CMD,
        )
        .expect("INQUIRY");
    assert_eq!(c.status, ScsiStatus::GOOD, "{c:?}");
    assert_eq!(inq[0] >> 5, 3, "{inq:02x?}");
    let mut found = false;
    for _ in 0..3 {
        let c = t.execute(&[0; 6], DataDirection::None, CMD).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        let s = Sense::parse(&c.sense).unwrap();
        if (s.key.code(), s.asc, s.ascq) == (5, 0x25, 0) {
            found = true;
            break;
        }
    }
    assert!(found, "TEST UNIT READY on an unmapped LUN");
}

#[test]
fn timed_out_command_is_aborted_and_the_session_goes_on() {
    let rig = Rig::new(None);
    let srv = rig.serve("127.0.0.1:0");
    let mut t = connect(&srv, LUN_DRIVE0);
    drain_unit_attentions(&mut t);
    // A deadline that has passed before any answer: ABORT TASK follows.
    let e = t
        .execute(&[0; 6], DataDirection::None, Duration::ZERO)
        .unwrap_err();
    assert!(matches!(e, TransportError::Timeout(_)), "{e:?}");
    assert!(
        t.is_connected(),
        "the target answered ABORT TASK: the connection stays"
    );
    // The session answers the next commands.
    for _ in 0..3 {
        let c = t
            .execute(&[0; 6], DataDirection::None, CMD)
            .expect("TEST UNIT READY after the abort");
        if c.status == ScsiStatus::GOOD {
            return;
        }
    }
    panic!("TEST UNIT READY never GOOD after an aborted command");
}

/// The target pings an idle initiator with NOP-In after `nop_interval_secs`
/// and closes the connection when the ping stays unanswered. An initiator
/// that sat idle meanwhile finds the connection gone before it sends its
/// next command, so it logs in again and the command runs (nothing of it
/// was sent on the dead connection).
#[test]
fn idle_connection_is_pinged_then_replaced_transparently() {
    let rig = Rig::new(None);
    let text = std::fs::read_to_string(&rig.config).expect("config");
    std::fs::write(&rig.config, format!("nop_interval_secs = 1\n{text}")).expect("config");
    let srv = rig.serve("127.0.0.1:0");
    let mut t = connect(&srv, LUN_DRIVE0);
    drain_unit_attentions(&mut t);
    // Idle for three intervals: pinged at ~1 s, closed at ~2 s.
    std::thread::sleep(Duration::from_millis(3200));
    let log = std::fs::read_to_string(rig.dir.path().join("reel-vtl.log")).expect("log");
    assert!(log.contains("no answer to a NOP-In ping"), "{log}");
    // The next command succeeds on a new session (which starts with 29/00).
    assert_eq!(drain_unit_attentions(&mut t).first(), Some(&(0x29, 0x00)));
    let mut d = TapeDrive::new(t);
    d.write(&record(1, 1000)).expect("write on the new session");
    d.rewind(false).expect("rewind");
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        d.read(&mut buf).expect("read"),
        ReadOutcome::ShortBlock { len: 1000 }
    );
}
