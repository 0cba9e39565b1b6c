//! Linux SCSI generic transport: SG_IO on `/dev/sgN`.
//!
//! - [`sg_io`]: the `repr(C)` header and the ioctls (the only `unsafe`).
//! - [`status`]: host/driver/SCSI status decoding (pure).
//! - [`limits`]: the adapter's maximum transfer.
//! - [`sysfs`]: `/dev/nstN`, `/dev/stN`, `/dev/schN` and persistent
//!   symlinks to `/dev/sgN`, and discovery of every sg device.

pub mod limits;
pub mod sg_io;
pub mod status;
pub mod sysfs;
#[cfg(test)]
mod udev_rules_check;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::address::DeviceAddress;
use crate::scsi::transport::{Completion, DataDirection, ScsiTransport, TransportError};

pub use limits::{LimitSource, SgLimits};
pub use sysfs::{Hctl, ResolveError, Resolved, SgDevice, SysfsRoots};

/// Oldest sg driver with the v3 (`sg_io_hdr`) interface: 3.0.0.
const SG_V3_VERSION: i32 = 30000;

/// Opening an sg device failed.
#[derive(Debug, thiserror::Error)]
pub enum SgError {
    #[error("cannot open {path}: {source}{hint}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("{path} is not a SCSI generic (sg) device: {detail}")]
    NotSg { path: PathBuf, detail: String },
    #[error("{path}: sg driver version {version} lacks the SG_IO v3 interface")]
    OldDriver { path: PathBuf, version: i32 },
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{0} is not a Linux device path (the sg transport opens /dev/sgN, /dev/nstN, ...)")]
    NotLinux(String),
}

fn open_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (read-write access is needed: run as root or add the user to the \
             group owning the node, usually `tape` or `disk`)"
        }
        Some(libc::EBUSY) => " (another program holds it open exclusively)",
        Some(libc::ENXIO) | Some(libc::ENODEV) => " (the device is gone or offline)",
        Some(libc::ENOENT) => " (no such device node)",
        _ => "",
    }
}

/// A SCSI device reached through the Linux sg driver.
#[derive(Debug)]
pub struct SgTransport {
    file: File,
    path: PathBuf,
    limits: SgLimits,
}

impl SgTransport {
    /// Opens `/dev/sgN` read-write.
    ///
    /// Opened with O_NONBLOCK as sg3_utils does, so the open itself does
    /// not wait while the SCSI midlayer is recovering the device (sg_open
    /// blocks in that case otherwise), then O_NONBLOCK is cleared: SG_IO
    /// blocks either way, and a blocking descriptor keeps the sg
    /// read()/write() interface conventional for anyone sharing it.
    pub fn open(path: impl AsRef<Path>) -> Result<SgTransport, SgError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source: io::Error| SgError::Open {
            hint: open_hint(&source),
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(open_err)?;
        let flags = fcntl(file.as_fd(), FcntlArg::F_GETFL).map_err(|e| open_err(e.into()))?;
        let mut flags = OFlag::from_bits_truncate(flags);
        flags.remove(OFlag::O_NONBLOCK);
        fcntl(file.as_fd(), FcntlArg::F_SETFL(flags)).map_err(|e| open_err(e.into()))?;

        // Only the sg driver answers SG_GET_VERSION_NUM; this keeps SG_IO
        // from being sent to, say, a tape node that happens to accept it.
        match sg_io::get_version_num(file.as_fd()) {
            Ok(v) if v >= SG_V3_VERSION => {}
            Ok(version) => return Err(SgError::OldDriver { path, version }),
            Err(e) => {
                return Err(SgError::NotSg {
                    path,
                    detail: format!("SG_GET_VERSION_NUM failed: {}", e.desc()),
                });
            }
        }

        let limits = query_limits(&file, &path);
        tracing::debug!(path = %path.display(), ?limits, "opened sg device");
        Ok(SgTransport { file, path, limits })
    }

    /// Opens the sg device behind any accepted path (`/dev/sgN`,
    /// `/dev/nstN`, `/dev/stN`, `/dev/schN`, `/dev/tape/by-id/...`).
    pub fn open_resolved(
        roots: &SysfsRoots,
        path: impl AsRef<Path>,
    ) -> Result<SgTransport, SgError> {
        let r = sysfs::resolve_sg(roots, path.as_ref())?;
        SgTransport::open(r.sg_path)
    }

    /// Opens a [`DeviceAddress`] of one of the two Linux forms; VTL and
    /// iSCSI addresses are refused (other crates open those).
    pub fn open_address(roots: &SysfsRoots, addr: &DeviceAddress) -> Result<SgTransport, SgError> {
        match addr {
            DeviceAddress::Sg(p) => SgTransport::open(p),
            DeviceAddress::Path(p) => SgTransport::open_resolved(roots, p),
            other => Err(SgError::NotLinux(other.to_string())),
        }
    }

