//! READ ATTRIBUTE / WRITE ATTRIBUTE (SPC-5 6.17, 6.40): medium auxiliary
//! memory. Device and medium attributes (0000h..07FFh) are computed by the
//! drive and read-only; host attributes (0800h..0BFFh) and vendor-specific
//! host attributes (1400h..17FFh) are stored in the cartridge.

use super::Drive;
use super::dispatch::Ctx;
use super::sense::{
    Fail, HResult, invalid_cdb_field, invalid_param_field, no_medium, param_list_length,
};

pub const BINARY: u8 = 0x00;
pub const ASCII: u8 = 0x01;
pub const TEXT: u8 = 0x02;

/// (identifier, format, length) of the attributes the drive knows; the
/// length of host attributes is their maximum.
pub const KNOWN: &[(u16, u8, u16)] = &[
    (0x0000, BINARY, 8),    // remaining capacity in partition (MiB)
    (0x0001, BINARY, 8),    // maximum capacity in partition (MiB)
    (0x0002, BINARY, 8),    // TapeAlert flags
    (0x0003, BINARY, 8),    // load count
    (0x0005, ASCII, 8),     // assigning organization
    (0x0006, BINARY, 1),    // formatted density code
    (0x0220, BINARY, 8),    // total MB written in medium life
    (0x0221, BINARY, 8),    // total MB read in medium life
    (0x0400, ASCII, 8),     // medium manufacturer
    (0x0401, ASCII, 32),    // medium serial number
    (0x0404, ASCII, 8),     // assigning organization
    (0x0405, BINARY, 1),    // medium density code
    (0x0408, BINARY, 1),    // medium type
    (0x0800, ASCII, 8),     // application vendor
    (0x0801, ASCII, 32),    // application name
    (0x0802, ASCII, 8),     // application version
    (0x0803, TEXT, 160),    // user medium text label
    (0x0804, ASCII, 12),    // date and time last written
    (0x0805, BINARY, 1),    // text localization identifier
    (0x0806, ASCII, 32),    // barcode
    (0x0807, TEXT, 80),     // owning host textual name
    (0x0808, TEXT, 160),    // media pool
    (0x0809, ASCII, 16),    // partition user text label
    (0x080a, BINARY, 1),    // load/unload at partition
    (0x080b, ASCII, 16),    // application format version
    (0x080c, BINARY, 1024), // volume coherency information (variable)
];

/// Largest vendor-specific host attribute accepted.
const VENDOR_MAX: usize = 1024;

fn known(id: u16) -> Option<(u8, u16)> {
    KNOWN.iter().find(|k| k.0 == id).map(|k| (k.1, k.2))
}

fn read_only(id: u16) -> bool {
    id < 0x0800
}

fn padded(s: &str, len: usize) -> Vec<u8> {
    super::inquiry::ascii(s, len)
}

/// One attribute as it appears in READ ATTRIBUTE data.
fn encode(out: &mut Vec<u8>, id: u16, format: u8, value: &[u8]) {
    out.extend_from_slice(&id.to_be_bytes());
    out.push((if read_only(id) { 0x80 } else { 0 }) | format);
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(value);
}

/// All attributes present for `partition`, in identifier order.
fn present(d: &Drive, partition: u8) -> Vec<(u16, u8, Vec<u8>)> {
    let Some(cart) = d.cart.as_ref() else {
        return Vec::new();
    };
    let spec = cart.spec();
    let max = cart.partition_capacity(partition).unwrap_or(0);
    let u = cart.usage();
    let remaining = if cart.position().partition == partition {
        u.remaining
    } else {
        max
    };
    let mib = |b: u64| (b >> 20).to_be_bytes().to_vec();
    let mut v: Vec<(u16, u8, Vec<u8>)> = vec![
        (0x0000, BINARY, mib(remaining)),
        (0x0001, BINARY, mib(max)),
        (0x0002, BINARY, d.tape_alerts.to_be_bytes().to_vec()),
        (0x0003, BINARY, cart.load_count().to_be_bytes().to_vec()),
        (0x0005, ASCII, padded("LTO-CVE", 8)),
        (0x0006, BINARY, vec![spec.generation.density_code()]),
        (
            0x0220,
            BINARY,
            (u.host_bytes_written / 1_000_000).to_be_bytes().to_vec(),
        ),
        (
            0x0221,
            BINARY,
            (u.host_bytes_read / 1_000_000).to_be_bytes().to_vec(),
        ),
        (0x0400, ASCII, padded("REELVTL", 8)),
        (0x0401, ASCII, padded(&spec.barcode, 32)),
        (0x0404, ASCII, padded("LTO-CVE", 8)),
        (0x0405, BINARY, vec![spec.generation.density_code()]),
        // Medium type: 00h data, 80h WORM (SPC-5 table 432).
        (0x0408, BINARY, vec![if spec.worm { 0x80 } else { 0x00 }]),
    ];
    for (&id, value) in cart.attributes() {
        if value.is_empty() || read_only(id) {
            continue;
        }
        let format = known(id).map_or(BINARY, |k| k.0);
        v.push((id, format, value.clone()));
    }
    v.sort_by_key(|a| a.0);
    v
}

