//! `library.toml`: what a virtual tape library is made of.
//!
//! ```toml
//! [library]
//! vendor = "IBM"            # INQUIRY of the changer
//! product = "3573-TL"
//! revision = "R001"
//! serial = "VTLLIB0001"
//! slots = 50                # storage slots
//! mail_slots = 4            # import/export slots
//! cartridges_dir = "cartridges"
//!
//! [elements]                # first element addresses (these are the defaults)
//! transport = 0x0001
//! drives = 0x0100
//! mail_slots = 0x0300
//! slots = 0x0400
//!
//! [options]
//! auto_unload = false       # the robot unloads drives itself (A6: some libraries refuse)
//! exchange = true           # EXCHANGE MEDIUM supported
//! alternate_tags = false    # report alternate volume tags
//! move_delay_ms = 0         # each MOVE/EXCHANGE/POSITION takes this long
//! init_delay_ms = 0         # inventory: NOT READY 04/01 after power-on/door close
//!
//! [[drive]]
//! vendor = "IBM"
//! product = "ULT3580-TD8"
//! serial = "VTL0000001"
//! generation = "LTO-8"      # LTO-5..LTO-10, "LTO-7 M8"
//!
//! [[cartridge]]
//! barcode = "RL0001L8"
//! slot = 1                  # slots and mail slots are numbered from 1, as mtx prints them
//! generation = "LTO-8"      # default: from the barcode suffix (L5..L9, LA, M8; LU..LY are WORM)
//! write_protect = false
//! worm = false
//!
//! [[cartridge]]
//! barcode = "CLN001L1"      # cleaning: barcodes starting with CLN, or cleaning = true
//! slot = 50
//! cleaning_uses = 50
//! ```
//!
//! A cartridge without `slot` or `mail_slot` stays outside the library (on
//! the shelf) until the operator imports it. Cleaning cartridges exist only
//! in the library state: the drive model has no cleaning cycle, so they
//! are never files in the cartridge store.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cartridge::Generation;
use crate::changer::{
    ChangerConfig, ChangerOptions, DEFAULT_DRIVES, DEFAULT_MAIL, DEFAULT_STORAGE,
    DEFAULT_TRANSPORT, ElementMap, Identity,
};
use crate::drive::DriveConfig;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySection {
    #[serde(default = "default_vendor")]
    pub vendor: String,
    #[serde(default = "default_product")]
    pub product: String,
    #[serde(default = "default_revision")]
    pub revision: String,
    #[serde(default = "default_serial")]
    pub serial: String,
    #[serde(default = "default_slots")]
    pub slots: u16,
    #[serde(default = "default_mail_slots")]
    pub mail_slots: u16,
    #[serde(default = "default_cartridges_dir")]
    pub cartridges_dir: PathBuf,
}

fn default_vendor() -> String {
    "IBM".into()
}
fn default_product() -> String {
    "3573-TL".into()
}
fn default_revision() -> String {
    "R001".into()
}
fn default_serial() -> String {
    "VTLLIB0001".into()
}
fn default_slots() -> u16 {
    50
}
fn default_mail_slots() -> u16 {
    4
}
fn default_cartridges_dir() -> PathBuf {
    PathBuf::from("cartridges")
}

impl Default for LibrarySection {
    fn default() -> Self {
        LibrarySection {
            vendor: default_vendor(),
            product: default_product(),
            revision: default_revision(),
            serial: default_serial(),
            slots: default_slots(),
            mail_slots: default_mail_slots(),
            cartridges_dir: default_cartridges_dir(),
        }
    }
}

/// First element address of each type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementsSection {
    #[serde(default = "d_transport")]
    pub transport: u16,
    #[serde(default = "d_drives")]
    pub drives: u16,
    #[serde(default = "d_mail")]
    pub mail_slots: u16,
    #[serde(default = "d_slots")]
    pub slots: u16,
}

fn d_transport() -> u16 {
    DEFAULT_TRANSPORT
}
fn d_drives() -> u16 {
    DEFAULT_DRIVES
}
fn d_mail() -> u16 {
    DEFAULT_MAIL
}
fn d_slots() -> u16 {
    DEFAULT_STORAGE
}

