//! The SSC tape driver end to end against the VTL drive model, run twice:
//! through the in-process transport, and through reel's iSCSI initiator
//! against reel's iSCSI target serving the same library in this process
//! (ephemeral 127.0.0.1 port). Every command goes through CDB bytes,
//! status, sense and residual exactly as on a real drive.
//!
//! Each test is a function of [`Mode`]; `both!` makes one `#[test]` per
//! mode (`NAME::in_process`, `NAME::iscsi`), so a failure names its mode.
//! Differences between the paths: an iSCSI login is a new I_T nexus, so its
//! first command gets UNIT ATTENTION 29/00 (power on / reset) where the
//! in-process initiator 0 gets 28/00 for the loaded cartridge; both are
//! UNIT ATTENTION and the tests assert the same class on both.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_drivers::scsi::attributes::{Attribute, mam};
use reel_drivers::scsi::transport::{ScsiTransport, TransportError};
use reel_drivers::tape::blocked::{ReaderStop, TapeReader, TapeWriter};
use reel_drivers::tape::{
    ReadOutcome, ResidualPolicy, SpaceKind, SpaceOutcome, TapeDrive, WriteStatus,
};
use reel_drivers::{ErrorClass, ScsiError};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::drive::ResidualLie;
use reel_vtl::iscsi::{RunningServer, ServeConfig, Server};
use reel_vtl::library::{LibraryConfig, VirtualLibrary};

const IQN: &str = "iqn.2025-01.org.reel:tape-vtl";

/// A scratch directory removed on drop (no extra dev-dependency needed).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "reel-tape-vtl-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How the test reaches the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    InProcess,
    Iscsi,
}

/// reel's iSCSI target serving the rig's library (LUN 1 = drive 0) in this
/// process; stopped and joined on drop, also when a test fails.
struct Target(RunningServer);

impl Target {
    fn start(lib: &VirtualLibrary, dir: &Path) -> Target {
        let text = format!(
            "library = \"lib\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\" }}\n"
        );
        let cfg = ServeConfig::parse(&text, dir).expect("config");
        let server =
            Server::with_library(cfg, lib.clone(), Some("127.0.0.1:0")).expect("bind target");
        Target(server.spawn().expect("target thread"))
    }

    fn port(&self) -> u16 {
        self.0.local_addr().port()
    }
}

type Drive = TapeDrive<Box<dyn ScsiTransport>>;

struct Rig {
    mode: Mode,
    // Dropped before the directory: the target saves the library on stop.
    target: Option<Target>,
    lib: VirtualLibrary,
    _dir: Scratch,
}

impl Rig {
    fn with(mode: Mode, tag: &str, drive_gen: Generation, spec: Option<CartridgeSpec>) -> Rig {
        let dir = Scratch::new(tag);
        let lib = VirtualLibrary::create(
            &dir.path().join("lib"),
            LibraryConfig::single_drive(drive_gen),
        )
        .expect("create library");
        if let Some(spec) = spec {
            lib.create_cartridge(&spec).expect("create cartridge");
            lib.insert(0, &spec.barcode).expect("insert");
        }
        let target = (mode == Mode::Iscsi).then(|| Target::start(&lib, dir.path()));
        Rig {
            mode,
            target,
            lib,
            _dir: dir,
        }
    }

    fn new(mode: Mode, tag: &str) -> Rig {
        Rig::with(
            mode,
            tag,
            Generation::Lto9,
            Some(CartridgeSpec::new("REEL01L9", Generation::Lto9)),
        )
    }

    /// A new transport to drive 0: in process as initiator 0, or a new
    /// iSCSI session (a new I_T nexus).
    fn transport(&self) -> Box<dyn ScsiTransport> {
        match (self.mode, &self.target) {
            (Mode::Iscsi, Some(t)) => {
                let addr = IscsiAddress {
                    host: "127.0.0.1".into(),
                    port: t.port(),
                    target_iqn: IQN.into(),
                    lun: 1,
                };
                Box::new(IscsiTransport::connect(&addr, None).expect("iSCSI login"))
            }
            _ => Box::new(self.lib.drive_transport(0).expect("transport")),
        }
    }

