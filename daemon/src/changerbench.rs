//! `reelctl bench changer`: the SMC driver against an in-process VTL
//! library (1 000 slots and 16 drives by default, mechanics delays off):
//! the time and READ ELEMENT STATUS requests of a full inventory (what
//! `mtx status` costs), then random load/unload cycles through the library
//! model, each unload preceded by the drive's eject through its tape
//! device (eject_before_move).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use reel_changer::{Changer, ChangerError, ChangerOptions, InventoryOptions, Library};
use reel_vtl::cartridge::Generation;
use reel_vtl::library::config::{CartridgeSection, LibrarySpec};
use reel_vtl::library::{LibraryError, VirtualLibrary};

use crate::bench::Prng;
use crate::changer_device::ChangerDevice;

#[derive(Debug, Clone, Args)]
pub struct ChangerBenchArgs {
    /// Storage slots.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=10000))]
    pub slots: u16,
    /// Drives.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub drives: u16,
    /// Cartridges (in slots 1..=N; default: one per slot).
    #[arg(long)]
    pub cartridges: Option<u16>,
    /// Load/unload cycles (each is two moves).
    #[arg(long, default_value_t = 1000)]
    pub cycles: u32,
    /// Random seed for the choice of slots and drives.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for the library (default: a temporary one, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangerBenchError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Changer(#[from] ChangerError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Setup(String),
}

/// What one run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangerBenchReport {
    pub slots: usize,
    pub mail_slots: usize,
    pub drives: usize,
    pub cartridges: usize,
    pub setup_secs: f64,
    pub inventory_secs: f64,
    pub inventory_requests: u64,
    pub elements: usize,
    pub cycles: u32,
    pub moves: u64,
    pub cycles_secs: f64,
    pub moves_per_sec: f64,
    pub requests_during_cycles: u64,
    pub final_inventory_secs: f64,
}

impl ChangerBenchReport {
    pub fn text(&self) -> String {
        format!(
            "VTL library: {} slots, {} mail slots, {} drives, {} cartridges (created in {:.2} s)\n\
             inventory (status): {} elements in {:.1} ms, {} READ ELEMENT STATUS requests\n\
             load/unload: {} cycles, {} moves in {:.2} s = {:.0} moves/s \
             ({} READ ELEMENT STATUS requests during the cycles)\n\
             inventory after the cycles: {:.1} ms\n",
            self.slots,
            self.mail_slots,
            self.drives,
            self.cartridges,
            self.setup_secs,
            self.elements,
            self.inventory_secs * 1e3,
            self.inventory_requests,
            self.cycles,
            self.moves,
            self.cycles_secs,
            self.moves_per_sec,
            self.requests_during_cycles,
            self.final_inventory_secs * 1e3,
        )
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs the benchmark; `log` receives progress lines.
pub fn run(
    args: &ChangerBenchArgs,
    log: &mut dyn FnMut(&str),
) -> Result<ChangerBenchReport, ChangerBenchError> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("lib")
        }
    };
    let ncart = args.cartridges.unwrap_or(args.slots).min(args.slots);
    let mut spec = LibrarySpec::empty(args.slots, 4, usize::from(args.drives), Generation::Lto8);
    spec.options.move_delay_ms = 0;
    spec.options.init_delay_ms = 0;
    spec.cartridge = (1..=ncart)
        .map(|n| CartridgeSection::in_slot(&format!("B{n:05}L8"), n))
        .collect();
    log(&format!(
        "creating a {}-slot, {}-drive library with {ncart} cartridges in {}",
        args.slots,
        args.drives,
        dir.display()
    ));
    let t0 = Instant::now();
    let lib = VirtualLibrary::create_with(&dir, &spec)?;
    let setup = t0.elapsed();

    let (transport, mut ejector) = ChangerDevice::from_vtl(lib).into_parts();
    let changer = Changer::new(transport, ChangerOptions::default());
    let t0 = Instant::now();
    let mut library = Library::open(changer, InventoryOptions::default())?;
    let inventory = t0.elapsed();
    let inventory_requests = library.changer().element_status_requests();
    let inv = library.inventory();
    let elements = inv.slots.len() + inv.mail_slots.len() + inv.drives.len() + inv.transports.len();
    let (slots, mail_slots, drives) = (inv.slots.len(), inv.mail_slots.len(), inv.drives.len());
    if drives == 0 || ncart == 0 {
        return Err(ChangerBenchError::Setup(
            "no drives or no cartridges".into(),
        ));
    }
    log(&format!(
        "inventory: {elements} elements, {inventory_requests} requests, {:.1} ms",
        secs(inventory) * 1e3
    ));

    let mut rng = Prng::new(args.seed);
    let full: Vec<usize> = (1..=slots)
        .filter(|&n| library.slot(n).is_ok_and(|e| e.full))
        .collect();
    let before = library.changer().element_status_requests();
    let t0 = Instant::now();
    let mut moves = 0u64;
    for i in 0..args.cycles {
        let slot = full[(rng.next_u64() % full.len() as u64) as usize];
        let drive = (rng.next_u64() % drives as u64) as usize;
        library.load(slot, drive)?;
        let back = library.unload(drive, None, Some(&mut ejector))?;
        if back != slot {
            return Err(ChangerBenchError::Setup(format!(
                "drive {drive} unloaded into slot {back}, loaded from {slot}"
            )));
        }
        moves += 2;
        if (i + 1) % 250 == 0 {
            log(&format!("{} cycles", i + 1));
        }
    }
    let cycles = t0.elapsed();
    let requests_during_cycles = library.changer().element_status_requests() - before;
    let t0 = Instant::now();
    library.refresh()?;
    let final_inventory = t0.elapsed();
    Ok(ChangerBenchReport {
        slots,
        mail_slots,
        drives,
        cartridges: usize::from(ncart),
        setup_secs: secs(setup),
        inventory_secs: secs(inventory),
        inventory_requests,
        elements,
        cycles: args.cycles,
        moves,
        cycles_secs: secs(cycles),
        moves_per_sec: moves as f64 / secs(cycles).max(1e-9),
        requests_during_cycles,
        final_inventory_secs: secs(final_inventory),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_run_counts_moves_and_requests() {
        let args = ChangerBenchArgs {
            slots: 20,
            drives: 2,
            cartridges: Some(5),
            cycles: 6,
            seed: 7,
            dir: None,
        };
        let r = run(&args, &mut |_| {}).unwrap();
        assert_eq!(
            (r.slots, r.mail_slots, r.drives, r.cartridges),
            (20, 4, 2, 5)
        );
        assert_eq!(r.elements, 20 + 4 + 2 + 1);
        assert_eq!(r.moves, 12);
        // One request per element type at least; the cycles need none (the
        // library model keeps its inventory up to date).
        assert!(r.inventory_requests >= 4, "{r:?}");
        assert_eq!(r.requests_during_cycles, 0);
        let t = r.text();
        assert!(t.contains("6 cycles, 12 moves"), "{t}");
    }
}
