//! iSCSI PDUs (RFC 7143 section 11): the raw [`Pdu`] (48-byte Basic Header
//! Segment, AHS, data segment) and one typed view per PDU kind with
//! `to_pdu`/`into_pdu` and `from_pdu`/`from_owned`.
//!
//! All multi-byte fields are big-endian. Every typed view reads only fixed
//! offsets of the 48-byte BHS, so no input can index out of bounds; data
//! segments with an inner structure (sense data) are length-checked.

/// Length of the Basic Header Segment.
pub const BHS_LEN: usize = 48;

/// The reserved tag value 0xffffffff (ITT of unsolicited NOP-In, TTT
/// "no reply wanted", ...).
pub const RESERVED_TAG: u32 = 0xffff_ffff;

/// Largest DataSegmentLength the 24-bit field can carry.
pub const MAX_DATA_SEGMENT: usize = 0x00ff_ffff;

/// Errors decoding or validating PDUs and text parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("PDU truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("unknown iSCSI opcode {0:#04x}")]
    UnknownOpcode(u8),
    #[error("expected a {expected:?} PDU, got opcode {got:#04x}")]
    WrongOpcode { expected: Opcode, got: u8 },
    #[error("data segment of {len} bytes exceeds the limit of {max}")]
    DataTooLong { len: usize, max: usize },
    #[error("header digest mismatch: computed {computed:#010x}, received {received:#010x}")]
    HeaderDigest { computed: u32, received: u32 },
    #[error("data digest mismatch: computed {computed:#010x}, received {received:#010x}")]
    DataDigest { computed: u32, received: u32 },
    #[error("invalid {field}: {value:#x}")]
    InvalidField { field: &'static str, value: u32 },
    #[error("malformed text parameters: {0}")]
    Text(String),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// PDU opcodes (BHS byte 0, low 6 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    NopOut = 0x00,
    ScsiCommand = 0x01,
    TaskMgmtRequest = 0x02,
    LoginRequest = 0x03,
    TextRequest = 0x04,
    DataOut = 0x05,
    LogoutRequest = 0x06,
    SnackRequest = 0x10,
    NopIn = 0x20,
    ScsiResponse = 0x21,
    TaskMgmtResponse = 0x22,
    LoginResponse = 0x23,
    TextResponse = 0x24,
    DataIn = 0x25,
    LogoutResponse = 0x26,
    R2T = 0x31,
    AsyncMessage = 0x32,
    Reject = 0x3f,
}

impl Opcode {
    pub fn from_u8(v: u8) -> Option<Opcode> {
        Some(match v & 0x3f {
            0x00 => Opcode::NopOut,
            0x01 => Opcode::ScsiCommand,
            0x02 => Opcode::TaskMgmtRequest,
            0x03 => Opcode::LoginRequest,
            0x04 => Opcode::TextRequest,
            0x05 => Opcode::DataOut,
            0x06 => Opcode::LogoutRequest,
            0x10 => Opcode::SnackRequest,
            0x20 => Opcode::NopIn,
            0x21 => Opcode::ScsiResponse,
            0x22 => Opcode::TaskMgmtResponse,
            0x23 => Opcode::LoginResponse,
            0x24 => Opcode::TextResponse,
            0x25 => Opcode::DataIn,
            0x26 => Opcode::LogoutResponse,
            0x31 => Opcode::R2T,
            0x32 => Opcode::AsyncMessage,
            0x3f => Opcode::Reject,
            _ => return None,
        })
    }

    /// True for PDUs an initiator sends (opcodes 0x00-0x1f).
    pub fn is_initiator(self) -> bool {
        (self as u8) < 0x20
    }
}

/// Declares a wire code as an enum that keeps unknown values (`Other`), so
/// decoding never fails on a value the peer may legitimately send and the
/// caller decides how to answer it.
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident default $def:ident { $($(#[$vm:meta])* $var:ident = $val:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value without a name here (reserved or vendor specific).
            Other(u8),
        }
        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v {
                    $($val => $name::$var,)*
                    o => $name::Other(o),
                }
            }
        }
        impl Default for $name {
            fn default() -> Self {
                $name::$def
            }
        }
        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v {
                    $($name::$var => $val,)*
                    $name::Other(o) => o,
                }
            }
        }
    };
}

code_enum!(
    /// SCSI task attribute (SCSI Command byte 1, bits 0-2).
    TaskAttr default Simple {
        Untagged = 0,
        Simple = 1,
        Ordered = 2,
        HeadOfQueue = 3,
        Aca = 4,
    }
);

code_enum!(
    /// Task management function codes (RFC 7143 11.5.1).
    TmfFunction default AbortTask {
        AbortTask = 1,
        AbortTaskSet = 2,
        ClearAca = 3,
        ClearTaskSet = 4,
        LunReset = 5,
        TargetWarmReset = 6,
        TargetColdReset = 7,
        TaskReassign = 8,
    }
);

code_enum!(
    /// Task management response codes (RFC 7143 11.6.1).
    TmfResponse default Complete {
        Complete = 0,
        TaskDoesNotExist = 1,
        LunDoesNotExist = 2,
        TaskStillAllegiant = 3,
        ReassignmentNotSupported = 4,
        FunctionNotSupported = 5,
        AuthorizationFailed = 6,
        Rejected = 255,
    }
);

code_enum!(
    /// Login stages (CSG/NSG, RFC 7143 11.12.3).
    Stage default Security {
        Security = 0,
        Operational = 1,
        FullFeature = 3,
    }
);

code_enum!(
    /// Logout reason codes (RFC 7143 11.14.1).
    LogoutReason default CloseSession {
        CloseSession = 0,
        CloseConnection = 1,
        RemoveConnectionForRecovery = 2,
    }
);

code_enum!(
    /// Logout response codes (RFC 7143 11.15.1).
    LogoutResponseCode default Success {
        Success = 0,
        CidNotFound = 1,
        RecoveryNotSupported = 2,
        CleanupFailed = 3,
    }
);

code_enum!(
    /// Reject reasons (RFC 7143 11.17.1).
    RejectReason default ProtocolError {
        DataDigestError = 0x02,
        SnackReject = 0x03,
        ProtocolError = 0x04,
        CommandNotSupported = 0x05,
        ImmediateCommandReject = 0x06,
        TaskInProgress = 0x07,
        InvalidDataAck = 0x08,
        InvalidPduField = 0x09,
        OutOfResources = 0x0a,
        NegotiationReset = 0x0b,
        WaitingForLogout = 0x0c,
    }
);