    /// A drive ready for I/O: unit attentions consumed, variable mode.
    fn drive(&self) -> Drive {
        let mut d = TapeDrive::new(self.transport());
        d.wait_ready(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{:?}: ready: {e}", self.mode));
        d
    }
}

/// One `#[test]` per mode for each test function.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn in_process() {
                super::$name(super::Mode::InProcess)
            }
            #[test]
            fn iscsi() {
                super::$name(super::Mode::Iscsi)
            }
        }
    )*};
}

both!(
    identify_by_capability,
    unit_attention_after_load,
    positions_after_filemarks_and_end_of_data,
    short_and_long_reads_report_true_lengths,
    misreported_residual_is_a_transport_error,
    trust_sense_reads_true_lengths_despite_the_residual,
    early_warning_then_volume_overflow,
    programmable_early_warning_is_a_state,
    write_protected_cartridge,
    worm_cartridge_appends_but_never_overwrites,
    generation_rules,
    fixed_block_mode,
    blocked_writer_and_reader_round_trip,
    blocked_writer_reports_early_warning_and_overflow,
    compression_mam_logs_and_alerts,
    status_without_medium,
    erase_and_prevent_removal,
    immediate_rewind_and_erase_report_progress_until_done,
);

fn record(n: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| n.wrapping_add(i as u8)).collect()
}

fn is_mismatch(e: &ScsiError) -> bool {
    matches!(
        e,
        ScsiError::Transport {
            source: TransportError::ResidualMismatch { .. },
            ..
        }
    )
}

fn identify_by_capability(mode: Mode) {
    let rig = Rig::new(mode, "identify");
    let mut d = rig.drive();
    let id = d.identify().expect("identify");
    assert_eq!(id.vendor, "IBM");
    assert!(!id.product.is_empty());
    assert_eq!(id.serial.as_deref(), Some("VTL0000001"));
    assert_eq!(id.lto_generation, Some(9));
    let bl = id.block_limits.expect("block limits");
    assert!(bl.max >= 0x10_0000, "{bl:?}");
    assert!(id.densities.iter().any(|x| x.primary_code == 0x60));
    assert!(id.supported_opcodes.contains(&0x08) && id.supported_opcodes.contains(&0x0a));
}

fn unit_attention_after_load(mode: Mode) {
    let rig = Rig::new(mode, "ua");
    let mut d = TapeDrive::new(rig.transport());
    // A data command is not retried over a medium change: the caller sees it.
    let e = d.write(&[1, 2, 3]).unwrap_err();
    assert_eq!(e.class(), ErrorClass::UnitAttention, "{mode:?}: {e}");
    // Both paths are a nexus the drive has not seen yet (in process,
    // initiator 0 of a fresh library; over iSCSI, a new session): its first
    // unit attention is 29/00 (power on, reset), which outranks 28/00.
    assert!(e.is_asc(0x29, 0x00), "{mode:?}: want 29/00: {e}");
    // Status-type commands consume the pending conditions and succeed.
    let st = d.status().expect("status");
    assert!(st.online && st.bot, "{st:?}");
    assert_eq!((st.file, st.block), (Some(0), Some(0)));
    assert_eq!(d.write(&[1, 2, 3]).unwrap(), WriteStatus::Ok);

    // A reload raises 28/00 again; load() consumes it so writing works.
    d.rewind(false).unwrap();
    d.unload().unwrap();
    d.load().unwrap();
    assert_eq!(d.write(&[4, 5, 6]).unwrap(), WriteStatus::Ok);
}

