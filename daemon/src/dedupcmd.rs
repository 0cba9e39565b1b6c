//! `reelctl dedup`: the deduplicating store's command line (issue 8).
//! Every command returns one JSON value; `reelctl` prints it as JSON
//! (`--json`) or as `key: value` lines.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::dedup::{
    DedupError, IngestKind, PutReport, ScrubReport, SetId, Store, StoreConfig, TenantId,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Tar-aware when the input starts with a tar header.
    Auto,
    /// Parse as tar (plain chunking where it stops being tar).
    Tar,
    /// Plain content-defined chunking.
    Bytes,
}

#[derive(Debug, Subcommand)]
pub enum DedupCommand {
    /// Create a store in DIR.
    Init {
        dir: PathBuf,
        /// Minimum chunk size in bytes.
        #[arg(long, default_value_t = 256 << 10)]
        min_chunk: usize,
        /// Average chunk size in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        avg_chunk: usize,
        /// Maximum chunk size in bytes.
        #[arg(long, default_value_t = 4 << 20)]
        max_chunk: usize,
        /// zstd level per chunk; 0 stores chunks uncompressed.
        #[arg(long, default_value_t = 3)]
        zstd: i32,
    },
    /// Store a stream (stdin, or each FILE) or a directory (as a pax tar)
    /// as a new backup set; prints the set id, bytes in and new bytes stored.
    Put {
        dir: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// How to read a stream.
        #[arg(long, value_enum, default_value = "auto")]
        kind: Kind,
        /// Files or directories; stdin when none.
        paths: Vec<PathBuf>,
    },
    /// Write a set's stream to stdout, verified.
    Get {
        dir: PathBuf,
        set: String,
        #[arg(long)]
        tenant: String,
    },
    /// List backup sets.
    List {
        dir: PathBuf,
        /// Only this tenant's sets.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Read every chunk; report damaged chunks and the sets they break.
    Verify { dir: PathBuf },
    /// Delete unreferenced chunks (safe while puts run).
    Gc {
        dir: PathBuf,
        /// Packs younger than this many seconds are kept.
        #[arg(long, default_value_t = 3600)]
        grace: u64,
    },
    /// Delete a backup set (its chunks go at the next gc).
    Delete {
        dir: PathBuf,
        set: String,
        #[arg(long)]
        tenant: String,
    },
    /// Stored bytes, chunks and sets.
    Stats { dir: PathBuf },
    /// Rewrite every pack's index from the pack itself.
    RebuildIndex { dir: PathBuf },
    /// Copy a set to another store's copy server (mutual TLS), sending only
    /// the chunks it lacks.
    Copy(crate::dedupcopycmd::CopyArgs),
    /// Serve this store as a copy destination (mutual TLS).
    Serve(crate::dedupcopycmd::ServeArgs),
    /// Certificates for copy/serve.
    Keys {
        #[command(subcommand)]
        cmd: crate::dedupcopycmd::KeysCommand,
    },
    /// A tenant's chunk-id key: export, import, fingerprint.
    Tenant {
        #[command(subcommand)]
        cmd: TenantCommand,
    },
}

/// `reelctl dedup tenant ...`. A tenant's key makes its chunk ids; stores
/// that hold the same key for a tenant can copy its sets to each other
/// (`copy` also hands the key over by itself when the destination has none).
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Print the tenant's key as a key file (keep it secret: it is the
    /// tenant's chunk-id key). Without --json the output is the file.
    Export { dir: PathBuf, tenant: String },
    /// Give the store the tenant's key from FILE (made by export). Refused
    /// when the store holds a different key for the tenant.
    Import {
        dir: PathBuf,
        tenant: String,
        file: PathBuf,
    },
    /// Print the fingerprint of the tenant's key (none when it has no key).
    Fingerprint { dir: PathBuf, tenant: String },
}

