//! The SG_IO v3 interface: the `sg_io_hdr` layout from
//! `include/uapi/scsi/sg.h` (libc does not provide it) and the ioctls
//! reel issues on an sg file descriptor.
//!
//! Building the header is pure (pointers into caller buffers, no I/O) so it
//! can be tested field by field; the `unsafe` is confined to the ioctl
//! wrappers at the bottom.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::scsi::transport::DataDirection;

/// `interface_id` of the v3 interface: ASCII 'S'.
pub const SG_INTERFACE_ID: i32 = b'S' as i32;

/// `dxfer_direction` values (sg.h).
pub const SG_DXFER_NONE: i32 = -1;
pub const SG_DXFER_TO_DEV: i32 = -2;
pub const SG_DXFER_FROM_DEV: i32 = -3;

/// ioctl request numbers (sg.h, fs.h). These predate `_IOC` encoding, so
/// they are plain numbers ("bad" ioctls in nix terms).
pub const SG_IO: u32 = 0x2285;
pub const SG_GET_VERSION_NUM: u32 = 0x2282;
pub const SG_GET_RESERVED_SIZE: u32 = 0x2272;
pub const SG_GET_SG_TABLESIZE: u32 = 0x227F;
/// `_IO(0x12, 103)`. On an sg node the sg driver answers it with the
/// queue's maximum transfer in **bytes** (an `int`), unlike block devices
/// where it is an `unsigned short` count of 512-byte sectors.
pub const BLKSECTGET: u32 = 0x1267;

/// `info` bit: something other than a clean completion happened.
pub const SG_INFO_CHECK: u32 = 0x1;

/// Largest sense buffer SPC allows (additional length 244 + 8 header bytes).
pub const SENSE_MAX: usize = 252;

/// Largest CDB the v3 header can describe (`SG_MAX_CDB_SIZE` in sg.c).
pub const CDB_MAX: usize = 252;

/// `struct sg_io_hdr` from `include/uapi/scsi/sg.h`, field for field.
/// `(i)` fields are set by us, `(o)` fields by the kernel.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgIoHdr {
    /// (i) 'S'.
    pub interface_id: i32,
    /// (i) one of the `SG_DXFER_*` values.
    pub dxfer_direction: i32,
    /// (i) CDB length.
    pub cmd_len: u8,
    /// (i) capacity of the sense buffer at `sbp`.
    pub mx_sb_len: u8,
    /// (i) 0: `dxferp` is one flat buffer, not an iovec list.
    pub iovec_count: u16,
    /// (i) data-phase length in bytes.
    pub dxfer_len: u32,
    /// (i) data buffer.
    pub dxferp: *mut c_void,
    /// (i) CDB bytes (read only by the kernel).
    pub cmdp: *const u8,
    /// (i) sense buffer.
    pub sbp: *mut u8,
    /// (i) timeout in milliseconds; `u32::MAX` means none.
    pub timeout: u32,
    /// (i) `SG_FLAG_*`; 0 = indirect I/O, the default.
    pub flags: u32,
    /// [i->o] unused by reel.
    pub pack_id: i32,
    /// [i->o] unused by reel.
    pub usr_ptr: *mut c_void,
    /// (o) SCSI status byte.
    pub status: u8,
    /// (o) status shifted right by one and masked (obsolete form).
    pub masked_status: u8,
    /// (o) messaging-level status (unused by modern transports).
    pub msg_status: u8,
    /// (o) sense bytes actually written to `sbp`.
    pub sb_len_wr: u8,
    /// (o) `DID_*` from the host adapter driver.
    pub host_status: u16,
    /// (o) `DRIVER_*` (low nibble) and `SUGGEST_*` (high nibble).
    pub driver_status: u16,
    /// (o) `dxfer_len` minus the bytes actually transferred.
    pub resid: i32,
    /// (o) command duration in milliseconds.
    pub duration: u32,
    /// (o) `SG_INFO_*` bits.
    pub info: u32,
}

impl SgIoHdr {
    fn zeroed() -> SgIoHdr {
        SgIoHdr {
            interface_id: SG_INTERFACE_ID,
            dxfer_direction: SG_DXFER_NONE,
            cmd_len: 0,
            mx_sb_len: 0,
            iovec_count: 0,
            dxfer_len: 0,
            dxferp: std::ptr::null_mut(),
            cmdp: std::ptr::null(),
            sbp: std::ptr::null_mut(),
            timeout: 0,
            flags: 0,
            pack_id: 0,
            usr_ptr: std::ptr::null_mut(),
            status: 0,
            masked_status: 0,
            msg_status: 0,
            sb_len_wr: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            info: 0,
        }
    }

