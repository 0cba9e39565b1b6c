//! Runs one parsed mt command against a device, printing exactly what
//! mt-st prints and returning its exit status: 0 done, 1 usage or open
//! error, 2 the operation failed (3 for a bad count unit, as mt-st).

use std::io::Write;

use reel_drivers::ScsiError;
use reel_drivers::tape::SpaceKind;

use super::args::{self, MtExit, MtOp, Open};
use super::density::format_densities;
use super::errno::{self, text};
use super::status::{GMT_ONLINE, GMT_WR_PROT, format_status, format_tell};
use crate::device::OpenError;
use crate::tape::{Tape, TapeError};

/// Output sinks, so the runner can be tested in-process.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

fn emit(io: &mut Io<'_>, e: MtExit) -> i32 {
    let _ = io.out.write_all(e.stdout.as_bytes());
    let _ = io.err.write_all(e.stderr.as_bytes());
    e.code
}

/// `mt ARGS...` (without argv[0]). `open` opens a device address.
pub fn run(
    argv: &[String],
    env_tape: Option<&str>,
    open: &mut dyn FnMut(&str) -> Result<Tape, OpenError>,
    io: &mut Io<'_>,
) -> i32 {
    let inv = match args::parse(argv, env_tape) {
        Ok(i) => i,
        Err(e) => return emit(io, e),
    };
    let cmd = inv.command;
    if cmd.open == Open::NoDevice {
        let _ = io.out.write_all(format_densities().as_bytes());
        return 0;
    }
    if inv.default_device
        && let Ok(md) = std::fs::metadata(&inv.device)
    {
        use std::os::unix::fs::FileTypeExt;
        if !md.file_type().is_char_device() {
            let _ = write!(
                io.err,
                "The default '{}' is not a character device.\n\n{}",
                inv.device,
                args::usage(true)
            );
            return 1;
        }
    }
    let dev = inv.device.clone();
    let mut tape = match open(&dev) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(io.err, "{dev}: {}", e.errno_text());
            tracing::info!("{dev}: {e}");
            return 1;
        }
    };
    // st's open: commands that need a tape fail at open without one, and
    // opening read-write fails on a write-protected tape.
    if cmd.test_online {
        if let Err(e) = tape.ready() {
            let _ = writeln!(io.err, "{dev}: {}", errno::open_not_ready_text(&e));
            tracing::info!("{dev}: {e}");
            return 1;
        }
        if cmd.open == Open::ReadWrite && tape.drive.status().is_ok_and(|s| s.write_protected) {
            let _ = writeln!(io.err, "{dev}: {}", text::EROFS);
            return 1;
        }
    }
    let arg0 = inv.args.first().map(String::as_str);
    let count = || args::parse_count(arg0, cmd.op == MtOp::MakePartition);
    macro_rules! count {
        () => {
            match count() {
                Ok(c) => i64::from(c),
                Err((msg, code)) => {
                    let _ = io.err.write_all(msg.as_bytes());
                    return code;
                }
            }
        };
    }
    let result: Result<(), Failure> = match cmd.op {
        MtOp::Status => {
            let s = tape.mt_status();
            let _ = io.out.write_all(format_status(&s).as_bytes());
            Ok(())
        }
        MtOp::Tell => tape
            .tell()
            .map(|b| {
                let _ = io.out.write_all(format_tell(b).as_bytes());
            })
            .map_err(Failure::Scsi),
        MtOp::WriteFilemarks => {
            let n = count!();
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            tape.drive
                .write_filemarks(n, false)
                .map(|_| ())
                .map_err(Failure::Scsi)
        }
        MtOp::ForwardFiles => {
            let n = count!();
            tape.space(SpaceKind::Filemarks, n).map_err(Failure::from)
        }
        MtOp::BackwardFiles => {
            let n = count!();
            tape.space(SpaceKind::Filemarks, -n).map_err(Failure::from)
        }
        MtOp::ForwardFilesMark => {
            let n = count!();
            tape.fsfm(n).map_err(Failure::from)
        }
        MtOp::BackwardFilesMark => {
            let n = count!();
            tape.bsfm(n).map_err(Failure::from)
        }
        MtOp::ForwardRecords => {
            let n = count!();
            tape.space(SpaceKind::Blocks, n).map_err(Failure::from)
        }
        MtOp::BackwardRecords => {
            let n = count!();
            tape.space(SpaceKind::Blocks, -n).map_err(Failure::from)
        }
        MtOp::EndOfData => tape.space(SpaceKind::EndOfData, 0).map_err(Failure::from),
        MtOp::Rewind => tape.rewind().map_err(Failure::Scsi),
        MtOp::Offline => tape.drive.unload().map_err(Failure::Scsi),
        // LTO has no retension pass; st sends LOAD (with RETEN), so do we.
        MtOp::Retension | MtOp::Load => {
            let _ = count!();
            tape.drive.load().map_err(Failure::Scsi)
        }
        MtOp::Seek => {
            let n = count!();
            tape.locate(n as u64, None).map_err(Failure::Scsi)
        }
        MtOp::Erase => {
            // st: a non-zero argument (the default is 1) asks for a long erase.
            let n = count!();
            tape.erase(n != 0).map_err(Failure::Scsi)
        }
        MtOp::SetBlock => {
            let n = count!();
            tape.drive.set_block_size(n as u32).map_err(Failure::Scsi)
        }
        MtOp::Lock => tape.drive.prevent_removal(true).map_err(Failure::Scsi),
        MtOp::Unlock => tape.drive.prevent_removal(false).map_err(Failure::Scsi),
        MtOp::Compression => {
            let n = count!();
            tape.drive
                .set_compression(n & 1 == 1)
                .map_err(Failure::Scsi)
        }
        MtOp::AbsoluteFile => {
            let n = count!();
            tape.asf(n).map_err(Failure::from)
        }
        MtOp::SetPartition => {
            let n = count!();
            match u8::try_from(n) {
                Ok(p) => tape.locate(0, Some(p)).map_err(Failure::Scsi),
                Err(_) => Err(Failure::Errno(text::EINVAL)),
            }
        }
        MtOp::PartitionSeek => {
            let part = inv.args.first().map_or(0, |s| args::strtol(s).0);
            let block = inv.args.get(1).map_or(0, |s| args::strtol(s).0);
            match (u8::try_from(part), u64::try_from(block)) {
                (Ok(p), Ok(b)) => tape.locate(b, Some(p)).map_err(Failure::Scsi),
                _ => Err(Failure::Errno(text::EINVAL)),
            }
        }
        // Setmarks are obsolete (removed in SSC-3), and partitioning and
        // density changes come with their own issue.
        MtOp::WriteSetmarks
        | MtOp::ForwardSetmarks
        | MtOp::BackwardSetmarks
        | MtOp::MakePartition
        | MtOp::SetDensity => Err(Failure::Errno("Operation not supported")),
        // Options of the Linux st driver: there is no st driver here.
        MtOp::StDriverOption | MtOp::ShowOptions => {
            let _ = writeln!(
                io.err,
                "mt: '{}' sets options of the Linux st driver, which reel does not use.",
                cmd.name
            );
            return 2;
        }
        MtOp::Densities => unreachable_densities(),
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            let msg = match &f {
                Failure::Scsi(e) => {
                    tracing::info!("{dev}: {e}");
                    errno::operation_error_text(e)
                }
                Failure::Errno(t) => t,
            };
            let _ = writeln!(io.err, "{dev}: {msg}");
            // mt-st's test_error: explain the likely cause.
            if cmd.test_online || cmd.test_wprot {
                let s = tape.mt_status();
                if cmd.test_online && s.gstat & GMT_ONLINE == 0 {
                    let _ = writeln!(
                        io.err,
                        "mt: The device is offline (not powered on, no tape ?)."
                    );
                }
                if cmd.test_wprot && s.gstat & GMT_WR_PROT != 0 {
                    let _ = writeln!(io.err, "mt: The tape is write-protected.");
                }
            }
            2
        }
    }
}

enum Failure {
    Scsi(ScsiError),
    Errno(&'static str),
}

impl From<TapeError> for Failure {
    fn from(e: TapeError) -> Failure {
        match e {
            TapeError::Scsi(e) => Failure::Scsi(e),
            // st: a SPACE that stops early fails with EIO.
            TapeError::Incomplete { .. } => {
                tracing::info!("{e}");
                Failure::Errno(text::EIO)
            }
        }
    }
}

/// `densities` never opens a device and is answered above.
fn unreachable_densities() -> Result<(), Failure> {
    Ok(())
}
