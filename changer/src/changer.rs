//! [`Changer`]: the SMC commands issued through a transport, with what real
//! libraries need around them (field notes A1-A5): inventory paged per
//! element type with an allocation length of 0xFFFF, re-requests when the
//! report was cut, fallbacks when a library rejects VOLTAG with DVCID,
//! bounded retries of NOT READY 04/01 and UNIT ATTENTION, long timeouts for
//! moves and INITIALIZE ELEMENT STATUS, and errors that name the element.

use std::time::{Duration, Instant};

use reel_drivers::scsi::command;
use reel_drivers::scsi::error::ScsiError;
use reel_drivers::scsi::inquiry::{self, StandardInquiry};
use reel_drivers::scsi::mode::{self, ModeData, PageControl};
use reel_drivers::scsi::sense::SenseKey;
use reel_drivers::scsi::transport::{DataDirection, ScsiTransport};

use crate::element_status::{
    self, ElementStatus, ElementStatusData, ElementStatusRequest, ElementType,
};
use crate::error::{ChangerError, Elements, name_element, not_ready};
use crate::mode_pages::{self, DeviceCapabilities, ElementAssignment, TransportGeometry};
use crate::moves;

/// Per-library behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangerOptions {
    /// Unload a drive through its tape device before moving its cartridge
    /// out (field note A6: some libraries need it and it cannot be
    /// detected). Used by [`crate::library::Library`].
    pub eject_before_move: bool,
    /// How long NOT READY 04/01 "becoming ready" is retried.
    pub not_ready_timeout: Duration,
    /// Pause between retries while the library becomes ready or is busy.
    pub retry_interval: Duration,
    /// MOVE MEDIUM, EXCHANGE MEDIUM, POSITION TO ELEMENT.
    pub move_timeout: Duration,
    /// INITIALIZE ELEMENT STATUS (a full scan of a big library).
    pub initialize_timeout: Duration,
    /// READ ELEMENT STATUS (may scan barcodes).
    pub status_timeout: Duration,
    /// Everything else (INQUIRY, MODE SENSE, PREVENT ALLOW...).
    pub command_timeout: Duration,
    /// UNIT ATTENTIONs consumed by repeating the command.
    pub unit_attention_retries: u32,
    /// BUSY, or ABORTED COMMAND on commands that move nothing.
    pub transient_retries: u32,
}

impl Default for ChangerOptions {
    fn default() -> Self {
        ChangerOptions {
            eject_before_move: true,
            not_ready_timeout: Duration::from_secs(10 * 60),
            retry_interval: Duration::from_secs(2),
            move_timeout: Duration::from_secs(30 * 60),
            initialize_timeout: Duration::from_secs(30 * 60),
            status_timeout: Duration::from_secs(30 * 60),
            command_timeout: Duration::from_secs(60),
            unit_attention_retries: 8,
            transient_retries: 3,
        }
    }
}

/// What an inventory asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryOptions {
    /// Ask for volume tags (barcodes).
    pub volume_tags: bool,
    /// Keep alternate volume tags when the library reports them.
    pub alternate_tags: bool,
    /// Ask data transfer elements for their device identifier (serial).
    pub dvcid: bool,
    /// Elements per READ ELEMENT STATUS request (field note A3).
    pub chunk: u16,
}

impl Default for InventoryOptions {
    fn default() -> Self {
        InventoryOptions {
            volume_tags: true,
            alternate_tags: true,
            dvcid: true,
            chunk: 1000,
        }
    }
}

/// Every element of the library, per type, in address order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    pub assignment: ElementAssignment,
    pub transports: Vec<ElementStatus>,
    pub slots: Vec<ElementStatus>,
    pub mail_slots: Vec<ElementStatus>,
    pub drives: Vec<ElementStatus>,
    pub vendor: String,
    pub product: String,
}

impl Inventory {
    pub fn elements(&self, kind: ElementType) -> &[ElementStatus] {
        match kind {
            ElementType::MediumTransport => &self.transports,
            ElementType::Storage => &self.slots,
            ElementType::ImportExport => &self.mail_slots,
            ElementType::DataTransfer => &self.drives,
        }
    }