code_enum!(
    /// Asynchronous event codes (RFC 7143 11.9.1).
    AsyncEvent default ScsiEvent {
        ScsiEvent = 0,
        LogoutRequested = 1,
        ConnectionDrop = 2,
        SessionDrop = 3,
        NegotiationRequested = 4,
        TaskTerminationComplete = 5,
        VendorSpecific = 255,
    }
);

/// Login response Status-Class/Status-Detail pairs (RFC 7143 11.13.5).
pub mod login_status {
    pub const SUCCESS: (u8, u8) = (0x00, 0x00);
    pub const TARGET_MOVED_TEMPORARILY: (u8, u8) = (0x01, 0x01);
    pub const TARGET_MOVED_PERMANENTLY: (u8, u8) = (0x01, 0x02);
    pub const INITIATOR_ERROR: (u8, u8) = (0x02, 0x00);
    pub const AUTHENTICATION_FAILURE: (u8, u8) = (0x02, 0x01);
    pub const AUTHORIZATION_FAILURE: (u8, u8) = (0x02, 0x02);
    pub const NOT_FOUND: (u8, u8) = (0x02, 0x03);
    pub const TARGET_REMOVED: (u8, u8) = (0x02, 0x04);
    pub const UNSUPPORTED_VERSION: (u8, u8) = (0x02, 0x05);
    pub const TOO_MANY_CONNECTIONS: (u8, u8) = (0x02, 0x06);
    pub const MISSING_PARAMETER: (u8, u8) = (0x02, 0x07);
    pub const CANT_INCLUDE_IN_SESSION: (u8, u8) = (0x02, 0x08);
    pub const SESSION_TYPE_NOT_SUPPORTED: (u8, u8) = (0x02, 0x09);
    pub const SESSION_DOES_NOT_EXIST: (u8, u8) = (0x02, 0x0a);
    pub const INVALID_DURING_LOGIN: (u8, u8) = (0x02, 0x0b);
    pub const TARGET_ERROR: (u8, u8) = (0x03, 0x00);
    pub const SERVICE_UNAVAILABLE: (u8, u8) = (0x03, 0x01);
    pub const OUT_OF_RESOURCES: (u8, u8) = (0x03, 0x02);
}

/// An 8-byte SCSI LUN as carried in the BHS (SAM-5 LUN structure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Lun(pub [u8; 8]);

impl Lun {
    /// Single-level peripheral device addressing (method 00b): LUN 0-255.
    pub fn peripheral(lun: u8) -> Lun {
        Lun([0, lun, 0, 0, 0, 0, 0, 0])
    }

    /// Single-level flat space addressing (method 01b): LUN 0-16383.
    pub fn flat(lun: u16) -> Lun {
        let lun = lun & 0x3fff;
        Lun([0x40 | (lun >> 8) as u8, lun as u8, 0, 0, 0, 0, 0, 0])
    }

    /// The encoding Linux and libiscsi use for a LUN number: peripheral
    /// below 256, flat above.
    pub fn from_number(lun: u16) -> Lun {
        if lun < 256 {
            Lun::peripheral(lun as u8)
        } else {
            Lun::flat(lun)
        }
    }

    /// The LUN number of a single-level peripheral or flat address, `None`
    /// for other addressing methods or multi-level LUNs.
    pub fn number(&self) -> Option<u16> {
        let b = &self.0;
        if b[2..].iter().any(|&x| x != 0) {
            return None;
        }
        match b[0] >> 6 {
            // Peripheral with bus identifier 0.
            0b00 if b[0] == 0 => Some(u16::from(b[1])),
            0b01 => Some((u16::from(b[0] & 0x3f) << 8) | u16::from(b[1])),
            _ => None,
        }
    }

    pub fn from_u64(v: u64) -> Lun {
        Lun(v.to_be_bytes())
    }

    pub fn to_u64(self) -> u64 {
        u64::from_be_bytes(self.0)
    }
}

/// Round `n` up to a multiple of 4 (AHS and data segment padding).
pub fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn get16(b: &[u8; BHS_LEN], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

fn put16(b: &mut [u8; BHS_LEN], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_be_bytes());
}

fn get32(b: &[u8; BHS_LEN], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn put32(b: &mut [u8; BHS_LEN], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_be_bytes());
}

fn get_lun(b: &[u8; BHS_LEN]) -> Lun {
    let mut l = [0u8; 8];
    l.copy_from_slice(&b[8..16]);
    Lun(l)
}

fn bit(b: u8, mask: u8) -> bool {
    b & mask != 0
}

fn flag(on: bool, mask: u8) -> u8 {
    if on { mask } else { 0 }
}