fn positions_after_filemarks_and_end_of_data(mode: Mode) {
    let rig = Rig::new(mode, "positions");
    let mut d = rig.drive();
    for i in 0..3 {
        d.write(&record(i, 1000)).unwrap();
    }
    d.write_filemarks(1, false).unwrap();
    d.write(&record(10, 500)).unwrap();
    d.write(&record(11, 500)).unwrap();
    d.write_filemarks(1, false).unwrap();
    let p = d.read_position().unwrap();
    assert_eq!((p.block, p.file), (Some(7), Some(2)));
    let st = d.status().unwrap();
    assert_eq!(
        (st.file, st.block, st.logical_block),
        (Some(2), Some(0), Some(7))
    );

    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 4096];
    for i in 0..3 {
        assert_eq!(
            d.read(&mut buf).unwrap(),
            ReadOutcome::ShortBlock { len: 1000 }
        );
        assert_eq!(&buf[..1000], &record(i, 1000)[..]);
    }
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    let st = d.status().unwrap();
    assert!(st.eof && !st.bot);
    assert_eq!(
        (st.file, st.block, st.logical_block),
        (Some(1), Some(0), Some(4))
    );
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 500 }
    );
    let st = d.status().unwrap();
    assert_eq!((st.file, st.block), (Some(1), Some(1)));
    assert!(!st.eof);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 500 }
    );
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
    assert!(d.status().unwrap().eod);
    // End of data does not move the tape.
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
    assert_eq!(d.read_position().unwrap().block, Some(7));

    // Backward over filemarks and blocks, then forward.
    assert_eq!(
        d.space(SpaceKind::Filemarks, -2).unwrap(),
        SpaceOutcome::Done
    );
    assert_eq!(d.read_position().unwrap().block, Some(3));
    assert_eq!(d.space(SpaceKind::Blocks, -1).unwrap(), SpaceOutcome::Done);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 1000 }
    );
    assert_eq!(&buf[..1000], &record(2, 1000)[..]);
    // Spacing blocks stops at a filemark, with the residue.
    assert_eq!(
        d.space(SpaceKind::Blocks, 5).unwrap(),
        SpaceOutcome::Filemark { remaining: 5 }
    );
    let st = d.status().unwrap();
    assert_eq!((st.file, st.block), (Some(1), Some(0)));
    assert_eq!(
        d.space(SpaceKind::Filemarks, 3).unwrap(),
        SpaceOutcome::EndOfData { remaining: 2 }
    );
    // Spacing back beyond BOP stops there.
    assert!(matches!(
        d.space(SpaceKind::Blocks, -100).unwrap(),
        SpaceOutcome::BeginningOfPartition { .. } | SpaceOutcome::Filemark { .. }
    ));
    assert_eq!(
        d.space(SpaceKind::EndOfData, 0).unwrap(),
        SpaceOutcome::Done
    );
    assert_eq!(d.read_position().unwrap().block, Some(7));

    // LOCATE to an object and read it.
    d.locate(5, None).unwrap();
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 500 }
    );
    assert_eq!(&buf[..500], &record(11, 500)[..]);
    d.locate(1, Some(0)).unwrap();
    let st = d.status().unwrap();
    assert_eq!((st.file, st.block), (Some(0), Some(1)));
    // Beyond end of data: BLANK CHECK.
    let e = d.locate(100, None).unwrap_err();
    assert_eq!(e.class(), ErrorClass::BlankCheck, "{e}");
}

fn short_and_long_reads_report_true_lengths(mode: Mode) {
    let rig = Rig::new(mode, "ili");
    let mut d = rig.drive();
    d.write(&record(1, 1000)).unwrap();
    d.write(&record(2, 4096)).unwrap();
    d.write(&record(3, 1024)).unwrap();
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 1024];
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 1000 }
    );
    assert_eq!(&buf[..1000], &record(1, 1000)[..]);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::LongBlock {
            len: 4096,
            copied: 1024
        }
    );
    assert_eq!(&buf[..], &record(2, 4096)[..1024]);
    // The tape is past the long record.
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Block { len: 1024 });
    assert_eq!(&buf[..], &record(3, 1024)[..]);
}

