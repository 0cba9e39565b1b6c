//! Every cartridge a destructive case moves goes back where it started,
//! also when the case fails midway: [`Moves`] journals where each moved
//! cartridge came from and where it is now, and [`Moves::restore`] puts
//! them home (through a free slot when two cartridges swapped places).

use reel_changer::{ChangerError, InventoryOptions};
use reel_drivers::ScsiError;
use reel_drivers::scsi::sense::SenseKey;
use std::time::{Duration, Instant};

use super::util;
use crate::conformance::{Bench, CaseError};

/// Journal of the cartridges a case moved: (home element, current element).
#[derive(Debug, Default)]
pub struct Moves {
    moved: Vec<(u16, u16)>,
}

impl Moves {
    fn record(&mut self, from: u16, to: u16) {
        match self.moved.iter_mut().find(|m| m.1 == from) {
            Some(m) => m.1 = to,
            None => self.moved.push((from, to)),
        }
    }

    /// MOVE MEDIUM through reel's driver, journalled.
    pub fn mv(&mut self, b: &mut Bench, from: u16, to: u16) -> Result<(), ChangerError> {
        let r = move_medium(b, from, to);
        if r.is_ok() {
            self.record(from, to);
        }
        r
    }

    /// MOVE MEDIUM out of a drive: when the library answers that the
    /// cartridge is still loaded (3B/90 or a vendor equivalent), unload it
    /// through the bench's tape device and move again.
    pub fn mv_out(&mut self, b: &mut Bench, drive: u16, to: u16) -> Result<(), CaseError> {
        move_out(b, drive, to)?;
        self.record(drive, to);
        Ok(())
    }

    /// EXCHANGE MEDIUM, journalled: `src` → `d1`, `d1` → `d2`.
    pub fn exchange(&mut self, b: &mut Bench, src: u16, d1: u16, d2: u16) -> Result<(), CaseError> {
        b.changer()?.exchange_medium(src, d1, d2, false, false)?;
        self.record_exchange(src, d1, d2);
        Ok(())
    }

    fn record_exchange(&mut self, src: u16, d1: u16, d2: u16) {
        // Both cartridges are looked up before either entry changes, so
        // the first one's new place (d1) is not mistaken for the second.
        let second = self.moved.iter().position(|m| m.1 == d1);
        let first = self.moved.iter().position(|m| m.1 == src);
        match second {
            Some(i) => self.moved[i].1 = d2,
            None => self.moved.push((d1, d2)),
        }
        match first {
            Some(i) => self.moved[i].1 = d1,
            None => self.moved.push((src, d1)),
        }
    }