/// A raw PDU: the BHS, the AHS (a multiple of 4 bytes) and the data
/// segment without its padding. Length fields in `bhs` are rewritten from
/// `ahs.len()` and `data.len()` on encode.
#[derive(Clone, PartialEq, Eq)]
pub struct Pdu {
    pub bhs: [u8; BHS_LEN],
    pub ahs: Vec<u8>,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pdu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pdu")
            .field("opcode", &format_args!("{:#04x}", self.opcode_byte()))
            .field("itt", &format_args!("{:#010x}", self.itt()))
            .field("ahs_len", &self.ahs.len())
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Pdu {
    /// An all-zero PDU with the given opcode.
    pub fn new(op: Opcode) -> Pdu {
        let mut bhs = [0u8; BHS_LEN];
        bhs[0] = op as u8;
        Pdu {
            bhs,
            ahs: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The raw opcode (byte 0, low 6 bits).
    pub fn opcode_byte(&self) -> u8 {
        self.bhs[0] & 0x3f
    }

    pub fn opcode(&self) -> Result<Opcode, PduError> {
        Opcode::from_u8(self.bhs[0]).ok_or(PduError::UnknownOpcode(self.opcode_byte()))
    }

    /// The I bit (immediate delivery) of initiator PDUs.
    pub fn immediate(&self) -> bool {
        bit(self.bhs[0], 0x40)
    }

    pub fn set_immediate(&mut self, on: bool) {
        self.bhs[0] = (self.bhs[0] & !0x40) | flag(on, 0x40);
    }

    /// Byte 1: the F bit and opcode-specific flags.
    pub fn flags(&self) -> u8 {
        self.bhs[1]
    }

    /// The F (final) bit; the T (transit) bit for login PDUs.
    pub fn final_bit(&self) -> bool {
        bit(self.bhs[1], 0x80)
    }

    /// TotalAHSLength in bytes, as the header says.
    pub fn total_ahs_length(&self) -> usize {
        usize::from(self.bhs[4]) * 4
    }

    /// DataSegmentLength (without padding), as the header says.
    pub fn data_segment_length(&self) -> usize {
        (usize::from(self.bhs[5]) << 16)
            | (usize::from(self.bhs[6]) << 8)
            | usize::from(self.bhs[7])
    }

    /// Bytes 8-15 (the LUN for PDUs that carry one).
    pub fn lun(&self) -> Lun {
        get_lun(&self.bhs)
    }

    pub fn set_lun(&mut self, lun: Lun) {
        self.bhs[8..16].copy_from_slice(&lun.0);
    }

    /// Initiator Task Tag (bytes 16-19).
    pub fn itt(&self) -> u32 {
        get32(&self.bhs, 16)
    }

    pub fn set_itt(&mut self, itt: u32) {
        put32(&mut self.bhs, 16, itt);
    }

    /// Target Transfer Tag (bytes 20-23) of the PDUs that carry one.
    pub fn ttt(&self) -> u32 {
        get32(&self.bhs, 20)
    }

    /// CmdSN (initiator PDUs) or StatSN (target PDUs): bytes 24-27.
    pub fn sn24(&self) -> u32 {
        get32(&self.bhs, 24)
    }

    /// ExpStatSN (initiator PDUs) or ExpCmdSN (target PDUs): bytes 28-31.
    pub fn sn28(&self) -> u32 {
        get32(&self.bhs, 28)
    }

    /// MaxCmdSN of target PDUs: bytes 32-35.
    pub fn max_cmd_sn(&self) -> u32 {
        get32(&self.bhs, 32)
    }

    /// Any 32-bit big-endian field of the BHS (`off` <= 44).
    pub fn u32_at(&self, off: usize) -> u32 {
        get32(&self.bhs, off.min(BHS_LEN - 4))
    }

    /// Rewrite TotalAHSLength and DataSegmentLength from `ahs` and `data`.
    /// Lengths beyond the fields' range are the caller's bug; they are
    /// truncated here and rejected by the peer.
    pub fn sync_lengths(&mut self) {
        self.bhs[4] = (pad4(self.ahs.len()) / 4).min(255) as u8;
        let dl = self.data.len().min(MAX_DATA_SEGMENT) as u32;
        self.bhs[5..8].copy_from_slice(&dl.to_be_bytes()[1..]);
    }

    /// Bytes `encode` produces.
    pub fn encoded_len(&self, header_digest: bool, data_digest: bool) -> usize {
        let mut n = BHS_LEN + pad4(self.ahs.len()) + pad4(self.data.len());
        if header_digest {
            n += 4;
        }
        if data_digest && !self.data.is_empty() {
            n += 4;
        }
        n
    }

    /// The wire form: BHS, AHS, optional header digest, padded data, and an
    /// optional data digest (only when there is data, as RFC 7143 11.1 and
    /// the Linux and libiscsi initiators do).
    pub fn encode(&self, header_digest: bool, data_digest: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len(header_digest, data_digest));
        self.encode_into(header_digest, data_digest, &mut out);
        out
    }

    /// `encode`, appending to `out`.
    pub fn encode_into(&self, header_digest: bool, data_digest: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let mut bhs = self.bhs;
        bhs[4] = (pad4(self.ahs.len()) / 4).min(255) as u8;
        let dl = self.data.len().min(MAX_DATA_SEGMENT) as u32;
        bhs[5..8].copy_from_slice(&dl.to_be_bytes()[1..]);
        out.extend_from_slice(&bhs);
        out.extend_from_slice(&self.ahs);
        out.resize(start + BHS_LEN + pad4(self.ahs.len()), 0);
        if header_digest {
            let d = crate::iscsi::framing::crc32c_digest(&out[start..]);
            out.extend_from_slice(&d.to_le_bytes());
        }
        if !self.data.is_empty() {
            let dstart = out.len();
            out.extend_from_slice(&self.data);
            out.resize(dstart + pad4(self.data.len()), 0);
            if data_digest {
                let d = crate::iscsi::framing::crc32c_digest(&out[dstart..]);
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
    }

    fn expect(&self, op: Opcode) -> Result<(), PduError> {
        if self.opcode_byte() == op as u8 {
            Ok(())
        } else {
            Err(PduError::WrongOpcode {
                expected: op,
                got: self.opcode_byte(),
            })
        }
    }
}

/// Generates the four conversions of a typed view whose data segment is
/// carried verbatim in a `data` field, from its `read`/`write` of the BHS.
macro_rules! conversions {
    ($t:ty, data) => {
        impl $t {
            pub fn to_pdu(&self) -> Pdu {
                let mut p = self.header();
                p.data = self.data.clone();
                p.sync_lengths();
                p
            }
            pub fn into_pdu(mut self) -> Pdu {
                let mut p = self.header();
                p.data = std::mem::take(&mut self.data);
                p.sync_lengths();
                p
            }
            pub fn from_pdu(p: &Pdu) -> Result<Self, PduError> {
                let mut s = Self::read(p)?;
                s.data = p.data.clone();
                Ok(s)
            }
            pub fn from_owned(mut p: Pdu) -> Result<Self, PduError> {
                let mut s = Self::read(&p)?;
                s.data = std::mem::take(&mut p.data);
                Ok(s)
            }
        }
    };
    ($t:ty) => {
        impl $t {
            pub fn to_pdu(&self) -> Pdu {
                let mut p = self.header();
                p.sync_lengths();
                p
            }
            pub fn into_pdu(self) -> Pdu {
                self.to_pdu()
            }
            pub fn from_pdu(p: &Pdu) -> Result<Self, PduError> {
                Self::read(p)
            }
            pub fn from_owned(p: Pdu) -> Result<Self, PduError> {
                Self::read(&p)
            }
        }
    };
}

// ---------------------------------------------------------------- SCSI Command

/// AHS type of an Extended CDB (RFC 7143 11.2.2.3).
pub const AHS_EXTENDED_CDB: u8 = 1;
/// AHS type of Bidirectional Read Expected Data Transfer Length.
pub const AHS_BIDI_READ_LENGTH: u8 = 2;

/// SCSI Command (opcode 0x01, RFC 7143 11.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiCommand {
    pub immediate: bool,
    /// F: no unsolicited Data-Out follows.
    pub final_bit: bool,
    /// R: data flows to the initiator.
    pub read: bool,
    /// W: data flows to the target.
    pub write: bool,
    pub attr: TaskAttr,
    pub lun: Lun,
    pub itt: u32,
    pub expected_len: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    /// The first 16 CDB bytes (zero padded).
    pub cdb: [u8; 16],
    /// CDB bytes beyond 16, sent in an Extended CDB AHS.
    pub ext_cdb: Vec<u8>,
    /// Expected read length of a bidirectional command (AHS type 2).
    pub bidi_read_len: Option<u32>,
    /// Immediate (unsolicited) data.
    pub data: Vec<u8>,
}

impl ScsiCommand {
    /// Store a CDB of any length, splitting it between `cdb` and `ext_cdb`.
    pub fn set_cdb(&mut self, cdb: &[u8]) {
        self.cdb = [0; 16];
        let n = cdb.len().min(16);
        self.cdb[..n].copy_from_slice(&cdb[..n]);
        self.ext_cdb = cdb.get(16..).unwrap_or_default().to_vec();
    }

    /// The whole CDB (16 bytes, plus any extension).
    pub fn full_cdb(&self) -> Vec<u8> {
        let mut v = self.cdb.to_vec();
        v.extend_from_slice(&self.ext_cdb);
        v
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::ScsiCommand);
        let b = &mut p.bhs;
        b[0] |= flag(self.immediate, 0x40);
        b[1] = flag(self.final_bit, 0x80)
            | flag(self.read, 0x40)
            | flag(self.write, 0x20)
            | (u8::from(self.attr) & 0x07);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.expected_len);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        b[32..48].copy_from_slice(&self.cdb);
        if !self.ext_cdb.is_empty() {
            // AHSLength counts the type-specific bytes: reserved + CDB.
            let len = (self.ext_cdb.len() + 1).min(u16::MAX as usize) as u16;
            p.ahs.extend_from_slice(&len.to_be_bytes());
            p.ahs.push(AHS_EXTENDED_CDB);
            p.ahs.push(0);
            p.ahs.extend_from_slice(&self.ext_cdb);
            p.ahs.resize(pad4(p.ahs.len()), 0);
        }
        if let Some(n) = self.bidi_read_len {
            p.ahs
                .extend_from_slice(&[0x00, 0x05, AHS_BIDI_READ_LENGTH, 0]);
            p.ahs.extend_from_slice(&n.to_be_bytes());
        }
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::ScsiCommand)?;
        let b = &p.bhs;
        let mut cdb = [0u8; 16];
        cdb.copy_from_slice(&b[32..48]);
        let mut s = ScsiCommand {
            immediate: p.immediate(),
            final_bit: bit(b[1], 0x80),
            read: bit(b[1], 0x40),
            write: bit(b[1], 0x20),
            attr: TaskAttr::from(b[1] & 0x07),
            lun: get_lun(b),
            itt: get32(b, 16),
            expected_len: get32(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
            cdb,
            ext_cdb: Vec::new(),
            bidi_read_len: None,
            data: Vec::new(),
        };
        for (ty, body) in ahs_segments(&p.ahs)? {
            match ty {
                AHS_EXTENDED_CDB => {
                    // body = reserved byte + CDB bytes beyond 16.
                    s.ext_cdb = body.get(1..).unwrap_or_default().to_vec();
                }
                AHS_BIDI_READ_LENGTH => {
                    let v = body
                        .get(1..5)
                        .ok_or(PduError::Malformed("bidi read length AHS"))?;
                    s.bidi_read_len = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
                }
                _ => {
                    return Err(PduError::InvalidField {
                        field: "AHS type",
                        value: ty.into(),
                    });
                }
            }
        }
        Ok(s)
    }
}
conversions!(ScsiCommand, data);

/// Split an AHS area into (type, type-specific bytes) segments. Each
/// segment is AHSLength(2) + AHSType(1) + AHSLength bytes, padded to 4.
pub fn ahs_segments(ahs: &[u8]) -> Result<Vec<(u8, &[u8])>, PduError> {
    let mut out = Vec::new();
    let mut rest = ahs;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(PduError::Malformed("AHS"));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let ty = rest[2];
        let body = rest
            .get(3..3 + len)
            .ok_or(PduError::Malformed("AHS length"))?;
        out.push((ty, body));
        rest = rest.get(pad4(3 + len)..).unwrap_or_default();
    }
    Ok(out)
}

