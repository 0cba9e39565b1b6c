//! `reel-vtl serve --config FILE --listen 127.0.0.1:0` as a child process.
//!
//! The server prints `reel-vtl: listening on ADDR` once its socket is
//! bound; the harness reads ADDR from that line, so no port is fixed and no
//! port race exists. Stopped with SIGTERM by PID (the server saves the
//! library state on SIGTERM), killed by PID if it does not exit in time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::tools::{HarnessError, signal, wait_exit};

/// The readiness line the server prints (stdout or stderr).
pub const READY_PREFIX: &str = "reel-vtl: listening on ";

/// Finds the `reel-vtl` binary: `$REEL_VTL_BIN`, else next to the running
/// executable (`target/<profile>/reel-vtl`, built by `cargo build
/// --workspace`, which scripts/test.sh runs first). When it is not there,
/// it is built with cargo in the same profile and target directory, so
/// `cargo test -p reel-hwtests` and `cargo run --release --bin
/// reel-bench-iscsi` work on their own.
pub fn reel_vtl_bin() -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os("REEL_VTL_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| HarnessError::io("current_exe", e))?;
    // target/debug/deps/test-hash -> target/debug/reel-vtl
    let find = || {
        exe.ancestors()
            .skip(1)
            .take(3)
            .map(|dir| dir.join("reel-vtl"))
            .find(|c| c.is_file())
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    build_reel_vtl(&exe)?;
    find().ok_or_else(|| HarnessError::NoBinary("reel-vtl".into()))
}

/// `cargo build -p reel-vtl --bin reel-vtl` into the profile directory
/// that holds `exe` (`target/<profile>/[deps/]exe`).
fn build_reel_vtl(exe: &Path) -> Result<(), HarnessError> {
    let no_bin = || HarnessError::NoBinary("reel-vtl".into());
    let profile_dir = exe
        .ancestors()
        .skip(1)
        .find(|d| d.file_name().is_some_and(|n| n != "deps"))
        .ok_or_else(no_bin)?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(no_bin)?;
    let target_dir = profile_dir.parent().ok_or_else(no_bin)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let profile_arg = if profile == "debug" { "dev" } else { profile };
    eprintln!("reel-hwtests: building reel-vtl ({profile_arg} profile)");
    let st = Command::new(cargo)
        .args(["build", "-p", "reel-vtl", "--bin", "reel-vtl", "--profile"])
        .arg(profile_arg)
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| HarnessError::io("run cargo build -p reel-vtl", e))?;
    if st.success() { Ok(()) } else { Err(no_bin()) }
}

/// Parses the readiness line; None for any other line.
pub fn parse_ready_line(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix(READY_PREFIX)
        .and_then(|a| a.trim().parse().ok())
}

/// A running `reel-vtl serve`; stopped on drop.
pub struct ReelVtlServer {
    child: Option<Child>,
    addr: SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ReelVtlServer {
    /// Starts `reel-vtl serve --config CONFIG --listen 127.0.0.1:0` and
    /// waits (up to 30 s) for its readiness line.
    pub fn start(config: &Path) -> Result<ReelVtlServer, HarnessError> {
        ReelVtlServer::start_bin(&reel_vtl_bin()?, config)
    }

    pub fn start_bin(bin: &Path, config: &Path) -> Result<ReelVtlServer, HarnessError> {
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| HarnessError::io(format!("spawn {}", bin.display()), e))?;
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        // Both streams are drained for the server's whole life so it never
        // blocks on a full pipe.
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let tx = tx.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = parse_ready_line(&line) {
                        let _ = tx.send(addr);
                    }
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        drop(tx);
        let mut server = ReelVtlServer {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => {
                server.addr = addr;
                Ok(server)
            }
            Err(_) => {
                server.shutdown();
                Err(HarnessError::NotReady(
                    "reel-vtl serve".into(),
                    server.log(),
                ))
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `iscsi://127.0.0.1:PORT`.
    pub fn portal_url(&self) -> String {
        format!("iscsi://{}", self.addr)
    }

    /// `iscsi://127.0.0.1:PORT/IQN/LUN`.
    pub fn url(&self, iqn: &str, lun: u64) -> String {
        format!("{}/{iqn}/{lun}", self.portal_url())
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGTERM by PID and wait for a clean exit; returns whether it exited
    /// successfully within 15 s (otherwise it is killed).
    pub fn stop(mut self) -> Result<(), HarnessError> {
        match self.shutdown() {
            Some(true) => Ok(()),
            other => Err(HarnessError::NotReady(
                "reel-vtl shutdown".into(),
                format!("clean exit: {other:?}; log:\n{}", self.log()),
            )),
        }
    }

    fn shutdown(&mut self) -> Option<bool> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        match wait_exit(&mut child, Duration::from_secs(15)) {
            Some(st) => Some(st.success()),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Some(false)
            }
        }
    }
}

impl Drop for ReelVtlServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line() {
        assert_eq!(
            parse_ready_line("reel-vtl: listening on 127.0.0.1:40123\n"),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(parse_ready_line("reel-vtl: listening on nowhere"), None);
        assert_eq!(parse_ready_line("INFO something else"), None);
    }
}