fn misreported_residual_is_a_transport_error(mode: Mode) {
    let rig = Rig::new(mode, "residual");
    let mut d = rig.drive();
    d.write(&record(1, 1000)).unwrap();
    d.rewind(false).unwrap();
    rig.lib
        .with_drive(0, |x| {
            x.faults_mut().misreport_residual = Some(ResidualLie::Zero)
        })
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let e = d.read(&mut buf).unwrap_err();
    assert!(is_mismatch(&e), "{e}");
    assert_eq!(e.class(), ErrorClass::Transport);
}

/// The adapter lies about the residual (field note A8): Strict refuses and
/// names the option; TrustSense reads every record, filemark and end of
/// data with their true lengths and contents.
fn trust_sense_reads_true_lengths_despite_the_residual(mode: Mode) {
    let rig = Rig::new(mode, "trust-sense");
    let mut d = rig.drive();
    d.write(&record(1, 1000)).unwrap();
    d.write(&record(2, 300)).unwrap();
    d.write(&record(3, 4096)).unwrap();
    d.write_filemarks(1, false).unwrap();
    d.rewind(false).unwrap();
    let lie = |l| {
        rig.lib
            .with_drive(0, |x| x.faults_mut().misreport_residual = Some(l))
            .unwrap()
    };
    lie(ResidualLie::Zero);
    let mut buf = vec![0u8; 2048];
    let e = d.read(&mut buf).unwrap_err();
    assert!(is_mismatch(&e), "{e}");
    assert!(e.to_string().contains("--trust-sense-length"), "{e}");
    d.rewind(false).unwrap();
    d.set_residual_policy(ResidualPolicy::TrustSense);
    buf.fill(0);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 1000 }
    );
    assert_eq!(&buf[..1000], &record(1, 1000)[..]);
    // Another kind of lie: a residual 7 bytes too large. In process the
    // data is intact; reel's iSCSI target sends only what the residual
    // leaves, so there the "lie" is real data loss that no initiator can
    // tell from sense (why TrustSense is opt-in).
    if mode == Mode::InProcess {
        lie(ResidualLie::Plus(7));
    }
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 300 }
    );
    assert_eq!(&buf[..300], &record(2, 300)[..]);
    lie(ResidualLie::Zero);
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::LongBlock {
            len: 4096,
            copied: 2048
        }
    );
    assert_eq!(&buf[..], &record(3, 4096)[..2048]);
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
}

// In process only: the HBA transfer limit is a fault of the in-process
// transport; an iSCSI session has no such limit to lower.
#[test]
fn blocks_above_the_hba_limit_are_refused() {
    let rig = Rig::new(Mode::InProcess, "maxxfer");
    let mut d = TapeDrive::new(
        rig.lib
            .drive_transport(0)
            .unwrap()
            .with_max_transfer(64 * 1024),
    );
    d.wait_ready(Duration::from_secs(10)).unwrap();
    let e = d.write(&vec![0u8; 128 * 1024]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("131072") && msg.contains("65536"), "{msg}");
    assert!(d.set_block_size(128 * 1024).is_err());
    assert_eq!(d.write(&vec![0u8; 64 * 1024]).unwrap(), WriteStatus::Ok);
}

fn early_warning_then_volume_overflow(mode: Mode) {
    let mut spec = CartridgeSpec::new("SMALL1L9", Generation::Lto9);
    spec.capacity = 4 * 1024 * 1024;
    let rig = Rig::with(mode, "ew", Generation::Lto9, Some(spec));
    let mut d = rig.drive();
    d.set_compression(false).unwrap();
    let rec = vec![0x5au8; 64 * 1024];
    let mut written = 0u64;
    let mut first_warning = None;
    let overflow = loop {
        match d.write(&rec) {
            Ok(WriteStatus::Ok) => assert!(first_warning.is_none(), "warning must persist"),
            Ok(s) => {
                first_warning.get_or_insert((written, s));
            }
            Err(e) => break e,
        }
        written += 1;
        assert!(written < 1000, "never hit the end of the cartridge");
    };
    let (at, state) = first_warning.expect("early warning before overflow");
    assert_eq!(state, WriteStatus::EarlyWarning);
    assert!(at > 0 && at < written);
    assert_eq!(overflow.class(), ErrorClass::VolumeOverflow, "{overflow}");
    assert!(d.status().unwrap().eot);
    // Records written in the EW zone were written: read them all back.
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..written {
        assert_eq!(
            d.read(&mut buf).unwrap(),
            ReadOutcome::Block { len: rec.len() }
        );
    }
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
}

