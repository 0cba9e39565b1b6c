//! `reelctl changer -f DEVICE <cmd>`: the human face of the changer driver
//! (the mtx shim is [`crate::mtx`]): a table of drives, slots and mail
//! slots with barcodes, `--json`, and the library model's commands. Slots
//! are numbered from 1 (mail slots after the storage slots, as mtx), drives
//! from 0. Long inventories show progress on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use reel_changer::{
    Changer, ChangerError, ChangerOptions, ElementStatus, Inventory, InventoryOptions, Library,
    Progress,
};
use reel_drivers::ScsiTransport;
use serde_json::{Value, json};

use crate::changer_device::{ChangerDevice, DriveEjector};

#[derive(Debug, Clone, Subcommand)]
pub enum ChangerCommand {
    /// Drives, slots and mail slots with their cartridges.
    Status,
    /// Rescan the library (INITIALIZE ELEMENT STATUS), then show the status.
    Inventory,
    /// Load the cartridge of SLOT into DRIVE (default 0).
    Load { slot: usize, drive: Option<usize> },
    /// Unload DRIVE (default 0) into --slot, else where the cartridge came
    /// from, else the first empty slot.
    Unload {
        drive: Option<usize>,
        #[arg(long)]
        slot: Option<usize>,
    },
    /// Move a cartridge from slot FROM to slot TO.
    Transfer { from: usize, to: usize },
    /// EXCHANGE MEDIUM: A goes to B, B's cartridge to C (default: A).
    Exchange {
        a: usize,
        b: usize,
        c: Option<usize>,
    },
    /// Move the cartridge in mail slot MAIL into --slot or the first empty slot.
    Import {
        mail: usize,
        #[arg(long)]
        slot: Option<usize>,
    },
    /// Move the cartridge of SLOT to --mail or the first empty mail slot.
    Export {
        slot: usize,
        #[arg(long)]
        mail: Option<usize>,
    },
    /// Clean DRIVE with the cleaning cartridge (barcode CLN...).
    Clean { drive: usize },
    /// Move the picker in front of SLOT.
    Position { slot: usize },
}

/// What a command produced: a JSON value and its human text.
pub struct Output {
    pub value: Value,
    pub text: String,
}

fn progress_bar() -> Option<ProgressBar> {
    if !(std::io::stderr().is_terminal() && std::io::stdout().is_terminal()) {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos}/{len} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn open_library(
    dev: ChangerDevice,
) -> Result<(Library<Box<dyn ScsiTransport>>, DriveEjector), ChangerError> {
    let (t, ejector) = dev.into_parts();
    let opts = ChangerOptions {
        // Only a VTL's drives can be reached from here; a real library's
        // drives are unloaded by their owner (mt offline) first.
        eject_before_move: ejector.active(),
        ..ChangerOptions::default()
    };
    let mut changer = Changer::new(t, opts);
    let bar = progress_bar();
    if let Some(b) = bar.clone() {
        changer.on_progress(move |p| match p {
            Progress::Inventory { kind, done, total } => {
                b.set_message(format!("reading {kind} elements"));
                b.set_length(total.map_or(0, |t| t as u64));
                b.set_position(*done as u64);
            }
            Progress::BecomingReady { waited, limit, .. } => {
                b.set_message(format!(
                    "library becoming ready ({}s of {}s)",
                    waited.as_secs(),
                    limit.as_secs()
                ));
            }
        });
    }
    let lib = Library::open(changer, InventoryOptions::default());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok((lib?, ejector))
}

/// A drive's serial from its DVCID identifier (the tail of a T10 vendor
/// ID identifier: 8 bytes vendor, 16 bytes product, then the serial).
fn serial(e: &ElementStatus) -> Option<String> {
    let id = e.identifier.as_ref()?;
    if id.identifier_type == 1
        && matches!(id.code_set, 2 | 3)
        && let Some(tail) = id.value.get(24..)
    {
        return Some(String::from_utf8_lossy(tail).trim().to_string());
    }
    Some(id.value_string())
}

fn barcode(e: &ElementStatus) -> Option<String> {
    e.full.then(|| e.barcode()).flatten()
}

/// The status as JSON: slot numbers, element addresses, barcodes, sources.
pub fn status_json(lib: &Library<Box<dyn ScsiTransport>>) -> Value {
    let inv = lib.inventory();
    let slot = |n: usize, e: &ElementStatus| {
        json!({
            "slot": n,
            "element": e.address,
            "full": e.full,
            "barcode": barcode(e),
            "except": e.except.then(|| format!("{:02x}/{:02x}", e.asc, e.ascq)),
        })
    };
    let s = inv.slots.len();
    json!({
        "vendor": inv.vendor,
        "product": inv.product,
        "drives": inv.drives.iter().enumerate().map(|(i, e)| json!({
            "drive": i,
            "element": e.address,
            "full": e.full,
            "barcode": barcode(e),
            "source_slot": e.full.then(|| e.source.and_then(|a| lib.slot_number(a))).flatten(),
            "identifier": e.identifier.as_ref().map(|i| i.value_string()),
            "serial": serial(e),
        })).collect::<Vec<_>>(),
        "slots": inv.slots.iter().enumerate().map(|(i, e)| slot(i + 1, e)).collect::<Vec<_>>(),
        "mail_slots": inv.mail_slots.iter().enumerate().map(|(i, e)| slot(s + i + 1, e)).collect::<Vec<_>>(),
    })
}

/// The status as a table.
pub fn status_text(inv: &Inventory, slot_number: &dyn Fn(u16) -> Option<usize>) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} {}: {} drives, {} slots, {} mail slots",
        inv.vendor,
        inv.product,
        inv.drives.len(),
        inv.slots.len(),
        inv.mail_slots.len()
    );
    let state = |e: &ElementStatus| match (e.full, e.except) {
        (_, true) => format!("error {:02x}/{:02x}", e.asc, e.ascq),
        (true, _) => "full".into(),
        (false, _) => "empty".into(),
    };
    let tag = |e: &ElementStatus| match (e.full, barcode(e)) {
        (true, Some(b)) => b,
        (true, None) => "(no barcode)".into(),
        (false, _) => String::new(),
    };
    let _ = writeln!(
        t,
        "\nDRIVE  ELEMENT  STATE     BARCODE           FROM SLOT  SERIAL"
    );
    for (i, e) in inv.drives.iter().enumerate() {
        let from = if e.full {
            e.source
                .and_then(slot_number)
                .map_or("?".into(), |n| n.to_string())
        } else {
            String::new()
        };
        let serial = serial(e).unwrap_or_default();
        let _ = writeln!(
            t,
            "{i:<6} 0x{:04x}   {:<9} {:<17} {:<10} {serial}",
            e.address,
            state(e),
            tag(e),
            from
        );
        // Trailing spaces of empty columns are noise.
        let trimmed = t.trim_end_matches(' ').len();
        t.truncate(trimmed);
        if !t.ends_with('\n') {
            t.push('\n');
        }
    }
    let mut table = |title: &str, first: usize, els: &[ElementStatus]| {
        if els.is_empty() {
            return;
        }
        let _ = writeln!(t, "\n{title:<6} ELEMENT  STATE     BARCODE");
        for (i, e) in els.iter().enumerate() {
            let line = format!(
                "{:<6} 0x{:04x}   {:<9} {}",
                first + i,
                e.address,
                state(e),
                tag(e)
            );
            let _ = writeln!(t, "{}", line.trim_end());
        }
    };
    table("SLOT", 1, &inv.slots);
    table("MAIL", inv.slots.len() + 1, &inv.mail_slots);
    t
}

