//! Linux SCSI target framework (`tgtd`, Debian package `tgt`) as a test
//! peer: its own SSC tape and SMC changer emulation, served over iSCSI on
//! an ephemeral loopback port with a private control number, so parallel
//! tests and a system tgtd never meet.
//!
//! Layout of the target (tid 1):
//! - LUN 1: tape drive (SSC) with the cartridge [`TgtConfig::loaded_barcode`]
//!   already loaded (tgt's tape LUN is its backing-store image);
//! - LUN 2: changer (SMC): picker 1, drive 2 (= LUN 1), slots from 16 holding
//!   [`TgtConfig::slot_barcodes`] (images in the media home directory).
//!
//! tgtd ignores SIGTERM while targets exist, so [`TgtServer::stop`] deletes
//! the target and then the system through `tgtadm`, and only kills its own
//! PID if it still has not exited.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::tools::{HarnessError, find_tool, free_port, port_open, wait_exit};

/// LUN of the tape drive on the tgt target.
pub const TAPE_LUN: u64 = 1;
/// LUN of the changer on the tgt target.
pub const CHANGER_LUN: u64 = 2;
/// Element addresses of the tgt changer.
pub const PICKER_ADDR: u16 = 1;
pub const DRIVE_ADDR: u16 = 2;
pub const FIRST_SLOT_ADDR: u16 = 16;

/// What to put in the tgt target.
#[derive(Debug, Clone)]
pub struct TgtConfig {
    pub iqn: String,
    /// Size of every cartridge image in MB (tgtimg --size).
    pub tape_size_mb: u64,
    pub loaded_barcode: String,
    pub slot_barcodes: Vec<String>,
    /// Number of storage slots (at least `slot_barcodes.len()`).
    pub slots: u16,
}

impl Default for TgtConfig {
    fn default() -> TgtConfig {
        static N: AtomicU32 = AtomicU32::new(0);
        TgtConfig {
            iqn: format!(
                "iqn.2025-01.test.reel:tgt-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
            tape_size_mb: 256,
            loaded_barcode: "TGT000L5".into(),
            slot_barcodes: vec!["TGT001L5".into(), "TGT002L5".into()],
            slots: 4,
        }
    }
}

/// A running tgtd with one configured target; stopped on drop.
pub struct TgtServer {
    child: Option<Child>,
    control: u32,
    port: u16,
    config: TgtConfig,
    dir: PathBuf,
    tgtadm: PathBuf,
}

impl TgtServer {
    /// Starts tgtd with the default target layout, images under `dir`.
    pub fn start(dir: &Path) -> Result<TgtServer, HarnessError> {
        TgtServer::start_with(dir, TgtConfig::default())
    }

