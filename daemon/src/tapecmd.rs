//! `reelctl tape -f DEVICE <command>`: mt-st's commands with reel's
//! additions, each returning a serde value (printed as JSON with `--json`).

use std::io::{Read, Write};

use clap::Subcommand;
use reel_drivers::ScsiError;
use reel_drivers::scsi::attributes::Attribute;
use reel_drivers::tape::SpaceKind;
use reel_drivers::tape::mam::MamInfo;
use serde_json::{Value, json};

use crate::mt::density::{format_densities, mt_density_name};
use crate::mt::status::{flag_names, format_status};
use crate::tape::Tape;

#[derive(Debug, Subcommand)]
pub enum TapeCommand {
    /// Drive and position status (mt-st's format without --json).
    Status,
    /// Rewind to the beginning of the partition.
    Rewind,
    /// Forward over COUNT filemarks.
    Fsf {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Backward over COUNT filemarks (ends on the BOT side of the last).
    Bsf {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Forward COUNT filemarks, then back before the last one.
    Fsfm {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Backward COUNT filemarks, then forward after the last one.
    Bsfm {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Forward over COUNT records.
    Fsr {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Backward over COUNT records.
    Bsr {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Space to end of data.
    #[command(alias = "seod")]
    Eod,
    /// Print the logical block position.
    Tell,
    /// Locate to a logical block.
    Seek {
        block: u64,
        #[arg(long)]
        partition: Option<u8>,
    },
    /// Write COUNT filemarks (synchronous: data is on tape afterwards).
    #[command(alias = "eof")]
    Weof {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Setmarks: obsolete (SSC-3 removed them), answered as unsupported.
    Wset {
        #[arg(default_value_t = 1)]
        count: u32,
    },
    /// Block size in bytes, 0 = variable.
    Setblk { size: u32 },
    /// Show (no argument) or set hardware compression: on/off/1/0.
    Compression { state: Option<String> },
    /// Erase from the current position to the end of the partition.
    Erase {
        /// Short erase (write EOD only) instead of a long erase.
        #[arg(long)]
        short: bool,
    },
    /// Load the tape.
    Load,
    /// Unload (eject) the tape.
    #[command(aliases = ["offline", "rewoffl", "eject"])]
    Unload,
    /// Prevent medium removal.
    Lock,
    /// Allow medium removal.
    Unlock,
    /// Retension (a LOAD on LTO).
    Retension,
    /// mt-st's table of density code names.
    Densities,
    /// Active TapeAlert flags.
    Tapealert,
    /// Medium auxiliary memory: read, or `mam set NAME|ID VALUE`.
    Mam {
        #[command(subcommand)]
        action: Option<MamAction>,
    },
    /// REPORT DENSITY SUPPORT (drive, or the loaded medium with --media).
    Density {
        #[arg(long)]
        media: bool,
    },
    /// Volume statistics (log page 17h).
    VolumeStats,
    /// INQUIRY, VPD pages, block limits, supported commands.
    Identify,
    /// Write stdin (or FILE) to tape in records of --block-size bytes, then
    /// a filemark.
    Write {
        #[arg(long, default_value_t = 262144)]
        block_size: usize,
        /// Also end a tape file (synchronous filemark) every BYTES bytes,
        /// reporting each on stderr once it is durable.
        #[arg(long, value_name = "BYTES")]
        filemark_every: Option<u64>,
        file: Option<std::path::PathBuf>,
    },
    /// Read records up to the next filemark to stdout (or FILE).
    Read {
        #[arg(long, default_value_t = 1 << 20)]
        block_size: usize,
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MamAction {
    /// Write a host attribute: vendor, name, version, label, barcode, pool,
    /// host, or a numeric id (0x0800..0x0BFF) for an ASCII attribute.
    Set { attribute: String, value: String },
}

pub enum Output {
    Value(Value),
    Text(String),
    Nothing,
}

#[derive(Debug, thiserror::Error)]
pub enum TapeCmdError {
    #[error(transparent)]
    Scsi(#[from] ScsiError),
    #[error(transparent)]
    Tape(#[from] crate::tape::TapeError),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Usage(String),
    /// The data on tape does not fit the request (a record too long).
    #[error("{0}")]
    Data(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl TapeCmdError {
    /// mt's convention: 1 for usage errors, 2 for failed operations.
    pub fn exit_code(&self) -> u8 {
        match self {
            TapeCmdError::Usage(_) => 1,
            _ => 2,
        }
    }
}

pub fn error_json(e: &TapeCmdError) -> Value {
    match e {
        TapeCmdError::Scsi(s) => json!({
            "error": s.to_string(),
            "class": s.class(),
            "sense": s.raw_sense().map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        }),
        other => json!({ "error": other.to_string() }),
    }
}

fn position_json(tape: &mut Tape) -> Result<Value, TapeCmdError> {
    let p = tape.position()?;
    Ok(
        json!({ "partition": p.partition, "block": p.block, "file": p.file,
               "bop": p.bop, "eop": p.eop }),
    )
}

/// What a movement command prints: nothing for people, the new position
/// with --json.
fn moved(tape: &mut Tape, json: bool) -> Result<Output, TapeCmdError> {
    if json {
        Ok(Output::Value(json!({ "position": position_json(tape)? })))
    } else {
        Ok(Output::Nothing)
    }
}

fn mam_attribute(name: &str, value: &str) -> Result<Attribute, TapeCmdError> {
    use reel_drivers::scsi::attributes::mam;
    let id = match name.to_ascii_lowercase().as_str() {
        "vendor" | "application-vendor" => mam::APPLICATION_VENDOR,
        "name" | "application-name" => mam::APPLICATION_NAME,
        "version" | "application-version" => mam::APPLICATION_VERSION,
        "label" | "user-label" => mam::USER_MEDIUM_TEXT_LABEL,
        "barcode" => mam::BARCODE,
        "pool" | "media-pool" => mam::MEDIA_POOL,
        "host" | "owning-host" => mam::OWNING_HOST_TEXTUAL_NAME,
        other => {
            let (v, used) = crate::mt::args::strtol(other);
            if used == 0 || used != other.len() {
                return Err(TapeCmdError::Usage(format!(
                    "unknown MAM attribute {other:?}"
                )));
            }
            u16::try_from(v)
                .ok()
                .filter(|id| (0x0800..=0x0bff).contains(id))
                .ok_or_else(|| {
                    TapeCmdError::Usage(format!(
                        "attribute id {other} is not a host attribute (0x0800..0x0BFF)"
                    ))
                })?
        }
    };
    Attribute::text(id, value).map_err(|e| TapeCmdError::Usage(e.to_string()))
}

pub fn run(tape: &mut Tape, cmd: TapeCommand, json: bool) -> Result<Output, TapeCmdError> {
    use TapeCommand as C;
    match cmd {
        C::Densities => {
            if json {
                let list: Vec<Value> = crate::mt::density::DENSITIES
                    .iter()
                    .map(|(c, n)| json!({"code": c, "name": n}))
                    .collect();
                return Ok(Output::Value(Value::Array(list)));
            }
            return Ok(Output::Text(format_densities()));
        }
        C::Status => {
            let s = tape.mt_status();
            if !json {
                return Ok(Output::Text(format_status(&s)));
            }
            return Ok(Output::Value(json!({
                "file": s.file, "block": s.block, "partition": s.partition,
                "block_size": s.block_size, "density_code": s.density,
                "density": mt_density_name(s.density),
                "soft_errors": s.soft_errors, "gstat": s.gstat,
                "flags": flag_names(s.gstat),
            })));
        }
        _ => {}
    }
    tape.ready()?;
    match cmd {
        C::Status | C::Densities => Ok(Output::Nothing),
        C::Rewind => {
            tape.rewind()?;
            moved(tape, json)
        }
        C::Fsf { count } => {
            tape.space(SpaceKind::Filemarks, i64::from(count))?;
            moved(tape, json)
        }
        C::Bsf { count } => {
            tape.space(SpaceKind::Filemarks, -i64::from(count))?;
            moved(tape, json)
        }
        C::Fsfm { count } => {
            tape.fsfm(i64::from(count))?;
            moved(tape, json)
        }
        C::Bsfm { count } => {
            tape.bsfm(i64::from(count))?;
            moved(tape, json)
        }
        C::Fsr { count } => {
            tape.space(SpaceKind::Blocks, i64::from(count))?;
            moved(tape, json)
        }
        C::Bsr { count } => {
            tape.space(SpaceKind::Blocks, -i64::from(count))?;
            moved(tape, json)
        }
        C::Eod => {
            tape.space(SpaceKind::EndOfData, 0)?;
            moved(tape, json)
        }
        C::Tell => {
            let b = tape.tell()?;
            if json {
                Ok(Output::Value(json!({ "block": b })))
            } else {
                Ok(Output::Text(format!("At block {b}.\n")))
            }
        }
        C::Seek { block, partition } => {
            tape.locate(block, partition)?;
            moved(tape, json)
        }
        C::Weof { count } => {
            tape.drive.write_filemarks(count, false)?;
            moved(tape, json)
        }
        C::Wset { .. } => Err(TapeCmdError::Unsupported(
            "setmarks are obsolete (removed in SSC-3) and not supported".into(),
        )),
        C::Setblk { size } => {
            tape.drive.set_block_size(size)?;
            ok(json)
        }
        C::Compression { state } => {
            if let Some(s) = state {
                let on = match s.to_ascii_lowercase().as_str() {
                    "on" | "1" | "yes" | "true" => true,
                    "off" | "0" | "no" | "false" => false,
                    other => {
                        return Err(TapeCmdError::Usage(format!(
                            "compression: expected on or off, got {other:?}"
                        )));
                    }
                };
                tape.drive.set_compression(on)?;
            }
            let on = tape.drive.compression()?.enabled;
            if json {
                Ok(Output::Value(json!({ "compression": on })))
            } else {
                Ok(Output::Text(format!(
                    "compression {}\n",
                    if on { "on" } else { "off" }
                )))
            }
        }
        C::Erase { short } => {
            tape.erase(!short)?;
            ok(json)
        }
        C::Load => {
            tape.drive.load()?;
            moved(tape, json)
        }
        C::Unload => {
            tape.drive.unload()?;
            ok(json)
        }
        C::Lock => {
            tape.drive.prevent_removal(true)?;
            ok(json)
        }
        C::Unlock => {
            tape.drive.prevent_removal(false)?;
            ok(json)
        }
        C::Retension => {
            tape.drive.load()?;
            ok(json)
        }
        C::Tapealert => {
            let alerts = tape.drive.tape_alerts()?;
            let flags: Vec<Value> = alerts
                .active()
                .iter()
                .map(|f| json!({"flag": f.number, "name": f.name, "severity": f.severity.name()}))
                .collect();
            if !json && flags.is_empty() {
                return Ok(Output::Text("no TapeAlert flags set\n".into()));
            }
            Ok(Output::Value(json!({ "flags": flags })))
        }
        C::Mam { action: None } => {
            let attrs = tape.drive.read_mam()?;
            let info = MamInfo::from_attributes(&attrs);
            let all: Vec<Value> = attrs
                .iter()
                .map(|a| {
                    json!({
                        "id": format!("0x{:04x}", a.id),
                        "name": reel_drivers::scsi::attributes::mam::name(a.id),
                        "read_only": a.read_only,
                        "text": a.as_text(),
                        "value": a.as_u64(),
                    })
                })
                .collect();
            if json {
                Ok(Output::Value(json!({ "summary": info, "attributes": all })))
            } else {
                Ok(Output::Value(
                    serde_json::to_value(&info).unwrap_or(Value::Null),
                ))
            }
        }
        C::Mam {
            action: Some(MamAction::Set { attribute, value }),
        } => {
            let a = mam_attribute(&attribute, &value)?;
            tape.drive.write_mam(&[a])?;
            ok(json)
        }
        C::Density { media } => {
            let d = tape.drive.report_density(media)?;
            Ok(Output::Value(json!({ "densities": d })))
        }
        C::VolumeStats => {
            let v = tape.drive.volume_statistics()?;
            Ok(Output::Value(
                serde_json::to_value(&v).unwrap_or(Value::Null),
            ))
        }
        C::Identify => {
            let id = tape.drive.identify()?;
            Ok(Output::Value(
                serde_json::to_value(&id).unwrap_or(Value::Null),
            ))
        }
        C::Write {
            block_size,
            filemark_every,
            file,
        } => {
            let mut input: Box<dyn Read> = match file {
                Some(p) => Box::new(std::fs::File::open(p)?),
                None => Box::new(std::io::stdin().lock()),
            };
            let mut ack = |files: u64, bytes: u64| {
                if filemark_every.is_some() {
                    eprintln!(
                        "reelctl: filemark {files} written after {bytes} bytes (synchronous)"
                    );
                }
            };
            let bytes = write_stream(tape, &mut input, block_size, filemark_every, &mut ack)?;
            if json {
                Ok(Output::Value(
                    json!({ "bytes": bytes, "position": position_json(tape)? }),
                ))
            } else {
                Ok(Output::Nothing)
            }
        }
        C::Read { block_size, file } => {
            let mut output: Box<dyn Write> = match file {
                Some(p) => Box::new(std::fs::File::create(p)?),
                None => Box::new(std::io::stdout().lock()),
            };
            let bytes = read_stream(tape, &mut output, block_size)?;
            output.flush()?;
            if json {
                Ok(Output::Value(json!({ "bytes": bytes })))
            } else {
                Ok(Output::Nothing)
            }
        }
    }
}

fn ok(json: bool) -> Result<Output, TapeCmdError> {
    Ok(if json {
        Output::Value(json!({ "ok": true }))
    } else {
        Output::Nothing
    })
}

/// Copies `input` to tape in records of `block_size` (the last one may be
/// short), then writes a synchronous filemark. With `filemark_every`, a
/// synchronous filemark also follows every that many bytes (each segment is
/// a tape file) and `ack(files, bytes)` is called once it returned: from
/// then on those bytes survive a crash. Returns the bytes written.
pub fn write_stream(
    tape: &mut Tape,
    input: &mut dyn Read,
    block_size: usize,
    filemark_every: Option<u64>,
    ack: &mut dyn FnMut(u64, u64),
) -> Result<u64, TapeCmdError> {
    if block_size == 0 {
        return Err(TapeCmdError::Usage("block size must not be 0".into()));
    }
    if let Some(n) = filemark_every
        && (n == 0 || !n.is_multiple_of(block_size as u64))
    {
        return Err(TapeCmdError::Usage(format!(
            "--filemark-every {n} must be a non-zero multiple of the block size {block_size}"
        )));
    }
    let mut buf = vec![0u8; block_size];
    let mut total = 0u64;
    let mut in_file = 0u64;
    let mut files = 0u64;
    loop {
        let mut filled = 0;
        while filled < block_size {
            let n = match input.read(&mut buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled > 0 {
            tape.drive.write(&buf[..filled])?;
            total += filled as u64;
            in_file += filled as u64;
        }
        let end = filled < block_size;
        if filemark_every.is_some_and(|n| in_file >= n) || (end && (in_file > 0 || files == 0)) {
            tape.drive.write_filemarks(1, false)?;
            files += 1;
            in_file = 0;
            ack(files, total);
        }
        if end {
            return Ok(total);
        }
    }
}

/// Copies records up to the next filemark (or end of data) to `output`.
pub fn read_stream(
    tape: &mut Tape,
    output: &mut dyn Write,
    block_size: usize,
) -> Result<u64, TapeCmdError> {
    use reel_drivers::tape::ReadOutcome;
    let mut buf = vec![0u8; block_size.max(1)];
    let mut total = 0u64;
    loop {
        match tape.drive.read(&mut buf)? {
            ReadOutcome::Block { len } | ReadOutcome::ShortBlock { len } => {
                output.write_all(&buf[..len])?;
                total += len as u64;
            }
            ReadOutcome::LongBlock { len, .. } => {
                return Err(TapeCmdError::Data(format!(
                    "a {len}-byte record does not fit the {block_size}-byte buffer; use --block-size {len}"
                )));
            }
            ReadOutcome::Filemark | ReadOutcome::EndOfData => return Ok(total),
        }
    }
}
