//! `reelctl disk`: disk storage devices (directories of backup containers)
//! from the command line, and `reelctl bench disk-storage`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use reel_drivers::storage::{
    Compression, ContainerInfo, DiskStorage, DiskStorageError, Thresholds, WriteOptions,
};
use serde_json::{Value, json};

use crate::progress::Progress;
use crate::vtlcmd::parse_capacity;

#[derive(Debug, Subcommand)]
pub enum DiskCommand {
    /// Make a directory a disk storage device.
    Init {
        dir: PathBuf,
        /// Capacity (e.g. 500G); default: the filesystem's size.
        #[arg(long, value_parser = parse_capacity)]
        capacity: Option<u64>,
        /// Available space at which the device warns (default 10 % of the
        /// capacity).
        #[arg(long, value_parser = parse_capacity)]
        low_space: Option<u64>,
    },
    /// Write a new container: each FILE (or stdin when none) becomes one
    /// file of the container, separated by file marks.
    Write {
        dir: PathBuf,
        name: String,
        files: Vec<PathBuf>,
        /// Write-protect the container once written.
        #[arg(long)]
        protect: bool,
        /// Store records uncompressed.
        #[arg(long)]
        no_compress: bool,
        /// zstd level (default: the device's, 3).
        #[arg(long, allow_negative_numbers = true)]
        level: Option<i32>,
        /// Plain bytes per record (default: the device's, 1M).
        #[arg(long, value_parser = parse_capacity)]
        record_size: Option<u64>,
    },
    /// Write one file of a container to stdout.
    Read {
        dir: PathBuf,
        name: String,
        /// File number, from 0.
        #[arg(long, default_value_t = 0)]
        file: u64,
    },
    /// Containers on the device.
    List { dir: PathBuf },
    /// Read every record of one or all containers and check every CRC.
    Verify { dir: PathBuf, name: Option<String> },
    /// Turn what an interrupted write of NAME left into a complete
    /// container of every valid record.
    Recover { dir: PathBuf, name: String },
    /// Capacity, space state and thresholds.
    Info { dir: PathBuf },
    /// Set or clear a container's write protection.
    Protect {
        dir: PathBuf,
        name: String,
        /// on or off.
        #[arg(value_parser = parse_on_off, action = clap::ArgAction::Set)]
        state: bool,
    },
    /// Delete a container (refused while protected) or an interrupted
    /// write's leftover.
    Delete { dir: PathBuf, name: String },
}