    /// Starts tgtd and configures the target described by `config`.
    pub fn start_with(dir: &Path, config: TgtConfig) -> Result<TgtServer, HarnessError> {
        let tool = |t: &str| {
            find_tool(t).ok_or_else(|| HarnessError::Missing {
                tool: t.into(),
                package: "tgt".into(),
            })
        };
        let tgtd = tool("tgtd")?;
        let tgtadm = tool("tgtadm")?;
        let tgtimg = tool("tgtimg")?;
        std::fs::create_dir_all(dir).map_err(|e| HarnessError::io("create tgt dir", e))?;

        let media = dir.join("media");
        std::fs::create_dir_all(&media).map_err(|e| HarnessError::io("create media dir", e))?;
        for code in std::iter::once(&config.loaded_barcode).chain(&config.slot_barcodes) {
            let file = media.join(code);
            if !file.exists() {
                run(Command::new(&tgtimg)
                    .args(["--op", "new", "--device-type", "tape", "--type", "data"])
                    .arg(format!("--barcode={code}"))
                    .arg(format!("--size={}", config.tape_size_mb))
                    .arg("--file")
                    .arg(&file))?;
            }
        }
        // tgt's SMC keeps its element state in memory; the backing store only
        // has to exist.
        let smc = dir.join("smc");
        std::fs::write(&smc, [0u8; 1024]).map_err(|e| HarnessError::io("create smc file", e))?;

        let mut last = None;
        for _ in 0..5 {
            match spawn_tgtd(&tgtd, &tgtadm, dir) {
                Ok((child, control, port)) => {
                    let mut server = TgtServer {
                        child: Some(child),
                        control,
                        port,
                        config,
                        dir: dir.to_path_buf(),
                        tgtadm,
                    };
                    server.configure(&media, &smc)?;
                    return Ok(server);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::NotReady("tgtd".into(), "no attempt".into())))
    }

    fn adm(&self) -> Command {
        let mut c = Command::new(&self.tgtadm);
        c.arg("-C").arg(self.control.to_string());
        c
    }

    fn lu_update(&self, lun: u64, params: &str) -> Result<(), HarnessError> {
        run(self
            .adm()
            .args(["--lld", "iscsi", "--mode", "logicalunit", "--op", "update"])
            .args(["--tid", "1", "--lun", &lun.to_string(), "--params", params]))
    }

    fn configure(&mut self, media: &Path, smc: &Path) -> Result<(), HarnessError> {
        let c = &self.config;
        run(self
            .adm()
            .args([
                "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1",
            ])
            .args(["-T", &c.iqn]))?;
        run(self
            .adm()
            .args(["--lld", "iscsi", "--mode", "logicalunit", "--op", "new"])
            .args(["--tid", "1", "--lun", &TAPE_LUN.to_string(), "-b"])
            .arg(media.join(&c.loaded_barcode))
            .arg("--device-type=tape"))?;
        run(self
            .adm()
            .args(["--lld", "iscsi", "--mode", "logicalunit", "--op", "new"])
            .args(["--tid", "1", "--lun", &CHANGER_LUN.to_string(), "-b"])
            .arg(smc)
            .arg("--device-type=changer"))?;
        let l = CHANGER_LUN;
        self.lu_update(l, &format!("media_home={}", media.display()))?;
        self.lu_update(
            l,
            &format!("element_type=1,start_address={PICKER_ADDR},quantity=1"),
        )?;
        self.lu_update(
            l,
            &format!("element_type=4,start_address={DRIVE_ADDR},quantity=1"),
        )?;
        self.lu_update(
            l,
            &format!("element_type=4,address={DRIVE_ADDR},tid=1,lun={TAPE_LUN}"),
        )?;
        let slots = self
            .config
            .slots
            .max(self.config.slot_barcodes.len() as u16);
        self.lu_update(
            l,
            &format!("element_type=2,start_address={FIRST_SLOT_ADDR},quantity={slots}"),
        )?;
        for (i, code) in self.config.slot_barcodes.clone().iter().enumerate() {
            self.lu_update(
                l,
                &format!(
                    "element_type=2,address={},barcode={code},sides=1",
                    FIRST_SLOT_ADDR + i as u16
                ),
            )?;
        }
        run(self
            .adm()
            .args([
                "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1",
            ])
            .args(["-I", "127.0.0.1"]))?;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn iqn(&self) -> &str {
        &self.config.iqn
    }

    pub fn config(&self) -> &TgtConfig {
        &self.config
    }

    /// Portal URL for `iscsi-ls`: `iscsi://127.0.0.1:PORT`.
    pub fn portal_url(&self) -> String {
        format!("iscsi://127.0.0.1:{}", self.port)
    }

    /// LUN URL: `iscsi://127.0.0.1:PORT/IQN/LUN`.
    pub fn url(&self, lun: u64) -> String {
        format!("{}/{}/{lun}", self.portal_url(), self.config.iqn)
    }

    /// PID of tgtd (None once stopped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// tgtd's log (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("tgtd-{}.log", self.control)))
            .unwrap_or_default()
    }

    /// Deletes the target and the system, then reaps tgtd by its PID.
    pub fn stop(mut self) -> Result<(), HarnessError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), HarnessError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = run(self
            .adm()
            .args(["--lld", "iscsi", "--op", "delete", "--mode", "target"])
            .args(["--tid", "1", "--force"]));
        let _ = run(self.adm().args(["--op", "delete", "--mode", "system"]));
        let clean = wait_exit(&mut child, Duration::from_secs(10)).is_some();
        if !clean {
            // Only our own child, by PID.
            let _ = child.kill();
            let _ = child.wait();
        }
        remove_control_socket(self.control);
        if clean {
            Ok(())
        } else {
            Err(HarnessError::NotReady(
                "tgtd shutdown".into(),
                format!("pid {} killed after 10 s", child.id()),
            ))
        }
    }
}