    /// The kernel-written half of the header, as plain values.
    pub fn outcome(&self) -> SgOutcome {
        SgOutcome {
            status: self.status,
            masked_status: self.masked_status,
            host_status: self.host_status,
            driver_status: self.driver_status,
            sb_len_wr: self.sb_len_wr,
            resid: self.resid,
            duration_ms: self.duration,
            info: self.info,
        }
    }
}

/// What the kernel reported for one SG_IO call, without the pointers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SgOutcome {
    pub status: u8,
    pub masked_status: u8,
    pub host_status: u16,
    pub driver_status: u16,
    pub sb_len_wr: u8,
    pub resid: i32,
    pub duration_ms: u32,
    pub info: u32,
}

/// Why a header could not be built (the command was never sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("CDB length {0} is outside 1..={CDB_MAX}")]
    CdbLength(usize),
    #[error("data length {0} does not fit the 32-bit SG_IO length field")]
    DataLength(usize),
}

/// Milliseconds for the header's `timeout` field: rounded up so a short
/// non-zero timeout never becomes 0 (which the kernel reads as "use the
/// 60 s default"), and clamped to `u32::MAX` (which it reads as "none").
pub fn timeout_ms(timeout: std::time::Duration) -> u32 {
    let ms = timeout.as_nanos().div_ceil(1_000_000).max(1);
    u32::try_from(ms).unwrap_or(u32::MAX)
}

/// Fills a header for one command. The returned header points into `cdb`,
/// `data` and `sense`; only [`execute`] hands a header to the kernel, and
/// it does so while those borrows are alive.
pub fn build_header(
    cdb: &[u8],
    data: &mut DataDirection<'_>,
    sense: &mut [u8],
    timeout: std::time::Duration,
) -> Result<SgIoHdr, HeaderError> {
    if cdb.is_empty() || cdb.len() > CDB_MAX {
        return Err(HeaderError::CdbLength(cdb.len()));
    }
    let mut h = SgIoHdr::zeroed();
    h.cmd_len = cdb.len() as u8; // checked above: <= 252
    h.cmdp = cdb.as_ptr();
    h.mx_sb_len = sense.len().min(SENSE_MAX) as u8;
    h.sbp = sense.as_mut_ptr();
    h.timeout = timeout_ms(timeout);
    let (dir, ptr, len) = match data {
        // An empty buffer has no data phase whatever its direction.
        _ if data.is_empty() => (SG_DXFER_NONE, std::ptr::null_mut(), 0),
        DataDirection::None => (SG_DXFER_NONE, std::ptr::null_mut(), 0),
        // The kernel only reads a TO_DEV buffer; the pointer is `*mut`
        // because the header field is shared by both directions.
        DataDirection::ToDevice(b) => (SG_DXFER_TO_DEV, b.as_ptr() as *mut c_void, b.len()),
        DataDirection::FromDevice(b) => (SG_DXFER_FROM_DEV, b.as_mut_ptr() as *mut c_void, b.len()),
    };
    h.dxfer_direction = dir;
    h.dxferp = ptr;
    h.dxfer_len = u32::try_from(len).map_err(|_| HeaderError::DataLength(len))?;
    Ok(h)
}

mod raw {
    use super::SgIoHdr;
    use std::ffi::c_int;

    nix::ioctl_readwrite_bad!(sg_io, super::SG_IO, SgIoHdr);
    nix::ioctl_read_bad!(sg_get_version_num, super::SG_GET_VERSION_NUM, c_int);
    nix::ioctl_read_bad!(sg_get_reserved_size, super::SG_GET_RESERVED_SIZE, c_int);
    nix::ioctl_read_bad!(sg_get_sg_tablesize, super::SG_GET_SG_TABLESIZE, c_int);
    nix::ioctl_read_bad!(blksectget, super::BLKSECTGET, c_int);
}

/// Why one SG_IO command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("SG_IO ioctl failed: {0}")]
    Ioctl(nix::errno::Errno),
}

/// Builds the header for one command and issues SG_IO while `cdb`, `data`
/// and `sense` are still borrowed, so the kernel only ever sees live
/// buffers of the declared lengths. Blocks until the command completes or
/// times out (the sg driver waits for SG_IO whatever O_NONBLOCK says).
/// The returned header is for its output fields; its pointers must not be
/// followed.
pub fn execute(
    fd: BorrowedFd<'_>,
    cdb: &[u8],
    data: &mut DataDirection<'_>,
    sense: &mut [u8],
    timeout: std::time::Duration,
) -> Result<SgIoHdr, ExecuteError> {
    let mut hdr = build_header(cdb, data, sense, timeout)?;
    // SAFETY: `fd` is an open descriptor; `hdr` is a valid, exclusively
    // borrowed `sg_io_hdr` with the kernel's layout (see the layout test).
    // `build_header` pointed its `cmdp`, `dxferp` and `sbp` into `cdb`,
    // `data` and `sense` with lengths `cmd_len`, `dxfer_len` and
    // `mx_sb_len` no larger than those buffers, and all three stay
    // borrowed for the whole call. Only this function issues SG_IO, so no
    // header with other pointers can reach the kernel.
    unsafe { raw::sg_io(fd.as_raw_fd(), &mut hdr) }.map_err(ExecuteError::Ioctl)?;
    Ok(hdr)
}

