//! Alerts: TapeAlert flags and lost devices turned into operator alerts
//! with a category and a severity, raised once while the condition lasts
//! and cleared when it goes away. Pure bookkeeping, no I/O.

use std::collections::BTreeMap;

use reel_drivers::tape::tape_alert::{Severity, TapeAlertFlag, TapeAlerts};

/// What an operator does about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertCategory {
    /// Load a cleaning cartridge ("clean now", "clean periodic", cleaning
    /// media problems).
    Cleaning,
    /// The cartridge: worn out, damaged, write protected, unreadable.
    Media,
    /// The drive or library itself: mechanics, electronics, interface,
    /// firmware; also a device that stopped answering.
    Hardware,
    /// Informational flags with no action (encryption, statistics...).
    Other,
}

impl AlertCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertCategory::Cleaning => "cleaning",
            AlertCategory::Media => "media",
            AlertCategory::Hardware => "hardware",
            AlertCategory::Other => "other",
        }
    }
}

/// The category of TapeAlert flag `n` (TapeAlert specification v3 flag
/// meanings; flags 28h..2Eh are the obsolete loader flags).
pub fn category(n: u8) -> AlertCategory {
    match n {
        // Cleaning media, clean now, clean periodic, expired and invalid
        // cleaning cartridges.
        0x0b | 0x14 | 0x15 | 0x16 | 0x17 => AlertCategory::Cleaning,
        // Read/write warnings and failures, media life, not data grade,
        // write protect, unsupported format, cartridge mechanics and
        // memory, read-only format, tape directory, nearing media life,
        // diminished capacity, tape system area, no start of data, WORM.
        0x01..=0x09 | 0x0c..=0x0f | 0x11..=0x13 | 0x31 | 0x33..=0x36 | 0x3b | 0x3c => {
            AlertCategory::Media
        }
        // Forced eject, retension, dual port, fan, power, maintenance,
        // hardware A/B, interface, eject media, microcode, humidity,
        // temperature, voltage, predictive failure, diagnostics, loader
        // flags, loading/unload failures, automation interface, microcode.
        0x10 | 0x18..=0x1b | 0x1d..=0x2e | 0x37..=0x3a => AlertCategory::Hardware,
        _ => AlertCategory::Other,
    }
}

/// What an alert is about, for de-duplication: one TapeAlert flag, or the
/// device being unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKey {
    TapeAlert(u8),
    Offline,
}

/// One alert of one device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    /// Unique in this registry, increasing.
    pub id: u64,
    pub device: String,
    pub key: AlertKey,
    pub category: AlertCategory,
    pub severity: Severity,
    /// "Cleaning required", "offline: HARDWARE ERROR ...".
    pub message: String,
    /// Unix seconds when it was raised.
    pub raised: u64,
}

impl Alert {
    /// The TapeAlert flag number, for TapeAlert alerts.
    pub fn flag(&self) -> Option<u8> {
        match self.key {
            AlertKey::TapeAlert(n) => Some(n),
            AlertKey::Offline => None,
        }
    }
}

/// What changed in a device's alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertChanges {
    pub raised: Vec<Alert>,
    pub cleared: Vec<Alert>,
}

impl AlertChanges {
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.cleared.is_empty()
    }

    pub fn merge(&mut self, other: AlertChanges) {
        self.raised.extend(other.raised);
        self.cleared.extend(other.cleared);
    }
}

/// The active alerts of one device.
#[derive(Debug, Clone, Default)]
pub struct AlertBook {
    active: BTreeMap<AlertKey, Alert>,
}

impl AlertBook {
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    pub fn is_active(&self, key: AlertKey) -> bool {
        self.active.contains_key(&key)
    }

    /// Applies the flags one poll read. `latched` flags come from a read
    /// that clears them on the drive (page 2Eh): their absence on a later
    /// read says nothing, so they stay active until [`AlertBook::clear`].
    pub fn apply_tape_alerts(
        &mut self,
        device: &str,
        flags: TapeAlerts,
        latched: bool,
        now: u64,
        next_id: &mut u64,
    ) -> AlertChanges {
        let mut ch = AlertChanges::default();
        for f in flags.active() {
            let key = AlertKey::TapeAlert(f.number);
            if let std::collections::btree_map::Entry::Vacant(e) = self.active.entry(key) {
                let a = tape_alert(device, &f, now, next_id);
                e.insert(a.clone());
                ch.raised.push(a);
            }
        }
        if !latched {
            let gone: Vec<AlertKey> = self
                .active
                .keys()
                .filter(|k| matches!(k, AlertKey::TapeAlert(n) if !flags.is_set(*n)))
                .copied()
                .collect();
            for k in gone {
                if let Some(a) = self.active.remove(&k) {
                    ch.cleared.push(a);
                }
            }
        }
        ch
    }

    /// Raises (`Some(reason)`) or clears (`None`) the offline alert.
    pub fn set_offline(
        &mut self,
        device: &str,
        reason: Option<&str>,
        now: u64,
        next_id: &mut u64,
    ) -> AlertChanges {
        let mut ch = AlertChanges::default();
        match reason {
            Some(r) if !self.active.contains_key(&AlertKey::Offline) => {
                *next_id += 1;
                let a = Alert {
                    id: *next_id,
                    device: device.to_string(),
                    key: AlertKey::Offline,
                    category: AlertCategory::Hardware,
                    severity: Severity::Critical,
                    message: format!("offline: {r}"),
                    raised: now,
                };
                self.active.insert(AlertKey::Offline, a.clone());
                ch.raised.push(a);
            }
            Some(_) => {}
            None => {
                if let Some(a) = self.active.remove(&AlertKey::Offline) {
                    ch.cleared.push(a);
                }
            }
        }
        ch
    }