fn run_tenant(cmd: TenantCommand) -> Result<Value, DedupError> {
    match cmd {
        TenantCommand::Export { dir, tenant } => {
            let store = Store::open(&dir)?;
            let text = store.export_tenant_key(&TenantId::new(&tenant)?)?;
            // Printed as a line: the file is exactly that line.
            Ok(Value::String(text.trim_end().to_string()))
        }
        TenantCommand::Import { dir, tenant, file } => {
            let store = Store::open(&dir)?;
            let tenant = TenantId::new(&tenant)?;
            let data = std::fs::read(&file).map_err(|e| DedupError::Io {
                path: file.clone(),
                source: e,
            })?;
            let adoption = store.import_tenant_key(&tenant, &data)?;
            Ok(json!({
                "tenant": tenant.as_str(),
                "result": adoption,
                "fingerprint": store.tenant_key_fingerprint(&tenant)?,
            }))
        }
        TenantCommand::Fingerprint { dir, tenant } => {
            let store = Store::open(&dir)?;
            let tenant = TenantId::new(&tenant)?;
            Ok(json!({
                "tenant": tenant.as_str(),
                "fingerprint": store.tenant_key_fingerprint(&tenant)?,
            }))
        }
    }
}

/// A byte counter on stderr while a person watches.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(total: Option<u64>, msg: &str) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{msg} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}"
        } else {
            "{spinner} {msg} [{elapsed_precise}] {bytes} {bytes_per_sec}"
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(msg.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(Some(bar))
    }
    fn set(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.set_position(n);
        }
    }
    fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}

fn put_json(r: &PutReport, input: &str) -> Value {
    json!({
        "set": r.set.as_str(),
        "input": input,
        "bytes_in": r.bytes_in,
        "new_bytes": r.new_bytes,
        "chunks": r.chunks,
        "new_chunks": r.new_chunks,
    })
}

pub fn scrub_json(r: &ScrubReport) -> Value {
    json!({
        "clean": r.is_clean(),
        "chunks_checked": r.chunks_checked,
        "bytes_checked": r.bytes_checked,
        "damaged": r.damaged.iter().map(|d| json!({
            "chunk": d.id.to_string(), "pack": d.pack, "offset": d.offset, "reason": d.reason,
        })).collect::<Vec<_>>(),
        "broken_sets": r.broken_sets.iter().map(|b| json!({
            "tenant": b.tenant.as_str(), "set": b.set.as_str(),
            "damaged_chunks": b.damaged_chunks, "missing_chunks": b.missing_chunks,
        })).collect::<Vec<_>>(),
        "unreadable_sets": r.unreadable_sets,
    })
}

fn put_one(
    store: &Store,
    tenant: &TenantId,
    name: &str,
    kind: IngestKind,
    path: Option<&Path>,
) -> Result<Value, DedupError> {
    let label = path.map_or_else(|| "-".to_string(), |p| p.display().to_string());
    match path {
        Some(p) if p.is_dir() => {
            let bar = Bar::new(None, &format!("put {label}"));
            let r = store.put_dir(tenant, name, p, &mut |n| bar.set(n))?;
            bar.finish();
            Ok(put_json(&r, &label))
        }
        Some(p) => {
            let mut f = std::fs::File::open(p).map_err(DedupError::io(p))?;
            let total = f.metadata().ok().map(|m| m.len());
            let bar = Bar::new(total, &format!("put {label}"));
            let r = store.put(tenant, name, &mut f, kind, &mut |n| bar.set(n))?;
            bar.finish();
            Ok(put_json(&r, &label))
        }
        None => {
            let bar = Bar::new(None, "put stdin");
            let stdin = std::io::stdin();
            let mut input: Box<dyn Read> = Box::new(stdin.lock());
            let r = store.put(tenant, name, &mut input, kind, &mut |n| bar.set(n))?;
            bar.finish();
            Ok(put_json(&r, &label))
        }
    }
}

