//! Executes an mtx command line on a changer, writing what mtx writes.

use std::io::Write;
use std::time::Duration;

use reel_changer::{Changer, ChangerError, ChangerOptions, InventoryOptions};
use reel_drivers::ScsiTransport;
use reel_drivers::scsi::command;
use reel_drivers::scsi::error::ScsiError;
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::DataDirection;
use reel_drivers::sg::SgError;

use super::args::{Command, Step, parse};
use super::format::{self, MtxStatus, USAGE, format_inquiry, format_request_sense, format_status};
use crate::changer_device::{ChangerDevice, ChangerOpenError, DriveEjector};

/// Where mtx writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// The environment mtx reads when no `-f` is given.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub changer: Option<String>,
    pub tape: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            changer: std::env::var("CHANGER").ok(),
            tape: std::env::var("TAPE").ok(),
        }
    }
}

/// Opens a changer address (the real one is
/// [`crate::changer_device::open_changer`]).
pub type Opener<'a> = dyn FnMut(&str) -> Result<ChangerDevice, ChangerOpenError> + 'a;

/// The process exits with this status.
struct Exit(i32);

#[derive(Default)]
struct Flags {
    invert: bool,
    invert2: bool,
    no_barcodes: bool,
    eepos: u8,
}

struct Session<'a, 'o, 'i> {
    argv0: &'a str,
    env: &'a Env,
    open: &'a mut Opener<'o>,
    io: &'a mut Io<'i>,
    device: Option<String>,
    changer: Option<Changer<Box<dyn ScsiTransport>>>,
    ejector: DriveEjector,
    status: Option<MtxStatus>,
    flags: Flags,
}

/// Runs mtx with `args` (without argv[0]); `argv0` prefixes error
/// messages. Returns the exit status.
pub fn run(argv0: &str, args: &[String], env: &Env, open: &mut Opener<'_>, io: &mut Io<'_>) -> i32 {
    let mut s = Session {
        argv0,
        env,
        open,
        io,
        device: None,
        changer: None,
        ejector: DriveEjector::none(),
        status: None,
        flags: Flags::default(),
    };
    let code = match s.run_steps(parse(args)) {
        Ok(()) => 0,
        Err(Exit(c)) => c,
    };
    let _ = s.io.out.flush();
    let _ = s.io.err.flush();
    code
}

const INQUIRY_LEN: u8 = 56;

/// Raw sense bytes of a changer error (empty when there is no sense: mtx
/// then prints its cleared buffer, all zeros).
fn sense_bytes(e: &ChangerError) -> Vec<u8> {
    match e.scsi() {
        Some(ScsiError::Check { raw, .. }) => raw.clone(),
        _ => Vec::new(),
    }
}

fn asc_ascq(e: &ChangerError) -> Option<(u8, u8)> {
    if let Some(s) = e.scsi().and_then(ScsiError::sense) {
        return Some((s.asc, s.ascq));
    }
    match e {
        ChangerError::DestinationFull { .. } => Some((0x3b, 0x0d)),
        ChangerError::SourceEmpty { .. } => Some((0x3b, 0x0e)),
        _ => None,
    }
}