// --------------------------------------------------------------- SCSI Response

/// SCSI Response (opcode 0x21, RFC 7143 11.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScsiResponse {
    /// o: bidirectional read residual overflow.
    pub bidi_overflow: bool,
    /// u: bidirectional read residual underflow.
    pub bidi_underflow: bool,
    /// O: residual overflow (`residual` bytes did not fit).
    pub overflow: bool,
    /// U: residual underflow (`residual` bytes were not transferred).
    pub underflow: bool,
    /// 0x00 command completed at target, 0x01 target failure.
    pub response: u8,
    /// SCSI status (valid when `response` is 0).
    pub status: u8,
    pub itt: u32,
    pub snack_tag: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub exp_data_sn: u32,
    pub bidi_residual: u32,
    pub residual: u32,
    /// Sense data (sent with a 2-byte SenseLength prefix).
    pub sense: Vec<u8>,
    /// iSCSI response data after the sense bytes (rare).
    pub response_data: Vec<u8>,
}

impl ScsiResponse {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::ScsiResponse);
        let b = &mut p.bhs;
        b[1] = 0x80
            | flag(self.bidi_overflow, 0x10)
            | flag(self.bidi_underflow, 0x08)
            | flag(self.overflow, 0x04)
            | flag(self.underflow, 0x02);
        b[2] = self.response;
        b[3] = self.status;
        put32(b, 16, self.itt);
        put32(b, 20, self.snack_tag);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        put32(b, 36, self.exp_data_sn);
        put32(b, 40, self.bidi_residual);
        put32(b, 44, self.residual);
        if !self.sense.is_empty() || !self.response_data.is_empty() {
            let sl = self.sense.len().min(u16::MAX as usize);
            p.data.extend_from_slice(&(sl as u16).to_be_bytes());
            p.data.extend_from_slice(&self.sense[..sl]);
            p.data.extend_from_slice(&self.response_data);
        }
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::ScsiResponse)?;
        let b = &p.bhs;
        let (sense, response_data) = split_sense(&p.data)?;
        Ok(ScsiResponse {
            bidi_overflow: bit(b[1], 0x10),
            bidi_underflow: bit(b[1], 0x08),
            overflow: bit(b[1], 0x04),
            underflow: bit(b[1], 0x02),
            response: b[2],
            status: b[3],
            itt: get32(b, 16),
            snack_tag: get32(b, 20),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            exp_data_sn: get32(b, 36),
            bidi_residual: get32(b, 40),
            residual: get32(b, 44),
            sense: sense.to_vec(),
            response_data: response_data.to_vec(),
        })
    }

    pub fn to_pdu(&self) -> Pdu {
        let mut p = self.header();
        p.sync_lengths();
        p
    }

    pub fn into_pdu(self) -> Pdu {
        self.to_pdu()
    }

    pub fn from_pdu(p: &Pdu) -> Result<Self, PduError> {
        Self::read(p)
    }

    pub fn from_owned(p: Pdu) -> Result<Self, PduError> {
        Self::read(&p)
    }

    /// The residual as a signed count: positive for underflow (bytes not
    /// transferred), negative for overflow, 0 otherwise.
    pub fn signed_residual(&self) -> i64 {
        if self.underflow {
            i64::from(self.residual)
        } else if self.overflow {
            -i64::from(self.residual)
        } else {
            0
        }
    }
}