impl Drop for TgtServer {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!("tgtd stop: {e}");
        }
    }
}

const SOCKET_DIR: &str = "/var/run/tgtd";

fn control_socket(n: u32) -> PathBuf {
    Path::new(SOCKET_DIR).join(format!("socket.{n}"))
}

fn remove_control_socket(n: u32) {
    let _ = std::fs::remove_file(control_socket(n));
    let _ = std::fs::remove_file(Path::new(SOCKET_DIR).join(format!("socket.{n}.lock")));
}

/// A control number no live tgtd uses: derived from our PID (so parallel
/// test processes differ) plus a counter (so tests in one process differ),
/// skipping any whose socket still answers.
/// (1000 and up: below that are the numbers people pick by hand.)
fn pick_control() -> u32 {
    static N: AtomicU32 = AtomicU32::new(0);
    loop {
        // tgtd accepts control numbers up to 32767.
        let k = std::process::id().wrapping_mul(16) + N.fetch_add(1, Ordering::Relaxed);
        let n = 1_000 + k % 31_000;
        if std::os::unix::net::UnixStream::connect(control_socket(n)).is_err() {
            return n;
        }
    }
}

fn spawn_tgtd(tgtd: &Path, tgtadm: &Path, dir: &Path) -> Result<(Child, u32, u16), HarnessError> {
    let control = pick_control();
    let port = free_port()?;
    let log_path = dir.join(format!("tgtd-{control}.log"));
    let log = File::create(&log_path).map_err(|e| HarnessError::io("create tgtd log", e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| HarnessError::io("clone tgtd log", e))?;
    let mut child = Command::new(tgtd)
        .arg("--iscsi")
        .arg(format!("portal=127.0.0.1:{port}"))
        .args(["-C", &control.to_string(), "-f"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| HarnessError::io("spawn tgtd", e))?;
    tracing::debug!(pid = child.id(), control, port, "tgtd started");

    let deadline = Instant::now() + Duration::from_secs(10);
    let stop = |child: &mut Child| {
        let _ = Command::new(tgtadm)
            .args([
                "-C",
                &control.to_string(),
                "--op",
                "delete",
                "--mode",
                "system",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if wait_exit(child, Duration::from_secs(5)).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        remove_control_socket(control);
    };
    loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        // tgtd keeps running when its portal is taken: detect it here.
        if text.contains("failed to create/bind to portal") {
            stop(&mut child);
            return Err(HarnessError::NotReady(
                "tgtd".into(),
                format!("port {port} taken: {text}"),
            ));
        }
        if let Ok(Some(st)) = child.try_wait() {
            remove_control_socket(control);
            return Err(HarnessError::NotReady(
                "tgtd".into(),
                format!("exited with {st}: {text}"),
            ));
        }
        let mgmt_ok = Command::new(tgtadm)
            .args([
                "-C",
                &control.to_string(),
                "--op",
                "show",
                "--mode",
                "system",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mgmt_ok && port_open(port) {
            return Ok((child, control, port));
        }
        if Instant::now() >= deadline {
            stop(&mut child);
            return Err(HarnessError::NotReady("tgtd".into(), text));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command to completion; a non-zero exit is an error with stderr.
pub(crate) fn run(cmd: &mut Command) -> Result<(), HarnessError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::io(format!("run {cmd:?}"), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Command {
            command: format!("{cmd:?}"),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout),
        })
    }
}
