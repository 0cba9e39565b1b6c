//! Start-up: data directory, configuration (the demo host when there is
//! none), CA, catalog and scheduler, devices, then the gRPC server (mutual
//! TLS) and the HTTP endpoint, until SIGINT or SIGTERM.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use reel_drivers::storage::{DiskStorage, DiskStorageError};
use reel_vtl::library::VirtualLibrary;

use super::config::{self, Config};
use super::daemon::{Counters, Daemon};
use super::{DaemonError, dispatch, setup};
use crate::auth::roles::Role;
use crate::auth::{HostCa, TokenStore};
use crate::db::{self, Db, unix_now};
use crate::devices::config::StorageKind;
use crate::devices::{DeviceState, Registry, RegistryOptions};
use crate::jobs::{ExecOptions, RegistryAccess, RestartReport};
use crate::remote::Profile;
use crate::scheduler::Scheduler;
use crate::scheduler::device::DeviceKind;

/// Command-line options of `reeld`.
#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub listen: Option<String>,
    pub http: Option<String>,
    /// `--no-spool`: streamed backups are not spooled (wins over the
    /// configuration).
    pub no_spool: bool,
}

/// `/var/lib/reel` as root, else `~/.local/share/reel`.
pub fn default_data_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/reel");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/reel"),
        None => PathBuf::from("/var/lib/reel"),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `reeld init`: creates the data directory, the host CA and the server
/// certificate (kept when they exist). Returns the CA.
pub fn init(data_dir: &Path) -> Result<HostCa, DaemonError> {
    std::fs::create_dir_all(data_dir)?;
    Ok(HostCa::open_or_create(&data_dir.join("tls"), &hostname())?)
}

/// Creates a one-time enrollment token for `roles`, valid `ttl` seconds.
pub fn create_token(data_dir: &Path, roles: &[Role], ttl: i64) -> Result<String, DaemonError> {
    let t = TokenStore::open(&data_dir.join("tokens.json"))?;
    Ok(t.create(roles, unix_now().saturating_add(ttl))?)
}