/// Runs one command; `get` writes the stream to stdout and returns its report.
pub fn run(cmd: DedupCommand) -> Result<Value, DedupError> {
    match cmd {
        DedupCommand::Init {
            dir,
            min_chunk,
            avg_chunk,
            max_chunk,
            zstd,
        } => {
            let cfg = StoreConfig {
                min_chunk,
                avg_chunk,
                max_chunk,
                compression: (zstd != 0).then_some(zstd),
            };
            Store::init(&dir, cfg.clone())?;
            Ok(json!({
                "store": dir.display().to_string(),
                "min_chunk": cfg.min_chunk,
                "avg_chunk": cfg.avg_chunk,
                "max_chunk": cfg.max_chunk,
                "zstd": cfg.compression,
            }))
        }
        DedupCommand::Put {
            dir,
            tenant,
            name,
            kind,
            paths,
        } => {
            let store = Store::open(&dir)?;
            let tenant = TenantId::new(&tenant)?;
            let kind = match kind {
                Kind::Auto => IngestKind::Auto,
                Kind::Tar => IngestKind::Tar,
                Kind::Bytes => IngestKind::Bytes,
            };
            if paths.is_empty() {
                return put_one(&store, &tenant, &name, kind, None);
            }
            let mut out = Vec::new();
            for p in &paths {
                out.push(put_one(&store, &tenant, &name, kind, Some(p))?);
            }
            Ok(if out.len() == 1 {
                out.remove(0)
            } else {
                Value::Array(out)
            })
        }
        DedupCommand::Get { dir, set, tenant } => {
            let store = Store::open(&dir)?;
            let tenant = TenantId::new(&tenant)?;
            let set = SetId::new(&set)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let r = store.get(&tenant, &set, &mut out)?;
            out.flush()?;
            Ok(json!({ "set": set.as_str(), "bytes_out": r.bytes_out, "verified": true }))
        }
        DedupCommand::List { dir, tenant } => {
            let store = Store::open(&dir)?;
            let tenant = tenant.as_deref().map(TenantId::new).transpose()?;
            let sets = store.list(tenant.as_ref())?;
            Ok(Value::Array(
                sets.iter()
                    .map(|s| {
                        json!({
                            "tenant": s.tenant.as_str(),
                            "set": s.set.as_str(),
                            "name": s.name,
                            "created": s.created.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                            "logical_size": s.logical_size,
                            "chunks": s.chunks,
                        })
                    })
                    .collect(),
            ))
        }
        DedupCommand::Verify { dir } => {
            let store = Store::open(&dir)?;
            Ok(scrub_json(&store.verify()?))
        }
        DedupCommand::Gc { dir, grace } => {
            let store = Store::open(&dir)?;
            let r = store.gc(Duration::from_secs(grace))?;
            Ok(json!({
                "sets": r.sets,
                "live_chunks": r.live_chunks,
                "deleted_chunks": r.deleted_chunks,
                "deleted_packs": r.deleted_packs,
                "repacked_packs": r.repacked_packs,
                "orphan_packs": r.orphan_packs,
                "stale_leases": r.stale_leases,
                "freed_bytes": r.freed_bytes,
            }))
        }
        DedupCommand::Delete { dir, set, tenant } => {
            let store = Store::open(&dir)?;
            let tenant = TenantId::new(&tenant)?;
            let set = SetId::new(&set)?;
            store.delete_set(&tenant, &set)?;
            Ok(json!({ "deleted": set.as_str() }))
        }
        DedupCommand::Stats { dir } => {
            let s = Store::open(&dir)?.stats()?;
            Ok(json!({
                "packs": s.packs,
                "chunks": s.chunks,
                "stored_bytes": s.stored_bytes,
                "plain_bytes": s.plain_bytes,
                "sets": s.sets,
                "logical_bytes": s.logical_bytes,
                "dedup_ratio": if s.stored_bytes > 0 { s.logical_bytes as f64 / s.stored_bytes as f64 } else { 0.0 },
            }))
        }
        DedupCommand::RebuildIndex { dir } => {
            let n = Store::open(&dir)?.rebuild_index()?;
            Ok(json!({ "packs_indexed": n }))
        }
        DedupCommand::Copy(args) => Ok(crate::dedupcopycmd::run_copy(&args)?),
        DedupCommand::Serve(args) => {
            crate::dedupcopycmd::run_serve(&args, &mut |addr| {
                eprintln!("reelctl dedup serve: listening on {addr}");
            })?;
            Ok(Value::Null)
        }
        DedupCommand::Keys { cmd } => Ok(crate::dedupcopycmd::run_keys(&cmd)?),
        DedupCommand::Tenant { cmd } => run_tenant(cmd),
    }
}

/// Exit status for a command's result: verify that finds damage fails.
pub fn exit_code(v: &Value) -> u8 {
    if v.get("clean") == Some(&Value::Bool(false)) {
        1
    } else {
        0
    }
}
