//! Typed view of the medium auxiliary memory (MAM, SPC-5 READ/WRITE
//! ATTRIBUTE) with the attributes backup software reads and writes.
//! Absent attributes stay `None`: drives differ in what they hold (IBM
//! answers CHECK CONDITION for an absent barcode, field note A12).

use crate::scsi::attributes::{Attribute, mam};
use crate::scsi::error::DecodeError;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MamInfo {
    pub barcode: Option<String>,
    pub medium_serial: Option<String>,
    pub manufacturer: Option<String>,
    pub load_count: Option<u64>,
    /// MB (10^6 bytes) left in the current partition.
    pub remaining_capacity_mb: Option<u64>,
    pub maximum_capacity_mb: Option<u64>,
    pub application_vendor: Option<String>,
    pub application_name: Option<String>,
    pub application_version: Option<String>,
    pub user_label: Option<String>,
    pub media_pool: Option<String>,
    pub owning_host: Option<String>,
}

impl MamInfo {
    pub fn from_attributes(attrs: &[Attribute]) -> MamInfo {
        let find = |id: u16| attrs.iter().find(|a| a.id == id);
        let text = |id: u16| {
            find(id)
                .and_then(Attribute::as_text)
                .filter(|s| !s.is_empty())
        };
        let num = |id: u16| find(id).and_then(Attribute::as_u64);
        MamInfo {
            barcode: text(mam::BARCODE),
            medium_serial: text(mam::MEDIUM_SERIAL),
            manufacturer: text(mam::MEDIUM_MANUFACTURER),
            load_count: num(mam::LOAD_COUNT),
            remaining_capacity_mb: num(mam::REMAINING_CAPACITY),
            maximum_capacity_mb: num(mam::MAXIMUM_CAPACITY),
            application_vendor: text(mam::APPLICATION_VENDOR),
            application_name: text(mam::APPLICATION_NAME),
            application_version: text(mam::APPLICATION_VERSION),
            user_label: text(mam::USER_MEDIUM_TEXT_LABEL),
            media_pool: text(mam::MEDIA_POOL),
            owning_host: text(mam::OWNING_HOST_TEXTUAL_NAME),
        }
    }
}

/// Host-type attributes to write, built with the lengths and padding SPC
/// prescribes. Fields left `None` are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MamUpdate {
    pub application_vendor: Option<String>,
    pub application_name: Option<String>,
    pub application_version: Option<String>,
    pub user_label: Option<String>,
    pub barcode: Option<String>,
    pub media_pool: Option<String>,
    pub owning_host: Option<String>,
}

impl MamUpdate {
    /// The attributes for WRITE ATTRIBUTE; fails when a value does not fit
    /// its attribute or is not printable.
    pub fn attributes(&self) -> Result<Vec<Attribute>, DecodeError> {
        [
            (mam::APPLICATION_VENDOR, &self.application_vendor),
            (mam::APPLICATION_NAME, &self.application_name),
            (mam::APPLICATION_VERSION, &self.application_version),
            (mam::USER_MEDIUM_TEXT_LABEL, &self.user_label),
            (mam::BARCODE, &self.barcode),
            (mam::MEDIA_POOL, &self.media_pool),
            (mam::OWNING_HOST_TEXTUAL_NAME, &self.owning_host),
        ]
        .into_iter()
        .filter_map(|(id, v)| v.as_deref().map(|s| Attribute::text(id, s)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::attributes::{AttributeFormat, parse_attribute_values};

    #[test]
    fn typed_view_from_read_attribute_data() {
        // AVAILABLE DATA 0x32 (50), then: 0003h binary 8 bytes = 7 (load count),
        // 0806h ASCII 32 bytes "ABC123L9" padded, read-only bit clear.
        let mut b = vec![0x00, 0x00, 0x00, 0x32];
        b.extend_from_slice(&[0x00, 0x03, 0x80, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 7]);
        b.extend_from_slice(&[0x08, 0x06, 0x01, 0x00, 0x20]);
        let mut bc = b"ABC123L9".to_vec();
        bc.resize(32, b' ');
        b.extend_from_slice(&bc);
        let attrs = parse_attribute_values(&b).unwrap();
        let m = MamInfo::from_attributes(&attrs);
        assert_eq!(m.load_count, Some(7));
        assert_eq!(m.barcode.as_deref(), Some("ABC123L9"));
        assert_eq!(m.user_label, None);
    }

    #[test]
    fn update_builds_padded_attributes() {
        let u = MamUpdate {
            application_vendor: Some("REEL".into()),
            media_pool: Some("daily".into()),
            ..MamUpdate::default()
        };
        let a = u.attributes().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].id, mam::APPLICATION_VENDOR);
        assert_eq!(a[0].format, AttributeFormat::Ascii);
        // APPLICATION VENDOR is 8 bytes of ASCII, space padded.
        assert_eq!(a[0].value, b"REEL    ".to_vec());
        let too_long = MamUpdate {
            application_vendor: Some("TOO-LONG-VENDOR".into()),
            ..MamUpdate::default()
        };
        assert!(too_long.attributes().is_err());
    }
}