/// Opens (creating the default library when missing) every `vtl:DIR`
/// library of the configuration, and prepares the storages' directories.
fn open_local(data_dir: &Path, cfg: &Config) -> Result<Vec<(String, VirtualLibrary)>, DaemonError> {
    let mut vtls = Vec::new();
    for (id, dir) in cfg.vtl_dirs(data_dir) {
        vtls.push((id, VirtualLibrary::open_or_create_default(&dir)?));
    }
    for (id, dir) in cfg.storage_dirs(data_dir, StorageKind::Disk) {
        let r = match DiskStorage::open(&dir) {
            Ok(_) => Ok(()),
            Err(DiskStorageError::NotInitialized { .. }) => {
                DiskStorage::init(&dir, None, None).map(|_| ())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            tracing::warn!(storage = %id, "disk storage not usable: {e}");
        }
    }
    for (_, dir) in cfg.storage_dirs(data_dir, StorageKind::Dedup) {
        std::fs::create_dir_all(&dir)?;
    }
    Ok(vtls)
}

/// The device registry over the configuration, the embedded VTLs shared.
fn start_registry(
    data_dir: &Path,
    cfg: &Config,
    vtls: &[(String, VirtualLibrary)],
) -> Result<Registry, DaemonError> {
    let opts = RegistryOptions {
        vtls: vtls.iter().map(|(_, l)| l.clone()).collect(),
        ..RegistryOptions::default()
    };
    Ok(Registry::start(cfg.resolved_devices(data_dir), opts)?)
}

/// Catalog set-up and the recovery after a restart, on a blocking thread.
fn prepare(
    db_path: &Path,
    cfg: &Config,
    reg: &Registry,
) -> Result<(Scheduler, RestartReport), DaemonError> {
    {
        // Devices, pools, media sets and rules first, so the first
        // inventory classifies cartridges with the configured rules.
        let mut s = Scheduler::attach(Db::open(db_path)?, 0);
        setup::register_devices(&mut s, reg)?;
        setup::apply_config(&mut s, cfg)?;
    }
    let libraries: Vec<String> = reg
        .devices()
        .into_iter()
        .filter(|d| d.kind == DeviceKind::Changer && d.state != DeviceState::Offline)
        .map(|d| d.id)
        .collect();
    let (sched, report) = crate::jobs::recover_after_restart(
        Db::open(db_path)?,
        &RegistryAccess::new(reg),
        &libraries,
        true,
    )?;
    Ok((sched, report))
}

/// Writes the local admin's client profile (demo mode): a key and
/// certificate with every role, the CA and the server address.
fn write_local_profile(d: &Daemon, server: &str) -> Result<PathBuf, DaemonError> {
    let dir = d.data_dir.join("client");
    let path = dir.join(crate::remote::PROFILE_FILE);
    if path.is_file()
        && let Ok(mut p) = Profile::load(&path)
    {
        // Keep the credentials, follow the address.
        if p.server != server {
            p.server = server.to_string();
            p.save(&path)
                .map_err(|e| DaemonError::Internal(e.to_string()))?;
        }
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    let (cert, key) = d.ca.issue_client("local-admin", &Role::ALL)?;
    let p = Profile::create(&dir, server, "local-admin", d.ca.ca_pem(), &cert, &key)
        .map_err(|e| DaemonError::Internal(e.to_string()))?;
    Ok(p)
}

/// What the running daemon listens on.
#[derive(Debug, Clone)]
pub struct Bound {
    pub grpc: std::net::SocketAddr,
    pub http: std::net::SocketAddr,
}

/// Starts everything and serves until SIGINT/SIGTERM.
pub async fn run(opts: Options) -> Result<(), DaemonError> {
    let data_dir = &opts.data_dir;
    std::fs::create_dir_all(data_dir)?;
    let cfg_path = data_dir.join(config::FILE);
    let (cfg, demo) = match Config::load(&cfg_path)? {
        Some(c) => (c, false),
        None => {
            Config::write_demo(&cfg_path)?;
            (Config::demo(), true)
        }
    };
    // A demo data directory stays a demo host on later starts.
    let demo = demo || cfg == Config::demo();
    let host = hostname();
    let ca = HostCa::open_or_create(&data_dir.join("tls"), &host)?;
    let tokens = TokenStore::open(&data_dir.join("tokens.json"))?;
    let db_path = data_dir.join("catalog.db");
    // Device set-up blocks (SCSI, the first polls): off the async workers.
    let (dd, cc) = (data_dir.clone(), cfg.clone());
    let (vtls, registry, sched, report) = tokio::task::spawn_blocking(move || {
        let vtls = open_local(&dd, &cc)?;
        let reg = start_registry(&dd, &cc, &vtls)?;
        let (sched, report) = prepare(&dd.join("catalog.db"), &cc, &reg)?;
        Ok::<_, DaemonError>((vtls, reg, sched, report))
    })
    .await
    .map_err(|e| DaemonError::Internal(format!("device set-up: {e}")))??;
    let d = Arc::new(Daemon {
        data_dir: data_dir.clone(),
        hostname: host.clone(),
        sched: Arc::new(Mutex::new(sched)),
        db_path,
        registry: Arc::new(registry),
        vtls,
        ca,
        tokens,
        counters: Counters::default(),
        exec: ExecOptions::default(),
        spool: !opts.no_spool && cfg.server.spool.unwrap_or(true),
        runners: Mutex::new(HashMap::new()),
        poke: tokio::sync::Notify::new(),
    });
    dispatch::watch_registry(&d)?;

    let listen = opts
        .listen
        .clone()
        .or(cfg.server.listen.clone())
        .unwrap_or_else(|| config::DEFAULT_LISTEN.into());
    let http = opts
        .http
        .clone()
        .or(cfg.server.http.clone())
        .unwrap_or_else(|| config::DEFAULT_HTTP.into());
    let grpc_l = TcpListener::bind(&listen).await?;
    let http_l = TcpListener::bind(&http).await?;
    let bound = Bound {
        grpc: grpc_l.local_addr()?,
        http: http_l.local_addr()?,
    };
    let profile = if demo {
        Some(write_local_profile(&d, &bound.grpc.to_string())?)
    } else {
        None
    };
    let token = if demo {
        Some(d.tokens.create(&Role::ALL, unix_now() + 3600)?)
    } else {
        None
    };
    banner(
        &d,
        &bound,
        demo,
        profile.as_deref(),
        token.as_deref(),
        &report,
    )?;

    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(d.ca.server_pem(), d.ca.server_key_pem()))
        .client_ca_root(Certificate::from_pem(d.ca.ca_pem()))
        // Enrollment runs before the client has a certificate; every other
        // call checks for one (crate::auth::authorize).
        .client_auth_optional(true);
    let server = Server::builder()
        .initial_stream_window_size(crate::api::STREAM_WINDOW)
        .initial_connection_window_size(crate::api::CONNECTION_WINDOW)
        .max_frame_size(crate::api::MAX_FRAME)
        .tcp_nodelay(true)
        .tls_config(tls)?;
    let router = crate::api::router(server, d.clone());
    tokio::spawn(dispatch::dispatcher(d.clone()));
    tokio::spawn(crate::http::serve(d.clone(), http_l));
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_l);
    router
        .serve_with_incoming_shutdown(incoming, shutdown())
        .await?;
    tracing::info!("reeld stopped");
    Ok(())
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn banner(
    d: &Daemon,
    b: &Bound,
    demo: bool,
    profile: Option<&Path>,
    token: Option<&str>,
    rec: &RestartReport,
) -> Result<(), DaemonError> {
    let mut o = String::new();
    use std::fmt::Write as _;
    let fp = d.ca.server_fingerprint()?;
    let _ = writeln!(
        o,
        "reeld {} on {}{}",
        env!("CARGO_PKG_VERSION"),
        d.hostname,
        if demo { " (demo host)" } else { "" }
    );
    let _ = writeln!(o, "data directory: {}", d.data_dir.display());
    for w in d.registry.warnings() {
        let _ = writeln!(o, "warning: {w}");
    }
    for dev in d.registry.devices() {
        let _ = writeln!(o, "{}", device_line(&dev));
    }
    let media = db::media::list_media(
        d.sched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .db()
            .conn(),
    )?;
    let _ = writeln!(o, "catalog: {} cartridges", media.len());
    let _ = writeln!(o, "spool: {}", d.data_dir.join("spool").display());
    let r = &rec.scheduler;
    if r != &crate::scheduler::Recovery::default()
        || !rec.unloaded.is_empty()
        || !rec.cancelled.is_empty()
    {
        let _ = writeln!(
            o,
            "recovered after restart: {} dead leases freed, jobs requeued {:?}, failed {:?}, \
             cancelled (stream lost) {:?}, cartridges put back {:?}",
            r.leases_freed, r.requeued, r.failed, rec.cancelled, rec.unloaded
        );
    }
    let _ = writeln!(o, "listening: gRPC (mutual TLS) on {}", b.grpc);
    let _ = writeln!(
        o,
        "listening: HTTP on http://{}/metrics and /healthz",
        b.http
    );
    let _ = writeln!(o, "server certificate fingerprint: {fp}");
    if let Some(p) = profile {
        let _ = writeln!(o, "local admin profile: {}", p.display());
        let _ = writeln!(o, "connect: reelctl --profile {} devices", p.display());
    }
    if let Some(t) = token {
        let _ = writeln!(
            o,
            "enroll another client (one-time token, all roles, valid 1 hour):\n  reelctl enroll --server {} --token {t} --fingerprint {fp}",
            b.grpc
        );
    } else {
        let _ = writeln!(
            o,
            "enroll a client: reeld token --data-dir {} --roles read,operate  (then reelctl enroll ...)",
            d.data_dir.display()
        );
    }
    let mut out = std::io::stdout().lock();
    out.write_all(o.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One banner line per device.
fn device_line(dev: &crate::devices::DeviceInfo) -> String {
    let mut l = format!("{} {}: ", dev.kind.singular(), dev.id);
    if !dev.vendor.is_empty() || !dev.model.is_empty() {
        l += &format!("{} {} ", dev.vendor, dev.model);
    }
    if let Some(s) = &dev.serial {
        l += &format!("serial {s} ");
    }
    if let Some(g) = dev.generation {
        l += &format!("(LTO-{g}) ");
    }
    l += &format!("at {} [{}]", dev.address, dev.status_text());
    l
}