fn status_output(lib: &Library<Box<dyn ScsiTransport>>) -> Output {
    let text = status_text(lib.inventory(), &|a| lib.slot_number(a));
    Output {
        value: status_json(lib),
        text,
    }
}

fn moved(value: Value, text: String) -> Output {
    Output { value, text }
}

fn label(lib: &Library<Box<dyn ScsiTransport>>, slot: usize) -> String {
    lib.slot(slot)
        .ok()
        .and_then(barcode)
        .map_or_else(String::new, |b| format!(" ({b})"))
}

/// Runs `cmd` on the changer `dev`.
pub fn run(dev: ChangerDevice, cmd: ChangerCommand) -> Result<Output, ChangerError> {
    let (mut lib, mut ejector) = open_library(dev)?;
    match cmd {
        ChangerCommand::Status => Ok(status_output(&lib)),
        ChangerCommand::Inventory => {
            lib.changer().initialize_element_status(None)?;
            lib.refresh()?;
            Ok(status_output(&lib))
        }
        ChangerCommand::Load { slot, drive } => {
            let drive = drive.unwrap_or(0);
            let what = label(&lib, slot);
            lib.load(slot, drive)?;
            Ok(moved(
                json!({"loaded": {"slot": slot, "drive": drive}}),
                format!("loaded slot {slot}{what} into drive {drive}\n"),
            ))
        }
        ChangerCommand::Unload { drive, slot } => {
            let drive = drive.unwrap_or(0);
            let to = lib.unload(drive, slot, Some(&mut ejector))?;
            let what = label(&lib, to);
            Ok(moved(
                json!({"unloaded": {"drive": drive, "slot": to}}),
                format!("unloaded drive {drive} into slot {to}{what}\n"),
            ))
        }
        ChangerCommand::Transfer { from, to } => {
            let what = label(&lib, from);
            lib.transfer(from, to)?;
            Ok(moved(
                json!({"transferred": {"from": from, "to": to}}),
                format!("moved slot {from}{what} to slot {to}\n"),
            ))
        }
        ChangerCommand::Exchange { a, b, c } => {
            lib.exchange(a, b, c)?;
            let c = c.unwrap_or(a);
            Ok(moved(
                json!({"exchanged": {"a": a, "b": b, "c": c}}),
                format!("moved slot {a} to slot {b} and slot {b} to slot {c}\n"),
            ))
        }
        ChangerCommand::Import { mail, slot } => {
            let what = label(&lib, mail);
            let to = lib.import(mail, slot)?;
            Ok(moved(
                json!({"imported": {"mail_slot": mail, "slot": to}}),
                format!("imported mail slot {mail}{what} into slot {to}\n"),
            ))
        }
        ChangerCommand::Export { slot, mail } => {
            let what = label(&lib, slot);
            let to = lib.export(slot, mail)?;
            Ok(moved(
                json!({"exported": {"slot": slot, "mail_slot": to}}),
                format!("exported slot {slot}{what} to mail slot {to}\n"),
            ))
        }
        ChangerCommand::Clean { drive } => {
            // The VTL has no cleaning cycle to wait for; a real drive
            // ejects the cleaning cartridge when done, which the unload's
            // eject tolerates.
            let slot = lib.clean(drive, Some(&mut ejector), &mut |_| Ok(()))?;
            Ok(moved(
                json!({"cleaned": {"drive": drive, "cleaning_slot": slot}}),
                format!("cleaned drive {drive} with the cartridge of slot {slot}\n"),
            ))
        }
        ChangerCommand::Position { slot } => {
            let el = lib.slot(slot)?.address;
            lib.changer().position_to_element(el, false)?;
            Ok(moved(
                json!({"positioned": {"slot": slot}}),
                format!("picker in front of slot {slot}\n"),
            ))
        }
    }
}

