//! reel-bench-iscsi: tape streaming over loopback iSCSI, reel's initiator
//! against reel's target and against tgtd, beside the in-process VTL.
//!
//! Usage: reel-bench-iscsi [--size 2G] [--block 256K]
//! Build with --release for meaningful figures. Needs tgtd (Debian `tgt`);
//! the reel-vtl binary of the same profile is built when missing.

use std::time::Duration;

use reel_drivers::iscsi::initiator::{IscsiAddress, IscsiTransport};
use reel_drivers::tape::TapeDrive;
use reel_hwtests::bench::{self, Throughput, parse_size};
use reel_hwtests::reel_vtl_server::ReelVtlServer;
use reel_hwtests::tgt::{self, TgtConfig, TgtServer};
use reel_vtl::cartridge::{CartridgeSpec, Generation};
use reel_vtl::library::{LibraryConfig, VirtualLibrary};

struct Args {
    size: u64,
    block: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        size: 2 << 30,
        block: 256 << 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--size" => a.size = parse_size(&value()?).ok_or("bad --size")?,
            "--block" => {
                a.block = parse_size(&value()?)
                    .and_then(|b| usize::try_from(b).ok())
                    .ok_or("bad --block")?
            }
            "-h" | "--help" => {
                return Err("usage: reel-bench-iscsi [--size 2G] [--block 256K]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn line(name: &str, t: &Throughput) {
    println!(
        "{name:<28} write {:>8.1} MB/s  read {:>8.1} MB/s  total {:>8.1} MB/s",
        t.write_mbs(),
        t.read_mbs(),
        t.total_mbs()
    );
}

fn in_process(a: &Args) -> Result<Throughput, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lib = VirtualLibrary::create(
        &dir.path().join("lib"),
        LibraryConfig::single_drive(Generation::Lto9),
    )
    .map_err(|e| e.to_string())?;
    let spec = CartridgeSpec::new("BENCH0L9", Generation::Lto9);
    lib.create_cartridge(&spec).map_err(|e| e.to_string())?;
    lib.insert(0, &spec.barcode).map_err(|e| e.to_string())?;
    let mut d = TapeDrive::new(lib.drive_transport(0).map_err(|e| e.to_string())?);
    d.wait_ready(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    bench::stream(&mut d, a.size, a.block).map_err(|e| e.to_string())
}

const READY: Duration = Duration::from_secs(60);

/// Logs in to `lun` of `iqn` on 127.0.0.1:`port` and streams through it.
fn over_iscsi(port: u16, iqn: &str, lun: u64, a: &Args) -> Result<Throughput, String> {
    let addr = IscsiAddress {
        host: "127.0.0.1".into(),
        port,
        target_iqn: iqn.into(),
        lun,
    };
    let t = IscsiTransport::connect(&addr, None).map_err(|e| format!("login: {e}"))?;
    let mut d = TapeDrive::new(t);
    d.wait_ready(READY).map_err(|e| e.to_string())?;
    bench::stream(&mut d, a.size, a.block).map_err(|e| e.to_string())
}

/// reel initiator -> `reel-vtl serve` (the binary of this build profile)
/// with an LTO-9 cartridge in drive 0 on LUN 1.
fn reel_target(a: &Args) -> Result<Throughput, String> {
    const IQN: &str = "iqn.2025-01.org.reel:bench";
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lib = VirtualLibrary::create(
        &dir.path().join("lib"),
        LibraryConfig::single_drive(Generation::Lto9),
    )
    .map_err(|e| e.to_string())?;
    let spec = CartridgeSpec::new("BENCH1L9", Generation::Lto9);
    lib.create_cartridge(&spec).map_err(|e| e.to_string())?;
    lib.insert(0, &spec.barcode).map_err(|e| e.to_string())?;
    lib.save(true).map_err(|e| e.to_string())?;
    drop(lib);
    let config = dir.path().join("reel-vtl.toml");
    std::fs::write(
        &config,
        format!("library = \"lib\"\n[[target]]\niqn = \"{IQN}\"\nluns = {{ 1 = \"drive0\" }}\n"),
    )
    .map_err(|e| e.to_string())?;
    let srv = ReelVtlServer::start(&config).map_err(|e| e.to_string())?;
    let r = over_iscsi(srv.port(), IQN, 1, a);
    let log = srv.log();
    srv.stop().map_err(|e| e.to_string())?;
    r.map_err(|e| format!("{e}\n{log}"))
}

/// reel initiator -> tgtd's SSC LUN, a cartridge image big enough for the
/// run.
fn tgt_target(a: &Args) -> Result<Throughput, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = TgtConfig {
        tape_size_mb: a.size / 1_000_000 + 64,
        slot_barcodes: Vec::new(),
        ..TgtConfig::default()
    };
    let srv = TgtServer::start_with(dir.path(), config).map_err(|e| e.to_string())?;
    let r = over_iscsi(srv.port(), srv.iqn(), tgt::TAPE_LUN, a);
    let log = srv.log();
    srv.stop().map_err(|e| e.to_string())?;
    r.map_err(|e| format!("{e}\n{log}"))
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!(
        "reel-bench-iscsi: {} MiB in {} KiB records (write, then read back)",
        a.size >> 20,
        a.block >> 10
    );
    let run = |name: &str, f: &dyn Fn(&Args) -> Result<Throughput, String>| match f(&a) {
        Ok(t) => {
            line(name, &t);
            t
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    };
    let reel = run("reel initiator -> reel-vtl", &reel_target);
    let tgt = run("reel initiator -> tgtd", &tgt_target);
    let local = run("in-process VTL", &in_process);
    let ratio = reel.total_mbs() / tgt.total_mbs().max(1e-9);
    println!(
        "ratio reel-vtl / tgtd (total): {ratio:.2}x (write {:.2}x, read {:.2}x; goal >= 1.50x)",
        reel.write_mbs() / tgt.write_mbs().max(1e-9),
        reel.read_mbs() / tgt.read_mbs().max(1e-9)
    );
    println!(
        "iSCSI overhead: reel-vtl over loopback runs at {:.0}% of the in-process VTL",
        100.0 * reel.total_mbs() / local.total_mbs().max(1e-9)
    );
}
