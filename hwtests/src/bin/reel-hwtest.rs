//! reel-hwtest: the conformance suite against a lab's own drives and
//! libraries (or reel's VTL, tgtd, anything reel can address).
//!
//! Without --destructive only cases that change nothing on media run; with
//! it, only cartridges whose barcodes match --allow-barcodes are written or
//! moved. Prints a live progress line (on a terminal) and a summary table;
//! exits 1 when a case failed, 2 when the devices could not be opened.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use reel_drivers::tape::ResidualPolicy;
use reel_hwtests::conformance::open::{HeaderLength, open_devices};
use reel_hwtests::conformance::report::{self, RunInfo};
use reel_hwtests::conformance::{self, Event, MediaPolicy, RunOptions, TargetKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// A real drive or library (no known gaps).
    Device,
    /// reel's VTL in this process (the default for vtl: addresses).
    Vtl,
    /// reel's VTL served over iSCSI.
    VtlIscsi,
    /// Linux tgtd over iSCSI (its known gaps are not failures).
    Tgtd,
}

#[derive(Debug, Parser)]
#[command(
    name = "reel-hwtest",
    about = "Run reel's SSC/SMC conformance suite against tape drives and libraries",
    after_help = "DEVICE is any reel address: /dev/sgN, /dev/nstN, /dev/schN, \
                  vtl:DIR#driveN, vtl:DIR#changer, iscsi://HOST[:PORT]/TARGET/LUN"
)]
struct Args {
    /// The tape drive under test.
    #[arg(long, value_name = "DEVICE")]
    tape: Option<String>,
    /// The medium changer under test.
    #[arg(long, value_name = "DEVICE")]
    changer: Option<String>,
    /// Also run cases that write to cartridges or move them.
    #[arg(long, requires = "allow_barcodes")]
    destructive: bool,
    /// Glob over barcodes ("RL00*", "*"): the only cartridges destructive
    /// cases may write or move. Comma separates alternatives.
    #[arg(long, value_name = "PATTERN")]
    allow_barcodes: Option<String>,
    /// Glob over case names ("ssc.space.*,smc.*").
    #[arg(long, value_name = "GLOB")]
    cases: Option<String>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// List the cases (filtered by --cases) and exit.
    #[arg(long)]
    list: bool,
    /// Which known-gap list applies (default: vtl for vtl: addresses, else device).
    #[arg(long, value_enum)]
    target: Option<Target>,
    /// The adapter misreports the residual (field note A8; QEMU's iSCSI
    /// passthrough always reports 0): the tape driver takes READ lengths
    /// from the drive's sense, READ ELEMENT STATUS is cut at its header's
    /// byte count, and checks of the residual itself are skipped. Also
    /// $REEL_TRUST_SENSE_LENGTH=1.
    #[arg(long)]
    trust_sense_length: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let policy = MediaPolicy {
        destructive: args.destructive,
        allow_barcodes: args.allow_barcodes.clone(),
    };
    if args.list {
        let opts = RunOptions {
            cases: args.cases.clone(),
            target: TargetKind::Device,
        };
        let all = MediaPolicy {
            destructive: true,
            ..policy
        };
        print!("{}", report::case_list(&conformance::select(&opts, &all)));
        return ExitCode::SUCCESS;
    }
    if args.tape.is_none() && args.changer.is_none() {
        eprintln!("reel-hwtest: give --tape DEVICE and/or --changer DEVICE (or --list)");
        return ExitCode::from(2);
    }
    let trust_sense =
        args.trust_sense_length || ResidualPolicy::from_env() == ResidualPolicy::TrustSense;
    let mut opened = match open_devices(args.tape.as_deref(), args.changer.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("reel-hwtest: {e}");
            return ExitCode::from(2);
        }
    };
    let target = match args.target {
        Some(Target::Device) => TargetKind::Device,
        Some(Target::Vtl) => TargetKind::VtlInProcess,
        Some(Target::VtlIscsi) => TargetKind::VtlIscsi,
        Some(Target::Tgtd) => TargetKind::Tgtd,
        None => opened.target,
    };
    let info = RunInfo {
        tape: args.tape.clone(),
        changer: args.changer.clone(),
        target: format!("{target:?}"),
        destructive: policy.destructive,
        allow_barcodes: policy.allow_barcodes.clone(),
    };
    if trust_sense {
        opened.changer = opened
            .changer
            .map(|t| Box::new(HeaderLength(t)) as conformance::Transport);
    }
    let mut bench = opened.into_bench(policy);
    if trust_sense && let Ok(d) = bench.tape() {
        d.set_residual_policy(ResidualPolicy::TrustSense);
    }
    let opts = RunOptions {
        cases: args.cases.clone(),
        target,
    };
    let results = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let r = conformance::run(&mut bench, &opts, &mut |e| match &e {
            Event::Start { total, case, .. } => {
                bar.set_length(*total as u64);
                bar.set_message(case.name);
            }
            Event::Done { result, .. } => {
                if result.status.is_failure() {
                    bar.println(report::progress_line(&e));
                }
                bar.inc(1);
            }
        });
        bar.finish_and_clear();
        r
    } else {
        conformance::run(&mut bench, &opts, &mut |e| {
            if let Event::Done { .. } = e {
                eprintln!("{}", report::progress_line(&e));
            }
        })
    };
    drop(bench);
    print!("{}", report::summary_table(&results));
    let mut code = if conformance::failures(&results).is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    if let Some(p) = &args.junit
        && let Err(e) = std::fs::write(p, report::junit_xml("reel-hwtest", &info, &results))
    {
        eprintln!("reel-hwtest: write {}: {e}", p.display());
        code = ExitCode::from(2);
    }
    if let Some(p) = &args.json {
        let v = report::json_report(&info, &results, &conformance::all_cases());
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        if let Err(e) = std::fs::write(p, text + "\n") {
            eprintln!("reel-hwtest: write {}: {e}", p.display());
            code = ExitCode::from(2);
        }
    }
    code
}
