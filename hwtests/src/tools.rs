//! Shared helpers of the interop harnesses: locating external tools,
//! ephemeral ports, waiting for a child process.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Why a harness could not start, drive or stop an external program.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{tool} is not installed (scripts/setup.sh installs Debian package {package})")]
    Missing { tool: String, package: String },
    #[error("workspace binary {0} not built (run: cargo build -p reel-vtl, or set REEL_VTL_BIN)")]
    NoBinary(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{0} did not become ready in time: {1}")]
    NotReady(String, String),
    #[error("cannot parse output of {tool}: {detail}")]
    Parse { tool: String, detail: String },
}

impl HarnessError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> HarnessError {
        HarnessError::Io {
            what: what.into(),
            source,
        }
    }
}

/// True when running under CI, where a missing tool is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds `tool` on PATH (or in /usr/sbin, where Debian puts tgtd even for
/// users whose PATH lacks it).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The tools a test needs, or None to skip it. Under `CI=true` a missing
/// tool panics: CI installs them (scripts/setup.sh), so absence there is a
/// broken environment, never a reason to pass quietly.
pub fn require_tools(tools: &[(&str, &str)]) -> Option<Vec<PathBuf>> {
    let mut found = Vec::new();
    for &(tool, package) in tools {
        match find_tool(tool) {
            Some(p) => found.push(p),
            None => {
                let err = HarnessError::Missing {
                    tool: tool.into(),
                    package: package.into(),
                };
                if in_ci() {
                    panic!("{err}");
                }
                eprintln!("skipping: {err}");
                return None;
            }
        }
    }
    Some(found)
}

/// A currently free TCP port on 127.0.0.1. The port is released before
/// returning, so a server started on it may still lose a race: callers
/// check the server really bound it and retry with another port.
pub fn free_port() -> Result<u16, HarnessError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| HarnessError::io("bind an ephemeral port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| HarnessError::io("local_addr", e))
}

/// True once something accepts connections on 127.0.0.1:port.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Waits up to `limit` for `child` to exit; None if it is still running.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops `child` by its PID: SIGTERM, then SIGKILL if it has not exited
/// within `grace`, then reaps it.
pub fn terminate(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child.id(), "TERM");
    if wait_exit(child, grace).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends a signal to one PID through kill(1): no unsafe and no libc
/// dependency in the test harness.
pub fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
