//! reelctl: the reel admin CLI. `reelctl tape` drives a tape drive,
//! `reelctl mt` (or this binary called `mt`) is a drop-in mt-st 1.7,
//! `reelctl vtl` manages a virtual tape library directory, `reelctl demo`
//! writes and reads back a tape on a fresh VTL, `reelctl bench tape`
//! compares the tape stack with dd.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use reeld::remote::cmd::RemoteCommand;
use reeld::report;
use reeld::tapecmd::{self, TapeCommand};

#[derive(Parser)]
#[command(
    name = "reelctl",
    version,
    about = "reel admin CLI",
    infer_subcommands = true
)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax); also $REEL_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tape drive commands (mt-st's set and reel's own).
    Tape {
        /// Device: /dev/sgN, /dev/nstN or vtl:DIR#driveN (default $TAPE).
        #[arg(short = 'f', long = "file", env = "TAPE")]
        device: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Take READ lengths from the drive's sense, not the adapter's
        /// residual: only for adapters known to misreport it (QEMU's iSCSI
        /// passthrough, some HBAs). Also $REEL_TRUST_SENSE_LENGTH=1, which
        /// `reelctl mt` honours too.
        #[arg(long, global = true)]
        trust_sense_length: bool,
        #[command(subcommand)]
        cmd: TapeCommand,
    },
    /// mt-st 1.7 compatible: `reelctl mt [-f device] command [count]`.
    #[command(disable_help_flag = true)]
    Mt {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Media changer commands: a table of drives, slots and mail slots,
    /// load/unload/transfer/exchange/import/export/clean/position.
    Changer {
        /// Device: /dev/sgN, /dev/schN or vtl:DIR#changer (default $CHANGER).
        #[arg(short = 'f', long = "file", env = "CHANGER")]
        device: String,
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: reeld::changercmd::ChangerCommand,
    },
    /// mtx 1.3.12 compatible: `reelctl mtx [-f device] command [args]...`.
    #[command(disable_help_flag = true)]
    Mtx {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Virtual tape library directories (operator actions).
    Vtl {
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: reeld::vtlcmd::VtlCommand,
    },
    /// Disk storage devices: directories of backup containers.
    Disk {
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: reeld::diskcmd::DiskCommand,
    },
    /// Writes files to an LTO-8 cartridge in a fresh VTL, reads them back
    /// and verifies them.
    Demo {
        /// Directory for the VTL (default: a temporary one, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Deduplicating chunk store: init, put, get, list, verify, gc.
    Dedup {
        /// Machine-readable output.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        cmd: reeld::dedupcmd::DedupCommand,
    },
    /// Job executors over a local data directory (VTL + catalog).
    #[command(subcommand)]
    Job(reeld::jobscmd::JobCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Devices of a reeld (remote; needs an enrolled client profile).
    Devices(reeld::remote::cmd::DevicesArgs),
    /// Libraries of a reeld: element status, moves (remote).
    Libraries(reeld::remote::cmd::LibrariesArgs),
    /// Cartridges and media sets of a reeld (remote).
    Media(reeld::remote::cmd::MediaArgs),
    /// Storage device pools of a reeld (remote).
    Pools(reeld::remote::cmd::PoolsArgs),
    /// Jobs of a reeld: list, watch, pause, resume, cancel, backup, restore
    /// (remote).
    Jobs(reeld::remote::cmd::JobsArgs),
    /// Alerts of a reeld (remote).
    Alerts(reeld::remote::cmd::AlertsArgs),
    /// Enrolls this client with a reeld: one-time token and the server
    /// certificate's fingerprint in, a client profile out.
    Enroll(reeld::remote::cmd::EnrollArgs),
    /// Fault injection into the embedded VTL drives of a reeld (remote).
    Lab(reeld::remote::labcmd::LabArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Tape driver + in-process VTL against dd on the same filesystem.
    Tape(reeld::tapebench::BenchArgs),
    /// SMC driver against an in-process VTL library: inventory of 1 000
    /// slots and 16 drives, random load/unload cycles.
    Changer {
        #[command(flatten)]
        args: reeld::changerbench::ChangerBenchArgs,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Disk storage device throughput on text-like and random data with
    /// compression on and off.
    DiskStorage(reeld::diskcmd::DiskBenchArgs),
    /// The scheduler alone: 10 000 queued jobs over 100 simulated devices,
    /// dispatched jobs per second and p99 dispatch latency.
    Scheduler(reeld::schedbench::SchedBenchArgs),
    /// io_uring disk driver against fio and buffered std::fs.
    Disk(reeld::diskbench::DiskBenchArgs),
    /// Dedup store against restic and borgbackup on generations of real
    /// files; chunking + hashing speed; optimized duplication at 0, 50
    /// and 250 ms RTT.
    Dedup(reeld::dedupbench::DedupBenchArgs),
    /// FastCDC + keyed BLAKE3 in one pass, in memory (GB/s per core).
    DedupChunking(reeld::dedup::bench::ChunkingArgs),
    /// End-to-end backup through reeld (gRPC, mutual TLS, spool,
    /// scheduler) and through the job executor alone, to the VTL, against
    /// the raw drive write path.
    Backup(reeld::backupbench::BackupBenchArgs),
}

fn init_logging(filter: Option<&str>, default: &str) {
    let filter = filter
        .map(str::to_string)
        .or_else(|| std::env::var("REEL_LOG").ok())
        .unwrap_or_else(|| default.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

fn run_mt(args: &[String]) -> ExitCode {
    // mt's stderr carries mt-st's messages only; $REEL_LOG shows more.
    init_logging(None, "off");
    let env_tape = std::env::var("TAPE").ok();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut io = reeld::mt::run::Io {
        out: &mut out,
        err: &mut err,
    };
    let code = reeld::mt::run::run(
        args,
        env_tape.as_deref(),
        &mut |addr| reeld::device::open_tape(addr),
        &mut io,
    );
    let _ = out.flush();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// The mtx shim: `argv0` prefixes error messages as mtx's argv[0] does.
fn run_mtx(argv0: &str, args: &[String]) -> ExitCode {
    init_logging(None, "off");
    let env = reeld::mtx::run::Env::from_process();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut io = reeld::mtx::run::Io {
        out: &mut out,
        err: &mut err,
    };
    let code = reeld::mtx::run::run(
        argv0,
        args,
        &env,
        &mut |addr| reeld::changer_device::open_changer(addr),
        &mut io,
    );
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let invoked_as = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("reelctl");
    if invoked_as == "mt" {
        return run_mt(&argv[1..]);
    }
    if invoked_as == "mtx" {
        return run_mtx(&argv[0], &argv[1..]);
    }
    // `reelctl mtx ...` takes mtx's own arguments, untouched by clap.
    if argv.get(1).map(String::as_str) == Some("mtx") {
        return run_mtx("mtx", &argv[2..]);
    }
    // `reelctl mt ...` takes mt-st's own arguments, untouched by clap.
    if argv.get(1).map(String::as_str) == Some("mt") {
        return run_mt(&argv[2..]);
    }
    let cli = Cli::parse();
    init_logging(cli.log.as_deref(), "warn");
    match run(cli.command) {
        Ok(code) => code,
        // A reader that went away (`| head`) is not worth a message.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reelctl: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn print(value: &serde_json::Value, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        out.write_all(report::human(value).as_bytes())?;
    }
    Ok(())
}

/// Runs a remote command against a reeld.
fn remote(cmd: RemoteCommand) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(reeld::remote::cmd::run(cmd)) {
        Ok(out) => {
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("reelctl: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Runs `reelctl lab` against a reeld.
fn remote_lab(a: reeld::remote::labcmd::LabArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(reeld::remote::labcmd::run(a)) {
        Ok(out) => {
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("reelctl: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Mt { .. } | Command::Mtx { .. } => unreachable_mt(),
        Command::Devices(a) => remote(RemoteCommand::Devices(a)),
        Command::Libraries(a) => remote(RemoteCommand::Libraries(a)),
        Command::Media(a) => remote(RemoteCommand::Media(a)),
        Command::Pools(a) => remote(RemoteCommand::Pools(a)),
        Command::Jobs(a) => remote(RemoteCommand::Jobs(a)),
        Command::Alerts(a) => remote(RemoteCommand::Alerts(a)),
        Command::Enroll(a) => remote(RemoteCommand::Enroll(a)),
        Command::Lab(a) => remote_lab(a),
        Command::Tape {
            device,
            json,
            trust_sense_length,
            cmd,
        } => {
            let policy = if trust_sense_length {
                reel_drivers::tape::ResidualPolicy::TrustSense
            } else {
                reel_drivers::tape::ResidualPolicy::from_env()
            };
            let mut tape = match reeld::device::open_tape_with(&device, policy) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("reelctl: {device}: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            match tapecmd::run(&mut tape, cmd, json) {
                Ok(tapecmd::Output::Value(v)) => {
                    print(&v, json)?;
                    Ok(ExitCode::SUCCESS)
                }
                Ok(tapecmd::Output::Text(t)) => {
                    std::io::stdout().write_all(t.as_bytes())?;
                    Ok(ExitCode::SUCCESS)
                }
                Ok(tapecmd::Output::Nothing) => Ok(ExitCode::SUCCESS),
                // `tape read | head`: the reader left; nothing to report.
                Err(tapecmd::TapeCmdError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        print(&tapecmd::error_json(&e), true)?;
                    }
                    eprintln!("reelctl: {device}: {e}");
                    Ok(ExitCode::from(e.exit_code()))
                }
            }
        }
        Command::Changer { device, json, cmd } => {
            let dev = match reeld::changer_device::open_changer(&device) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("reelctl changer: {device}: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            match reeld::changercmd::run(dev, cmd) {
                Ok(out) => {
                    if json {
                        print(&out.value, true)?;
                    } else {
                        std::io::stdout().write_all(out.text.as_bytes())?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        print(&reeld::changercmd::error_json(&e), true)?;
                    }
                    eprintln!("reelctl changer: {device}: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Vtl { json, cmd } => match reeld::vtlcmd::run(cmd) {
            Ok(v) => {
                print(&v, json)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("reelctl vtl: {e}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Disk { json, cmd } => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match reeld::diskcmd::run(cmd, &mut out) {
                Ok(o) => {
                    drop(out);
                    if json {
                        print(&o.value, true)?;
                    } else {
                        std::io::stdout().write_all(o.text.as_bytes())?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if e.is_broken_pipe() => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    drop(out);
                    if json {
                        print(&e.json(), true)?;
                    }
                    eprintln!("reelctl disk: {}", e.message());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Job(cmd) => {
            if let Some(v) = reeld::jobscmd::run(&cmd)? {
                print(&v, true)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Backup(args)) => {
            let quiet = args.json;
            let r = reeld::backupbench::run(&args, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })?;
            if args.json {
                print(&serde_json::to_value(&r)?, true)?;
            } else {
                std::io::stdout().write_all(r.text().as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::DiskStorage(args)) => {
            let quiet = args.json;
            let v = reeld::diskcmd::bench(&args, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })
            .map_err(|e| anyhow::anyhow!(e.message()))?;
            if args.json {
                print(&v, true)?;
            } else {
                std::io::stdout().write_all(reeld::diskcmd::bench_text(&v).as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { dir, json } => {
            let summary = reeld::demo::run(dir.as_deref(), &mut |line| {
                if !json {
                    println!("{line}");
                }
            })
            .context("demo")?;
            if json {
                print(&serde_json::to_value(&summary)?, true)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dedup { json, cmd } => {
            // `get` writes the stream to stdout: its report goes to stderr.
            let is_get = matches!(cmd, reeld::dedupcmd::DedupCommand::Get { .. });
            match reeld::dedupcmd::run(cmd) {
                Ok(v) => {
                    if is_get {
                        if json {
                            eprintln!("{}", serde_json::to_string(&v)?);
                        }
                    } else {
                        print(&v, json)?;
                    }
                    Ok(ExitCode::from(reeld::dedupcmd::exit_code(&v)))
                }
                Err(reeld::dedup::DedupError::Stream(e))
                    if e.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        print(&serde_json::json!({ "error": e.to_string() }), true)?;
                    }
                    eprintln!("reelctl dedup: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Bench(BenchCommand::DedupChunking(args)) => {
            let report = reeld::dedup::bench::run(&args).context("bench dedup-chunking")?;
            std::io::stdout().write_all(report.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Changer { args, json }) => {
            let report = reeld::changerbench::run(&args, &mut |line| {
                if !json {
                    eprintln!("{line}");
                }
            })
            .context("bench changer")?;
            if json {
                print(&serde_json::to_value(&report)?, true)?;
            } else {
                std::io::stdout().write_all(report.text().as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Scheduler(args)) => {
            let quiet = args.json;
            let report = reeld::schedbench::run(&args, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })
            .context("bench scheduler")?;
            if quiet {
                print(&serde_json::to_value(&report)?, true)?;
            } else {
                std::io::stdout().write_all(report.text().as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Dedup(args)) => {
            let report = reeld::dedupbench::run(&args, &mut |line| {
                if !args.json {
                    eprintln!("{line}");
                }
            })
            .context("bench dedup")?;
            if args.json {
                print(&serde_json::to_value(&report)?, true)?;
            } else {
                std::io::stdout().write_all(report.text().as_bytes())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Disk(args)) => {
            let report = reeld::diskbench::run(&args, &mut |line| eprintln!("{line}"))
                .context("bench disk")?;
            std::io::stdout().write_all(report.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Tape(args)) => {
            let quiet = args.json;
            let report = reeld::tapebench::run(&args, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })
            .context("bench")?;
            std::io::stdout().write_all(report.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `reelctl mt` and `reelctl mtx` are dispatched before clap parses anything.
fn unreachable_mt() -> Result<ExitCode> {
    Ok(ExitCode::from(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_tree_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