fn int_ioctl(
    fd: BorrowedFd<'_>,
    f: unsafe fn(c_int_fd: i32, data: *mut i32) -> nix::Result<i32>,
) -> Result<i32, nix::errno::Errno> {
    let mut v: i32 = 0;
    // SAFETY: each wrapped ioctl writes exactly one `int` through the
    // pointer, which points to the local `v`; `fd` is open.
    unsafe { f(fd.as_raw_fd(), &mut v) }?;
    Ok(v)
}

/// SG_GET_VERSION_NUM: fails with ENOTTY on anything that is not sg.
pub fn get_version_num(fd: BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    int_ioctl(fd, raw::sg_get_version_num)
}

/// SG_GET_RESERVED_SIZE: the sg reserve buffer (informational; larger
/// transfers are still allowed up to the queue limit).
pub fn get_reserved_size(fd: BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    int_ioctl(fd, raw::sg_get_reserved_size)
}

/// SG_GET_SG_TABLESIZE: the adapter's scatter-gather segment limit.
pub fn get_sg_tablesize(fd: BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    int_ioctl(fd, raw::sg_get_sg_tablesize)
}

/// BLKSECTGET on an sg node: maximum transfer in bytes.
pub fn blksectget(fd: BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    int_ioctl(fd, raw::blksectget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};
    use std::time::Duration;

    // Offsets of `struct sg_io_hdr` on LP64 Linux (x86_64, aarch64), as
    // laid out by the C ABI for the declaration in include/uapi/scsi/sg.h:
    // a 4-byte hole follows pack_id so usr_ptr is 8-aligned; size 88.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn layout_matches_kernel_lp64() {
        assert_eq!(size_of::<SgIoHdr>(), 88);
        assert_eq!(offset_of!(SgIoHdr, interface_id), 0);
        assert_eq!(offset_of!(SgIoHdr, dxfer_direction), 4);
        assert_eq!(offset_of!(SgIoHdr, cmd_len), 8);
        assert_eq!(offset_of!(SgIoHdr, mx_sb_len), 9);
        assert_eq!(offset_of!(SgIoHdr, iovec_count), 10);
        assert_eq!(offset_of!(SgIoHdr, dxfer_len), 12);
        assert_eq!(offset_of!(SgIoHdr, dxferp), 16);
        assert_eq!(offset_of!(SgIoHdr, cmdp), 24);
        assert_eq!(offset_of!(SgIoHdr, sbp), 32);
        assert_eq!(offset_of!(SgIoHdr, timeout), 40);
        assert_eq!(offset_of!(SgIoHdr, flags), 44);
        assert_eq!(offset_of!(SgIoHdr, pack_id), 48);
        assert_eq!(offset_of!(SgIoHdr, usr_ptr), 56);
        assert_eq!(offset_of!(SgIoHdr, status), 64);
        assert_eq!(offset_of!(SgIoHdr, masked_status), 65);
        assert_eq!(offset_of!(SgIoHdr, msg_status), 66);
        assert_eq!(offset_of!(SgIoHdr, sb_len_wr), 67);
        assert_eq!(offset_of!(SgIoHdr, host_status), 68);
        assert_eq!(offset_of!(SgIoHdr, driver_status), 70);
        assert_eq!(offset_of!(SgIoHdr, resid), 72);
        assert_eq!(offset_of!(SgIoHdr, duration), 76);
        assert_eq!(offset_of!(SgIoHdr, info), 80);
    }

    // The i386 comment in sg.h: "64 bytes long (on i386)".
    #[cfg(target_pointer_width = "32")]
    #[test]
    fn layout_matches_kernel_ilp32() {
        assert_eq!(size_of::<SgIoHdr>(), 64);
        assert_eq!(offset_of!(SgIoHdr, status), 44);
        assert_eq!(offset_of!(SgIoHdr, info), 60);
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(SG_IO, 0x2285);
        // _IO(0x12, 103): type 0x12 in bits 8..16, number 103 = 0x67.
        assert_eq!(BLKSECTGET, (0x12 << 8) | 103);
        assert_eq!(SG_INTERFACE_ID, 0x53);
    }

    #[test]
    fn header_for_no_data() {
        let cdb = [0u8; 6]; // TEST UNIT READY
        let mut sense = [0u8; SENSE_MAX];
        let mut d = DataDirection::None;
        let h = build_header(&cdb, &mut d, &mut sense, Duration::from_secs(60)).unwrap();
        assert_eq!(h.interface_id, 0x53);
        assert_eq!(h.dxfer_direction, -1);
        assert_eq!(h.dxfer_len, 0);
        assert!(h.dxferp.is_null());
        assert_eq!(h.cmd_len, 6);
        assert_eq!(h.cmdp, cdb.as_ptr());
        assert_eq!(h.mx_sb_len, 252);
        assert_eq!(h.sbp, sense.as_mut_ptr());
        assert_eq!(h.timeout, 60_000);
        assert_eq!(h.iovec_count, 0);
        assert_eq!(h.flags, 0);
    }

    #[test]
    fn header_for_write() {
        let cdb = [0x0a, 0, 0, 0x02, 0, 0]; // WRITE(6) 512 bytes
        let buf = vec![0xa5u8; 512];
        let mut sense = [0u8; 32];
        let mut d = DataDirection::ToDevice(&buf);
        let h = build_header(&cdb, &mut d, &mut sense, Duration::from_millis(1500)).unwrap();
        assert_eq!(h.dxfer_direction, -2);
        assert_eq!(h.dxfer_len, 512);
        assert_eq!(h.dxferp as *const u8, buf.as_ptr());
        assert_eq!(h.mx_sb_len, 32);
        assert_eq!(h.timeout, 1500);
    }

    #[test]
    fn header_for_read() {
        let cdb = [0x08, 0, 0x01, 0, 0, 0];
        let mut buf = vec![0u8; 65536];
        let ptr = buf.as_mut_ptr();
        let mut sense = [0u8; SENSE_MAX];
        let mut d = DataDirection::FromDevice(&mut buf);
        let h = build_header(&cdb, &mut d, &mut sense, Duration::from_secs(7200)).unwrap();
        assert_eq!(h.dxfer_direction, -3);
        assert_eq!(h.dxfer_len, 65536);
        assert_eq!(h.dxferp as *mut u8, ptr);
        assert_eq!(h.timeout, 7_200_000);
    }

    #[test]
    fn empty_buffers_have_no_data_phase() {
        let cdb = [0x08, 0, 0, 0, 0, 0];
        let mut sense = [0u8; SENSE_MAX];
        let mut empty: [u8; 0] = [];
        let mut d = DataDirection::FromDevice(&mut empty);
        let h = build_header(&cdb, &mut d, &mut sense, Duration::from_secs(1)).unwrap();
        assert_eq!(h.dxfer_direction, -1);
        let mut d = DataDirection::ToDevice(&[]);
        let h = build_header(&cdb, &mut d, &mut sense, Duration::from_secs(1)).unwrap();
        assert_eq!(h.dxfer_direction, -1);
    }

    #[test]
    fn bad_cdb_lengths() {
        let mut sense = [0u8; SENSE_MAX];
        let mut d = DataDirection::None;
        assert_eq!(
            build_header(&[], &mut d, &mut sense, Duration::from_secs(1)).unwrap_err(),
            HeaderError::CdbLength(0)
        );
        let long = [0u8; 253];
        assert_eq!(
            build_header(&long, &mut d, &mut sense, Duration::from_secs(1)).unwrap_err(),
            HeaderError::CdbLength(253)
        );
        // 16 and 32 (variable length) are fine.
        assert!(build_header(&[0u8; 32], &mut d, &mut sense, Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn timeouts_round_up_and_clamp() {
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(timeout_ms(Duration::from_micros(1)), 1);
        assert_eq!(timeout_ms(Duration::from_micros(1001)), 2);
        assert_eq!(timeout_ms(Duration::from_secs(2 * 3600)), 7_200_000);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), u32::MAX);
        assert_eq!(
            timeout_ms(Duration::from_millis(u32::MAX as u64 + 1)),
            u32::MAX
        );
    }

    #[test]
    fn outcome_copies_output_fields() {
        let cdb = [0u8; 6];
        let mut sense = [0u8; SENSE_MAX];
        let mut d = DataDirection::None;
        let mut h = build_header(&cdb, &mut d, &mut sense, Duration::from_secs(1)).unwrap();
        h.status = 2;
        h.masked_status = 1;
        h.sb_len_wr = 18;
        h.host_status = 7;
        h.driver_status = 0x08;
        h.resid = 12;
        h.duration = 33;
        h.info = 1;
        assert_eq!(
            h.outcome(),
            SgOutcome {
                status: 2,
                masked_status: 1,
                host_status: 7,
                driver_status: 8,
                sb_len_wr: 18,
                resid: 12,
                duration_ms: 33,
                info: 1
            }
        );
    }
}
