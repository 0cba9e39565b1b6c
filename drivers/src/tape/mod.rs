//! The SSC tape driver: one file per feature, pure CDB builders and
//! decoders apart from the code that issues commands ([`drive`]) and the
//! buffered record I/O ([`blocked`]).

pub mod block_limits;
pub mod density;
pub mod media;
pub mod position;
pub mod rw;
pub mod tape_alert;
pub mod timeouts;

pub use block_limits::BlockLimits;
pub use density::DensityDescriptor;
pub use position::{Position, SpaceKind};
pub use rw::{ReadOutcome, ResidualPolicy, WriteStatus};
pub use tape_alert::{Severity, TapeAlertFlag, TapeAlerts};
pub use timeouts::Timeouts;
pub mod device_config;
pub mod drive;
pub mod identify;
pub mod mam;
pub mod seq_access;
pub mod volume_stats;

pub use drive::{DriveIdentity, DriveStatus, SpaceOutcome, TapeDrive};
pub mod blocked;

pub use blocked::{ReaderStop, TapeReader, TapeWriter};

#[cfg(test)]
mod tests {
    use crate::scsi::attributes::{Attribute, AttributeFormat, parse_attribute_values};
    use crate::scsi::log::{LogPage, LogParameter};
    use crate::scsi::mode::{ModeData, ModePage};

    use super::TapeAlerts;
    use super::device_config::{DataCompression, DeviceConfiguration, MediumSettings};
    use super::mam::MamInfo;
    use super::seq_access::SequentialAccessCounters;
    use super::volume_stats::VolumeStatistics;

    proptest::proptest! {
        /// The typed views over mode pages, log pages and MAM never panic,
        /// whatever the device put in them.
        #[test]
        fn typed_views_never_panic(
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let page = ModePage { page: 0x0f, subpage: 0, ps: false, data: b.clone() };
            let _ = DataCompression::parse(&page);
            let _ = DataCompression::with_enabled(&page, true);
            let _ = DeviceConfiguration::parse(&page);
            if let Ok(m) = ModeData::parse10(&b) {
                let _ = MediumSettings::from_mode(&m);
            }
            if let Ok(p) = LogPage::parse(&b) {
                let _ = SequentialAccessCounters::from_page(&p);
                let _ = VolumeStatistics::from_page(&p);
                let _ = TapeAlerts::from_flag_params(p.params.iter().map(|x| (x.code, x.value.as_slice())));
                if let Some(v) = p.param(0) {
                    let _ = TapeAlerts::from_response_value(&v.value);
                }
            }
            if let Ok(a) = parse_attribute_values(&b) {
                let _ = MamInfo::from_attributes(&a);
            }
            // Well-formed containers with arbitrary codes and values: the
            // codes cluster where the decoders look (0000h..0200h, 0000h..0810h).
            let params: Vec<LogParameter> = b
                .chunks(6)
                .map(|c| LogParameter {
                    code: u16::from(c[0]) | (u16::from(c.get(1).copied().unwrap_or(0) & 1) << 8),
                    control: c.get(2).copied().unwrap_or(0),
                    value: c[c.len().min(3)..].to_vec(),
                })
                .collect();
            let p = LogPage { page: 0x17, subpage: 0, params };
            let _ = SequentialAccessCounters::from_page(&p);
            let _ = VolumeStatistics::from_page(&p);
            let _ = TapeAlerts::from_flag_params(p.params.iter().map(|x| (x.code, x.value.as_slice())));
            let attrs: Vec<Attribute> = b
                .chunks(7)
                .map(|c| Attribute {
                    id: u16::from(c[0]) | (u16::from(c.get(1).copied().unwrap_or(0) % 9) << 8),
                    read_only: false,
                    format: AttributeFormat::from_u8(c.get(2).copied().unwrap_or(0)),
                    value: c[c.len().min(3)..].to_vec(),
                })
                .collect();
            let _ = MamInfo::from_attributes(&attrs);
        }
    }
}
