//! `reelctl`'s remote commands: devices, libraries, media, pools, jobs,
//! alerts and enroll, with text tables or `--json`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use super::{RemoteError, connect, enroll, find_profile};
use crate::api::pb;

/// Options every remote command takes.
#[derive(Debug, Clone, Args)]
pub struct RemoteOpts {
    /// Client profile (file or directory); default $REEL_PROFILE,
    /// ~/.config/reel/profile.toml, then the local demo daemon's.
    #[arg(long, global = true)]
    pub profile: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DevicesArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
    #[command(subcommand)]
    pub cmd: Option<DevicesCmd>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DevicesCmd {
    /// Every device with its health (the default).
    List,
    /// Takes a device out of service.
    Down { device: String },
    /// Puts a device back into service.
    Up { device: String },
    /// Discovers devices again (sysfs and the configuration).
    Rescan,
}

#[derive(Debug, Clone, Args)]
pub struct LibrariesArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
    #[command(subcommand)]
    pub cmd: Option<LibrariesCmd>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LibrariesCmd {
    List,
    /// Element status: drives, slots, mail slots.
    Status {
        library: String,
    },
    /// Moves a cartridge between two element addresses (decimal or 0x..).
    Move {
        library: String,
        from: String,
        to: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct MediaArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
    #[command(subcommand)]
    pub cmd: Option<MediaCmd>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MediaCmd {
    /// Cartridges in the catalog (the default).
    List,
    /// Media sets.
    Sets,
}

#[derive(Debug, Clone, Args)]
pub struct PoolsArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
    #[command(subcommand)]
    pub cmd: Option<PoolsCmd>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PoolsCmd {
    List,
    /// Creates a pool of devices of one type.
    Create {
        name: String,
        members: Vec<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct JobsArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
    #[command(subcommand)]
    pub cmd: Option<JobsCmd>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum JobsCmd {
    List,
    /// A job with its history.
    Show {
        id: i64,
    },
    /// Follows a job until it ends (a progress bar, or JSON lines).
    Watch {
        id: i64,
    },
    Pause {
        id: i64,
    },
    Resume {
        id: i64,
    },
    Cancel {
        id: i64,
    },
    /// Queues an inventory of a library.
    Inventory {
        library: String,
    },
    /// Queues writing a scratch reel label on a cartridge (a protected
    /// reel label is never overwritten; foreign or damaged data only with
    /// --force).
    Label {
        barcode: String,
        /// Tape pool whose drive does it.
        #[arg(long, default_value = "lto8")]
        pool: String,
        #[arg(long)]
        force: bool,
    },
    /// Queues erasing a cartridge (long ERASE), then a scratch label.
    Erase {
        barcode: String,
        #[arg(long, default_value = "lto8")]
        pool: String,
        #[arg(long)]
        force: bool,
    },
    /// Queues cleaning a drive with a cleaning cartridge of its library.
    Clean {
        drive: String,
    },
    /// Queues reading a backup set back and checking its digest.
    Verify {
        set: String,
    },
    /// Queues copying a backup set to another pool (disk-to-tape staging,
    /// dedup-to-tape rehydration).
    Duplicate {
        set: String,
        /// Target pool.
        #[arg(long)]
        pool: String,
        /// Media set on a tape target.
        #[arg(long, default_value = "default")]
        media_set: String,
    },
    /// Backs up a file (or - for standard input) into a pool.
    Backup {
        #[arg(long, default_value = "lto8")]
        pool: String,
        #[arg(long, default_value = "default")]
        media_set: String,
        file: PathBuf,
    },
    /// Restores a backup set to a file (or - for standard output).
    Restore {
        set: String,
        #[arg(short, long, default_value = "-")]
        output: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub opts: RemoteOpts,
}

#[derive(Debug, Clone, Args)]
pub struct EnrollArgs {
    /// Daemon address HOST:PORT.
    #[arg(long)]
    pub server: String,
    /// The one-time token the daemon printed.
    #[arg(long)]
    pub token: String,
    /// The server certificate's SHA-256 fingerprint the daemon printed
    /// (checked before anything is sent).
    #[arg(long)]
    pub fingerprint: String,
    /// This client's name (default: user@host).
    #[arg(long)]
    pub name: Option<String>,
    /// Directory to write the profile into (default ~/.config/reel).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// One remote command.
#[derive(Debug, Clone)]
pub enum RemoteCommand {
    Devices(DevicesArgs),
    Libraries(LibrariesArgs),
    Media(MediaArgs),
    Pools(PoolsArgs),
    Jobs(JobsArgs),
    Alerts(AlertsArgs),
    Enroll(EnrollArgs),
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, RemoteError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| RemoteError::Usage(e.to_string()))
}

fn time(t: i64) -> String {
    if t == 0 { "-".into() } else { t.to_string() }
}

fn element_addr(s: &str) -> Result<u32, RemoteError> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| RemoteError::Usage(format!("element address {s:?}")))
}

async fn channel(opts: &RemoteOpts) -> Result<Channel, RemoteError> {
    connect(&find_profile(opts.profile.as_deref())?).await
}

/// Runs a command; returns what to print on standard output.
pub async fn run(cmd: RemoteCommand) -> Result<String, RemoteError> {
    match cmd {
        RemoteCommand::Devices(a) => devices(a).await,
        RemoteCommand::Libraries(a) => libraries(a).await,
        RemoteCommand::Media(a) => media(a).await,
        RemoteCommand::Pools(a) => pools(a).await,
        RemoteCommand::Jobs(a) => jobs(a).await,
        RemoteCommand::Alerts(a) => {
            let ch = channel(&a.opts).await?;
            let r = pb::alerts_client::AlertsClient::new(ch)
                .list_alerts(pb::Empty {})
                .await?
                .into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = String::new();
            for x in &r.alerts {
                o += &format!(
                    "{:>5} {} {:<8} {:<14} {}\n",
                    x.id, x.at, x.severity, x.device, x.message
                );
            }
            if r.alerts.is_empty() {
                o += "no alerts\n";
            }
            Ok(o)
        }
        RemoteCommand::Enroll(a) => {
            let name = a.name.clone().unwrap_or_else(default_name);
            let dir = match a.profile.clone() {
                Some(p) => p,
                None => std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".config/reel"))
                    .ok_or_else(|| RemoteError::Usage("no $HOME: give --profile".into()))?,
            };
            let (path, roles) = enroll(&a.server, &a.token, &a.fingerprint, &name, &dir).await?;
            if a.json {
                return json(&serde_json::json!({
                    "profile": path, "roles": roles, "name": name, "server": a.server
                }));
            }
            Ok(format!(
                "enrolled as {name} with roles {}; profile {}\n",
                roles.join(","),
                path.display()
            ))
        }
    }
}

fn default_name() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let n: String = format!("{user}@{host}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.@".contains(*c))
        .take(64)
        .collect();
    if n.is_empty() { "client".into() } else { n }
}

async fn devices(a: DevicesArgs) -> Result<String, RemoteError> {
    let mut c = pb::devices_client::DevicesClient::new(channel(&a.opts).await?);
    match a.cmd.unwrap_or(DevicesCmd::List) {
        DevicesCmd::List => {
            let r = c.list_devices(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = format!(
                "{:<14} {:<12} {:<8} {:<26} {:<12} {:<10} {}\n",
                "DEVICE", "KIND", "HEALTH", "MODEL", "SERIAL", "LOADED", "POOLS"
            );
            for d in &r.devices {
                o += &format!(
                    "{:<14} {:<12} {:<8} {:<26} {:<12} {:<10} {}{}\n",
                    d.id,
                    d.kind,
                    d.health,
                    format!("{} {}", d.vendor, d.product).trim(),
                    d.serial,
                    if d.loaded.is_empty() { "-" } else { &d.loaded },
                    d.pools.join(","),
                    if d.busy_job != 0 {
                        format!(" (job {})", d.busy_job)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(o)
        }
        DevicesCmd::Down { device } => set_health(&mut c, device, "down", a.opts.json).await,
        DevicesCmd::Up { device } => set_health(&mut c, device, "online", a.opts.json).await,
        DevicesCmd::Rescan => {
            let r = c.rescan(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            let mut o = format!("added: {}\nmissing: {}\n", list(&r.added), list(&r.missing));
            for w in &r.warnings {
                o += &format!("warning: {w}\n");
            }
            Ok(o)
        }
    }
}

async fn set_health(
    c: &mut pb::devices_client::DevicesClient<Channel>,
    device: String,
    health: &str,
    as_json: bool,
) -> Result<String, RemoteError> {
    let d = c
        .set_health(pb::SetHealthRequest {
            device,
            health: health.into(),
        })
        .await?
        .into_inner();
    if as_json {
        return json(&d);
    }
    Ok(format!("{}: {}\n", d.id, d.health))
}

fn elements_text(r: &pb::ElementStatusReply) -> String {
    let mut o = String::new();
    for e in &r.elements {
        let what = match e.kind.as_str() {
            "drive" => format!("Drive {}", e.number),
            "slot" => format!("Slot {}", e.number),
            "mail_slot" => format!("Mail slot {}", e.number),
            _ => "Transport".into(),
        };
        let content = if e.full {
            format!(
                "Full {}{}",
                e.barcode,
                if e.source != 0 {
                    format!(" (from {:#06x})", e.source)
                } else {
                    String::new()
                }
            )
        } else {
            "Empty".into()
        };
        o += &format!("{:<14} {:#06x}  {}\n", what, e.address, content);
    }
    o
}

async fn libraries(a: LibrariesArgs) -> Result<String, RemoteError> {
    let mut c = pb::libraries_client::LibrariesClient::new(channel(&a.opts).await?);
    match a.cmd.unwrap_or(LibrariesCmd::List) {
        LibrariesCmd::List => {
            let r = c.list_libraries(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = String::new();
            for l in &r.libraries {
                o += &format!(
                    "{}: {} {} serial {}, {} drives, {} slots, {} mail slots ({})\n",
                    l.id, l.vendor, l.product, l.serial, l.drives, l.slots, l.mail_slots, l.address
                );
            }
            Ok(o)
        }
        LibrariesCmd::Status { library } => {
            let r = c
                .element_status(pb::LibraryRef { library })
                .await?
                .into_inner();
            if a.opts.json {
                return json(&r);
            }
            Ok(elements_text(&r))
        }
        LibrariesCmd::Move { library, from, to } => {
            let r = c
                .move_medium(pb::MoveRequest {
                    library,
                    from: element_addr(&from)?,
                    to: element_addr(&to)?,
                })
                .await?
                .into_inner();
            if a.opts.json {
                return json(&r);
            }
            Ok(elements_text(&r))
        }
    }
}

async fn media(a: MediaArgs) -> Result<String, RemoteError> {
    let mut c = pb::media_client::MediaClient::new(channel(&a.opts).await?);
    match a.cmd.unwrap_or(MediaCmd::List) {
        MediaCmd::List => {
            let r = c.list_media(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = format!(
                "{:<10} {:<8} {:<10} {:<22} {:<10} {:>14} {}\n",
                "BARCODE", "TYPE", "STATE", "LOCATION", "SET", "BYTES", "PROTECTED UNTIL"
            );
            for m in &r.media {
                let loc = match m.location_kind.as_str() {
                    "drive" => m.drive.clone(),
                    "offline" => "offline".into(),
                    k => format!("{} {} {:#06x}", m.library, k, m.element),
                };
                o += &format!(
                    "{:<10} {:<8} {:<10} {:<22} {:<10} {:>14} {}\n",
                    m.barcode,
                    m.media_type,
                    m.state,
                    loc,
                    if m.media_set.is_empty() {
                        "-"
                    } else {
                        &m.media_set
                    },
                    m.bytes_written,
                    time(m.protect_until)
                );
            }
            Ok(o)
        }
        MediaCmd::Sets => {
            let r = c.list_media_sets(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = String::new();
            for s in &r.sets {
                o += &format!(
                    "{}: type {}, append {} s, protect {} s\n",
                    s.name, s.media_type, s.append_secs, s.protect_secs
                );
            }
            Ok(o)
        }
    }
}

async fn pools(a: PoolsArgs) -> Result<String, RemoteError> {
    let mut c = pb::pools_client::PoolsClient::new(channel(&a.opts).await?);
    match a.cmd.unwrap_or(PoolsCmd::List) {
        PoolsCmd::List => {
            let r = c.list_pools(pb::Empty {}).await?.into_inner();
            if a.opts.json {
                return json(&r);
            }
            let mut o = String::new();
            for p in &r.pools {
                o += &format!("{} ({}): {}", p.name, p.kind, p.members.join(", "));
                if !p.waiting.is_empty() {
                    o += &format!("  [{}]", p.waiting);
                }
                o += "\n";
            }
            Ok(o)
        }
        PoolsCmd::Create { name, members } => {
            let p = c
                .create_pool(pb::CreatePoolRequest { name, members })
                .await?
                .into_inner();
            if a.opts.json {
                return json(&p);
            }
            Ok(format!("pool {} ({}) created\n", p.name, p.kind))
        }
    }
}

/// Queues a job that carries no data; prints the queued job.
async fn submit(
    c: &mut pb::jobs_client::JobsClient<tonic::transport::Channel>,
    req: pb::SubmitJobRequest,
    as_json: bool,
) -> Result<String, RemoteError> {
    let j = c.submit_job(req).await?.into_inner();
    if as_json {
        return json(&j);
    }
    Ok(format!("queued: {}", job_line(&j)))
}

fn job_line(j: &pb::Job) -> String {
    let mut s = format!(
        "{:>5} {:<9} {:<9} {:<16} {:>12} B",
        j.id, j.kind, j.state, j.target, j.bytes_done
    );
    if !j.device.is_empty() {
        s += &format!(" on {}", j.device);
    }
    if !j.barcode.is_empty() {
        s += &format!(" ({})", j.barcode);
    }
    if !j.waiting.is_empty() && j.state == "queued" {
        s += &format!("  {}", j.waiting);
    }
    if !j.error.is_empty() {
        s += &format!("  error: {}", j.error);
    }
    s + "\n"
}

async fn jobs(a: JobsArgs) -> Result<String, RemoteError> {
    let ch = channel(&a.opts).await?;
    let mut c = pb::jobs_client::JobsClient::new(ch.clone());
    let as_json = a.opts.json;
    let one = |j: pb::Job| if as_json { json(&j) } else { Ok(job_line(&j)) };
    let cmd = a.cmd.unwrap_or(JobsCmd::List);
    match cmd.clone() {
        JobsCmd::List => {
            let r = c.list_jobs(pb::Empty {}).await?.into_inner();
            if as_json {
                return json(&r);
            }
            Ok(r.jobs.iter().map(job_line).collect())
        }
        JobsCmd::Show { id } => {
            let r = c.get_job(pb::JobRef { id }).await?.into_inner();
            if as_json {
                return json(&r);
            }
            let mut o = r.job.as_ref().map(job_line).unwrap_or_default();
            for e in &r.events {
                o += &format!("  {} {:<11} {:<14} {}\n", e.at, e.kind, e.device, e.message);
            }
            Ok(o)
        }
        JobsCmd::Watch { id } => watch(&mut c, id, as_json).await,
        JobsCmd::Pause { id } => one(c.pause_job(pb::JobRef { id }).await?.into_inner()),
        JobsCmd::Resume { id } => one(c.resume_job(pb::JobRef { id }).await?.into_inner()),
        JobsCmd::Cancel { id } => one(c.cancel_job(pb::JobRef { id }).await?.into_inner()),
        JobsCmd::Inventory { library } => one(c
            .submit_job(pb::SubmitJobRequest {
                kind: "inventory".into(),
                device: library,
                ..Default::default()
            })
            .await?
            .into_inner()),
        JobsCmd::Label {
            barcode,
            pool,
            force,
        }
        | JobsCmd::Erase {
            barcode,
            pool,
            force,
        } => {
            let kind = if matches!(cmd, JobsCmd::Label { .. }) {
                "label"
            } else {
                "erase"
            };
            submit(
                &mut c,
                pb::SubmitJobRequest {
                    kind: kind.into(),
                    pool,
                    barcode,
                    force,
                    ..Default::default()
                },
                as_json,
            )
            .await
        }
        JobsCmd::Clean { drive } => {
            submit(
                &mut c,
                pb::SubmitJobRequest {
                    kind: "clean".into(),
                    device: drive,
                    ..Default::default()
                },
                as_json,
            )
            .await
        }
        JobsCmd::Verify { set } => {
            submit(
                &mut c,
                pb::SubmitJobRequest {
                    kind: "verify".into(),
                    set_uuid: set,
                    ..Default::default()
                },
                as_json,
            )
            .await
        }
        JobsCmd::Duplicate {
            set,
            pool,
            media_set,
        } => {
            submit(
                &mut c,
                pb::SubmitJobRequest {
                    kind: "duplicate".into(),
                    pool,
                    set_uuid: set,
                    media_set,
                    ..Default::default()
                },
                as_json,
            )
            .await
        }
        JobsCmd::Backup {
            pool,
            media_set,
            file,
        } => {
            let r = backup_file(ch, &pool, &media_set, &file).await?;
            if as_json {
                return json(&r);
            }
            Ok(format!(
                "job {}: {} bytes to {} on {} (set {})\n",
                r.job,
                r.bytes,
                r.cartridges.join(","),
                r.device,
                r.set_uuid
            ))
        }
        JobsCmd::Restore { set, output } => {
            let (job, n) = restore_to(ch, &set, &output).await?;
            let msg = format!("job {job}: {n} bytes restored\n");
            // Keep standard output for the data when it goes there.
            if output.as_os_str() == "-" {
                eprint!("{msg}");
                return Ok(String::new());
            }
            Ok(msg)
        }
    }
}

async fn watch(
    c: &mut pb::jobs_client::JobsClient<Channel>,
    id: i64,
    as_json: bool,
) -> Result<String, RemoteError> {
    let mut s = c.watch_job(pb::JobRef { id }).await?.into_inner();
    let bar = (!as_json).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut last = None;
    while let Some(j) = s.next().await {
        let j = j?;
        match &bar {
            Some(b) => {
                b.set_length(j.bytes_total.max(j.bytes_done));
                b.set_position(j.bytes_done);
                b.set_message(format!("job {} {}", j.id, j.state));
            }
            None => println!("{}", serde_json::to_string(&j).unwrap_or_default()),
        }
        last = Some(j);
    }
    if let Some(b) = bar {
        b.finish();
    }
    Ok(match (last, as_json) {
        (Some(j), false) => job_line(&j),
        _ => String::new(),
    })
}

/// Streams a file (or standard input) to a backup.
pub async fn backup_file(
    ch: Channel,
    pool: &str,
    media_set: &str,
    file: &std::path::Path,
) -> Result<pb::BackupReply, RemoteError> {
    use tokio::io::AsyncReadExt;
    let (mut input, total): (Box<dyn tokio::io::AsyncRead + Unpin + Send>, u64) =
        if file.as_os_str() == "-" {
            (Box::new(tokio::io::stdin()), 0)
        } else {
            let f = tokio::fs::File::open(file).await?;
            let n = f.metadata().await?.len();
            (Box::new(f), n)
        };
    let header = pb::BackupHeader {
        pool: pool.into(),
        media_set: media_set.into(),
        bytes_total: total,
        name: file.display().to_string(),
        ..Default::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let reader = tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; 1 << 20];
            let n = input.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            buf.truncate(n);
            if tx.send(bytes::Bytes::from(buf)).await.is_err() {
                return Ok(());
            }
        }
    });
    let r = send_backup(ch, header, tokio_stream::wrappers::ReceiverStream::new(rx)).await?;
    reader
        .await
        .map_err(|e| RemoteError::Usage(e.to_string()))??;
    Ok(r)
}

/// Sends a backup: `header`, then `data` chunk by chunk (each at most
/// [`crate::api::MAX_MESSAGE`]); returns the daemon's reply once the set
/// is written.
pub async fn send_backup(
    ch: Channel,
    header: pb::BackupHeader,
    data: impl tokio_stream::Stream<Item = bytes::Bytes> + Send + 'static,
) -> Result<pb::BackupReply, RemoteError> {
    use pb::backup_message::Msg;
    let msgs = tokio_stream::once(Msg::Header(header))
        .chain(data.map(Msg::Data))
        .map(|m| pb::BackupMessage { msg: Some(m) });
    Ok(pb::data_client::DataClient::new(ch)
        .max_encoding_message_size(crate::api::MAX_MESSAGE)
        .backup(msgs)
        .await?
        .into_inner())
}

/// Restores a set into a file (or standard output); returns (job, bytes).
pub async fn restore_to(
    ch: Channel,
    set: &str,
    output: &std::path::Path,
) -> Result<(i64, u64), RemoteError> {
    let mut s = pb::data_client::DataClient::new(ch)
        .max_decoding_message_size(crate::api::MAX_MESSAGE)
        .restore(pb::RestoreRequest {
            set_uuid: set.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut out: Box<dyn Write> = if output.as_os_str() == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::fs::File::create(output)?)
    };
    let (mut job, mut n) = (0, 0u64);
    while let Some(c) = s.next().await {
        let c = c?;
        if c.job != 0 {
            job = c.job;
        }
        n += c.data.len() as u64;
        out.write_all(&c.data)?;
    }
    out.flush()?;
    Ok((job, n))
}