/// Split a data segment into (sense, rest) by its 2-byte SenseLength.
fn split_sense(data: &[u8]) -> Result<(&[u8], &[u8]), PduError> {
    if data.is_empty() {
        return Ok((&[], &[]));
    }
    if data.len() < 2 {
        return Err(PduError::Malformed("sense length"));
    }
    let sl = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let sense = data
        .get(2..2 + sl)
        .ok_or(PduError::Malformed("sense length exceeds data segment"))?;
    Ok((sense, &data[2 + sl..]))
}

// ------------------------------------------------------------ Task management

/// Task Management Function Request (opcode 0x02, RFC 7143 11.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskMgmtRequest {
    pub immediate: bool,
    pub function: TmfFunction,
    pub lun: Lun,
    pub itt: u32,
    /// ITT of the task to abort (ABORT TASK), else 0xffffffff.
    pub referenced_task_tag: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub ref_cmd_sn: u32,
    pub exp_data_sn: u32,
}

impl TaskMgmtRequest {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::TaskMgmtRequest);
        let b = &mut p.bhs;
        b[0] |= flag(self.immediate, 0x40);
        b[1] = 0x80 | (u8::from(self.function) & 0x7f);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.referenced_task_tag);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        put32(b, 32, self.ref_cmd_sn);
        put32(b, 36, self.exp_data_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::TaskMgmtRequest)?;
        let b = &p.bhs;
        Ok(TaskMgmtRequest {
            immediate: p.immediate(),
            function: TmfFunction::from(b[1] & 0x7f),
            lun: get_lun(b),
            itt: get32(b, 16),
            referenced_task_tag: get32(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
            ref_cmd_sn: get32(b, 32),
            exp_data_sn: get32(b, 36),
        })
    }
}
conversions!(TaskMgmtRequest);

/// Task Management Function Response (opcode 0x22, RFC 7143 11.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskMgmtResponse {
    pub response: TmfResponse,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
}

impl TaskMgmtResponse {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::TaskMgmtResponse);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[2] = u8::from(self.response);
        put32(b, 16, self.itt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::TaskMgmtResponse)?;
        let b = &p.bhs;
        Ok(TaskMgmtResponse {
            response: TmfResponse::from(b[2]),
            itt: get32(b, 16),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
        })
    }
}
conversions!(TaskMgmtResponse);

// ------------------------------------------------------------- Data-Out / In

/// SCSI Data-Out (opcode 0x05, RFC 7143 11.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataOut {
    /// F: last PDU of this sequence (unsolicited burst or R2T answer).
    pub final_bit: bool,
    pub lun: Lun,
    pub itt: u32,
    /// The R2T's TTT, or 0xffffffff for unsolicited data.
    pub ttt: u32,
    pub exp_stat_sn: u32,
    pub data_sn: u32,
    pub buffer_offset: u32,
    pub data: Vec<u8>,
}

impl DataOut {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::DataOut);
        let b = &mut p.bhs;
        b[1] = flag(self.final_bit, 0x80);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 28, self.exp_stat_sn);
        put32(b, 36, self.data_sn);
        put32(b, 40, self.buffer_offset);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::DataOut)?;
        let b = &p.bhs;
        Ok(DataOut {
            final_bit: bit(b[1], 0x80),
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            exp_stat_sn: get32(b, 28),
            data_sn: get32(b, 36),
            buffer_offset: get32(b, 40),
            data: Vec::new(),
        })
    }
}
conversions!(DataOut, data);

/// SCSI Data-In (opcode 0x25, RFC 7143 11.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataIn {
    /// F: last PDU of the sequence.
    pub final_bit: bool,
    /// A: the target asks for a DataACK SNACK (ERL > 0 only).
    pub acknowledge: bool,
    /// O: residual overflow (valid with S).
    pub overflow: bool,
    /// U: residual underflow (valid with S).
    pub underflow: bool,
    /// S: this PDU carries the command status; no SCSI Response follows.
    pub status_present: bool,
    /// SCSI status (valid with S).
    pub status: u8,
    pub lun: Lun,
    pub itt: u32,
    /// 0xffffffff unless A is set.
    pub ttt: u32,
    /// StatSN (valid with S; otherwise reserved).
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub data_sn: u32,
    pub buffer_offset: u32,
    /// Residual count (valid with S).
    pub residual: u32,
    pub data: Vec<u8>,
}

impl DataIn {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::DataIn);
        let b = &mut p.bhs;
        b[1] = flag(self.final_bit, 0x80)
            | flag(self.acknowledge, 0x40)
            | flag(self.overflow, 0x04)
            | flag(self.underflow, 0x02)
            | flag(self.status_present, 0x01);
        b[3] = self.status;
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        put32(b, 36, self.data_sn);
        put32(b, 40, self.buffer_offset);
        put32(b, 44, self.residual);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::DataIn)?;
        let b = &p.bhs;
        Ok(DataIn {
            final_bit: bit(b[1], 0x80),
            acknowledge: bit(b[1], 0x40),
            overflow: bit(b[1], 0x04),
            underflow: bit(b[1], 0x02),
            status_present: bit(b[1], 0x01),
            status: b[3],
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            data_sn: get32(b, 36),
            buffer_offset: get32(b, 40),
            residual: get32(b, 44),
            data: Vec::new(),
        })
    }
}
conversions!(DataIn, data);

// ------------------------------------------------------------------------ R2T

/// Ready To Transfer (opcode 0x31, RFC 7143 11.8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct R2T {
    pub lun: Lun,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub r2t_sn: u32,
    pub buffer_offset: u32,
    pub desired_len: u32,
}

impl R2T {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::R2T);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        put32(b, 36, self.r2t_sn);
        put32(b, 40, self.buffer_offset);
        put32(b, 44, self.desired_len);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::R2T)?;
        let b = &p.bhs;
        Ok(R2T {
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            r2t_sn: get32(b, 36),
            buffer_offset: get32(b, 40),
            desired_len: get32(b, 44),
        })
    }
}
conversions!(R2T);

// -------------------------------------------------------------- Async Message

