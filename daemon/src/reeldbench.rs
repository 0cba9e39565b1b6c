//! The daemon side of `reelctl bench backup`: the README's demo host
//! (`reeld` with its embedded VTL and SQLite) started as a child process
//! in the bench's directory, and backups streamed to it over gRPC with
//! mutual TLS, as a backup server would send them. The daemon spools the
//! stream (so a failed drive can be replaced mid-job), runs the job
//! through its scheduler and writes pool `lto8`, media set `default`.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tonic::transport::Channel;

use crate::api::pb;
use crate::remote::{Profile, cmd::send_backup, connect};

/// The demo's tape pool and media set.
const POOL: &str = "lto8";
const MEDIA_SET: &str = "default";
/// Bytes per gRPC data message (what `reelctl jobs backup` sends).
const MESSAGE: usize = 1 << 20;

/// A running demo reeld and a client connected to it.
pub struct ReeldSide {
    /// Whether the daemon spools streamed backups.
    pub spool: bool,
    child: Child,
    rt: tokio::runtime::Runtime,
    ch: Channel,
}

fn other(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// `reeld` next to the running reelctl.
fn reeld_binary() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("reeld");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(other(
            "bench backup",
            format!(
                "{} not found (build it: cargo build --release -p reeld --bins), or pass --no-reeld",
                bin.display()
            ),
        ))
    }
}

impl ReeldSide {
    /// Starts a demo reeld on ephemeral ports with data directory
    /// `dir/data` (with `--no-spool` unless `spool`) and connects with the
    /// local admin profile its banner names.
    pub fn start(dir: &Path, spool: bool) -> io::Result<ReeldSide> {
        std::fs::create_dir_all(dir)?;
        let log = std::fs::File::create(dir.join("reeld.log"))?;
        let mut cmd = Command::new(reeld_binary()?);
        cmd.arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(["--log", "warn"]);
        if !spool {
            cmd.arg("--no-spool");
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn()?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| other("reeld", "no stdout"))?;
        let mut profile = None;
        for line in BufReader::new(out).lines() {
            let line = line?;
            if let Some(p) = line.strip_prefix("local admin profile: ") {
                profile = Some(PathBuf::from(p.trim()));
                break;
            }
        }
        let Some(path) = profile else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(other(
                "reeld",
                format!(
                    "exited before its banner named a profile (see {})",
                    dir.join("reeld.log").display()
                ),
            ));
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let connected = Profile::load(&path).and_then(|p| rt.block_on(connect(&p)));
        match connected {
            Ok(ch) => Ok(ReeldSide {
                spool,
                child,
                rt,
                ch,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(other("connecting to reeld", e))
            }
        }
    }

    /// Streams `data` as one backup into the demo's tape pool; returns the
    /// bytes the daemon reports written.
    pub fn backup(&self, data: &bytes::Bytes) -> io::Result<u64> {
        let header = pb::BackupHeader {
            pool: POOL.into(),
            media_set: MEDIA_SET.into(),
            bytes_total: data.len() as u64,
            name: "bench".into(),
            ..Default::default()
        };
        // Slices of the one buffer: no copy before the message encoding.
        let data = data.clone();
        let chunks = (0..data.len().div_ceil(MESSAGE)).map(move |i| {
            let end = ((i + 1) * MESSAGE).min(data.len());
            data.slice(i * MESSAGE..end)
        });
        let reply = self
            .rt
            .block_on(send_backup(
                self.ch.clone(),
                header,
                tokio_stream::iter(chunks),
            ))
            .map_err(|e| other("backup through reeld", e))?;
        Ok(reply.bytes)
    }

    /// CPU time the daemon process has used so far (user + system).
    pub fn cpu(&self) -> Duration {
        proc_cpu(self.child.id()).unwrap_or_default()
    }
}

impl Drop for ReeldSide {
    fn drop(&mut self) {
        // SIGTERM lets reeld shut down cleanly; the bench's directory goes
        // away right after.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_err() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// utime + stime of process `pid` from /proc/PID/stat.
fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(
        &stat,
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??,
    )
}

/// The CPU time in a /proc/PID/stat line: fields 14 and 15 (clock ticks),
/// counted after the command name, which may itself hold spaces and ')'.
fn parse_stat_cpu(stat: &str, ticks_per_s: i64) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let tps = u64::try_from(ticks_per_s).ok().filter(|&t| t > 0)?;
    Some(Duration::from_millis((utime + stime) * 1000 / tps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_is_read_after_the_command_name() {
        let line =
            "4242 (reel d) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_cpu(line, 100), Some(Duration::from_secs(3)));
        assert_eq!(parse_stat_cpu("4242 (reeld) S 1", 100), None);
        assert_eq!(parse_stat_cpu("garbage", 100), None);
        assert_eq!(parse_stat_cpu(line, 0), None);
    }
}