/// The JSON of a failure.
pub fn error_json(e: &ChangerError) -> Value {
    let sense = e
        .scsi()
        .and_then(|s| s.sense())
        .map(|s| json!({"key": format!("{:?}", s.key), "asc": s.asc, "ascq": s.ascq}));
    json!({"error": e.to_string(), "sense": sense})
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_vtl::library::VirtualLibrary;

    fn default_lib() -> (tempfile::TempDir, VirtualLibrary) {
        let tmp = tempfile::tempdir().unwrap();
        let lib = VirtualLibrary::create_default(&tmp.path().join("lib")).unwrap();
        (tmp, lib)
    }

    #[test]
    fn status_table_and_json() {
        let (_tmp, lib) = default_lib();
        let out = run(ChangerDevice::from_vtl(lib), ChangerCommand::Status).unwrap();
        assert!(
            out.text
                .starts_with("IBM 3573-TL: 4 drives, 50 slots, 4 mail slots\n\nDRIVE  ELEMENT"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains(&format!(
                "\n0      0x0100   empty{}VTL0000001\n",
                " ".repeat(34)
            )),
            "{}",
            out.text
        );
        assert_eq!(out.value["drives"][0]["serial"], "VTL0000001");
        assert!(out.text.contains("\n1      0x0400   full      RL0001L8\n"));
        assert!(out.text.contains("\n50     0x0431   full      CLN001L1\n"));
        assert!(
            out.text
                .contains("\nMAIL   ELEMENT  STATE     BARCODE\n51     0x0300   empty\n")
        );
        let v = out.value;
        assert_eq!(v["drives"].as_array().unwrap().len(), 4);
        assert_eq!(v["slots"][0]["barcode"], "RL0001L8");
        assert_eq!(v["slots"][20]["barcode"], Value::Null);
        assert_eq!(v["mail_slots"][0]["slot"], 51);
        assert_eq!(v["mail_slots"][0]["element"], 0x300);
    }

    #[test]
    fn load_unload_cycle_with_in_process_eject() {
        let (_tmp, lib) = default_lib();
        let dir = lib.dir().to_path_buf();
        let dev = ChangerDevice::from_vtl(lib);
        let out = run(
            dev,
            ChangerCommand::Load {
                slot: 2,
                drive: Some(1),
            },
        )
        .unwrap();
        assert_eq!(out.text, "loaded slot 2 (RL0002L8) into drive 1\n");
        let dev = ChangerDevice::from_vtl(VirtualLibrary::open(&dir).unwrap());
        let st = run(dev, ChangerCommand::Status).unwrap();
        assert!(
            st.text
                .contains("\n1      0x0101   full      RL0002L8          2"),
            "{}",
            st.text
        );
        assert_eq!(st.value["drives"][1]["source_slot"], 2);
        let dev = ChangerDevice::from_vtl(VirtualLibrary::open(&dir).unwrap());
        let out = run(
            dev,
            ChangerCommand::Unload {
                drive: Some(1),
                slot: None,
            },
        )
        .unwrap();
        assert_eq!(out.text, "unloaded drive 1 into slot 2 (RL0002L8)\n");
        assert_eq!(out.value["unloaded"]["slot"], 2);
    }

    #[test]
    fn errors_name_slots() {
        let (_tmp, lib) = default_lib();
        let e = match run(
            ChangerDevice::from_vtl(lib),
            ChangerCommand::Transfer { from: 1, to: 2 },
        ) {
            Err(e) => e,
            Ok(o) => panic!("{}", o.text),
        };
        assert_eq!(e.to_string(), "slot 2 (element 1025) is full");
        let j = error_json(&e);
        assert_eq!(j["error"], "slot 2 (element 1025) is full");
    }
}