    /// Clears every TapeAlert alert (operator acknowledgement; needed for
    /// latched flags). The offline alert stays while the device is offline.
    pub fn clear(&mut self) -> AlertChanges {
        let mut ch = AlertChanges::default();
        let keys: Vec<AlertKey> = self
            .active
            .keys()
            .filter(|k| matches!(k, AlertKey::TapeAlert(_)))
            .copied()
            .collect();
        for k in keys {
            if let Some(a) = self.active.remove(&k) {
                ch.cleared.push(a);
            }
        }
        ch
    }
}

fn tape_alert(device: &str, f: &TapeAlertFlag, now: u64, next_id: &mut u64) -> Alert {
    *next_id += 1;
    Alert {
        id: *next_id,
        device: device.to_string(),
        key: AlertKey::TapeAlert(f.number),
        category: category(f.number),
        severity: f.severity,
        message: format!("TapeAlert {:02X}h: {}", f.number, f.name),
        raised: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(ns: &[u8]) -> TapeAlerts {
        let mut t = TapeAlerts::default();
        for &n in ns {
            t.set(n);
        }
        t
    }

    #[test]
    fn categories_of_the_flags_operators_act_on() {
        assert_eq!(category(0x14), AlertCategory::Cleaning); // clean now
        assert_eq!(category(0x15), AlertCategory::Cleaning); // clean periodic
        assert_eq!(category(0x07), AlertCategory::Media); // media life
        assert_eq!(category(0x04), AlertCategory::Media);
        assert_eq!(category(0x13), AlertCategory::Media); // nearing media life
        assert_eq!(category(0x1e), AlertCategory::Hardware); // hardware A
        assert_eq!(category(0x1f), AlertCategory::Hardware);
        assert_eq!(category(0x26), AlertCategory::Hardware); // predictive failure
        assert_eq!(category(0x0a), AlertCategory::Other); // no removal
        assert_eq!(category(0x3d), AlertCategory::Other);
        assert_eq!(category(0), AlertCategory::Other);
        assert_eq!(category(0xff), AlertCategory::Other);
    }

    #[test]
    fn raised_once_while_set_cleared_when_gone() {
        let mut b = AlertBook::default();
        let mut id = 0;
        let ch = b.apply_tape_alerts("d", flags(&[0x14]), false, 10, &mut id);
        assert_eq!(ch.raised.len(), 1);
        let a = &ch.raised[0];
        assert_eq!(a.flag(), Some(0x14));
        assert_eq!(a.category, AlertCategory::Cleaning);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.message, "TapeAlert 14h: Cleaning required");
        assert_eq!(a.raised, 10);
        // Same flag again: nothing new.
        assert!(
            b.apply_tape_alerts("d", flags(&[0x14]), false, 20, &mut id)
                .is_empty()
        );
        assert_eq!(b.active().count(), 1);
        // A second flag joins; the first stays with its first time.
        let ch = b.apply_tape_alerts("d", flags(&[0x14, 0x07]), false, 30, &mut id);
        assert_eq!(ch.raised.len(), 1);
        assert_eq!(ch.raised[0].category, AlertCategory::Media);
        // Listed in flag order (07h, 14h), each with its own time.
        assert_eq!(b.active().map(|a| a.raised).collect::<Vec<_>>(), [30, 10]);
        // Both clear.
        let ch = b.apply_tape_alerts("d", flags(&[]), false, 40, &mut id);
        assert_eq!(ch.cleared.len(), 2);
        assert_eq!(b.active().count(), 0);
        assert_eq!(id, 2);
    }

    #[test]
    fn latched_flags_stay_until_cleared() {
        let mut b = AlertBook::default();
        let mut id = 0;
        b.apply_tape_alerts("d", flags(&[0x1e]), true, 1, &mut id);
        assert!(
            b.apply_tape_alerts("d", flags(&[]), true, 2, &mut id)
                .is_empty()
        );
        assert!(b.is_active(AlertKey::TapeAlert(0x1e)));
        let ch = b.clear();
        assert_eq!(ch.cleared.len(), 1);
        assert!(!b.is_active(AlertKey::TapeAlert(0x1e)));
    }

    #[test]
    fn offline_alert_once() {
        let mut b = AlertBook::default();
        let mut id = 0;
        let ch = b.set_offline("d", Some("HARDWARE ERROR"), 5, &mut id);
        assert_eq!(ch.raised[0].message, "offline: HARDWARE ERROR");
        assert_eq!(ch.raised[0].category, AlertCategory::Hardware);
        assert!(b.set_offline("d", Some("again"), 6, &mut id).is_empty());
        // Acknowledging TapeAlerts keeps the offline alert.
        assert!(b.clear().is_empty());
        assert_eq!(b.set_offline("d", None, 7, &mut id).cleared.len(), 1);
        assert!(b.set_offline("d", None, 8, &mut id).is_empty());
    }
}