/// Asynchronous Message (opcode 0x32, RFC 7143 11.9). ITT is always
/// 0xffffffff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsyncMessage {
    pub lun: Lun,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub event: AsyncEvent,
    pub vendor_code: u8,
    pub parameter1: u16,
    pub parameter2: u16,
    pub parameter3: u16,
    /// Sense data of a SCSI async event (2-byte length prefix on the wire).
    pub sense: Vec<u8>,
    /// iSCSI event data after the sense bytes.
    pub event_data: Vec<u8>,
}

impl AsyncMessage {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::AsyncMessage);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, RESERVED_TAG);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        b[36] = u8::from(self.event);
        b[37] = self.vendor_code;
        put16(b, 38, self.parameter1);
        put16(b, 40, self.parameter2);
        put16(b, 42, self.parameter3);
        if !self.sense.is_empty() || !self.event_data.is_empty() {
            let sl = self.sense.len().min(u16::MAX as usize);
            p.data.extend_from_slice(&(sl as u16).to_be_bytes());
            p.data.extend_from_slice(&self.sense[..sl]);
            p.data.extend_from_slice(&self.event_data);
        }
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::AsyncMessage)?;
        let b = &p.bhs;
        let (sense, event_data) = split_sense(&p.data)?;
        Ok(AsyncMessage {
            lun: get_lun(b),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            event: AsyncEvent::from(b[36]),
            vendor_code: b[37],
            parameter1: get16(b, 38),
            parameter2: get16(b, 40),
            parameter3: get16(b, 42),
            sense: sense.to_vec(),
            event_data: event_data.to_vec(),
        })
    }
}
conversions!(AsyncMessage);

// ----------------------------------------------------------------------- Text

/// Text Request (opcode 0x04, RFC 7143 11.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextRequest {
    pub immediate: bool,
    pub final_bit: bool,
    /// C: the text continues in the next PDU.
    pub continue_bit: bool,
    pub lun: Lun,
    pub itt: u32,
    /// 0xffffffff to start; the target's TTT to continue a sequence.
    pub ttt: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub data: Vec<u8>,
}

impl TextRequest {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::TextRequest);
        let b = &mut p.bhs;
        b[0] |= flag(self.immediate, 0x40);
        b[1] = flag(self.final_bit, 0x80) | flag(self.continue_bit, 0x40);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::TextRequest)?;
        let b = &p.bhs;
        check_f_c(b[1])?;
        Ok(TextRequest {
            immediate: p.immediate(),
            final_bit: bit(b[1], 0x80),
            continue_bit: bit(b[1], 0x40),
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
            data: Vec::new(),
        })
    }
}
conversions!(TextRequest, data);

/// F and C together are a protocol error (RFC 7143 11.10.2).
fn check_f_c(b1: u8) -> Result<(), PduError> {
    if b1 & 0xc0 == 0xc0 {
        Err(PduError::Malformed("text PDU with both F and C set"))
    } else {
        Ok(())
    }
}

/// Text Response (opcode 0x24, RFC 7143 11.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextResponse {
    pub final_bit: bool,
    pub continue_bit: bool,
    pub lun: Lun,
    pub itt: u32,
    /// 0xffffffff when final; otherwise a tag the initiator echoes.
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub data: Vec<u8>,
}

impl TextResponse {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::TextResponse);
        let b = &mut p.bhs;
        b[1] = flag(self.final_bit, 0x80) | flag(self.continue_bit, 0x40);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::TextResponse)?;
        let b = &p.bhs;
        check_f_c(b[1])?;
        Ok(TextResponse {
            final_bit: bit(b[1], 0x80),
            continue_bit: bit(b[1], 0x40),
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            data: Vec::new(),
        })
    }
}
conversions!(TextResponse, data);

// ---------------------------------------------------------------------- Login

/// Login Request (opcode 0x03, always immediate, RFC 7143 11.12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginRequest {
    /// T: the initiator is ready to move to `nsg`.
    pub transit: bool,
    /// C: the text continues in the next PDU.
    pub continue_bit: bool,
    pub csg: Stage,
    pub nsg: Stage,
    pub version_max: u8,
    pub version_min: u8,
    pub isid: [u8; 6],
    pub tsih: u16,
    pub itt: u32,
    pub cid: u16,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    pub data: Vec<u8>,
}

fn stages(b1: u8) -> (Stage, Stage) {
    (Stage::from((b1 >> 2) & 0x03), Stage::from(b1 & 0x03))
}

fn stage_bits(csg: Stage, nsg: Stage) -> u8 {
    ((u8::from(csg) & 0x03) << 2) | (u8::from(nsg) & 0x03)
}

impl LoginRequest {
    /// NSG as sent: reserved (zero) unless T is set (RFC 7143 11.12.3,
    /// 11.13.3).
    fn sent_nsg(&self) -> Stage {
        if self.transit {
            self.nsg
        } else {
            Stage::Security
        }
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::LoginRequest);
        let b = &mut p.bhs;
        b[0] |= 0x40;
        b[1] = flag(self.transit, 0x80)
            | flag(self.continue_bit, 0x40)
            | stage_bits(self.csg, self.sent_nsg());
        b[2] = self.version_max;
        b[3] = self.version_min;
        b[8..14].copy_from_slice(&self.isid);
        put16(b, 14, self.tsih);
        put32(b, 16, self.itt);
        put16(b, 20, self.cid);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::LoginRequest)?;
        let b = &p.bhs;
        if b[1] & 0xc0 == 0xc0 {
            return Err(PduError::Malformed("login PDU with both T and C set"));
        }
        let (csg, nsg) = stages(b[1]);
        let mut isid = [0u8; 6];
        isid.copy_from_slice(&b[8..14]);
        Ok(LoginRequest {
            transit: bit(b[1], 0x80),
            continue_bit: bit(b[1], 0x40),
            csg,
            nsg,
            version_max: b[2],
            version_min: b[3],
            isid,
            tsih: get16(b, 14),
            itt: get32(b, 16),
            cid: get16(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
            data: Vec::new(),
        })
    }
}
conversions!(LoginRequest, data);

/// Login Response (opcode 0x23, RFC 7143 11.13).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginResponse {
    pub transit: bool,
    pub continue_bit: bool,
    pub csg: Stage,
    pub nsg: Stage,
    pub version_max: u8,
    pub version_active: u8,
    pub isid: [u8; 6],
    pub tsih: u16,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub status_class: u8,
    pub status_detail: u8,
    pub data: Vec<u8>,
}