    /// The device node this transport has open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn limits(&self) -> SgLimits {
        self.limits
    }
}

/// Asks the open device for its limits; each query is optional.
fn query_limits(file: &File, path: &Path) -> SgLimits {
    let blk = sg_io::blksectget(file.as_fd()).ok();
    // sysfs only helps when BLKSECTGET did not answer.
    let sysfs_kb = if blk.is_some_and(|v| v > 0) {
        None
    } else {
        sysfs_device_dir_of(path).and_then(|d| limits::sysfs_max_sectors_kb(&d))
    };
    let (max_transfer, source) = limits::choose_max_transfer(blk, sysfs_kb);
    let positive = |r: Result<i32, Errno>| {
        r.ok()
            .filter(|&v| v > 0)
            .and_then(|v| usize::try_from(v).ok())
    };
    SgLimits {
        max_transfer,
        source,
        reserved_size: positive(sg_io::get_reserved_size(file.as_fd())),
        max_segments: positive(sg_io::get_sg_tablesize(file.as_fd())),
    }
}

fn sysfs_device_dir_of(path: &Path) -> Option<PathBuf> {
    let name = std::fs::canonicalize(path).ok()?;
    let name = name.file_name()?.to_str()?;
    std::fs::canonicalize(
        Path::new("/sys/class/scsi_generic")
            .join(name)
            .join("device"),
    )
    .ok()
}

fn map_errno(e: Errno, requested: usize, max: usize) -> TransportError {
    match e {
        Errno::ENODEV | Errno::ENXIO => {
            TransportError::Disconnected(format!("device is gone or offline ({})", e.desc()))
        }
        // The kernel refuses a data phase it cannot map; with the limit
        // unknown this is the only place an oversized block shows up.
        Errno::EINVAL | Errno::ENOMEM if requested > 0 && max == usize::MAX => {
            TransportError::Other(format!(
                "SG_IO refused a {requested}-byte transfer ({}); the adapter's \
                 maximum transfer could not be determined, try a smaller block size",
                e.desc()
            ))
        }
        // A signal interrupted the wait. The command may still run on the
        // device, so it must not be re-sent (a repeated WRITE would write
        // the block twice); the caller decides.
        Errno::EINTR => TransportError::Other(
            "SG_IO interrupted by a signal; the command may still have run".to_string(),
        ),
        e => TransportError::Io(io::Error::from(e)),
    }
}

impl ScsiTransport for SgTransport {
    fn execute(
        &mut self,
        cdb: &[u8],
        mut data: DataDirection<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let requested = data.len();
        if requested > self.limits.max_transfer {
            return Err(TransportError::TooLarge {
                requested,
                max: self.limits.max_transfer,
            });
        }
        let mut sense = [0u8; sg_io::SENSE_MAX];
        let hdr = sg_io::execute(self.file.as_fd(), cdb, &mut data, &mut sense, timeout).map_err(
            |e| match e {
                sg_io::ExecuteError::Header(sg_io::HeaderError::DataLength(n)) => {
                    TransportError::TooLarge {
                        requested: n,
                        max: u32::MAX as usize,
                    }
                }
                sg_io::ExecuteError::Header(e) => TransportError::Other(e.to_string()),
                sg_io::ExecuteError::Ioctl(e) => map_errno(e, requested, self.limits.max_transfer),
            },
        )?;
        let outcome = hdr.outcome();
        tracing::trace!(path = %self.path.display(), ?outcome, "SG_IO done");
        status::decode(&outcome, &sense, requested, timeout)
    }