    pub fn elements_mut(&mut self, kind: ElementType) -> &mut Vec<ElementStatus> {
        match kind {
            ElementType::MediumTransport => &mut self.transports,
            ElementType::Storage => &mut self.slots,
            ElementType::ImportExport => &mut self.mail_slots,
            ElementType::DataTransfer => &mut self.drives,
        }
    }

    /// The element at `address`, of any type.
    pub fn find(&self, address: u16) -> Option<&ElementStatus> {
        ElementType::ALL
            .into_iter()
            .flat_map(|k| self.elements(k))
            .find(|e| e.address == address)
    }

    pub fn find_mut(&mut self, address: u16) -> Option<&mut ElementStatus> {
        let kind = ElementType::ALL
            .into_iter()
            .find(|&k| self.elements(k).iter().any(|e| e.address == address))?;
        self.elements_mut(kind)
            .iter_mut()
            .find(|e| e.address == address)
    }
}

/// Progress of long operations, for a terminal or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The library answers NOT READY 04/01; retrying.
    BecomingReady {
        op: &'static str,
        waited: Duration,
        limit: Duration,
    },
    /// Element descriptors read so far for one type (`total` when known).
    Inventory {
        kind: ElementType,
        done: usize,
        total: Option<usize>,
    },
}

type ProgressFn = Box<dyn FnMut(&Progress) + Send>;

/// An SMC medium changer on any transport.
pub struct Changer<T: ScsiTransport> {
    t: T,
    opts: ChangerOptions,
    /// The library rejected MODE SENSE(10) (field note A11).
    mode6: bool,
    assignment: Option<ElementAssignment>,
    progress: Option<ProgressFn>,
    status_requests: u64,
    /// Learnt (A2): the library rejects VOLTAG and DVCID in one request.
    dvcid_with_voltag: bool,
    /// Learnt (A2): the library rejects DVCID altogether.
    dvcid_supported: bool,
    /// How long the last failed command waited for readiness.
    last_wait: Duration,
}

const OP_RES: &str = "READ ELEMENT STATUS";

/// ILLEGAL REQUEST 24/00 "invalid field in CDB": a library refusing a bit
/// it does not implement (VOLTAG, DVCID).
fn rejected(e: &ChangerError) -> bool {
    matches!(e, ChangerError::Scsi(s) if s.sense().is_some_and(|s| s.key == SenseKey::IllegalRequest && s.asc == 0x24))
}

impl<T: ScsiTransport> Changer<T> {
    pub fn new(t: T, opts: ChangerOptions) -> Changer<T> {
        Changer {
            t,
            opts,
            mode6: false,
            assignment: None,
            progress: None,
            status_requests: 0,
            dvcid_with_voltag: true,
            dvcid_supported: true,
            last_wait: Duration::ZERO,
        }
    }

    pub fn options(&self) -> &ChangerOptions {
        &self.opts
    }