impl Session<'_, '_, '_> {
    fn run_steps(&mut self, steps: Vec<Step>) -> Result<(), Exit> {
        for step in steps {
            match step {
                Step::Usage => return Err(self.usage()),
                Step::Device(d) => self.open_device(&d)?,
                Step::Run { cmd, args } => self.execute(cmd, args)?,
            }
        }
        Ok(())
    }

    fn write_out(&mut self, s: &str) {
        let _ = self.io.out.write_all(s.as_bytes());
        let _ = self.io.out.flush();
    }

    fn write_err(&mut self, s: &str) {
        let _ = self.io.out.flush();
        let _ = self.io.err.write_all(s.as_bytes());
        let _ = self.io.err.flush();
    }

    /// mtx's FatalError: `<argv0>: <message>`, exit 1.
    fn fatal(&mut self, msg: &str) -> Exit {
        let line = format!("{}: {msg}", self.argv0);
        self.write_err(&line);
        Exit(1)
    }

    fn usage(&mut self) -> Exit {
        self.write_err(USAGE);
        Exit(1)
    }

    /// mtx's PrintRequestSense; errors without sense data also name
    /// reel's reason on a line of their own.
    fn print_sense(&mut self, e: &ChangerError) {
        let raw = sense_bytes(e);
        if raw.is_empty() {
            let line = format!("{}: {e}\n", self.argv0);
            self.write_err(&line);
        }
        self.write_err(&format_request_sense(&raw));
    }

    fn open_device(&mut self, name: &str) -> Result<(), Exit> {
        // Closing the previous device first releases a VTL's lock.
        self.changer = None;
        self.ejector = DriveEjector::none();
        self.status = None;
        self.device = Some(name.to_string());
        match (self.open)(name) {
            Ok(dev) => {
                let (t, ejector) = dev.into_parts();
                let opts = ChangerOptions {
                    // mtx never ejects; the VTL ejector does it explicitly.
                    eject_before_move: false,
                    ..ChangerOptions::default()
                };
                self.changer = Some(Changer::new(t, opts));
                self.ejector = ejector;
                Ok(())
            }
            Err(
                e @ (ChangerOpenError::Sg(SgError::NotSg { .. } | SgError::OldDriver { .. })
                | ChangerOpenError::NotAChanger(_)),
            ) => {
                tracing::debug!(error = %e, "open");
                Err(self.fatal(&format!("{name} is not an sg device, or old sg driver\n")))
            }
            Err(e) => {
                tracing::debug!(error = %e, "open");
                let why = e.errno_text();
                Err(self.fatal(&format!("cannot open SCSI device '{name}' - {why}\n")))
            }
        }
    }

    fn changer(&mut self) -> Result<&mut Changer<Box<dyn ScsiTransport>>, Exit> {
        if self.changer.is_none() {
            return Err(self.fatal("No Media Changer Device Specified\n"));
        }
        self.changer.as_mut().ok_or(Exit(1))
    }

    fn raw_inquiry(&mut self) -> Result<Vec<u8>, ChangerError> {
        let Some(ch) = self.changer.as_mut() else {
            return Err(ChangerError::NotSupported {
                what: "work without a device".into(),
            });
        };
        let mut buf = vec![0u8; usize::from(INQUIRY_LEN)];
        let cdb = [0x12, 0, 0, 0, INQUIRY_LEN, 0];
        let n = command::run(
            ch.transport().as_mut(),
            "INQUIRY",
            &cdb,
            DataDirection::FromDevice(&mut buf),
            Duration::from_secs(30),
        )?
        .transferred;
        buf.truncate(n.min(buf.len()));
        Ok(buf)
    }

    fn ensure_status(&mut self) -> Result<(), Exit> {
        if self.status.is_some() {
            return Ok(());
        }
        if let Err(e) = self.raw_inquiry() {
            self.print_sense(&e);
            return Err(self.fatal("INQUIRY command Failed\n"));
        }
        let opts = InventoryOptions {
            volume_tags: !self.flags.no_barcodes,
            alternate_tags: !self.flags.no_barcodes,
            dvcid: false,
            ..InventoryOptions::default()
        };
        let inv = match self.changer()?.inventory(&opts) {
            Ok(inv) => inv,
            Err(e) => {
                self.print_sense(&e);
                return Err(self.fatal("READ ELEMENT STATUS Command Failed\n"));
            }
        };
        match MtxStatus::from_inventory(&inv) {
            Ok(st) => {
                self.status = Some(st);
                Ok(())
            }
            Err(msg) => Err(self.fatal(&msg)),
        }
    }

    fn st(&mut self) -> Result<&mut MtxStatus, Exit> {
        self.status.as_mut().ok_or(Exit(1))
    }

    fn execute(&mut self, cmd: Command, a: [i32; 3]) -> Result<(), Exit> {
        if self.changer.is_none() && cmd.needs_device() {
            let dev = self
                .env
                .changer
                .clone()
                .or_else(|| self.env.tape.clone())
                .unwrap_or_else(|| "/dev/changer".into());
            self.open_device(&dev)?;
        }
        if cmd.needs_status() {
            self.ensure_status()?;
        }
        match cmd {
            Command::Inquiry => self.inquiry(),
            Command::Status => {
                let device = self.device.clone().unwrap_or_default();
                let text = format_status(&device, self.st()?);
                self.write_out(&text);
                Ok(())
            }
            Command::Invert => {
                self.flags.invert = true;
                Ok(())
            }
            Command::Invert2 => {
                self.flags.invert2 = true;
                Ok(())
            }
            Command::NoBarcode => {
                self.flags.no_barcodes = true;
                Ok(())
            }
            // reel never uses the attached-changer API; and it reads every
            // element type in pages, which also serves altres' libraries.
            Command::NoAttach | Command::AltRes => Ok(()),
            Command::Eepos => {
                if !(0..=3).contains(&a[0]) {
                    return Err(self.fatal("eepos equires argument between 0 and 3.\n"));
                }
                self.flags.eepos = a[0] as u8;
                Ok(())
            }
            Command::Version => {
                self.write_err(&format::version_text());
                Err(self.usage())
            }
            Command::Load => self.load(a[0], a[1]),
            Command::Unload => self.unload(a[0], a[1]),
            Command::Transfer => self.transfer(a[0], a[1]),
            Command::Exchange => self.exchange(a[0], a[1], a[2]),
            Command::Position => self.position(a[0]),
            Command::First => self.first(a[0]),
            Command::Last => self.last(a[0]),
            Command::Next => self.next(a[0]),
            Command::Previous => self.previous(a[0]),
            Command::Inventory => self.inventory(),
            Command::Eject => self.eject(),
            Command::Erase => self.erase(),
        }
    }

    fn inquiry(&mut self) -> Result<(), Exit> {
        match self.raw_inquiry() {
            Ok(raw) => {
                self.write_out(&format_inquiry(&raw));
                Ok(())
            }
            Err(e) => {
                self.print_sense(&e);
                Err(self.fatal("INQUIRY Command Failed\n"))
            }
        }
    }

    /// MOVE MEDIUM with mtx's error texts.
    fn move_medium(&mut self, src: u16, dst: u16) -> Result<(), Exit> {
        let (invert, eepos) = (self.flags.invert, self.flags.eepos);
        let transport = self.st()?.transport;
        let ch = self.changer()?;
        let r = if eepos == 0 {
            ch.move_medium(src, dst, invert)
        } else {
            // The control byte's vendor bits select the mail slot tray.
            let mut cdb = reel_changer::moves::move_medium_cdb(transport, src, dst, invert);
            cdb[11] = eepos << 6;
            let timeout = ch.options().move_timeout;
            command::run(
                ch.transport().as_mut(),
                "MOVE MEDIUM",
                &cdb,
                DataDirection::None,
                timeout,
            )
            .map(|_| ())
            .map_err(ChangerError::from)
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(self.move_failed(&e, "MOVE MEDIUM", src, dst)),
        }
    }

    fn move_failed(&mut self, e: &ChangerError, op: &str, src: u16, dst: u16) -> Exit {
        tracing::debug!(error = %e, op);
        match asc_ascq(e) {
            Some((0x30, 0x03)) => self.fatal("Cleaning Cartridge Installed and Ejected\n"),
            Some((0x3a, 0x00)) => self.fatal("Drive needs offline before move\n"),
            Some((0x3b, 0x0d)) => self.fatal(&format!(
                "Destination Element Address {dst} is Already Full\n"
            )),
            Some((0x3b, 0x0e)) => self.fatal(&format!("Source Element Address {src} is Empty\n")),
            _ => {
                self.print_sense(e);
                self.fatal(&format!(
                    "{op} from Element Address {src} to {dst} Failed\n"
                ))
            }
        }
    }

    fn load(&mut self, a1: i32, a2: i32) -> Result<(), Exit> {
        if a1 < 1 {
            return Err(self.fatal("No source specified\n"));
        }
        let drive = a2.max(0);
        let slot = a1 - 1;
        let st = self.st()?;
        let (nslots, ndrives) = (st.slots.len() as i32, st.drives.len() as i32);
        if slot >= nslots {
            return Err(self.fatal(&format!(
                "Invalid <storage-element-number> argument '{}' to 'load' command\n",
                slot + 1
            )));
        }
        if drive >= ndrives {
            return Err(self.fatal(&format!(
                "illegal <drive-number> argument '{drive}' to 'load' command\n"
            )));
        }
        let (s, d) = (slot as usize, drive as usize);
        let st = self.st()?;
        if st.drives[d].full {
            let from = st.drives[d].source + 1;
            return Err(self.fatal(&format!(
                "Drive {drive} Full (Storage Element {from} loaded)\n"
            )));
        }
        let (src, dst) = (st.slots[s].address, st.drives[d].address);
        self.write_out(&format!(
            "Loading media from Storage Element {} into drive {drive}...",
            slot + 1
        ));
        self.move_medium(src, dst)?;
        self.write_out("done\n");
        let st = self.st()?;
        st.slots[s].full = false;
        st.drives[d].full = true;
        Ok(())
    }

    fn unload(&mut self, a1: i32, a2: i32) -> Result<(), Exit> {
        let drive = a2.max(0);
        let st = self.st()?;
        let (nslots, ndrives) = (st.slots.len() as i32, st.drives.len() as i32);
        let illegal_drive =
            format!("illegal <drive-number> argument '{drive}' to 'unload' command\n");
        let slot = if a1 < 0 {
            if drive >= ndrives {
                return Err(self.fatal(&illegal_drive));
            }
            let s = self.st()?.drives[drive as usize].source;
            if s < 0 {
                return Err(self.fatal(&format!("No Source for tape in drive {drive}!\n")));
            }
            s
        } else {
            a1 - 1
        };
        if slot >= nslots || slot < 0 {
            return Err(self.fatal(&format!(
                "illegal <storage-element-number> argument '{}' to 'unload' command\n",
                slot + 1
            )));
        }
        if drive >= ndrives {
            return Err(self.fatal(&illegal_drive));
        }
        let (s, d) = (slot as usize, drive as usize);
        let st = self.st()?;
        if !st.drives[d].full {
            return Err(self.fatal(&format!("Data Transfer Element {drive} is Empty\n")));
        }
        if st.slots[s].full {
            return Err(self.fatal(&format!("Storage Element {} is Already Full\n", slot + 1)));
        }
        let (src, dst) = (st.drives[d].address, st.slots[s].address);
        self.write_out(&format!(
            "Unloading drive {drive} into Storage Element {}...",
            slot + 1
        ));
        if let Err(e) = self.ejector.eject_drive(d) {
            return Err(self.fatal(&format!("{e}\n")));
        }
        self.move_medium(src, dst)?;
        self.write_out("done\n");
        let st = self.st()?;
        st.slots[s].full = true;
        st.drives[d].full = false;
        Ok(())
    }

    /// Checks of transfer and exchange; slot numbers from 1.
    fn two_slots(&mut self, a1: i32, a2: i32) -> Result<(u16, u16), Exit> {
        if a1 < 1 {
            return Err(self.fatal("No source specified\n"));
        }
        if a2 < 1 {
            return Err(self.fatal("No destination specified\n"));
        }
        let n = self.st()?.slots.len() as i32;
        if a1 > n {
            return Err(self.fatal("Invalid source\n"));
        }
        if a2 > n {
            return Err(self.fatal("Invalid destination\n"));
        }
        let st = self.st()?;
        Ok((
            st.slots[(a1 - 1) as usize].address,
            st.slots[(a2 - 1) as usize].address,
        ))
    }

    fn transfer(&mut self, a1: i32, a2: i32) -> Result<(), Exit> {
        let (src, dst) = self.two_slots(a1, a2)?;
        self.move_medium(src, dst)
    }

    fn exchange(&mut self, a1: i32, a2: i32, a3: i32) -> Result<(), Exit> {
        let (src, dst) = self.two_slots(a1, a2)?;
        let a3 = if a3 == -1 { a1 } else { a3 };
        let n = self.st()?.slots.len() as i32;
        if !(1..=n).contains(&a3) {
            return Err(self.fatal("Invalid destination\n"));
        }
        let dst2 = self.st()?.slots[(a3 - 1) as usize].address;
        // mtx sets INV1 from `invert2` and INV2 from `invert`.
        let (inv1, inv2) = (self.flags.invert2, self.flags.invert);
        let r = self.changer()?.exchange_medium(src, dst, dst2, inv1, inv2);
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(self.move_failed(&e, "EXCHANGE MEDIUM", src, dst)),
        }
    }

    fn position(&mut self, a1: i32) -> Result<(), Exit> {
        let st = self.st()?;
        let idx = if a1 >= 1 && a1 <= st.slots.len() as i32 {
            (a1 - 1) as usize
        } else {
            0
        };
        let dst = st.slots[idx].address;
        match self.changer()?.position_to_element(dst, false) {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, "position");
                Err(self.fatal("Could not position transport\n"))
            }
        }
    }

    /// The drive argument of first/last/next/previous: 0 when absent or
    /// out of range.
    fn drive_arg(&mut self, a1: i32) -> Result<usize, Exit> {
        let n = self.st()?.drives.len() as i32;
        Ok(if (0..n).contains(&a1) { a1 as usize } else { 0 })
    }

    fn first(&mut self, a1: i32) -> Result<(), Exit> {
        let d = self.drive_arg(a1)?;
        let drive = self.st()?.drives[d].clone();
        if drive.full {
            if drive.source + 1 == 1 {
                self.write_out("loading...done.\n");
                return Ok(());
            }
            self.unload(drive.source + 1, d as i32)?;
        }
        self.load(1, d as i32)
    }

    fn last(&mut self, a1: i32) -> Result<(), Exit> {
        let d = self.drive_arg(a1)?;
        let last = self.st()?.storage_count() as i32;
        let drive = self.st()?.drives[d].clone();
        if drive.full {
            if drive.source + 1 >= last {
                self.write_out("loading...done.\n");
                return Ok(());
            }
            self.unload(drive.source + 1, d as i32)?;
        }
        self.load(last, d as i32)
    }

    fn next(&mut self, a1: i32) -> Result<(), Exit> {
        let d = self.drive_arg(a1)?;
        let drive = self.st()?.drives[d].clone();
        let mut current = -1;
        if drive.full {
            current = drive.source;
            self.unload(current + 1, d as i32)?;
        }
        let storage = self.st()?.storage_count() as i32;
        for i in (current + 1).max(0)..storage {
            if self.st()?.slots[i as usize].full {
                return self.load(i + 1, d as i32);
            }
        }
        Err(self.fatal("No More Media\n"))
    }

    fn previous(&mut self, a1: i32) -> Result<(), Exit> {
        let d = self.drive_arg(a1)?;
        let drive = self.st()?.drives[d].clone();
        // Without a cartridge mtx starts at the first slot after the
        // storage slots (the first mail slot, if any).
        let mut current = self.st()?.storage_count() as i32 + 1;
        if drive.full {
            current = drive.source;
            if current == 0 {
                return Err(self.fatal("No More Media\n"));
            }
            self.unload(current + 1, d as i32)?;
        }
        let mut i = current - 1;
        while i >= 0 {
            let full = self.st()?.slots.get(i as usize).is_some_and(|s| s.full);
            if full {
                return self.load(i + 1, d as i32);
            }
            i -= 1;
        }
        Err(self.fatal("No More Media\n"))
    }

    /// A six-byte command without data, repeated once after a UNIT
    /// ATTENTION, as mtx does.
    fn simple(
        &mut self,
        op: &'static str,
        cdb: [u8; 6],
        timeout: Duration,
    ) -> Result<(), ChangerError> {
        let ch = self.changer.as_mut().ok_or(ChangerError::NotSupported {
            what: "work without a device".into(),
        })?;
        let mut attempt = || {
            command::run(
                ch.transport().as_mut(),
                op,
                &cdb,
                DataDirection::None,
                timeout,
            )
            .map(|_| ())
        };
        match attempt() {
            Err(e) if e.sense().is_some_and(|s| s.key == SenseKey::UnitAttention) => attempt(),
            r => r,
        }
        .map_err(ChangerError::from)
    }

    fn inventory(&mut self) -> Result<(), Exit> {
        let r = self.changer()?.initialize_element_status(None);
        if let Err(e) = r {
            self.print_sense(&e);
            self.write_err("Initialize Element Status (0x07) failed\n");
            self.write_err("mtx:inventory failed\n");
            return Err(Exit(1));
        }
        Ok(())
    }

    fn eject(&mut self) -> Result<(), Exit> {
        let r = self.simple(
            "START STOP UNIT",
            [0x1b, 0, 0, 0, 2, 0],
            Duration::from_secs(300),
        );
        if let Err(e) = r {
            self.print_sense(&e);
            self.write_err("Eject (0x1B) failed\n");
            // mtx reports the failure but carries on (exit status 0).
            self.write_err("mtx:eject failed\n");
        }
        Ok(())
    }

    fn erase(&mut self) -> Result<(), Exit> {
        let r = self.simple("ERASE", [0x19, 0, 0, 0, 0, 0], Duration::from_secs(300));
        if let Err(e) = r {
            self.print_sense(&e);
            return Err(Exit(1));
        }
        Ok(())
    }
}