    fn max_transfer(&self) -> usize {
        self.limits.max_transfer
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_missing_device_names_the_path() {
        let e = SgTransport::open("/dev/sg4242").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/dev/sg4242"), "{msg}");
        assert!(msg.contains("cannot open"), "{msg}");
        match e {
            SgError::Open { source, .. } => assert_eq!(source.kind(), io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn open_a_non_sg_file_is_refused() {
        // A regular file opens but is no sg device: SG_GET_VERSION_NUM fails.
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let e = SgTransport::open(tmp.path()).unwrap_err();
        assert!(matches!(e, SgError::NotSg { .. }), "{e:?}");
        assert!(e.to_string().contains("not a SCSI generic"), "{e}");
        // /dev/null is a character device but not sg either.
        let e = SgTransport::open("/dev/null").unwrap_err();
        assert!(matches!(e, SgError::NotSg { .. }), "{e:?}");
    }

    #[test]
    fn open_resolved_reports_resolution_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = SysfsRoots::new(tmp.path().join("sys"), tmp.path().join("dev"));
        let e = SgTransport::open_resolved(&roots, tmp.path().join("dev/nst0")).unwrap_err();
        assert!(
            matches!(e, SgError::Resolve(ResolveError::NotFound { .. })),
            "{e:?}"
        );
        assert!(e.to_string().contains("dev/nst0"), "{e}");
    }

    #[test]
    fn open_resolved_goes_to_the_sg_node() {
        let tmp = tempfile::tempdir().unwrap();
        let roots = sysfs::fake::add(tmp.path(), &sysfs::fake::drive("0:0:1:0", "sg5", 0, "S1"));
        // Resolution succeeds; opening the fake (regular-file) sg node then
        // fails the sg check, naming the sg path it reached.
        let e = SgTransport::open_resolved(&roots, roots.dev.join("nst0")).unwrap_err();
        assert!(matches!(e, SgError::NotSg { .. }), "{e:?}");
        assert!(e.to_string().contains("sg5"), "{e}");
    }

    #[test]
    fn open_address_forms() {
        let roots = SysfsRoots::default();
        let a: DeviceAddress = "/dev/sg4242".parse().unwrap();
        let e = SgTransport::open_address(&roots, &a).unwrap_err();
        assert!(e.to_string().contains("cannot open /dev/sg4242"), "{e}");
        let a: DeviceAddress = "vtl:/tmp/x#drive0".parse().unwrap();
        let e = SgTransport::open_address(&roots, &a).unwrap_err();
        assert!(matches!(e, SgError::NotLinux(_)), "{e:?}");
        assert!(e.to_string().contains("vtl:/tmp/x#drive0"), "{e}");
    }

    #[test]
    fn errno_mapping() {
        assert!(matches!(
            map_errno(Errno::ENODEV, 0, 1 << 20),
            TransportError::Disconnected(_)
        ));
        let e = map_errno(Errno::EINVAL, 4 << 20, usize::MAX);
        assert!(e.to_string().contains("4194304-byte transfer"), "{e}");
        assert!(matches!(
            map_errno(Errno::EINVAL, 0, usize::MAX),
            TransportError::Io(_)
        ));
        assert!(e.to_string().contains("smaller block size"));
        assert!(
            map_errno(Errno::EINTR, 0, 0)
                .to_string()
                .contains("may still have run")
        );
    }

    /// A transport over a regular file: every ioctl fails with ENOTTY, so
    /// only the checks made before SG_IO and the errno path are exercised.
    fn fake_transport(max_transfer: usize) -> (tempfile::NamedTempFile, SgTransport) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let file = File::options()
            .read(true)
            .write(true)
            .open(tmp.path())
            .unwrap();
        let mut limits = SgLimits::unknown();
        limits.max_transfer = max_transfer;
        let t = SgTransport {
            file,
            path: tmp.path().to_path_buf(),
            limits,
        };
        (tmp, t)
    }

    #[test]
    fn execute_refuses_blocks_above_the_limit() {
        let (_tmp, mut t) = fake_transport(1 << 20);
        assert_eq!(t.max_transfer(), 1 << 20);
        let buf = vec![0u8; (1 << 20) + 1];
        let e = t
            .execute(
                &[0x0a, 0, 0, 0, 0, 0],
                DataDirection::ToDevice(&buf),
                Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(
            matches!(e, TransportError::TooLarge { requested, max } if requested == (1 << 20) + 1 && max == 1 << 20),
            "{e:?}"
        );
        // The same through command::run, which checks before the transport.
        let e = crate::scsi::command::run(
            &mut t,
            "WRITE(6)",
            &[0x0a, 0, 0, 0, 0, 0],
            DataDirection::ToDevice(&buf),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("exceeds the adapter limit of 1048576 bytes"),
            "{e}"
        );
    }

    #[test]
    fn execute_rejects_bad_cdb_and_reports_ioctl_failure() {
        let (_tmp, mut t) = fake_transport(usize::MAX);
        let e = t
            .execute(&[], DataDirection::None, Duration::from_secs(1))
            .unwrap_err();
        assert!(e.to_string().contains("CDB length 0"), "{e}");
        // SG_IO on a regular file: ENOTTY surfaces as an I/O error.
        let e = t
            .execute(&[0u8; 6], DataDirection::None, Duration::from_secs(1))
            .unwrap_err();
        match e {
            TransportError::Io(io) => assert_eq!(io.raw_os_error(), Some(libc::ENOTTY)),
            other => panic!("{other:?}"),
        }
        assert_eq!(t.describe(), t.path().display().to_string());
    }

    #[test]
    fn transport_is_send() {
        fn is_send<T: Send>() {}
        is_send::<SgTransport>();
    }
}