fn programmable_early_warning_is_a_state(mode: Mode) {
    let mut spec = CartridgeSpec::new("PEW001L9", Generation::Lto9);
    spec.capacity = 4 * 1024 * 1024;
    let rig = Rig::with(mode, "pew", Generation::Lto9, Some(spec));
    rig.lib
        .with_drive(0, |x| {
            x.cartridge_mut().map(|c| c.set_pew_size(1024 * 1024))
        })
        .unwrap();
    let mut d = rig.drive();
    d.set_compression(false).unwrap();
    let rec = vec![0xa5u8; 64 * 1024];
    let mut states = Vec::new();
    for _ in 0..200 {
        match d.write(&rec) {
            Ok(s) => {
                if states.last() != Some(&s) {
                    states.push(s);
                }
            }
            Err(e) => {
                assert_eq!(e.class(), ErrorClass::VolumeOverflow, "{e}");
                break;
            }
        }
    }
    assert_eq!(
        states,
        vec![
            WriteStatus::Ok,
            WriteStatus::ProgrammableEarlyWarning,
            WriteStatus::EarlyWarning
        ]
    );
}

fn write_protected_cartridge(mode: Mode) {
    let rig = Rig::with(mode, "wp", Generation::Lto9, None);
    let lib = &rig.lib;
    lib.create_cartridge(&CartridgeSpec::new("WP0001L9", Generation::Lto9))
        .unwrap();
    lib.set_write_protect("WP0001L9", true).unwrap();
    lib.insert(0, "WP0001L9").unwrap();
    let mut d = rig.drive();
    assert!(d.status().unwrap().write_protected);
    let e = d.write(&[0u8; 512]).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
    let e = d.write_filemarks(1, false).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
}

fn worm_cartridge_appends_but_never_overwrites(mode: Mode) {
    let mut spec = CartridgeSpec::new("WORM01L9", Generation::Lto9);
    spec.worm = true;
    let rig = Rig::with(mode, "worm", Generation::Lto9, Some(spec));
    let mut d = rig.drive();
    assert!(d.identify().unwrap().worm_capable);
    d.write(&record(1, 100)).unwrap();
    d.write_filemarks(1, false).unwrap();
    d.rewind(false).unwrap();
    let e = d.write(&record(2, 100)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::DataProtect, "{e}");
    assert_eq!(
        d.space(SpaceKind::EndOfData, 0).unwrap(),
        SpaceOutcome::Done
    );
    assert_eq!(d.write(&record(3, 100)).unwrap(), WriteStatus::Ok);
    assert!(d.volume_statistics().unwrap().worm == Some(true));
}

fn generation_rules(mode: Mode) {
    // An LTO-9 drive reads and writes LTO-8 media, at the LTO-8 density.
    let rig = Rig::with(mode, "gen", Generation::Lto9, None);
    rig.lib
        .create_cartridge(&CartridgeSpec::new("GEN008L8", Generation::Lto8))
        .unwrap();
    rig.lib.insert(0, "GEN008L8").unwrap();
    let mut d = rig.drive();
    assert_eq!(d.write(&record(1, 100)).unwrap(), WriteStatus::Ok);
    let st = d.status().unwrap();
    assert_eq!((st.density_code, st.density.as_str()), (0x5e, "LTO-8"));
    d.rewind(false).unwrap();
    d.unload().unwrap();
    rig.lib.eject(0).unwrap();

    // LTO-7 media is unsupported in an LTO-9 drive: never ready, and the
    // drive raises TapeAlert 0Ch (unsupported format).
    rig.lib
        .create_cartridge(&CartridgeSpec::new("GEN007L7", Generation::Lto7))
        .unwrap();
    rig.lib.insert(0, "GEN007L7").unwrap();
    let e = d.wait_ready(Duration::from_millis(300)).unwrap_err();
    assert!(e.is_asc(0x30, 0x00), "incompatible medium installed: {e}");
    assert!(d.tape_alerts().unwrap().is_set(0x0c));
    assert!(!d.status().unwrap().online);
}

