//! Start-up: data directory, configuration (the demo host when there is
//! none), CA, catalog and scheduler, devices, then the gRPC server (mutual
//! TLS) and the HTTP endpoint, until SIGINT or SIGTERM.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::config::{self, Config};
use super::daemon::{Counters, Daemon, StoreInfo};
use super::devices::open_vtl;
use super::{DaemonError, alerts::Alerts, dispatch};
use crate::auth::roles::Role;
use crate::auth::{HostCa, TokenStore};
use crate::db::{self, Db, DbError, unix_now};
use crate::remote::Profile;
use crate::scheduler::Scheduler;
use crate::scheduler::device::{Device, DeviceKind, Health};

/// Command-line options of `reeld`.
#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub listen: Option<String>,
    pub http: Option<String>,
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

fn register(s: &mut Scheduler, cfg: &Config, d: &mut Setup) -> Result<(), DaemonError> {
    let now = unix_now();
    for lib in &d.libraries {
        s.add_device(
            &Device {
                id: lib.id.clone(),
                kind: DeviceKind::Changer,
                generation: None,
                library: Some(lib.id.clone()),
                health: Health::Online,
                max_jobs: 1,
            },
            now,
        )?;
    }
    for dr in &d.drives {
        let existing = db::devices::get_device(s.db().conn(), &dr.id).ok();
        let mut dev = Device::tape_drive(&dr.id, &dr.library, dr.generation);
        // An operator's "down" survives a restart; failed/offline do not.
        if existing.is_some_and(|e| e.health == Health::Down) {
            dev.health = Health::Down;
        }
        s.add_device(&dev, now)?;
    }
    for st in &d.stores {
        let mut dev = Device::store(&st.id, st.kind, 4);
        if st.note.is_some() {
            dev.health = Health::Offline;
        }
        s.add_device(&dev, now)?;
    }
    for (lib, elements) in &d.elements {
        s.db_mut().write(|c| dispatch::import(c, lib, elements))?;
    }
    for ms in &cfg.media_set {
        s.db_mut().write(|c| {
            match db::media::get_media_set(c, &ms.name) {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => crate::media::manager::create_set(
                    c,
                    &ms.name,
                    ms.media_type.as_deref(),
                    ms.append_secs,
                    ms.protect_secs,
                )?,
                Err(e) => return Err(DaemonError::from(e)),
            }
            Ok(())
        })?;
    }
    let pools = db::devices::list_pools(s.db().conn())?;
    for p in &cfg.pool {
        if !pools.iter().any(|(n, _)| *n == p.name) {
            let members: Vec<&str> = p.members.iter().map(String::as_str).collect();
            s.create_pool(&p.name, &members)?;
        }
    }
    Ok(())
}