/// What a command prints: the value for `--json`, text for people.
pub struct Output {
    pub value: Value,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DiskCmdError {
    #[error(transparent)]
    Storage(#[from] DiskStorageError),
    #[error("{path}: {source}")]
    Input {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{failed} of {total} containers failed verification")]
    VerifyFailed { failed: usize, total: usize },
}

impl DiskCmdError {
    /// The message with its causes (`a: b: c`), for stderr.
    pub fn message(&self) -> String {
        let mut s = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(e) = cur {
            let m = e.to_string();
            if !s.ends_with(&m) {
                s.push_str(": ");
                s.push_str(&m);
            }
            cur = e.source();
        }
        s
    }

    pub fn json(&self) -> Value {
        let class = match self {
            DiskCmdError::Storage(e) => Some(e.class().name()),
            _ => None,
        };
        json!({"error": self.message(), "class": class})
    }

    /// True when the output pipe was closed (`| head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, DiskCmdError::Storage(DiskStorageError::Output(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub fn run(cmd: DiskCommand, out: &mut dyn Write) -> Result<Output, DiskCmdError> {
    match cmd {
        DiskCommand::Init {
            dir,
            capacity,
            low_space,
        } => {
            let thresholds = low_space.map(|low_space| Thresholds {
                low_space,
                reserve: 0,
            });
            let dev = DiskStorage::init(&dir, capacity, thresholds)?;
            info(&dev)
        }
        DiskCommand::Write {
            dir,
            name,
            files,
            protect,
            no_compress,
            level,
            record_size,
        } => {
            let mut dev = DiskStorage::open(&dir)?;
            let mut opts = dev.write_options();
            if no_compress {
                opts.compression = Compression::off();
            }
            if let Some(l) = level {
                opts.compression.level = l;
            }
            if let Some(r) = record_size {
                opts.record_size = usize::try_from(r).unwrap_or(usize::MAX);
            }
            dev.set_write_options(opts);
            write(&dev, &name, &files, protect)
        }
        DiskCommand::Read { dir, name, file } => {
            let dev = DiskStorage::open(&dir)?;
            let mut r = dev.open_container(&name)?;
            let total = usize::try_from(file)
                .ok()
                .and_then(|i| r.files().get(i))
                .map_or(0, |e| e.plain_bytes);
            let progress = Progress::start(&format!("reading {name} file {file}"));
            let mut done = 0u64;
            let entry = r.read_file(file, &mut |d| {
                out.write_all(d).map_err(DiskStorageError::Output)?;
                done += d.len() as u64;
                progress.set_indication(fraction(done, total));
                Ok(())
            })?;
            progress.finish();
            out.flush()
                .map_err(|e| DiskCmdError::Storage(DiskStorageError::Output(e)))?;
            Ok(Output {
                value: json!({"file": file, "records": entry.records, "bytes": entry.plain_bytes}),
                text: String::new(),
            })
        }
        DiskCommand::List { dir } => {
            let dev = DiskStorage::open(&dir)?;
            let list = dev.list()?;
            Ok(Output {
                text: list_text(&list),
                value: json!({"containers": list}),
            })
        }
        DiskCommand::Verify { dir, name } => verify(&DiskStorage::open(&dir)?, name.as_deref()),
        DiskCommand::Recover { dir, name } => {
            let dev = DiskStorage::open(&dir)?;
            let rep = dev.recover(&name)?;
            let text = format!(
                "recovered {}: {} files, {} records, {} bytes; {} damaged or unfinished bytes dropped{}\n",
                rep.path.display(),
                rep.kept.files,
                rep.kept.records,
                rep.kept.plain_bytes,
                rep.dropped_bytes,
                if rep.closed_open_file {
                    "; the last file was cut short"
                } else {
                    ""
                }
            );
            Ok(Output {
                value: to_value(&rep),
                text,
            })
        }
        DiskCommand::Info { dir } => info(&DiskStorage::open(&dir)?),
        DiskCommand::Protect { dir, name, state } => {
            DiskStorage::open(&dir)?.set_protected(&name, state)?;
            Ok(Output {
                value: json!({"name": name, "protected": state}),
                text: format!(
                    "{name}: write protection {}\n",
                    if state { "on" } else { "off" }
                ),
            })
        }
        DiskCommand::Delete { dir, name } => {
            DiskStorage::open(&dir)?.delete(&name)?;
            Ok(Output {
                value: json!({"deleted": name}),
                text: format!("deleted {name}\n"),
            })
        }
    }
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(format!("{s:?}: expected on or off")),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn fraction(done: u64, total: u64) -> u16 {
    if total == 0 {
        return 0;
    }
    u16::try_from(done.min(total) * u64::from(u16::MAX) / total).unwrap_or(u16::MAX)
}

fn info(dev: &DiskStorage) -> Result<Output, DiskCmdError> {
    let i = dev.info()?;
    let value = to_value(&i);
    Ok(Output {
        text: crate::report::human(&value),
        value,
    })
}

fn write(
    dev: &DiskStorage,
    name: &str,
    files: &[PathBuf],
    protect: bool,
) -> Result<Output, DiskCmdError> {
    let mut w = dev.create(name)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let progress = Progress::start(&format!("writing {name}"));
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    let inputs: Vec<Option<&Path>> = if files.is_empty() {
        vec![None]
    } else {
        files.iter().map(|f| Some(f.as_path())).collect()
    };
    for input in inputs {
        let label = input.map_or("<stdin>".to_string(), |p| p.display().to_string());
        let in_err = |source| DiskCmdError::Input {
            path: label.clone(),
            source,
        };
        let mut src: Box<dyn Read> = match input {
            Some(p) => Box::new(std::fs::File::open(p).map_err(in_err)?),
            None => Box::new(std::io::stdin().lock()),
        };
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(in_err(e)),
            };
            w.write(&buf[..n])?;
            done += n as u64;
            progress.set_indication(fraction(done, total));
        }
        w.write_filemark()?;
    }
    let s = w.finish()?;
    progress.finish();
    if protect {
        dev.set_protected(name, true)?;
    }
    let text = format!(
        "wrote {}: {} files, {} bytes ({} stored, {} compressed records)\n",
        s.path.display(),
        s.files,
        s.plain_bytes,
        s.container_bytes,
        s.codec.compressed
    );
    let mut value = to_value(&s);
    value["protected"] = json!(protect);
    Ok(Output { value, text })
}

fn verify(dev: &DiskStorage, name: Option<&str>) -> Result<Output, DiskCmdError> {
    let Some(name) = name else {
        let list = dev.list()?;
        let mut results = Vec::new();
        let mut text = String::new();
        let mut failed = 0;
        for c in list.iter().filter(|c| c.status != "partial") {
            match dev.verify(&c.name) {
                Ok(r) => {
                    text.push_str(&format!(
                        "{}: ok ({} files, {} bytes)\n",
                        c.name, r.files, r.plain_bytes
                    ));
                    results.push(json!({"name": c.name, "ok": true, "report": r}));
                }
                Err(e) => {
                    failed += 1;
                    text.push_str(&format!("{}: FAILED: {e}\n", c.name));
                    results.push(json!({"name": c.name, "ok": false, "error": e.to_string()}));
                }
            }
        }
        for c in list.iter().filter(|c| c.status == "partial") {
            text.push_str(&format!(
                "{}: interrupted write (not a container yet; see `reelctl disk recover`)\n",
                c.name
            ));
        }
        if failed > 0 {
            eprint!("{text}");
            return Err(DiskCmdError::VerifyFailed {
                failed,
                total: results.len(),
            });
        }
        return Ok(Output {
            value: json!({"containers": results}),
            text,
        });
    };
    let progress = Progress::start(&format!("verifying {name}"));
    let r = dev.verify(name);
    progress.finish();
    let r = r?;
    Ok(Output {
        text: format!(
            "{name}: ok ({} files, {} records, {} bytes)\n",
            r.files, r.records, r.plain_bytes
        ),
        value: json!({"name": name, "ok": true, "report": r}),
    })
}

fn list_text(list: &[ContainerInfo]) -> String {
    let mut s = format!(
        "{:<24} {:<9} {:>12} {:>6} {:>14}  {}\n",
        "NAME", "STATUS", "BYTES", "FILES", "DATA", "PROTECTED"
    );
    for c in list {
        s.push_str(&format!(
            "{:<24} {:<9} {:>12} {:>6} {:>14}  {}\n",
            c.name,
            c.status,
            c.bytes,
            c.files.map_or("-".into(), |f| f.to_string()),
            c.plain_bytes.map_or("-".into(), |f| f.to_string()),
            if c.protected { "yes" } else { "no" }
        ));
    }
    s
}

/// `reelctl bench disk-storage`.
#[derive(Debug, Args)]
pub struct DiskBenchArgs {
    /// Directory for the test device (default: a temporary one in the
    /// current directory's filesystem, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Bytes per run.
    #[arg(long, default_value = "256M", value_parser = parse_capacity)]
    pub size: u64,
    /// Runs of each case (alternated); medians are reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// zstd level.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub level: i32,
    #[arg(long)]
    pub json: bool,
}

/// Text-like data: words from a small vocabulary with numbers, which zstd
/// compresses about 3-5 times, like logs and documents.
pub fn text_like(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "backup", "tape", "the", "of", "file", "restore", "job", "error", "ok", "disk", "record",
        "library", "drive", "and", "slot", "media",
    ];
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n + 32);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(WORDS[(x & 15) as usize].as_bytes());
        v.push(if x & 0x3f0 == 0 { b'\n' } else { b' ' });
        if x & 0x700 == 0 {
            v.extend_from_slice(format!("{} ", (x >> 40) % 100_000).as_bytes());
        }
    }
    v.truncate(n);
    v
}