    pub fn options_mut(&mut self) -> &mut ChangerOptions {
        &mut self.opts
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    pub fn into_inner(self) -> T {
        self.t
    }

    /// Receives [`Progress`] reports (also logged through `tracing`).
    pub fn on_progress(&mut self, f: impl FnMut(&Progress) + Send + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// READ ELEMENT STATUS commands issued so far (for benchmarks).
    pub fn element_status_requests(&self) -> u64 {
        self.status_requests
    }

    fn report(&mut self, p: Progress) {
        tracing::info!(?p, "changer progress");
        if let Some(f) = self.progress.as_mut() {
            f(&p);
        }
    }

    // ---- command plumbing -------------------------------------------------

    /// Runs one command with the bounded retries: UNIT ATTENTION (the
    /// command was not executed), NOT READY 04/01 until
    /// `not_ready_timeout`, BUSY, and ABORTED COMMAND when `idempotent`.
    fn exec(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        mut data: Option<&mut [u8]>,
        timeout: Duration,
        idempotent: bool,
    ) -> Result<usize, ScsiError> {
        let start = Instant::now();
        let limit = self.opts.not_ready_timeout;
        let (mut ua, mut transient) = (0, 0);
        self.last_wait = Duration::ZERO;
        loop {
            let dir = match data.as_deref_mut() {
                Some(b) => DataDirection::FromDevice(b),
                None => DataDirection::None,
            };
            let e = match command::run(&mut self.t, op, cdb, dir, timeout) {
                Ok(o) => return Ok(o.transferred),
                Err(e) => e,
            };
            let waited = start.elapsed();
            let key = e.sense().map(|s| (s.key, s.asc, s.ascq));
            match key {
                Some((SenseKey::UnitAttention, asc, ascq))
                    if ua < self.opts.unit_attention_retries =>
                {
                    ua += 1;
                    tracing::debug!(op, asc, ascq, "consuming unit attention");
                    continue;
                }
                Some((SenseKey::NotReady, 0x04, 0x01)) if waited < limit => {
                    self.report(Progress::BecomingReady { op, waited, limit });
                    std::thread::sleep(self.opts.retry_interval.min(limit - waited));
                    continue;
                }
                Some((SenseKey::AbortedCommand, ..))
                    if idempotent && transient < self.opts.transient_retries =>
                {
                    transient += 1;
                    tracing::debug!(op, "retrying aborted command");
                    continue;
                }
                None if e.class() == reel_drivers::ErrorClass::Busy
                    && transient < self.opts.transient_retries =>
                {
                    transient += 1;
                    tracing::debug!(op, "library busy; retrying");
                    std::thread::sleep(self.opts.retry_interval);
                    continue;
                }
                _ => {}
            }
            self.last_wait = waited;
            return Err(e);
        }
    }

    fn fail(&self, e: ScsiError) -> ChangerError {
        not_ready(e, self.last_wait)
    }

    fn data_in(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        alloc: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, ChangerError> {
        let mut buf = vec![0u8; alloc];
        let n = self
            .exec(op, cdb, Some(&mut buf), timeout, true)
            .map_err(|e| self.fail(e))?;
        buf.truncate(n.min(alloc));
        Ok(buf)
    }

    fn no_data(
        &mut self,
        op: &'static str,
        cdb: &[u8],
        timeout: Duration,
        el: Option<(Elements, bool)>,
    ) -> Result<(), ChangerError> {
        self.exec(op, cdb, None, timeout, el.is_none())
            .map(|_| ())
            .map_err(|e| match el {
                Some((el, position)) => name_element(e, el, position, self.last_wait),
                None => self.fail(e),
            })
    }

    // ---- identification and mode pages -----------------------------------

    pub fn inquiry(&mut self) -> Result<StandardInquiry, ChangerError> {
        let b = self.data_in(
            "INQUIRY",
            &inquiry::inquiry_cdb(false, 0, 96),
            96,
            self.opts.command_timeout,
        )?;
        StandardInquiry::parse(&b).map_err(|e| ChangerError::malformed("INQUIRY", e))
    }

    /// VPD 80h unit serial number of the library itself.
    pub fn serial(&mut self) -> Result<String, ChangerError> {
        let b = self.data_in(
            "INQUIRY",
            &inquiry::inquiry_cdb(true, 0x80, 0xff),
            0xff,
            self.opts.command_timeout,
        )?;
        inquiry::parse_unit_serial(&b).map_err(|e| ChangerError::malformed("INQUIRY", e))
    }

    /// The data of mode page `page` (current values), with MODE SENSE(6)
    /// when the 10-byte form is unknown (20/00) and one retry with DBD
    /// flipped when the library rejects the field (24/00).
    pub fn mode_page(&mut self, page: u8) -> Result<Vec<u8>, ChangerError> {
        let mut dbd = true;
        let mut dbd_retried = false;
        loop {
            let (op, res) = if self.mode6 {
                let op = "MODE SENSE(6)";
                let cdb = mode::mode_sense6_cdb(page, 0, PageControl::Current, dbd, 0xff);
                let r = self.data_in(op, &cdb, 0xff, self.opts.command_timeout);
                (
                    op,
                    r.and_then(|b| {
                        ModeData::parse6(&b).map_err(|e| ChangerError::malformed(op, e))
                    }),
                )
            } else {
                let op = "MODE SENSE(10)";
                let cdb = mode::mode_sense10_cdb(page, 0, PageControl::Current, dbd, false, 0x400);
                let r = self.data_in(op, &cdb, 0x400, self.opts.command_timeout);
                (
                    op,
                    r.and_then(|b| {
                        ModeData::parse10(&b).map_err(|e| ChangerError::malformed(op, e))
                    }),
                )
            };
            match res {
                Ok(m) => {
                    return m.page(page, 0).map(|p| p.data.clone()).ok_or_else(|| {
                        ChangerError::Malformed {
                            op,
                            detail: format!("page {page:02X}h missing from the mode data"),
                        }
                    });
                }
                Err(ChangerError::Scsi(e)) if !self.mode6 && e.is_asc(0x20, 0x00) => {
                    tracing::debug!("MODE SENSE(10) unsupported; using the 6-byte form");
                    self.mode6 = true;
                }
                Err(ChangerError::Scsi(e)) if e.is_asc(0x24, 0x00) && !dbd_retried => {
                    dbd_retried = true;
                    dbd = !dbd;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Mode page 1Dh (cached for the transport address of moves).
    pub fn element_assignment(&mut self) -> Result<ElementAssignment, ChangerError> {
        let d = self.mode_page(mode_pages::PAGE_ELEMENT_ADDRESS_ASSIGNMENT)?;
        let a =
            ElementAssignment::parse(&d).map_err(|e| ChangerError::malformed("MODE SENSE", e))?;
        self.assignment = Some(a);
        Ok(a)
    }

    /// Mode page 1Fh.
    pub fn capabilities(&mut self) -> Result<DeviceCapabilities, ChangerError> {
        let d = self.mode_page(mode_pages::PAGE_DEVICE_CAPABILITIES)?;
        DeviceCapabilities::parse(&d).map_err(|e| ChangerError::malformed("MODE SENSE", e))
    }

    /// Mode page 1Eh.
    pub fn transport_geometry(&mut self) -> Result<Vec<TransportGeometry>, ChangerError> {
        let d = self.mode_page(mode_pages::PAGE_TRANSPORT_GEOMETRY)?;
        mode_pages::parse_transport_geometry(&d)
            .map_err(|e| ChangerError::malformed("MODE SENSE", e))
    }

    // ---- element status ---------------------------------------------------

    /// One READ ELEMENT STATUS. The allocation length is capped by the
    /// transport's limit. A report cut short while the allocation length
    /// had room left is short data and an error; cut at the allocation
    /// length it is returned with `complete == false`.
    pub fn read_element_status(
        &mut self,
        req: &ElementStatusRequest,
    ) -> Result<ElementStatusData, ChangerError> {
        let alloc = (req.alloc as usize)
            .min(self.t.max_transfer())
            .min(0xff_ffff);
        let req = ElementStatusRequest {
            alloc: alloc as u32,
            ..*req
        };
        let cdb = element_status::read_element_status_cdb(&req);
        self.status_requests += 1;
        let b = self.data_in(OP_RES, &cdb, alloc, self.opts.status_timeout)?;
        let d = element_status::parse_element_status(&b, req.dvcid)
            .map_err(|e| ChangerError::malformed(OP_RES, e))?;
        if !d.complete && b.len() < alloc {
            return Err(ChangerError::Malformed {
                op: OP_RES,
                detail: format!(
                    "short data: the report declares {} bytes after the header, the library \
                     returned {} bytes with room for {alloc}",
                    d.report_bytes,
                    b.len()
                ),
            });
        }
        Ok(d)
    }

    /// Elements of `kind` from `range` (`(first, count)` of page 1Dh, or
    /// `None` to walk from address 0 until the library returns none), in
    /// requests of at most `chunk` elements, each continuing after the
    /// last address actually returned.
    fn page_through(
        &mut self,
        kind: ElementType,
        range: Option<(u16, u16)>,
        voltag: bool,
        dvcid: bool,
        chunk: u16,
    ) -> Result<Vec<ElementStatus>, ChangerError> {
        let (mut start, total) = match range {
            Some((first, count)) => (first, Some(usize::from(count))),
            None => (0, None),
        };
        let chunk = usize::from(chunk.max(1));
        let mut out: Vec<ElementStatus> = Vec::new();
        loop {
            let remaining = total.map_or(chunk, |t| t.saturating_sub(out.len()));
            if remaining == 0 {
                break;
            }
            let count = remaining.min(chunk) as u16;
            let req = ElementStatusRequest {
                voltag,
                element_type: Some(kind),
                start,
                count,
                curdata: false,
                dvcid,
                alloc: 0xffff,
            };
            let d = match self.read_element_status(&req) {
                Ok(d) => d,
                // Asking past the last element: some libraries answer
                // "invalid element address" instead of an empty report.
                Err(ChangerError::Scsi(e)) if !out.is_empty() && e.is_asc(0x21, 0x01) => break,
                Err(e) => return Err(e),
            };
            let before = out.len();
            let mut last = None;
            for p in d.pages.iter().filter(|p| p.kind == kind) {
                for e in &p.elements {
                    // Only addresses after the previous request count:
                    // progress is guaranteed even if a library repeats.
                    if e.address >= start && last.is_none_or(|l| e.address > l) {
                        last = Some(e.address);
                        out.push(e.clone());
                    }
                }
            }
            let got = out.len() - before;
            self.report(Progress::Inventory {
                kind,
                done: out.len(),
                total,
            });
            if got == 0 {
                if !d.complete {
                    return Err(ChangerError::Malformed {
                        op: OP_RES,
                        detail: format!(
                            "not one whole {kind} descriptor fits the allocation length"
                        ),
                    });
                }
                break;
            }
            match last.and_then(|l| l.checked_add(1)) {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// All elements of one type with the A2 fallbacks: VOLTAG with DVCID
    /// rejected → without DVCID plus a separate DVCID-only request; DVCID
    /// rejected → none; VOLTAG rejected → without tags.
    fn read_type(
        &mut self,
        kind: ElementType,
        range: Option<(u16, u16)>,
        opts: &InventoryOptions,
    ) -> Result<Vec<ElementStatus>, ChangerError> {
        let mut voltag = opts.volume_tags;
        // DVCID only for drives (A2: some libraries reject it elsewhere).
        let want_ids = opts.dvcid && kind == ElementType::DataTransfer && self.dvcid_supported;
        let mut dvcid = want_ids && (self.dvcid_with_voltag || !voltag);
        let mut separate = want_ids && !dvcid;
        let mut elems = loop {
            match self.page_through(kind, range, voltag, dvcid, opts.chunk) {
                Ok(v) => break v,
                Err(e) if rejected(&e) && dvcid && voltag => {
                    tracing::info!("library rejects VOLTAG with DVCID; asking separately");
                    self.dvcid_with_voltag = false;
                    dvcid = false;
                    separate = true;
                }
                Err(e) if rejected(&e) && dvcid => {
                    tracing::info!("library rejects DVCID; drive serials unavailable");
                    self.dvcid_supported = false;
                    dvcid = false;
                }
                Err(e) if rejected(&e) && voltag => {
                    tracing::info!(%kind, "library rejects VOLTAG; reading without volume tags");
                    voltag = false;
                    if separate {
                        separate = false;
                        dvcid = true;
                    }
                }
                Err(e) => return Err(e),
            }
        };
        if separate {
            match self.page_through(kind, range, false, true, opts.chunk) {
                Ok(ids) => {
                    for id in ids {
                        if let Some(e) = elems.iter_mut().find(|e| e.address == id.address) {
                            e.identifier = id.identifier;
                        }
                    }
                }
                Err(e) if rejected(&e) => {
                    tracing::info!("library rejects DVCID; drive serials unavailable");
                    self.dvcid_supported = false;
                }
                Err(e) => return Err(e),
            }
        }
        if !opts.alternate_tags {
            for e in &mut elems {
                e.alternate_tag = None;
            }
        }
        Ok(elems)
    }

    /// The whole library: INQUIRY, page 1Dh (when the library has it), then
    /// every element type in pages.
    pub fn inventory(&mut self, opts: &InventoryOptions) -> Result<Inventory, ChangerError> {
        let inq = self.inquiry()?;
        let assignment = match self.element_assignment() {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "no element address assignment page; walking addresses");
                None
            }
        };
        let mut inv = Inventory {
            vendor: inq.vendor,
            product: inq.product,
            ..Inventory::default()
        };
        for kind in ElementType::ALL {
            let range = assignment.map(|a| a.range(kind));
            let elems = if range.is_some_and(|r| r.1 == 0) {
                Vec::new()
            } else {
                self.read_type(kind, range, opts)?
            };
            *inv.elements_mut(kind) = elems;
        }
        inv.assignment = assignment.unwrap_or_else(|| {
            let r = |v: &[ElementStatus]| {
                (
                    v.first().map_or(0, |e| e.address),
                    u16::try_from(v.len()).unwrap_or(u16::MAX),
                )
            };
            ElementAssignment {
                transport: r(&inv.transports),
                storage: r(&inv.slots),
                import_export: r(&inv.mail_slots),
                data_transfer: r(&inv.drives),
            }
        });
        Ok(inv)
    }

    // ---- moves ------------------------------------------------------------

    /// The first transport element of page 1Dh; 0 (the library's default
    /// transport) when the library has no such page.
    fn transport_address(&mut self) -> u16 {
        if self.assignment.is_none() {
            let _ = self.element_assignment();
        }
        self.assignment.map_or(0, |a| a.transport.0)
    }

    pub fn move_medium(&mut self, src: u16, dst: u16, invert: bool) -> Result<(), ChangerError> {
        let transport = self.transport_address();
        let el = Elements {
            transport,
            source: Some(src),
            dest: Some(dst),
            dest2: None,
        };
        tracing::info!(src, dst, "MOVE MEDIUM");
        self.no_data(
            "MOVE MEDIUM",
            &moves::move_medium_cdb(transport, src, dst, invert),
            self.opts.move_timeout,
            Some((el, false)),
        )
    }

    pub fn exchange_medium(
        &mut self,
        src: u16,
        dst1: u16,
        dst2: u16,
        inv1: bool,
        inv2: bool,
    ) -> Result<(), ChangerError> {
        let transport = self.transport_address();
        let el = Elements {
            transport,
            source: Some(src),
            dest: Some(dst1),
            dest2: Some(dst2),
        };
        tracing::info!(src, dst1, dst2, "EXCHANGE MEDIUM");
        self.no_data(
            "EXCHANGE MEDIUM",
            &moves::exchange_medium_cdb(transport, src, dst1, dst2, inv1, inv2),
            self.opts.move_timeout,
            Some((el, false)),
        )
    }

    pub fn position_to_element(&mut self, dst: u16, invert: bool) -> Result<(), ChangerError> {
        let transport = self.transport_address();
        let el = Elements {
            transport,
            source: None,
            dest: Some(dst),
            dest2: None,
        };
        self.no_data(
            "POSITION TO ELEMENT",
            &moves::position_to_element_cdb(transport, dst, invert),
            self.opts.move_timeout,
            Some((el, true)),
        )
    }

    /// INITIALIZE ELEMENT STATUS, or its WITH RANGE form for `(start, count)`.
    pub fn initialize_element_status(
        &mut self,
        range: Option<(u16, u16)>,
    ) -> Result<(), ChangerError> {
        let t = self.opts.initialize_timeout;
        match range {
            None => self.no_data(
                "INITIALIZE ELEMENT STATUS",
                &moves::initialize_element_status_cdb(),
                t,
                None,
            ),
            Some((start, count)) => self.no_data(
                "INITIALIZE ELEMENT STATUS WITH RANGE",
                &moves::initialize_element_status_range_cdb(Some((start, count)), false),
                t,
                Some((
                    Elements {
                        transport: 0,
                        source: Some(start),
                        dest: None,
                        dest2: None,
                    },
                    false,
                )),
            ),
        }
    }

    pub fn prevent_removal(&mut self, prevent: bool) -> Result<(), ChangerError> {
        self.no_data(
            "PREVENT ALLOW MEDIUM REMOVAL",
            &moves::prevent_allow_medium_removal_cdb(prevent),
            self.opts.command_timeout,
            None,
        )
    }

    pub fn open_import_export(&mut self, element: u16, open: bool) -> Result<(), ChangerError> {
        let el = Elements {
            transport: element,
            source: Some(element),
            dest: None,
            dest2: None,
        };
        self.no_data(
            "OPEN/CLOSE IMPORT/EXPORT ELEMENT",
            &moves::open_close_import_export_cdb(element, open),
            self.opts.move_timeout,
            Some((el, false)),
        )
    }
}