/// Occupied elements of one library: (kind, index, address, barcode).
type Seen = Vec<(&'static str, usize, u16, String)>;

/// What start-up collected before the daemon state exists.
struct Setup {
    libraries: Vec<super::devices::LibraryHandle>,
    drives: Vec<super::devices::DriveHandle>,
    stores: Vec<StoreInfo>,
    elements: Vec<(String, Seen)>,
}

fn open_devices(data_dir: &Path, cfg: &Config) -> Result<Setup, DaemonError> {
    let mut s = Setup {
        libraries: Vec::new(),
        drives: Vec::new(),
        stores: Vec::new(),
        elements: Vec::new(),
    };
    for l in &cfg.library {
        let (h, drives, elements) = open_vtl(data_dir, l)?;
        let nslots = h.slots as usize;
        let mut seen = Vec::new();
        for e in &elements {
            let Some(bc) = e.barcode().filter(|_| e.full) else {
                continue;
            };
            let kind = match e.kind {
                reel_changer::ElementType::Storage => "slot",
                reel_changer::ElementType::ImportExport => "mail",
                _ => "drive",
            };
            let index = drives
                .iter()
                .find(|d| d.element == e.address)
                .map_or(nslots, |d| d.index);
            seen.push((kind, index, e.address, bc));
        }
        s.elements.push((l.id.clone(), seen));
        s.drives.extend(drives);
        s.libraries.push(h);
    }
    for st in &cfg.disk_storage {
        let path = data_dir.join(&st.path);
        let (disk, note) = match super::disk::open_or_init(&path) {
            Ok(x) => (Some(Arc::new(x)), None),
            Err(e) => {
                tracing::warn!(store = %st.id, "disk storage not usable: {e}");
                (None, Some(format!("not usable: {e}")))
            }
        };
        s.stores.push(StoreInfo {
            id: st.id.clone(),
            kind: DeviceKind::DiskStorage,
            path,
            note,
            disk,
        });
    }
    for st in &cfg.dedup_store {
        let path = data_dir.join(&st.path);
        std::fs::create_dir_all(&path)?;
        s.stores.push(StoreInfo {
            id: st.id.clone(),
            kind: DeviceKind::DedupStore,
            path,
            note: Some(
                "dedup store not wired into this reeld yet (configuration entry only)".into(),
            ),
            disk: None,
        });
    }
    Ok(s)
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
            let c = Config::demo();
            c.save(&cfg_path)?;
            (c, true)
        }
    };
    // A demo data directory stays a demo host on later starts.
    let demo = demo || cfg == Config::demo();
    let host = hostname();
    let ca = HostCa::open_or_create(&data_dir.join("tls"), &host)?;
    let tokens = TokenStore::open(&data_dir.join("tokens.json"))?;
    let db = Db::open(&data_dir.join("catalog.db"))?;
    let (mut sched, recovery) = Scheduler::start(db, unix_now())?;
    // Device set-up blocks (SCSI, the disk driver's own waits): off the
    // async workers.
    let (dd, cc) = (data_dir.clone(), cfg.clone());
    let mut setup = tokio::task::spawn_blocking(move || open_devices(&dd, &cc))
        .await
        .map_err(|e| DaemonError::Internal(format!("device set-up: {e}")))??;
    register(&mut sched, &cfg, &mut setup)?;
    let d = Arc::new(Daemon {
        data_dir: data_dir.clone(),
        hostname: host.clone(),
        sched: Arc::new(Mutex::new(sched)),
        libraries: setup.libraries,
        drives: setup.drives,
        stores: setup.stores,
        ca,
        tokens,
        alerts: Alerts::default(),
        counters: Counters::default(),
        waiters: Mutex::new(HashMap::new()),
        poke: tokio::sync::Notify::new(),
    });
    // Cartridges left in drives by an earlier run go home first.
    for dr in &d.drives {
        if let Err(e) = super::datapath::unload(&d, dr).await {
            tracing::warn!(drive = %dr.id, "unloading at start: {e}");
        }
    }

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
        &recovery,
    )?;

    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(d.ca.server_pem(), d.ca.server_key_pem()))
        .client_ca_root(Certificate::from_pem(d.ca.ca_pem()))
        // Enrollment runs before the client has a certificate; every other
        // call checks for one (crate::auth::authorize).
        .client_auth_optional(true);
    let router = crate::api::router(Server::builder().tls_config(tls)?, d.clone());
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
    rec: &crate::scheduler::Recovery,
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
    for l in &d.libraries {
        let _ = writeln!(
            o,
            "library {}: {} {} ({} drives, {} slots, {} mail slots) at {}",
            l.id, l.vendor, l.product, l.drives, l.slots, l.mail_slots, l.address
        );
    }
    for dr in &d.drives {
        let _ = writeln!(
            o,
            "drive {}: {} {} serial {} (LTO-{})",
            dr.id, dr.vendor, dr.product, dr.serial, dr.generation
        );
    }
    for s in &d.stores {
        let _ = writeln!(
            o,
            "{} {}: {}{}",
            s.kind.singular(),
            s.id,
            s.path.display(),
            s.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
    }
    let media = db::media::list_media(
        d.sched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .db()
            .conn(),
    )?;
    let _ = writeln!(o, "catalog: {} cartridges", media.len());
    if *rec != crate::scheduler::Recovery::default() {
        let _ = writeln!(o, "recovered after restart: {rec:?}");
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