impl LoginResponse {
    /// NSG as sent: reserved (zero) unless T is set (RFC 7143 11.12.3,
    /// 11.13.3).
    fn sent_nsg(&self) -> Stage {
        if self.transit {
            self.nsg
        } else {
            Stage::Security
        }
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::LoginResponse);
        let b = &mut p.bhs;
        b[1] = flag(self.transit, 0x80)
            | flag(self.continue_bit, 0x40)
            | stage_bits(self.csg, self.sent_nsg());
        b[2] = self.version_max;
        b[3] = self.version_active;
        b[8..14].copy_from_slice(&self.isid);
        put16(b, 14, self.tsih);
        put32(b, 16, self.itt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        b[36] = self.status_class;
        b[37] = self.status_detail;
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::LoginResponse)?;
        let b = &p.bhs;
        if b[1] & 0xc0 == 0xc0 {
            return Err(PduError::Malformed("login PDU with both T and C set"));
        }
        let (csg, nsg) = stages(b[1]);
        let mut isid = [0u8; 6];
        isid.copy_from_slice(&b[8..14]);
        Ok(LoginResponse {
            transit: bit(b[1], 0x80),
            continue_bit: bit(b[1], 0x40),
            csg,
            nsg,
            version_max: b[2],
            version_active: b[3],
            isid,
            tsih: get16(b, 14),
            itt: get32(b, 16),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            status_class: b[36],
            status_detail: b[37],
            data: Vec::new(),
        })
    }

    /// (Status-Class, Status-Detail), comparable with [`login_status`].
    pub fn status(&self) -> (u8, u8) {
        (self.status_class, self.status_detail)
    }

    pub fn set_status(&mut self, status: (u8, u8)) {
        (self.status_class, self.status_detail) = status;
    }
}
conversions!(LoginResponse, data);

// --------------------------------------------------------------------- Logout

/// Logout Request (opcode 0x06, RFC 7143 11.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutRequest {
    pub immediate: bool,
    pub reason: LogoutReason,
    pub itt: u32,
    /// CID to close (reserved for CloseSession).
    pub cid: u16,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
}

impl LogoutRequest {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::LogoutRequest);
        let b = &mut p.bhs;
        b[0] |= flag(self.immediate, 0x40);
        b[1] = 0x80 | (u8::from(self.reason) & 0x7f);
        put32(b, 16, self.itt);
        put16(b, 20, self.cid);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::LogoutRequest)?;
        let b = &p.bhs;
        Ok(LogoutRequest {
            immediate: p.immediate(),
            reason: LogoutReason::from(b[1] & 0x7f),
            itt: get32(b, 16),
            cid: get16(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
        })
    }
}
conversions!(LogoutRequest);

/// Logout Response (opcode 0x26, RFC 7143 11.15).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutResponse {
    pub response: LogoutResponseCode,
    pub itt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub time2wait: u16,
    pub time2retain: u16,
}

impl LogoutResponse {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::LogoutResponse);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[2] = u8::from(self.response);
        put32(b, 16, self.itt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        put16(b, 40, self.time2wait);
        put16(b, 42, self.time2retain);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::LogoutResponse)?;
        let b = &p.bhs;
        Ok(LogoutResponse {
            response: LogoutResponseCode::from(b[2]),
            itt: get32(b, 16),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            time2wait: get16(b, 40),
            time2retain: get16(b, 42),
        })
    }
}
conversions!(LogoutResponse);

// ---------------------------------------------------------------------- SNACK

/// SNACK Request (opcode 0x10, RFC 7143 11.16). Only meaningful at
/// ErrorRecoveryLevel > 0; decoded so a target can reject it cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnackRequest {
    /// 0 Data/R2T, 1 Status, 2 DataACK, 3 R-Data.
    pub snack_type: u8,
    pub lun: Lun,
    pub itt: u32,
    pub ttt_or_snack_tag: u32,
    pub exp_stat_sn: u32,
    pub beg_run: u32,
    pub run_length: u32,
}

impl SnackRequest {
    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::SnackRequest);
        let b = &mut p.bhs;
        b[1] = 0x80 | (self.snack_type & 0x0f);
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt_or_snack_tag);
        put32(b, 28, self.exp_stat_sn);
        put32(b, 40, self.beg_run);
        put32(b, 44, self.run_length);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::SnackRequest)?;
        let b = &p.bhs;
        Ok(SnackRequest {
            snack_type: b[1] & 0x0f,
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt_or_snack_tag: get32(b, 20),
            exp_stat_sn: get32(b, 28),
            beg_run: get32(b, 40),
            run_length: get32(b, 44),
        })
    }
}
conversions!(SnackRequest);

// --------------------------------------------------------------------- Reject

/// Reject (opcode 0x3f, RFC 7143 11.17). The data segment is the complete
/// BHS of the rejected PDU. ITT is always 0xffffffff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reject {
    pub reason: RejectReason,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    /// DataSN/R2TSN for a rejected SNACK, else 0.
    pub data_sn: u32,
    /// The rejected PDU's header (48 bytes).
    pub data: Vec<u8>,
}

impl Reject {
    /// A Reject of `rejected`, carrying its BHS.
    pub fn of(rejected: &Pdu, reason: RejectReason) -> Reject {
        Reject {
            reason,
            data: rejected.bhs.to_vec(),
            ..Reject::default()
        }
    }

    /// The rejected PDU's BHS, if the data segment holds a whole one.
    pub fn rejected_bhs(&self) -> Option<[u8; BHS_LEN]> {
        let mut b = [0u8; BHS_LEN];
        b.copy_from_slice(self.data.get(..BHS_LEN)?);
        Some(b)
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::Reject);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[2] = u8::from(self.reason);
        put32(b, 16, RESERVED_TAG);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        put32(b, 36, self.data_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::Reject)?;
        let b = &p.bhs;
        Ok(Reject {
            reason: RejectReason::from(b[2]),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            data_sn: get32(b, 36),
            data: Vec::new(),
        })
    }
}
conversions!(Reject, data);

// ------------------------------------------------------------------- NOP-Out/In

/// NOP-Out (opcode 0x00, RFC 7143 11.18). A ping the initiator wants
/// answered has a valid ITT and TTT 0xffffffff; an answer to a target's
/// NOP-In has ITT 0xffffffff and echoes the NOP-In's TTT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NopOut {
    pub immediate: bool,
    pub lun: Lun,
    pub itt: u32,
    pub ttt: u32,
    pub cmd_sn: u32,
    pub exp_stat_sn: u32,
    /// Ping data, echoed by the target.
    pub data: Vec<u8>,
}

impl NopOut {
    /// A ping that asks for a NOP-In answer.
    pub fn ping(itt: u32, cmd_sn: u32, exp_stat_sn: u32) -> NopOut {
        NopOut {
            immediate: true,
            itt,
            ttt: RESERVED_TAG,
            cmd_sn,
            exp_stat_sn,
            ..NopOut::default()
        }
    }

