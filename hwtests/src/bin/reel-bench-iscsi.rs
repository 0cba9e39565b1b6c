//! reel-bench-iscsi: tape streaming over loopback iSCSI, reel's initiator
//! against reel's target and against tgtd, beside the in-process VTL.
//!
//! Usage: reel-bench-iscsi [--size 2G] [--block 256K]
//! Build with --release for meaningful figures.

use std::time::Duration;

use reel_drivers::tape::TapeDrive;
use reel_hwtests::bench::{self, Throughput, parse_size};
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

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!(
        "reel-bench-iscsi: {} MiB in {} KiB records",
        a.size >> 20,
        a.block >> 10
    );
    let local = match in_process(&a) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("in-process VTL: {e}");
            std::process::exit(1);
        }
    };
    line("in-process VTL", &local);
    // The two loopback legs need reel's iSCSI initiator
    // (reel_drivers::iscsi::initiator::IscsiTransport), which is not in this
    // build yet: say so instead of printing a made-up figure.
    println!("reel initiator -> reel target: not run (no iSCSI initiator in this build)");
    println!("reel initiator -> tgtd:        not run (no iSCSI initiator in this build)");
    std::process::exit(3);
}
