//! SEND VOLUME TAG (B6h, translate actions) and REQUEST VOLUME ELEMENT
//! ADDRESS (B5h), SMC-3 6.13 and 6.10: a host searches the barcodes with a
//! template (`*` matches the rest, `?` one character; trailing spaces
//! ignored) and then reads the matching elements as element status pages.
//! Results are kept per initiator until its next SEND VOLUME TAG.

use reel_drivers::scsi::sense::{Sense, SenseKey};

use super::dispatch::Ctx;
use super::element_status::{Request, finish_header, write_page};
use super::{Changer, ElementKind, InitiatorId, Medium};
use crate::drive::sense::{HResult, invalid_cdb_field, param_list_length};

/// The result of one translate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSearch {
    pub action: u8,
    /// Matching element addresses, ascending.
    pub matches: Vec<u16>,
}

/// Whether `tag` matches the 32-byte `template`.
pub fn template_matches(template: &[u8], tag: &str) -> bool {
    let end = template
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    let t = &template[..end];
    let s = tag.as_bytes();
    let mut i = 0;
    for (k, &c) in t.iter().enumerate() {
        match c {
            b'*' => return k + 1 == t.len() || glob_rest(&t[k + 1..], &s[i.min(s.len())..]),
            b'?' if i < s.len() => i += 1,
            c if i < s.len() && s[i] == c => i += 1,
            _ => return false,
        }
    }
    i == s.len()
}

/// `*` in the middle: try every split.
fn glob_rest(t: &[u8], s: &[u8]) -> bool {
    (0..=s.len()).any(|k| {
        let tag = String::from_utf8_lossy(&s[k..]);
        template_matches(t, &tag)
    })
}

fn tags(m: &Medium, action: u8) -> Vec<&str> {
    if !m.labelled {
        return Vec::new();
    }
    let alt = m.alternate_tag.as_deref();
    match action {
        0x05 => vec![m.barcode.as_str()],
        0x06 => alt.into_iter().collect(),
        _ => std::iter::once(m.barcode.as_str()).chain(alt).collect(),
    }
}

fn kind_from_code(code: u8) -> Result<Option<ElementKind>, crate::drive::sense::Fail> {
    match code {
        0 => Ok(None),
        1..=4 => Ok(ElementKind::ALL.into_iter().find(|k| k.code() == code)),
        _ => Err(invalid_cdb_field(1, Some(3))),
    }
}

/// SEND VOLUME TAG: element type 1:3..0, starting address 2..3, send
/// action code 5:4..0 (05h/06h/07h translate primary/alternate/all),
/// parameter list length 8..9 (template 32 bytes, then reserved, minimum
/// sequence number).
pub fn send_volume_tag(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let kind = kind_from_code(c.b(1) & 0x0f)?;
    let start = c.be16(2);
    let action = c.b(5) & 0x1f;
    if !(0x05..=0x07).contains(&action) {
        // Assert/replace/undefine would rewrite labels: not supported.
        return Err(invalid_cdb_field(5, Some(4)));
    }
    let len = usize::from(c.be16(8));
    if len < 32 || c.data_out.len() < len {
        return Err(param_list_length());
    }
    let template = &c.data_out[..32];
    let mut matches = Vec::new();
    for k in ch.cfg.map.kinds_by_address() {
        if kind.is_some_and(|want| want != k) || k == ElementKind::Transport {
            continue;
        }
        let list = match k {
            ElementKind::Storage => &ch.state.slots,
            ElementKind::ImportExport => &ch.state.mail_slots,
            _ => &ch.state.drives,
        };
        for (i, m) in list.iter().enumerate() {
            let Some(m) = m else { continue };
            let Some(addr) = ch.cfg.map.address(k, i) else {
                continue;
            };
            if addr >= start
                && tags(m, action)
                    .iter()
                    .any(|t| template_matches(template, t))
            {
                matches.push(addr);
            }
        }
    }
    matches.sort_unstable();
    ch.searches
        .insert(c.initiator, VolumeSearch { action, matches });
    Ok(0)
}

/// REQUEST VOLUME ELEMENT ADDRESS: VOLTAG 1:4, element type 1:3..0,
/// starting address 2..3, number of elements 4..5, allocation length 7..9.
/// Without an earlier translate: 2C/00 command sequence error.
pub fn request_volume_element_address(ch: &mut Changer, c: &mut Ctx<'_, '_>) -> HResult {
    let kind = kind_from_code(c.b(1) & 0x0f)?;
    let voltag = c.b(1) & 0x10 != 0;
    let start = c.be16(2);
    let count = usize::from(c.be16(4));
    let alloc = c.be24(7) as usize;
    let search = searches_of(ch, c.initiator)
        .ok_or_else(|| Sense::new(SenseKey::IllegalRequest, 0x2c, 0x00))?;
    let r = Request {
        voltag,
        kind,
        start,
        count: u16::MAX,
        dvcid: false,
    };
    let mut out = vec![0u8; 8];
    let mut found: Vec<(ElementKind, usize, u16)> = search
        .matches
        .iter()
        .filter(|&&a| a >= start)
        .filter_map(|&a| ch.cfg.map.locate(a).map(|(k, i)| (k, i, a)))
        .filter(|(k, _, _)| kind.is_none_or(|want| want == *k))
        .collect();
    found.truncate(count);
    let first = found.first().map_or(0, |f| f.2);
    let total = found.len();
    let mut i = 0;
    while i < found.len() {
        let k = found[i].0;
        let run: Vec<usize> = found[i..]
            .iter()
            .take_while(|f| f.0 == k)
            .map(|f| f.1)
            .collect();
        i += run.len();
        write_page(ch, &r, k, &run, &mut out);
    }
    finish_header(&mut out, first, total, search.action);
    Ok(c.reply(&out, alloc))
}

fn searches_of(ch: &Changer, id: InitiatorId) -> Option<VolumeSearch> {
    ch.searches.get(&id).cloned()
}