/// Incompressible data (xorshift).
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Writes and reads back `size` bytes of text-like and of random data with
/// compression on and off; prints MB/s (medians) and the ratios that
/// matter: random data with compression on against off must stay >= 0.95.
pub fn bench(args: &DiskBenchArgs, log: &mut dyn FnMut(&str)) -> Result<Value, DiskCmdError> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.join(format!("reel-disk-bench-{}", std::process::id())),
        None => {
            tmp = tempfile::Builder::new()
                .prefix(".reel-disk-bench")
                .tempdir_in(".")
                .map_err(|source| DiskCmdError::Input {
                    path: ".".into(),
                    source,
                })?;
            tmp.path().join("dev")
        }
    };
    let mut dev = DiskStorage::init(&dir, None, None)?;
    let size = usize::try_from(args.size).unwrap_or(usize::MAX);
    let chunk = 1 << 20;
    // One chunk repeated with a varying seed would be deduplicated by
    // nothing here, but generating `size` bytes per run would dominate:
    // 16 distinct chunks cycle.
    let text: Vec<Vec<u8>> = (0..16).map(|i| text_like(chunk, i + 1)).collect();
    let random: Vec<Vec<u8>> = (0..16).map(|i| random_bytes(chunk, i + 101)).collect();
    let cases: [(&str, &Vec<Vec<u8>>, bool); 4] = [
        ("text, zstd", &text, true),
        ("text, plain", &text, false),
        ("random, zstd", &random, true),
        ("random, plain", &random, false),
    ];
    let mut write_mbs = vec![Vec::new(); cases.len()];
    let mut read_mbs = vec![Vec::new(); cases.len()];
    let mut stored = vec![0u64; cases.len()];
    for run in 0..args.runs.max(1) {
        for (i, (label, data, zstd)) in cases.iter().enumerate() {
            dev.set_write_options(WriteOptions {
                compression: if *zstd {
                    Compression {
                        enabled: true,
                        level: args.level,
                    }
                } else {
                    Compression::off()
                },
                ..WriteOptions::default()
            });
            let name = format!("bench{run}-{i}");
            let t = Instant::now();
            let mut w = dev.create(&name)?;
            let mut left = size;
            let mut k = 0;
            while left > 0 {
                let c = &data[k % data.len()];
                let n = left.min(c.len());
                w.write(&c[..n])?;
                left -= n;
                k += 1;
            }
            let s = w.finish()?;
            let wt = t.elapsed().as_secs_f64();
            stored[i] = s.container_bytes;
            let t = Instant::now();
            let mut r = dev.open_container(&name)?;
            let mut got = 0usize;
            r.read_file(0, &mut |d| {
                got += d.len();
                Ok(())
            })?;
            let rt = t.elapsed().as_secs_f64();
            dev.delete(&name)?;
            let mb = size as f64 / 1e6;
            write_mbs[i].push(mb / wt.max(1e-9));
            read_mbs[i].push(mb / rt.max(1e-9));
            log(&format!(
                "run {run} {label:<14} write {:8.1} MB/s  read {:8.1} MB/s",
                mb / wt.max(1e-9),
                mb / rt.max(1e-9)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = Vec::new();
    let mut w_med = Vec::new();
    for (i, (label, _, _)) in cases.iter().enumerate() {
        let w = median(&mut write_mbs[i]);
        let r = median(&mut read_mbs[i]);
        w_med.push(w);
        rows.push(json!({"case": label, "write_mb_s": w, "read_mb_s": r,
            "ratio_stored": stored[i] as f64 / size as f64}));
    }
    Ok(json!({
        "dir": dir,
        "size": size,
        "runs": args.runs.max(1),
        "level": args.level,
        "cases": rows,
        "random_zstd_vs_plain_write": w_med[2] / w_med[3].max(1e-9),
        "text_zstd_vs_plain_write": w_med[0] / w_med[1].max(1e-9),
    }))
}

/// The bench's result as a table for people.
pub fn bench_text(v: &Value) -> String {
    let mut s = format!(
        "disk storage device: {} MiB per run, {} runs (medians), zstd level {}\n",
        v["size"].as_u64().unwrap_or(0) >> 20,
        v["runs"],
        v["level"]
    );
    s.push_str(&format!(
        "{:<16} {:>12} {:>12} {:>8}\n",
        "case", "write MB/s", "read MB/s", "stored"
    ));
    for c in v["cases"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "{:<16} {:>12.1} {:>12.1} {:>7.1}%\n",
            c["case"].as_str().unwrap_or(""),
            c["write_mb_s"].as_f64().unwrap_or(0.0),
            c["read_mb_s"].as_f64().unwrap_or(0.0),
            c["ratio_stored"].as_f64().unwrap_or(0.0) * 100.0
        ));
    }
    let r = v["random_zstd_vs_plain_write"].as_f64().unwrap_or(0.0);
    s.push_str(&format!(
        "random data, zstd on / off (write): {r:.3} (goal >= 0.95: {})\n",
        if r >= 0.95 { "met" } else { "NOT met" }
    ));
    s.push_str(&format!(
        "text data, zstd on / off (write): {:.3}\n",
        v["text_zstd_vs_plain_write"].as_f64().unwrap_or(0.0)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_data_compresses_and_random_does_not() {
        let t = text_like(1 << 20, 1);
        let r = random_bytes(1 << 20, 1);
        let mut enc = reel_drivers::storage::codec::RecordEncoder::new(Compression::default());
        let (h, stored) = enc.encode(&t, 0);
        assert!(h.is_zstd());
        assert!(stored.len() * 2 < t.len(), "{}", stored.len());
        let (h, _) = enc.encode(&r, 1);
        assert!(!h.is_zstd());
    }

    #[test]
    fn fraction_is_bounded() {
        assert_eq!(fraction(0, 0), 0);
        assert_eq!(fraction(5, 10), 32767);
        assert_eq!(fraction(20, 10), u16::MAX);
    }
}
