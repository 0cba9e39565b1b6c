//! `reel-vtl serve --config FILE [--listen ADDR]`: serves a virtual tape
//! library over iSCSI until SIGTERM/SIGINT, then saves its state.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use reel_vtl::iscsi::{ServeConfig, Server};

#[derive(Parser)]
#[command(
    name = "reel-vtl",
    about = "reel's virtual tape library as an iSCSI target"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the library named in the config over iSCSI.
    Serve {
        /// TOML configuration (see reel-vtl.example.toml).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on (overrides the config; default 127.0.0.1:3260).
        #[arg(long)]
        listen: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => serve(&config, listen.as_deref()),
    }
}

fn serve(config: &std::path::Path, listen: Option<&str>) -> anyhow::Result<()> {
    let cfg = ServeConfig::load(config)?;
    let library = cfg.library.clone();
    let server = Server::bind(cfg, listen)
        .with_context(|| format!("starting the target for library {}", library.display()))?;
    let stop = server.stop_flag();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let addr = server.local_addr().context("listener address")?;
    // Tests and scripts wait for this exact line.
    println!("reel-vtl: listening on {addr}");
    std::io::stdout().flush().ok();
    server.run()?;
    Ok(())
}
