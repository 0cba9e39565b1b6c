//! reeld: the reel device daemon. `reeld` serves the host's devices (the
//! demo host when its data directory has no configuration); `reeld init`
//! creates the host CA; `reeld token` creates a one-time enrollment token.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use reeld::auth::roles::parse_roles;
use reeld::server::{self, Options, run::default_data_dir};

#[derive(Parser)]
#[command(name = "reeld", version, about = "reel device daemon")]
struct Cli {
    /// Data directory (default /var/lib/reel as root, else
    /// ~/.local/share/reel).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// gRPC address (default 127.0.0.1:7350).
    #[arg(long)]
    listen: Option<String>,
    /// HTTP address for /metrics and /healthz (default 127.0.0.1:7351).
    #[arg(long)]
    http: Option<String>,
    /// Do not spool streamed backups (a device failure mid-stream then
    /// fails the job instead of failing over); also `[server] spool`.
    #[arg(long)]
    no_spool: bool,
    /// Log filter (tracing EnvFilter syntax); also $REEL_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the host CA and the server certificate; prints the
    /// fingerprint clients confirm when they enroll.
    Init,
    /// Creates a one-time enrollment token.
    Token {
        /// Roles: audit, operate, write, read, configure, or admin (all).
        #[arg(long, default_value = "read")]
        roles: String,
        /// Validity in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = cli
        .log
        .clone()
        .or_else(|| std::env::var("REEL_LOG").ok())
        .unwrap_or_else(|| "info,reel_changer=warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reeld: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    match cli.command {
        Some(Command::Init) => {
            let ca = server::init(&data_dir).context("init")?;
            println!("host CA and server certificate in {}", ca.dir().display());
            println!(
                "server certificate fingerprint: {}",
                ca.server_fingerprint()?
            );
            Ok(())
        }
        Some(Command::Token { roles, ttl }) => {
            let roles = parse_roles(&[roles])?;
            anyhow::ensure!(!roles.is_empty(), "a token needs at least one role");
            let ca = server::init(&data_dir).context("init")?;
            let token = server::run::create_token(&data_dir, &roles, ttl)?;
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            println!("token: {token}");
            println!("roles: {} (valid {ttl} s, one use)", names.join(","));
            println!(
                "enroll: reelctl enroll --server HOST:PORT --token {token} --fingerprint {}",
                ca.server_fingerprint()?
            );
            Ok(())
        }
        None => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(server::run(Options {
                data_dir,
                listen: cli.listen,
                http: cli.http,
                no_spool: cli.no_spool,
            }))?;
            Ok(())
        }
    }
}
