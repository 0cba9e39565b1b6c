//! Identifying a drive by what it reports (INQUIRY, VPD 00h/80h/83h/B0h,
//! READ BLOCK LIMITS, REPORT DENSITY SUPPORT, REPORT SUPPORTED OPERATION
//! CODES), never by vendor or model name (field note A16). Optional pieces
//! a drive lacks are left empty rather than failing identification.

use crate::scsi::error::{ErrorClass, ScsiError};
use crate::scsi::inquiry::{self, StandardInquiry};
use crate::scsi::opcodes;
use crate::scsi::rsoc;
use crate::scsi::transport::ScsiTransport;

use super::density;
use super::drive::{DriveIdentity, TapeDrive};

const VPD_SUPPORTED: u8 = 0x00;
const VPD_SERIAL: u8 = 0x80;
const VPD_DEVICE_ID: u8 = 0x83;
const VPD_SEQUENTIAL: u8 = 0xb0;
/// Upper bound for the REPORT SUPPORTED OPERATION CODES allocation.
const RSOC_MAX_ALLOC: u32 = 0x10_0000;

impl<T: ScsiTransport> TapeDrive<T> {
    fn inquiry_raw(&mut self, evpd: bool, page: u8) -> Result<Vec<u8>, ScsiError> {
        let alloc: u16 = 0xff;
        let cdb = inquiry::inquiry_cdb(evpd, page, alloc);
        self.command_in("INQUIRY", &cdb, alloc.into())
    }

    pub fn inquiry(&mut self) -> Result<StandardInquiry, ScsiError> {
        let b = self.inquiry_raw(false, 0)?;
        StandardInquiry::parse(&b).map_err(|e| ScsiError::from_decode("INQUIRY", e))
    }

    /// Asks the drive for its per-command timeouts (RSOC with RCTD) and
    /// uses them from now on. Returns the opcodes the drive supports, or an
    /// empty list when it does not implement RSOC.
    pub fn load_reported_timeouts(&mut self) -> Result<Vec<u8>, ScsiError> {
        const OP: &str = "REPORT SUPPORTED OPERATION CODES";
        // With timeouts every command takes 20 bytes; re-read once with the
        // length the drive declares when the first guess was too small.
        let mut alloc: u32 = 0x8000;
        let b = loop {
            let cdb = rsoc::rsoc_all_cdb(true, alloc);
            let b = match self.command_in(OP, &cdb, alloc as usize) {
                Ok(b) => b,
                Err(e) if e.class() == ErrorClass::IllegalRequest => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let needed = b
                .get(..4)
                .map_or(0, |h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]))
                .saturating_add(4);
            if needed > alloc && alloc < RSOC_MAX_ALLOC {
                alloc = needed.min(RSOC_MAX_ALLOC);
                continue;
            }
            break b;
        };
        let cmds = rsoc::parse_all_commands(&b).map_err(|e| ScsiError::from_decode(OP, e))?;
        self.timeouts_mut()
            .apply_reported(cmds.iter().filter_map(|c| {
                c.timeouts
                    .as_ref()
                    .map(|t| (c.opcode, c.service_action, t.recommended_secs))
            }));
        let mut ops: Vec<u8> = cmds.iter().map(|c| c.opcode).collect();
        ops.sort_unstable();
        ops.dedup();
        Ok(ops)
    }

    /// Everything the drive reports about itself. Only INQUIRY is required;
    /// a drive that is not a sequential-access device is refused.
    pub fn identify(&mut self) -> Result<DriveIdentity, ScsiError> {
        let inq = self.inquiry()?;
        if inq.device_type != opcodes::TYPE_TAPE {
            return Err(ScsiError::Invalid {
                op: "INQUIRY",
                detail: format!(
                    "{} is peripheral device type 0x{:02x}, not a tape drive (0x01)",
                    self.transport().describe(),
                    inq.device_type
                ),
            });
        }
        let mut id = DriveIdentity {
            vendor: inq.vendor,
            product: inq.product,
            revision: inq.revision,
            max_transfer: self.transport().max_transfer(),
            ..DriveIdentity::default()
        };
        let vpd = self
            .inquiry_raw(true, VPD_SUPPORTED)
            .ok()
            .and_then(|b| inquiry::parse_supported_vpd(&b).ok())
            .unwrap_or_default();
        if vpd.contains(&VPD_SERIAL) {
            id.serial = self
                .inquiry_raw(true, VPD_SERIAL)
                .ok()
                .and_then(|b| inquiry::parse_unit_serial(&b).ok())
                .filter(|s| !s.is_empty());
        }
        if vpd.contains(&VPD_DEVICE_ID)
            && let Ok(b) = self.inquiry_raw(true, VPD_DEVICE_ID)
            && let Ok(ds) = inquiry::parse_device_identification(&b)
        {
            id.device_identifiers = ds.iter().map(|d| d.value_string()).collect();
        }
        if vpd.contains(&VPD_SEQUENTIAL)
            && let Ok(b) = self.inquiry_raw(true, VPD_SEQUENTIAL)
            && let Ok(c) = inquiry::parse_sequential_capabilities(&b)
        {
            id.worm_capable = c.worm;
        }
        id.block_limits = self.read_block_limits().ok();
        id.densities = self.report_density(false).unwrap_or_default();
        id.lto_generation = id
            .densities
            .iter()
            .filter(|d| d.writable)
            .filter_map(|d| density::lto_generation(d.primary_code))
            .max();
        id.supported_opcodes = self.load_reported_timeouts().unwrap_or_default();
        id.reported_timeouts = self.timeouts().reported_count();
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::rsoc::{CommandDescriptor, CommandTimeouts};
    use crate::scsi::transport::{Completion, DataDirection, TransportError};
    use std::time::Duration;

    /// Answers every data-in command with (a prefix of) `data`.
    struct Answer {
        data: Vec<u8>,
        allocs: Vec<usize>,
    }

    impl ScsiTransport for Answer {
        fn execute(
            &mut self,
            _cdb: &[u8],
            data: DataDirection<'_>,
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            let DataDirection::FromDevice(b) = data else {
                return Err(TransportError::Other("not a data-in command".into()));
            };
            self.allocs.push(b.len());
            let n = b.len().min(self.data.len());
            b[..n].copy_from_slice(&self.data[..n]);
            Ok(Completion::good(b.len() - n))
        }

        fn describe(&self) -> String {
            "answer".into()
        }
    }

    #[test]
    fn rsoc_longer_than_the_first_allocation_is_read_again() {
        // 1639 commands with timeouts: 4 + 1639 * 20 = 32784 bytes, 16 more
        // than the first allocation of 32768.
        let cmds: Vec<CommandDescriptor> = (0..1639u32)
            .map(|i| CommandDescriptor {
                opcode: (i % 256) as u8,
                service_action: Some((i / 256) as u16),
                cdb_len: 16,
                timeouts: Some(CommandTimeouts {
                    nominal_secs: 10,
                    recommended_secs: 20,
                }),
            })
            .collect();
        let data = rsoc::encode_all_commands(&cmds);
        assert_eq!(data.len(), 32784);
        let mut d = TapeDrive::new(Answer {
            data,
            allocs: Vec::new(),
        });
        let ops = d.load_reported_timeouts().unwrap();
        assert_eq!(ops.len(), 256);
        assert_eq!(d.timeouts().reported_count(), 1639);
        assert_eq!(d.transport().allocs, vec![0x8000, 32784]);
    }
}