pub fn read_attribute(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let sa = c.b(1) & 0x1f;
    let volume = c.b(5);
    let partition = c.b(7);
    let first = c.be16(8);
    let alloc = c.be32(10) as usize;
    let Some(cart) = d.cart.as_ref() else {
        return Err(no_medium());
    };
    if volume != 0 {
        return Err(invalid_cdb_field(5, Some(7)));
    }
    if partition >= cart.partitions() {
        return Err(invalid_cdb_field(7, Some(7)));
    }
    let partitions = cart.partitions();
    let mut out = vec![0u8; 4];
    match sa {
        0x00 => {
            let attrs = present(d, partition);
            // IBM drives fail a request whose first attribute is absent
            // (field note A12); others return what follows it.
            if d.cfg.vendor.eq_ignore_ascii_case("IBM")
                && first != 0
                && !attrs.iter().any(|a| a.0 == first)
            {
                return Err(invalid_cdb_field(8, Some(7)));
            }
            for (id, format, value) in attrs.iter().filter(|a| a.0 >= first) {
                encode(&mut out, *id, *format, value);
            }
        }
        0x01 | 0x05 => {
            let ids: Vec<u16> = if sa == 0x01 {
                present(d, partition).iter().map(|a| a.0).collect()
            } else {
                KNOWN.iter().map(|k| k.0).collect()
            };
            for id in ids.into_iter().filter(|&i| i >= first) {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        0x02 => out = vec![0, 2, 0, 1],
        0x03 => out = vec![0, 2, 0, partitions],
        _ => return Err(invalid_cdb_field(1, Some(4))),
    }
    if sa <= 0x01 || sa == 0x05 {
        let n = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
        out[..4].copy_from_slice(&n.to_be_bytes());
    }
    Ok(c.reply(&out, alloc))
}

/// Validates one attribute of a WRITE ATTRIBUTE parameter list at offset
/// `at`; returns the value to store (empty = delete).
fn validate(id: u16, format: u8, value: &[u8], at: usize) -> Result<Vec<u8>, Fail> {
    if read_only(id) {
        return Err(invalid_param_field(at, Some(7)));
    }
    match known(id) {
        Some((want, max)) => {
            if format != want {
                return Err(invalid_param_field(at + 2, Some(1)));
            }
            if value.len() > usize::from(max) {
                return Err(invalid_param_field(at + 3, Some(7)));
            }
            if value.is_empty() {
                return Ok(Vec::new());
            }
            match format {
                ASCII => {
                    if let Some(i) = value.iter().position(|b| !(0x20..=0x7e).contains(b)) {
                        return Err(invalid_param_field(at + 5 + i, Some(7)));
                    }
                    // ASCII attributes are stored left-aligned, space padded.
                    let mut v = value.to_vec();
                    v.resize(usize::from(max), b' ');
                    Ok(v)
                }
                BINARY if id != 0x080c && value.len() != usize::from(max) => {
                    Err(invalid_param_field(at + 3, Some(7)))
                }
                _ => Ok(value.to_vec()),
            }
        }
        None if (0x1400..=0x17ff).contains(&id) => {
            if format > TEXT {
                return Err(invalid_param_field(at + 2, Some(1)));
            }
            if value.len() > VENDOR_MAX {
                return Err(invalid_param_field(at + 3, Some(7)));
            }
            Ok(value.to_vec())
        }
        // Reserved or unknown host attribute identifiers.
        None => Err(invalid_param_field(at, Some(7))),
    }
}

pub fn write_attribute(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    let volume = c.b(5);
    let partition = c.b(7);
    let len = c.be32(10) as usize;
    let Some(cart) = d.cart.as_ref() else {
        return Err(no_medium());
    };
    if volume != 0 {
        return Err(invalid_cdb_field(5, Some(7)));
    }
    if partition >= cart.partitions() {
        return Err(invalid_cdb_field(7, Some(7)));
    }
    if len == 0 {
        return Ok(0);
    }
    if len < 4 || c.data_out.len() < len {
        return Err(param_list_length());
    }
    let data = &c.data_out[..len];
    let declared = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if declared > len - 4 {
        return Err(param_list_length());
    }
    let list = &data[4..4 + declared];
    // Validate everything first: a rejected list changes nothing.
    let mut updates = Vec::new();
    let mut i = 0;
    while i < list.len() {
        let Some(h) = list.get(i..i + 5) else {
            return Err(param_list_length());
        };
        let id = u16::from_be_bytes([h[0], h[1]]);
        let format = h[2] & 0x03;
        let vlen = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let Some(value) = list.get(i + 5..i + 5 + vlen) else {
            return Err(param_list_length());
        };
        updates.push((id, validate(id, format, value, 4 + i)?));
        i += 5 + vlen;
    }
    let r = match d.cart.as_mut() {
        Some(cart) => cart.set_attributes(updates),
        None => return Err(no_medium()),
    };
    if let Err(e) = r {
        return Err(super::rw::cartridge_sense(d, &e, true).into());
    }
    Ok(0)
}