    /// The answer to a target's NOP-In that asked for one.
    pub fn answer(nop_in: &NopIn, cmd_sn: u32, exp_stat_sn: u32) -> NopOut {
        NopOut {
            immediate: true,
            lun: nop_in.lun,
            itt: RESERVED_TAG,
            ttt: nop_in.ttt,
            cmd_sn,
            exp_stat_sn,
            data: Vec::new(),
        }
    }

    /// True when the target must answer this NOP-Out.
    pub fn wants_reply(&self) -> bool {
        self.itt != RESERVED_TAG
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::NopOut);
        let b = &mut p.bhs;
        b[0] |= flag(self.immediate, 0x40);
        b[1] = 0x80;
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.cmd_sn);
        put32(b, 28, self.exp_stat_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::NopOut)?;
        let b = &p.bhs;
        Ok(NopOut {
            immediate: p.immediate(),
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            cmd_sn: get32(b, 24),
            exp_stat_sn: get32(b, 28),
            data: Vec::new(),
        })
    }
}
conversions!(NopOut, data);

/// NOP-In (opcode 0x20, RFC 7143 11.19). An answer to a ping carries the
/// ping's ITT and TTT 0xffffffff; a target's own ping has ITT 0xffffffff
/// and a TTT other than 0xffffffff when it wants a NOP-Out back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NopIn {
    pub lun: Lun,
    pub itt: u32,
    pub ttt: u32,
    pub stat_sn: u32,
    pub exp_cmd_sn: u32,
    pub max_cmd_sn: u32,
    pub data: Vec<u8>,
}

impl NopIn {
    /// True when the initiator must answer with a NOP-Out.
    pub fn wants_reply(&self) -> bool {
        self.ttt != RESERVED_TAG
    }

    fn header(&self) -> Pdu {
        let mut p = Pdu::new(Opcode::NopIn);
        let b = &mut p.bhs;
        b[1] = 0x80;
        b[8..16].copy_from_slice(&self.lun.0);
        put32(b, 16, self.itt);
        put32(b, 20, self.ttt);
        put32(b, 24, self.stat_sn);
        put32(b, 28, self.exp_cmd_sn);
        put32(b, 32, self.max_cmd_sn);
        p
    }

    fn read(p: &Pdu) -> Result<Self, PduError> {
        p.expect(Opcode::NopIn)?;
        let b = &p.bhs;
        Ok(NopIn {
            lun: get_lun(b),
            itt: get32(b, 16),
            ttt: get32(b, 20),
            stat_sn: get32(b, 24),
            exp_cmd_sn: get32(b, 28),
            max_cmd_sn: get32(b, 32),
            data: Vec::new(),
        })
    }
}
conversions!(NopIn, data);

// -------------------------------------------------------------- Dispatch enum

/// Any PDU, decoded into its typed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    NopOut(NopOut),
    ScsiCommand(ScsiCommand),
    TaskMgmtRequest(TaskMgmtRequest),
    LoginRequest(LoginRequest),
    TextRequest(TextRequest),
    DataOut(DataOut),
    LogoutRequest(LogoutRequest),
    SnackRequest(SnackRequest),
    NopIn(NopIn),
    ScsiResponse(ScsiResponse),
    TaskMgmtResponse(TaskMgmtResponse),
    LoginResponse(LoginResponse),
    TextResponse(TextResponse),
    DataIn(DataIn),
    LogoutResponse(LogoutResponse),
    R2T(R2T),
    AsyncMessage(AsyncMessage),
    Reject(Reject),
}

impl Typed {
    /// Decode a raw PDU by its opcode, moving its data segment.
    pub fn from_pdu(p: Pdu) -> Result<Typed, PduError> {
        Ok(match p.opcode()? {
            Opcode::NopOut => Typed::NopOut(NopOut::from_owned(p)?),
            Opcode::ScsiCommand => Typed::ScsiCommand(ScsiCommand::from_owned(p)?),
            Opcode::TaskMgmtRequest => Typed::TaskMgmtRequest(TaskMgmtRequest::from_owned(p)?),
            Opcode::LoginRequest => Typed::LoginRequest(LoginRequest::from_owned(p)?),
            Opcode::TextRequest => Typed::TextRequest(TextRequest::from_owned(p)?),
            Opcode::DataOut => Typed::DataOut(DataOut::from_owned(p)?),
            Opcode::LogoutRequest => Typed::LogoutRequest(LogoutRequest::from_owned(p)?),
            Opcode::SnackRequest => Typed::SnackRequest(SnackRequest::from_owned(p)?),
            Opcode::NopIn => Typed::NopIn(NopIn::from_owned(p)?),
            Opcode::ScsiResponse => Typed::ScsiResponse(ScsiResponse::from_owned(p)?),
            Opcode::TaskMgmtResponse => Typed::TaskMgmtResponse(TaskMgmtResponse::from_owned(p)?),
            Opcode::LoginResponse => Typed::LoginResponse(LoginResponse::from_owned(p)?),
            Opcode::TextResponse => Typed::TextResponse(TextResponse::from_owned(p)?),
            Opcode::DataIn => Typed::DataIn(DataIn::from_owned(p)?),
            Opcode::LogoutResponse => Typed::LogoutResponse(LogoutResponse::from_owned(p)?),
            Opcode::R2T => Typed::R2T(R2T::from_owned(p)?),
            Opcode::AsyncMessage => Typed::AsyncMessage(AsyncMessage::from_owned(p)?),
            Opcode::Reject => Typed::Reject(Reject::from_owned(p)?),
        })
    }

    /// Back to a raw PDU, moving data segments.
    pub fn into_pdu(self) -> Pdu {
        match self {
            Typed::NopOut(x) => x.into_pdu(),
            Typed::ScsiCommand(x) => x.into_pdu(),
            Typed::TaskMgmtRequest(x) => x.into_pdu(),
            Typed::LoginRequest(x) => x.into_pdu(),
            Typed::TextRequest(x) => x.into_pdu(),
            Typed::DataOut(x) => x.into_pdu(),
            Typed::LogoutRequest(x) => x.into_pdu(),
            Typed::SnackRequest(x) => x.into_pdu(),
            Typed::NopIn(x) => x.into_pdu(),
            Typed::ScsiResponse(x) => x.into_pdu(),
            Typed::TaskMgmtResponse(x) => x.into_pdu(),
            Typed::LoginResponse(x) => x.into_pdu(),
            Typed::TextResponse(x) => x.into_pdu(),
            Typed::DataIn(x) => x.into_pdu(),
            Typed::LogoutResponse(x) => x.into_pdu(),
            Typed::R2T(x) => x.into_pdu(),
            Typed::AsyncMessage(x) => x.into_pdu(),
            Typed::Reject(x) => x.into_pdu(),
        }
    }
}