fn fixed_block_mode(mode: Mode) {
    let rig = Rig::new(mode, "fixed");
    let mut d = rig.drive();
    d.set_block_size(512).unwrap();
    assert_eq!(d.block_size().unwrap(), 512);
    assert_eq!(d.status().unwrap().block_size, 512);
    let data = record(7, 2048);
    d.write(&data).unwrap();
    d.write_filemarks(1, false).unwrap();
    assert!(
        d.write(&[0u8; 100]).is_err(),
        "not a multiple of the block size"
    );
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 4096];
    // Four blocks then the filemark: the data first, the filemark next.
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Block { len: 2048 });
    assert_eq!(&buf[..2048], &data[..]);
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::Filemark);
    d.set_block_size(0).unwrap();
    assert_eq!(d.block_size().unwrap(), 0);
}

fn blocked_writer_and_reader_round_trip(mode: Mode) {
    let rig = Rig::new(mode, "blocked");
    let mut d = rig.drive();
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    {
        let mut w = TapeWriter::new(&mut d, 4096).unwrap();
        for chunk in payload.chunks(333) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.records(), 2);
        assert!(!w.early_warning());
        assert_eq!(w.finish(true).unwrap(), WriteStatus::Ok);
    }
    d.write(&record(9, 10)).unwrap();
    d.rewind(false).unwrap();
    let mut back = Vec::new();
    let mut r = TapeReader::new(&mut d, 4096).unwrap();
    r.read_to_end(&mut back).unwrap();
    assert_eq!(r.stop(), Some(ReaderStop::Filemark));
    assert_eq!(back, payload);
    // The next file is a 10-byte record, then end of data.
    let mut r = TapeReader::new(&mut d, 4096).unwrap();
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, record(9, 10));
    assert_eq!(r.stop(), Some(ReaderStop::EndOfData));
}

fn blocked_writer_reports_early_warning_and_overflow(mode: Mode) {
    let mut spec = CartridgeSpec::new("SPAN01L9", Generation::Lto9);
    spec.capacity = 2 * 1024 * 1024;
    let rig = Rig::with(mode, "span", Generation::Lto9, Some(spec));
    let mut d = rig.drive();
    d.set_compression(false).unwrap();
    let mut w = TapeWriter::new(&mut d, 32 * 1024).unwrap();
    let chunk = vec![1u8; 32 * 1024];
    let mut saw_ew = false;
    let err = loop {
        match w.write_all(&chunk) {
            Ok(()) => saw_ew |= w.early_warning(),
            Err(e) => break e,
        }
    };
    assert!(saw_ew, "caller could span before the end");
    assert_eq!(err.kind(), std::io::ErrorKind::StorageFull);
}

