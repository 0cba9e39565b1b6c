//! `reelctl dedup copy`, `reelctl dedup serve` and `reelctl dedup keys`:
//! optimized duplication between two stores over mutual TLS, and the
//! certificates it needs. The other `reelctl dedup` subcommands live in
//! [`crate::dedupcmd`], which dispatches here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::dedup::{DedupError, SetId, Store, TenantId};
use crate::dedup_copy::{self, CopyError, CopyOptions, CopyServer, tls};

#[derive(Debug, thiserror::Error)]
pub enum DedupCopyCmdError {
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Store(#[from] DedupError),
    #[error("{0}")]
    Usage(String),
}

/// Certificate, key and CA files of one end.
#[derive(Debug, Clone, Args)]
pub struct TlsFiles {
    /// This end's certificate (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// This end's private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The CA certificate the other end's certificate must chain to.
    #[arg(long)]
    pub ca: PathBuf,
}

/// `reelctl dedup copy SRC_DIR SET --to HOST:PORT --tenant T ...`
#[derive(Debug, Clone, Args)]
pub struct CopyArgs {
    /// Source store directory.
    pub dir: PathBuf,
    /// Set id to copy.
    pub set: String,
    /// Destination copy server (`reelctl dedup serve`), HOST:PORT.
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub tenant: String,
    #[command(flatten)]
    pub tls: TlsFiles,
    /// Name the server certificate must carry (default: HOST of --to).
    #[arg(long)]
    pub server_name: Option<String>,
    /// Index entries per batch.
    #[arg(long, default_value_t = CopyOptions::default().batch)]
    pub batch: usize,
    /// Batches in flight before waiting for an answer.
    #[arg(long, default_value_t = CopyOptions::default().window)]
    pub window: usize,
}

/// `reelctl dedup serve DIR --listen ADDR ...`
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Destination store directory.
    pub dir: PathBuf,
    /// Address to listen on, e.g. 0.0.0.0:7070.
    #[arg(long)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub tls: TlsFiles,
}

/// `reelctl dedup keys ...`: the private CA of optimized duplication.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Creates ca.pem/ca.key and server.pem/server.key in DIR.
    Init {
        dir: PathBuf,
        /// Extra names or addresses of the server (localhost, 127.0.0.1 and
        /// ::1 are always included).
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Issues client-NAME.pem/.key in DIR granting the given tenants.
    Client {
        dir: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long = "tenant", required = true)]
        tenants: Vec<String>,
    },
}

/// The HOST part of HOST:PORT (IPv6 in brackets allowed).
fn host_of(to: &str) -> &str {
    let host = to.rsplit_once(':').map_or(to, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

pub fn run_copy(args: &CopyArgs) -> Result<Value, DedupCopyCmdError> {
    let store = Store::open(&args.dir)?;
    let tenant = TenantId::new(&args.tenant)?;
    let set = SetId::new(&args.set)?;
    let cfg = tls::client_config(Some((&args.tls.cert, &args.tls.key)), &args.tls.ca)?;
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| host_of(&args.to).to_string());
    let opts = CopyOptions {
        batch: args.batch,
        window: args.window,
    };
    let report = dedup_copy::copy_set(&store, &tenant, &set, &args.to, &server_name, cfg, &opts)?;
    Ok(serde_json::to_value(&report).unwrap_or(Value::Null))
}

/// Serves until the process is stopped.
pub fn run_serve(
    args: &ServeArgs,
    on_ready: &mut dyn FnMut(SocketAddr),
) -> Result<(), DedupCopyCmdError> {
    let store = Arc::new(Store::open(&args.dir)?);
    let cfg = tls::server_config(&args.tls.cert, &args.tls.key, &args.tls.ca)?;
    let server = CopyServer::start(store, args.listen, cfg)?;
    on_ready(server.addr());
    server.wait();
    Ok(())
}

pub fn run_keys(cmd: &KeysCommand) -> Result<Value, DedupCopyCmdError> {
    match cmd {
        KeysCommand::Init { dir, hosts } => {
            let files = tls::init_keys(dir, hosts)?;
            Ok(serde_json::to_value(&files).unwrap_or(Value::Null))
        }
        KeysCommand::Client { dir, name, tenants } => {
            let (cert, key) = tls::issue_client(dir, name, tenants)?;
            Ok(json!({ "cert": path_str(&cert), "key": path_str(&key), "tenants": tenants }))
        }
    }
}

/// The store reports these through `reelctl dedup`: store errors as they
/// are, the rest (network, TLS, usage) as text.
impl From<DedupCopyCmdError> for DedupError {
    fn from(e: DedupCopyCmdError) -> DedupError {
        match e {
            DedupCopyCmdError::Store(e) | DedupCopyCmdError::Copy(CopyError::Store(e)) => e,
            e => DedupError::Invalid(e.to_string()),
        }
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_of_address() {
        assert_eq!(host_of("backup.example:7070"), "backup.example");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(host_of("[::1]:7070"), "::1");
    }
}