impl Default for ElementsSection {
    fn default() -> Self {
        ElementsSection {
            transport: DEFAULT_TRANSPORT,
            drives: DEFAULT_DRIVES,
            mail_slots: DEFAULT_MAIL,
            slots: DEFAULT_STORAGE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsSection {
    #[serde(default)]
    pub auto_unload: bool,
    #[serde(default = "yes")]
    pub exchange: bool,
    #[serde(default)]
    pub alternate_tags: bool,
    #[serde(default)]
    pub move_delay_ms: u64,
    #[serde(default)]
    pub init_delay_ms: u64,
}

fn yes() -> bool {
    true
}

// Not derived: a library.toml without an [options] section gets this
// whole value, and EXCHANGE MEDIUM is on by default there too.
impl Default for OptionsSection {
    fn default() -> Self {
        OptionsSection {
            auto_unload: false,
            exchange: yes(),
            alternate_tags: false,
            move_delay_ms: 0,
            init_delay_ms: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveSection {
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Default: IBM's product name for the generation.
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default = "default_revision")]
    pub revision: String,
    pub serial: String,
    pub generation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartridgeSection {
    pub barcode: String,
    /// Storage slot, numbered from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
    /// Import/export slot, numbered from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_slot: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    #[serde(default)]
    pub write_protect: bool,
    #[serde(default)]
    pub worm: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleaning: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleaning_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_tag: Option<String>,
    /// False: the barcode label is missing (volume tag reads as zeros).
    #[serde(default = "yes")]
    pub label: bool,
}

impl CartridgeSection {
    pub fn in_slot(barcode: &str, slot: u16) -> CartridgeSection {
        CartridgeSection {
            barcode: barcode.into(),
            slot: Some(slot),
            mail_slot: None,
            generation: None,
            write_protect: false,
            worm: false,
            cleaning: None,
            cleaning_uses: None,
            alternate_tag: None,
            label: true,
        }
    }

    pub fn is_cleaning(&self) -> bool {
        self.cleaning
            .unwrap_or_else(|| self.barcode.to_ascii_uppercase().starts_with("CLN"))
    }
}

/// The whole `library.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySpec {
    #[serde(default)]
    pub library: LibrarySection,
    #[serde(default)]
    pub elements: ElementsSection,
    #[serde(default)]
    pub options: OptionsSection,
    #[serde(default)]
    pub drive: Vec<DriveSection>,
    #[serde(default)]
    pub cartridge: Vec<CartridgeSection>,
}

/// Parses a generation as people write it: "LTO-8", "lto8", "8", "LTO-7 M8".
pub fn parse_generation(s: &str) -> Option<Generation> {
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    let t = t.strip_prefix("lto").unwrap_or(&t);
    Some(match t {
        "5" => Generation::Lto5,
        "6" => Generation::Lto6,
        "7" => Generation::Lto7,
        "7m8" | "m8" => Generation::Lto7M8,
        "8" => Generation::Lto8,
        "9" => Generation::Lto9,
        "10" | "a" => Generation::Lto10,
        _ => return None,
    })
}

/// Generation and WORM from an LTO barcode suffix (L8, M8, LX...).
pub fn generation_from_barcode(barcode: &str) -> Option<(Generation, bool)> {
    let b = barcode.as_bytes();
    let suffix = b.get(b.len().checked_sub(2)?..)?;
    Some(match suffix {
        b"L5" => (Generation::Lto5, false),
        b"L6" => (Generation::Lto6, false),
        b"L7" => (Generation::Lto7, false),
        b"M8" => (Generation::Lto7M8, false),
        b"L8" => (Generation::Lto8, false),
        b"L9" => (Generation::Lto9, false),
        b"LA" => (Generation::Lto10, false),
        b"LU" => (Generation::Lto5, true),
        b"LV" => (Generation::Lto6, true),
        b"LW" => (Generation::Lto7, true),
        b"LX" => (Generation::Lto8, true),
        b"LY" => (Generation::Lto9, true),
        _ => return None,
    })
}

impl LibrarySpec {
    /// The default library: 4 LTO-8 drives, 50 slots, 4 mail slots, 20
    /// LTO-8 data cartridges RL0001L8..RL0020L8 in slots 1-20 and the
    /// cleaning cartridge CLN001L1 in slot 50.
    pub fn default_library() -> LibrarySpec {
        let drive = (1..=4)
            .map(|i| DriveSection {
                vendor: "IBM".into(),
                product: None,
                revision: default_revision(),
                serial: format!("VTL{i:07}"),
                generation: "LTO-8".into(),
            })
            .collect();
        let mut cartridge: Vec<CartridgeSection> = (1..=20)
            .map(|i| CartridgeSection::in_slot(&format!("RL{i:04}L8"), i))
            .collect();
        let mut cln = CartridgeSection::in_slot("CLN001L1", 50);
        cln.cleaning_uses = Some(50);
        cartridge.push(cln);
        LibrarySpec {
            library: LibrarySection::default(),
            elements: ElementsSection::default(),
            options: OptionsSection::default(),
            drive,
            cartridge,
        }
    }

    /// A library of `slots` slots, `mail_slots` mail slots and `drives`
    /// drives of generation `g`, without cartridges.
    pub fn empty(slots: u16, mail_slots: u16, drives: usize, g: Generation) -> LibrarySpec {
        let mut s = LibrarySpec::default_library();
        s.library.slots = slots;
        s.library.mail_slots = mail_slots;
        s.cartridge.clear();
        s.drive = (1..=drives)
            .map(|i| DriveSection {
                vendor: "IBM".into(),
                product: None,
                revision: default_revision(),
                serial: format!("VTL{i:07}"),
                generation: g.name().into(),
            })
            .collect();
        s
    }

    /// The robotics a foundation library (`library.json`, drives only)
    /// gets when opened: the default identity, slots and mail slots.
    pub fn from_drives(drives: &[DriveConfig], cartridges_dir: PathBuf) -> LibrarySpec {
        let mut s = LibrarySpec::default_library();
        s.cartridge.clear();
        s.library.cartridges_dir = cartridges_dir;
        s.drive = drives
            .iter()
            .map(|d| DriveSection {
                vendor: d.vendor.clone(),
                product: Some(d.product.clone()),
                revision: d.revision.clone(),
                serial: d.serial.clone(),
                generation: d.generation.name().into(),
            })
            .collect();
        s
    }

    pub fn parse(text: &str) -> Result<LibrarySpec, String> {
        let s: LibrarySpec = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }

    pub fn element_map(&self) -> ElementMap {
        let e = &self.elements;
        ElementMap {
            transport: (e.transport, 1),
            storage: (e.slots, self.library.slots),
            import_export: (e.mail_slots, self.library.mail_slots),
            data_transfer: (
                e.drives,
                u16::try_from(self.drive.len()).unwrap_or(u16::MAX),
            ),
        }
    }

    /// Drive models' configurations, in element order.
    pub fn drive_configs(&self) -> Result<Vec<DriveConfig>, String> {
        self.drive
            .iter()
            .map(|d| {
                let g = parse_generation(&d.generation).ok_or_else(|| {
                    format!("drive {}: unknown generation {:?}", d.serial, d.generation)
                })?;
                let mut c = DriveConfig::ibm(g, &d.serial);
                c.vendor = d.vendor.clone();
                if let Some(p) = &d.product {
                    c.product = p.clone();
                }
                c.revision = d.revision.clone();
                Ok(c)
            })
            .collect()
    }

    pub fn changer_config(&self) -> Result<ChangerConfig, String> {
        let l = &self.library;
        let drives = self
            .drive_configs()?
            .into_iter()
            .map(|d| Identity {
                vendor: d.vendor,
                product: d.product,
                revision: d.revision,
                serial: d.serial,
            })
            .collect();
        let o = &self.options;
        Ok(ChangerConfig {
            identity: Identity {
                vendor: l.vendor.clone(),
                product: l.product.clone(),
                revision: l.revision.clone(),
                serial: l.serial.clone(),
            },
            map: self.element_map(),
            drives,
            options: ChangerOptions {
                auto_unload: o.auto_unload,
                exchange: o.exchange,
                alternate_tags: o.alternate_tags,
                move_delay: Duration::from_millis(o.move_delay_ms),
                init_delay: Duration::from_millis(o.init_delay_ms),
            },
        })
    }

    /// Generation and WORM flag of a data cartridge.
    pub fn cartridge_generation(&self, c: &CartridgeSection) -> Result<(Generation, bool), String> {
        let from_code = generation_from_barcode(&c.barcode);
        let g = match &c.generation {
            Some(g) => parse_generation(g)
                .ok_or_else(|| format!("cartridge {}: unknown generation {g:?}", c.barcode))?,
            None => match (from_code, self.drive_configs()?.first()) {
                (Some((g, _)), _) => g,
                (None, Some(d)) => d.generation,
                (None, None) => Generation::Lto8,
            },
        };
        let worm = c.worm || from_code.is_some_and(|(_, w)| w);
        Ok((g, worm))
    }

    /// Checks everything a library needs before it is built.
    pub fn validate(&self) -> Result<(), String> {
        self.element_map().validate()?;
        if self.drive.len() > usize::from(u16::MAX) {
            return Err("too many drives".into());
        }
        self.drive_configs()?;
        let mut barcodes = std::collections::BTreeSet::new();
        let mut places = std::collections::BTreeSet::new();
        for c in &self.cartridge {
            if c.barcode.is_empty()
                || c.barcode.len() > 32
                || !c.barcode.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(format!(
                    "barcode {:?} must be 1..=32 printable ASCII characters",
                    c.barcode
                ));
            }
            if !barcodes.insert(c.barcode.clone()) {
                return Err(format!("barcode {} appears twice", c.barcode));
            }
            let place = match (c.slot, c.mail_slot) {
                (Some(_), Some(_)) => {
                    return Err(format!("cartridge {}: both slot and mail_slot", c.barcode));
                }
                (Some(s), None) if s == 0 || s > self.library.slots => {
                    return Err(format!(
                        "cartridge {}: slot {s} is not in 1..={}",
                        c.barcode, self.library.slots
                    ));
                }
                (None, Some(s)) if s == 0 || s > self.library.mail_slots => {
                    return Err(format!(
                        "cartridge {}: mail slot {s} is not in 1..={}",
                        c.barcode, self.library.mail_slots
                    ));
                }
                (Some(s), None) => Some((0, s)),
                (None, Some(s)) => Some((1, s)),
                (None, None) => None,
            };
            if let Some(p) = place
                && !places.insert(p)
            {
                return Err(format!("cartridge {}: its slot is taken", c.barcode));
            }
            if !c.is_cleaning() {
                self.cartridge_generation(c)?;
            }
        }
        Ok(())
    }
}