    /// Puts every journalled cartridge back home. Errors name what could
    /// not be restored.
    pub fn restore(&mut self, b: &mut Bench) -> Result<(), String> {
        let mut problems = Vec::new();
        // Each round either moves one cartridge home or breaks a cycle
        // through a free slot; the bound only guards against a library
        // that lies about what it did.
        for _ in 0..(4 * self.moved.len() + 4) {
            self.moved.retain(|m| m.0 != m.1);
            if self.moved.is_empty() {
                break;
            }
            let inv = match b.changer().map_err(|e| e.to_string()).and_then(|c| {
                c.inventory(&InventoryOptions::default())
                    .map_err(|e| e.to_string())
            }) {
                Ok(i) => i,
                Err(e) => {
                    problems.push(format!("inventory: {e}"));
                    break;
                }
            };
            let free = |a: u16| inv.find(a).is_some_and(|e| !e.full);
            let next = self.moved.iter().position(|m| free(m.0));
            let (i, to) = match next {
                Some(i) => (i, self.moved[i].0),
                None => {
                    // A cycle: a home holds another journalled cartridge
                    // (an exchange). Park that occupant in a free slot.
                    let occupant = self
                        .moved
                        .iter()
                        .find_map(|m| self.moved.iter().position(|o| o.1 == m.0));
                    match (occupant, util::empty_slots(&inv, 1)) {
                        (Some(j), Ok(s)) => (j, s[0]),
                        (Some(_), Err(_)) => {
                            problems.push(
                                "cartridges swapped places and no free slot to park one".into(),
                            );
                            break;
                        }
                        // Homes taken by cartridges the case did not
                        // move: nothing sensible to do, reported below.
                        (None, _) => break,
                    }
                }
            };
            let (home, at) = self.moved[i];
            let is_drive = inv.drives.iter().any(|d| d.address == at);
            let r = if is_drive {
                move_out(b, at, to).map_err(|e| e.to_string())
            } else {
                move_medium(b, at, to).map_err(|e| e.to_string())
            };
            match r {
                Ok(()) => self.moved[i].1 = to,
                Err(e) => {
                    problems.push(format!(
                        "move {at:#06x} back to {home:#06x} (via {to:#06x}): {e}"
                    ));
                    self.moved.remove(i);
                }
            }
        }
        self.moved.retain(|m| m.0 != m.1);
        for (home, at) in self.moved.drain(..) {
            problems.push(format!("cartridge of {home:#06x} left at {at:#06x}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

fn move_medium(b: &mut Bench, from: u16, to: u16) -> Result<(), ChangerError> {
    match b.changer() {
        Ok(c) => c.move_medium(from, to, false),
        Err(e) => Err(ChangerError::NotSupported {
            what: e.to_string(),
        }),
    }
}

/// True when the library refuses to take a cartridge still loaded in its
/// drive (the VTL and Exabyte/Tandberg: 3B/90; others: 3B/0E or 04/xx
/// variations would be reported as they are).
pub fn not_ejected(e: &ChangerError) -> bool {
    matches!(e, ChangerError::NotEjected { .. })
}

/// MOVE MEDIUM from a drive, unloading it through the bench's tape device
/// when the library demands it.
pub fn move_out(b: &mut Bench, drive: u16, to: u16) -> Result<(), CaseError> {
    match move_medium(b, drive, to) {
        Ok(()) => Ok(()),
        Err(e) if not_ejected(&e) => {
            if !b.has_tape() || b.drive_element()? != drive {
                return Err(CaseError::Fail(format!(
                    "{e} (and the bench has no tape device for drive element {drive:#06x})"
                )));
            }
            eject(b)?;
            Ok(move_medium(b, drive, to)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// UNLOAD through the bench's tape device: unit attentions after the
/// load are consumed, a drive still becoming ready is waited for, an empty
/// drive has nothing to unload.
pub fn eject(b: &mut Bench) -> Result<(), CaseError> {
    let start = Instant::now();
    let mut ua = 0;
    loop {
        match b.tape()?.unload() {
            Ok(()) => return Ok(()),
            Err(e) => match e.sense().map(|s| (s.key, s.asc, s.ascq)) {
                Some((SenseKey::UnitAttention, ..)) if ua < 8 => ua += 1,
                Some((SenseKey::NotReady, 0x04, 0x01))
                    if start.elapsed() < Duration::from_secs(120) =>
                {
                    std::thread::sleep(Duration::from_millis(500));
                }
                Some((SenseKey::NotReady, 0x3a, _)) => return Ok(()),
                _ => return Err(unload_failed(e)),
            },
        }
    }
}

fn unload_failed(e: ScsiError) -> CaseError {
    CaseError::Fail(format!("UNLOAD through the tape device: {e}"))
}

/// Runs `body` with a journal, then restores what it moved. The body's
/// own error wins; a failed restore is reported with it or alone.
pub fn with_restore(
    b: &mut Bench,
    body: impl FnOnce(&mut Bench, &mut Moves) -> Result<(), CaseError>,
) -> Result<(), CaseError> {
    let mut m = Moves::default();
    let r = body(b, &mut m);
    let undo = m.restore(b);
    match (r, undo) {
        (r, Ok(())) => r,
        (Ok(()), Err(u)) => Err(CaseError::Fail(format!("restoring the start: {u}"))),
        (Err(CaseError::Skip(s)), Err(u)) => Err(CaseError::Fail(format!(
            "{s}; then restoring the start: {u}"
        ))),
        (Err(e), Err(u)) => Err(CaseError::Fail(format!("{e}; restoring the start: {u}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_follows_a_cartridge() {
        let mut m = Moves::default();
        m.record(0x400, 0x100);
        m.record(0x100, 0x401);
        assert_eq!(m.moved, [(0x400, 0x401)]);
        m.record(0x402, 0x403);
        assert_eq!(m.moved, [(0x400, 0x401), (0x402, 0x403)]);
    }

    #[test]
    fn journal_of_exchanges() {
        let mut m = Moves::default();
        m.record_exchange(0x400, 0x401, 0x400);
        assert_eq!(m.moved, [(0x401, 0x400), (0x400, 0x401)]);
        // Swapping back brings both home.
        m.record_exchange(0x400, 0x401, 0x400);
        assert_eq!(m.moved, [(0x401, 0x401), (0x400, 0x400)]);
        // Three-way: 0x402 -> 0x403, 0x403 -> 0x404 (empty).
        let mut m = Moves::default();
        m.record_exchange(0x402, 0x403, 0x404);
        assert_eq!(m.moved, [(0x403, 0x404), (0x402, 0x403)]);
    }
}