fn compression_mam_logs_and_alerts(mode: Mode) {
    let rig = Rig::new(mode, "meta");
    let mut d = rig.drive();
    d.set_compression(true).unwrap();
    assert!(d.compression().unwrap().enabled);
    d.set_compression(false).unwrap();
    assert!(!d.compression().unwrap().enabled);
    d.set_buffered_mode(true).unwrap();
    assert_eq!(d.medium_settings().unwrap().buffered_mode, 1);

    let attrs = vec![
        Attribute::text(mam::APPLICATION_VENDOR, "REEL").unwrap(),
        Attribute::text(mam::USER_MEDIUM_TEXT_LABEL, "weekly full").unwrap(),
        Attribute::text(mam::MEDIA_POOL, "pool-a").unwrap(),
        Attribute::text(mam::BARCODE, "REEL01L9").unwrap(),
    ];
    d.write_mam(&attrs).unwrap();
    let m = d.mam().unwrap();
    assert_eq!(m.application_vendor.as_deref(), Some("REEL"));
    assert_eq!(m.user_label.as_deref(), Some("weekly full"));
    assert_eq!(m.media_pool.as_deref(), Some("pool-a"));
    assert_eq!(m.barcode.as_deref(), Some("REEL01L9"));
    assert!(m.load_count.is_some_and(|n| n >= 1));

    d.write(&vec![3u8; 100_000]).unwrap();
    d.flush().unwrap();
    let c = d.sequential_access_counters().unwrap();
    assert!(c.host_bytes_written.is_some_and(|n| n >= 100_000), "{c:?}");
    let v = d.volume_statistics().unwrap();
    assert_eq!(v.volume_serial.as_deref(), Some("REEL01L9"));
    assert!(v.mounts.is_some_and(|n| n >= 1));
    let dens = d.report_density(true).unwrap();
    assert!(dens.iter().any(|x| x.primary_code == 0x60 && x.writable));

    assert!(d.tape_alerts().unwrap().is_empty());
    assert!(!d.status().unwrap().cleaning_needed);
    rig.lib.with_drive(0, |x| x.set_tape_alert(0x14)).unwrap();
    // Page 12h does not clear the flag; page 2Eh does.
    assert!(d.tape_alerts().unwrap().is_set(0x14));
    assert!(d.status().unwrap().cleaning_needed);
    assert!(d.tape_alerts_clearing().unwrap().is_set(0x14));
    assert!(d.tape_alerts().unwrap().is_empty());
}

fn status_without_medium(mode: Mode) {
    let rig = Rig::new(mode, "nomedium");
    let mut d = rig.drive();
    d.rewind(false).unwrap();
    d.unload().unwrap();
    rig.lib.eject(0).unwrap();
    let st = d.status().unwrap();
    assert!(st.door_open && !st.online, "{st:?}");
    let e = d.test_unit_ready().unwrap_err();
    assert_eq!(e.class(), ErrorClass::NotReady);
}

fn erase_and_prevent_removal(mode: Mode) {
    let rig = Rig::new(mode, "erase");
    let mut d = rig.drive();
    for i in 0..4 {
        d.write(&record(i, 200)).unwrap();
    }
    d.locate(2, None).unwrap();
    d.erase(false).unwrap();
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 512];
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 200 }
    );
    assert_eq!(
        d.read(&mut buf).unwrap(),
        ReadOutcome::ShortBlock { len: 200 }
    );
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
    d.prevent_removal(true).unwrap();
    assert!(d.unload().is_err() || rig.lib.eject(0).is_err());
    d.prevent_removal(false).unwrap();
}

fn immediate_rewind_and_erase_report_progress_until_done(mode: Mode) {
    use reel_drivers::tape::drive::OperationState;
    let rig = Rig::new(mode, "immed");
    let mut d = rig.drive();
    for i in 0..3 {
        d.write(&record(i, 1000)).unwrap();
    }
    rig.lib
        .with_drive(0, |x| {
            x.faults_mut().rewind_delay = Duration::from_millis(600);
            x.faults_mut().erase_delay = Duration::from_millis(600);
        })
        .unwrap();
    assert_eq!(d.operation_state().unwrap(), OperationState::Done);
    d.rewind(true).unwrap();
    let mut polls_in_progress = 0;
    while let OperationState::InProgress { .. } = d.operation_state().unwrap() {
        polls_in_progress += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(polls_in_progress >= 2, "rewind finished at once");
    assert_eq!(d.read_position().unwrap().block, Some(0));

    d.start_erase(true).unwrap();
    let mut saw_progress = false;
    while let OperationState::InProgress { fraction } = d.operation_state().unwrap() {
        saw_progress |= fraction.is_some_and(|f| (0.0..1.0).contains(&f));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(saw_progress, "no progress indication during a long erase");
    // The erase at BOT left an empty tape.
    d.rewind(false).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(d.read(&mut buf).unwrap(), ReadOutcome::EndOfData);
}
