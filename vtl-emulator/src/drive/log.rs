//! LOG SENSE / LOG SELECT (SPC-5 6.8/6.9, SSC-5 8.2): pages 00h supported
//! pages, 0Ch sequential-access device, 0Dh temperature, 12h TapeAlert
//! response, 17h volume statistics and 2Eh TapeAlert (cleared on read).

use super::dispatch::Ctx;
use super::sense::{Fail, HResult, invalid_cdb_field, no_medium};
use super::{Counters, Drive, MediumState};

pub const SUPPORTED: [u8; 6] = [0x00, 0x0c, 0x0d, 0x12, 0x17, 0x2e];

/// Parameter control byte for counters (bounded data counter, 00b) and for
/// other values (binary format list, 11b).
const COUNTER: u8 = 0x00;
const LIST: u8 = 0x03;

fn param(out: &mut Vec<u8>, code: u16, control: u8, value: &[u8]) {
    out.extend_from_slice(&code.to_be_bytes());
    out.push(control);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

fn mb(bytes: u64) -> u64 {
    bytes / 1_000_000
}

/// Builds page `code`'s parameters (without the 4-byte header), or `None`
/// when the page is unsupported.
fn page_params(d: &mut Drive, code: u8) -> Result<Option<Vec<u8>>, Fail> {
    let mut p = Vec::new();
    match code {
        0x00 => p.extend_from_slice(&SUPPORTED),
        0x0c => {
            let Counters {
                host_bytes_written,
                host_bytes_read,
                medium_bytes_written,
                medium_bytes_read,
                ..
            } = d.counters;
            param(&mut p, 0x0000, COUNTER, &host_bytes_written.to_be_bytes());
            param(&mut p, 0x0001, COUNTER, &medium_bytes_written.to_be_bytes());
            param(&mut p, 0x0002, COUNTER, &medium_bytes_read.to_be_bytes());
            param(&mut p, 0x0003, COUNTER, &host_bytes_read.to_be_bytes());
            if let Some(c) = d.cart.as_ref().filter(|_| d.medium == MediumState::Loaded) {
                let u = c.usage();
                let cap = mb(u.capacity);
                let used = mb(u.written_bytes_native);
                // Capacities in megabytes (10^6 bytes), 4 bytes each.
                let v = |x: u64| u32::try_from(x).unwrap_or(u32::MAX).to_be_bytes();
                param(&mut p, 0x0004, LIST, &v(used));
                param(&mut p, 0x0005, LIST, &v(cap - cap / 50));
                param(&mut p, 0x0006, LIST, &v(cap / 50));
                param(&mut p, 0x0007, LIST, &v(used));
            }
            // Cleaning required: never for a virtual head.
            param(&mut p, 0x0100, LIST, &[0]);
        }
        0x0d => {
            // Temperature 35 C, reference (maximum) 55 C.
            param(&mut p, 0x0000, LIST, &[0, 35]);
            param(&mut p, 0x0001, LIST, &[0, 55]);
        }
        0x12 => param(&mut p, 0x0000, LIST, &d.tape_alerts.to_be_bytes()),
        0x17 => {
            let Some(c) = d.cart.as_ref().filter(|_| d.medium == MediumState::Loaded) else {
                return Err(no_medium());
            };
            let u = c.usage();
            let spec = c.spec();
            param(&mut p, 0x0000, LIST, &[1]); // page valid
            let loads = u32::try_from(c.load_count()).unwrap_or(u32::MAX);
            param(&mut p, 0x0001, COUNTER, &loads.to_be_bytes());
            let wr = u32::try_from(d.counters.records_written).unwrap_or(u32::MAX);
            param(&mut p, 0x0002, COUNTER, &wr.to_be_bytes());
            let rd = u32::try_from(d.counters.records_read).unwrap_or(u32::MAX);
            param(&mut p, 0x0007, COUNTER, &rd.to_be_bytes());
            let w32 = |x: u64| u32::try_from(x).unwrap_or(u32::MAX).to_be_bytes();
            param(
                &mut p,
                0x000e,
                COUNTER,
                &w32(mb(d.counters.host_bytes_written)),
            );
            param(
                &mut p,
                0x000f,
                COUNTER,
                &w32(mb(d.counters.host_bytes_read)),
            );
            param(&mut p, 0x0010, COUNTER, &w32(mb(u.host_bytes_written)));
            param(&mut p, 0x0011, COUNTER, &w32(mb(u.host_bytes_read)));
            param(&mut p, 0x0016, LIST, &w32(mb(u.capacity)));
            param(&mut p, 0x0017, LIST, &w32(mb(u.written_bytes_native)));
            let mut serial = spec.barcode.as_bytes().to_vec();
            serial.resize(32, b' ');
            param(&mut p, 0x0040, 0x01, &serial[..32]);
            param(&mut p, 0x0080, LIST, &[u8::from(c.write_protected())]);
            param(&mut p, 0x0081, LIST, &[u8::from(spec.worm)]);
        }
        0x2e => {
            for n in 1..=64u16 {
                let on = d.tape_alerts & (1u64 << (64 - n)) != 0;
                param(&mut p, n, LIST, &[u8::from(on)]);
            }
            // Reading the TapeAlert page clears the flags (SSC-5 8.2.3).
            d.tape_alerts = 0;
        }
        _ => return Ok(None),
    }
    Ok(Some(p))
}

/// Keeps only the parameters whose code is at least `pointer` (SPC-5:
/// PARAMETER POINTER).
fn from_pointer(params: &[u8], pointer: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= params.len() {
        let code = u16::from_be_bytes([params[i], params[i + 1]]);
        let end = (i + 4 + usize::from(params[i + 3])).min(params.len());
        if code >= pointer {
            out.extend_from_slice(&params[i..end]);
        }
        i = end;
    }
    out
}

pub fn log_sense(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x02 != 0 {
        // PPC (parameter pointer control) is not supported.
        return Err(invalid_cdb_field(1, Some(1)));
    }
    if c.b(1) & 0x01 != 0 {
        // SP: parameters are not savable.
        return Err(invalid_cdb_field(1, Some(0)));
    }
    let code = c.b(2) & 0x3f;
    if c.b(3) != 0 {
        return Err(invalid_cdb_field(3, Some(7)));
    }
    let pointer = c.be16(5);
    let alloc = usize::from(c.be16(7));
    let Some(params) = page_params(d, code)? else {
        return Err(invalid_cdb_field(2, Some(5)));
    };
    let params = if code == 0x00 || pointer == 0 {
        params
    } else {
        from_pointer(&params, pointer)
    };
    let mut out = vec![code, 0x00];
    out.extend_from_slice(
        &u16::try_from(params.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(&params);
    Ok(c.reply(&out, alloc))
}

/// LOG SELECT: only the parameter reset (PCR) and no parameter data.
pub fn log_select(d: &mut Drive, c: &mut Ctx<'_>) -> HResult {
    if c.b(1) & 0x01 != 0 {
        return Err(invalid_cdb_field(1, Some(0)));
    }
    if c.be16(7) != 0 {
        // Setting individual parameters (thresholds) is not supported.
        return Err(invalid_cdb_field(7, Some(7)));
    }
    let page = c.b(2) & 0x3f;
    if page != 0 && !SUPPORTED.contains(&page) {
        return Err(invalid_cdb_field(2, Some(5)));
    }
    if c.b(1) & 0x02 != 0 {
        d.counters = Counters::default();
        if page == 0 || page == 0x12 || page == 0x2e {
            d.tape_alerts = 0;
        }
    }
    Ok(0)
}
