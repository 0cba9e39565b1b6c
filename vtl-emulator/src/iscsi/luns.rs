//! A session's logical units: the LUN map of its target, each mapped LUN a
//! transport to the device model speaking as the session's own initiator
//! (so unit attentions are kept per session). REPORT LUNS and commands to
//! unmapped LUNs are answered here: the device models know one LUN only.

use std::collections::BTreeMap;
use std::time::Duration;

use reel_drivers::scsi::sense::{Sense, SenseKey};
use reel_drivers::scsi::transport::{Completion, DataDirection, ScsiStatus, ScsiTransport};

use super::config::LunDevice;
use crate::drive::InitiatorId;
use crate::library::VirtualLibrary;
use reel_drivers::iscsi::Lun;

const REPORT_LUNS: u8 = 0xa0;
const INQUIRY: u8 = 0x12;
const REQUEST_SENSE: u8 = 0x03;
/// Long enough for any tape motion the models simulate.
const TIMEOUT: Duration = Duration::from_secs(24 * 3600);

pub struct LunSet {
    library: VirtualLibrary,
    map: BTreeMap<u16, LunDevice>,
    devices: BTreeMap<u16, Box<dyn ScsiTransport + Send>>,
}

/// What one command produced: completion and the bytes of data-in.
pub struct Outcome {
    pub completion: Completion,
    pub data_in_len: usize,
}

fn check(key: SenseKey, asc: u8, ascq: u8) -> Completion {
    Completion {
        status: ScsiStatus::CHECK_CONDITION,
        sense: Sense::new(key, asc, ascq).encode_fixed(),
        residual: 0,
    }
}

impl LunSet {
    /// Opens the mapped devices for `initiator`. A LUN naming a drive the
    /// library does not have stays unmapped (logged).
    pub fn open(
        library: &VirtualLibrary,
        map: &BTreeMap<u16, LunDevice>,
        initiator: InitiatorId,
    ) -> LunSet {
        let mut devices: BTreeMap<u16, Box<dyn ScsiTransport + Send>> = BTreeMap::new();
        let mut live = BTreeMap::new();
        for (&lun, &dev) in map {
            match dev {
                LunDevice::Drive(n) => match library.drive_transport(n) {
                    Ok(t) => {
                        devices.insert(lun, Box::new(t.with_initiator(initiator)));
                        live.insert(lun, dev);
                    }
                    Err(e) => tracing::warn!(lun, "LUN not served: {e}"),
                },
                LunDevice::Changer => {
                    devices.insert(
                        lun,
                        Box::new(library.changer_transport().with_initiator(initiator)),
                    );
                    live.insert(lun, dev);
                }
            }
        }
        LunSet {
            library: library.clone(),
            map: live,
            devices,
        }
    }

    pub fn is_mapped(&self, lun: Option<u16>) -> bool {
        lun.is_some_and(|l| self.map.contains_key(&l))
    }

    /// Runs `cdb` on `lun` (`None`: an address this target cannot have).
    /// `data_in` is the initiator's expected length (its buffer).
    pub fn execute(
        &mut self,
        lun: Option<u16>,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Outcome {
        let op = cdb.first().copied().unwrap_or(0);
        if op == REPORT_LUNS {
            return self.report_luns(cdb, data_in);
        }
        let dev = lun.and_then(|l| self.devices.get_mut(&l));
        let Some(dev) = dev else {
            return unmapped(op, cdb, data_in);
        };
        let in_len = data_in.len();
        let dir = if !data_out.is_empty() {
            DataDirection::ToDevice(data_out)
        } else if !data_in.is_empty() {
            DataDirection::FromDevice(data_in)
        } else {
            DataDirection::None
        };
        match dev.execute(cdb, dir, TIMEOUT) {
            Ok(c) => {
                let data_in_len = in_len.saturating_sub(c.residual.min(in_len));
                Outcome {
                    completion: c,
                    data_in_len: if data_out.is_empty() { data_in_len } else { 0 },
                }
            }
            Err(e) => {
                tracing::error!(lun, op, "device model failed: {e}");
                Outcome {
                    // HARDWARE ERROR, INTERNAL TARGET FAILURE.
                    completion: check(SenseKey::HardwareError, 0x44, 0x00),
                    data_in_len: 0,
                }
            }
        }
    }

    fn report_luns(&self, cdb: &[u8], data_in: &mut [u8]) -> Outcome {
        let alloc = cdb
            .get(6..10)
            .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
        // SPC-4: an allocation length under 16 is an invalid CDB field.
        if cdb.len() < 12 || alloc < 16 {
            return Outcome {
                completion: check(SenseKey::IllegalRequest, 0x24, 0x00),
                data_in_len: 0,
            };
        }
        let mut list = Vec::with_capacity(8 + 8 * self.map.len());
        list.extend_from_slice(&((8 * self.map.len()) as u32).to_be_bytes());
        list.extend_from_slice(&[0; 4]);
        for &lun in self.map.keys() {
            list.extend_from_slice(&Lun::from_number(lun).0);
        }
        good(&list, alloc, data_in)
    }

    /// LUN RESET: the device forgets every initiator (29/00 for all) and
    /// its reservations, as a power-on would.
    pub fn reset(&mut self, lun: u16) -> bool {
        let r = match self.map.get(&lun) {
            Some(LunDevice::Drive(n)) => self.library.with_drive(*n, |d| d.power_on_reset()),
            Some(LunDevice::Changer) => self.library.with_changer(|c| c.power_on_reset()),
            None => return false,
        };
        if let Err(e) = r {
            tracing::warn!(lun, "LUN reset: {e}");
        }
        true
    }
}

/// Copies `data` (cut to `alloc` and the buffer) into `data_in`.
fn good(data: &[u8], alloc: usize, data_in: &mut [u8]) -> Outcome {
    let n = data.len().min(alloc).min(data_in.len());
    data_in[..n].copy_from_slice(&data[..n]);
    Outcome {
        completion: Completion {
            status: ScsiStatus::GOOD,
            sense: Vec::new(),
            residual: data_in.len() - n,
        },
        data_in_len: n,
    }
}

/// SPC-4: INQUIRY to a LUN that is not there answers peripheral qualifier
/// 3, device type 1Fh; REQUEST SENSE reports 05/25/00; anything else is
/// CHECK CONDITION 05/25/00 (LOGICAL UNIT NOT SUPPORTED).
fn unmapped(op: u8, cdb: &[u8], data_in: &mut [u8]) -> Outcome {
    match op {
        INQUIRY if cdb.len() >= 6 && cdb[1] & 0x01 == 0 => {
            let alloc = usize::from(u16::from_be_bytes([cdb[3], cdb[4]]));
            let mut inq = [0u8; 36];
            inq[0] = 0x7f;
            inq[2] = 0x06; // SPC-4
            inq[3] = 0x02; // response data format 2
            inq[4] = 31;
            inq[8..16].copy_from_slice(b"REEL    ");
            inq[16..32].copy_from_slice(b"NO LUN          ");
            inq[32..36].copy_from_slice(b"0001");
            good(&inq, alloc, data_in)
        }
        REQUEST_SENSE if cdb.len() >= 6 => {
            let sense = Sense::new(SenseKey::IllegalRequest, 0x25, 0x00).encode_fixed();
            good(&sense, usize::from(cdb[4]), data_in)
        }
        _ => Outcome {
            completion: check(SenseKey::IllegalRequest, 0x25, 0x00),
            data_in_len: 0,
        },
    }
}
