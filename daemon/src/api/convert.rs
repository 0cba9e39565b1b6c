//! Domain values to API messages.

use super::pb;
use crate::media::{Location, Media, MediaSet};
use crate::scheduler::job::{Job, JobEvent, Target};

pub fn job(j: &Job) -> pb::Job {
    pb::Job {
        id: j.id,
        kind: j.kind.as_str().into(),
        state: j.state.as_str().into(),
        target: match &j.target {
            Target::Pool(p) => format!("pool {p}"),
            Target::Device(d) => format!("device {d}"),
        },
        priority: j.priority,
        waiting: j.waiting.clone().unwrap_or_default(),
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        submitted_at: j.submitted_at,
        started_at: j.started_at.unwrap_or(0),
        finished_at: j.finished_at.unwrap_or(0),
        bytes_done: j.progress.bytes_done,
        bytes_total: j.progress.bytes_total.unwrap_or(0),
        rate_bps: j.progress.rate_bps.unwrap_or(0),
        device: j.progress.device.clone().unwrap_or_default(),
        barcode: j.progress.barcode.clone().unwrap_or_default(),
        error: j.error.clone().unwrap_or_default(),
    }
}

pub fn event(e: &JobEvent) -> pb::JobEvent {
    pb::JobEvent {
        seq: e.seq,
        at: e.at,
        kind: e.kind.clone(),
        device: e.device.clone().unwrap_or_default(),
        message: e.message.clone(),
    }
}

pub fn cartridge(m: &Media) -> pb::Cartridge {
    let (library, element, drive) = match &m.location {
        Location::Slot { library, element } | Location::MailSlot { library, element } => {
            (library.clone(), *element, String::new())
        }
        Location::Drive { library, drive } => (library.clone(), 0, drive.clone()),
        Location::Offline => (String::new(), 0, String::new()),
    };
    pb::Cartridge {
        barcode: m.barcode.clone(),
        media_type: m.media_type.clone(),
        state: m.state.as_str().into(),
        location_kind: m.location.kind_str().into(),
        library,
        element,
        drive,
        media_set: m.media_set.clone().unwrap_or_default(),
        set_seq: m.set_seq.unwrap_or(0),
        first_write: m.first_write.unwrap_or(0),
        last_write: m.last_write.unwrap_or(0),
        protect_until: m.protect_until.unwrap_or(0),
        bytes_written: m.bytes_written,
        mount_count: m.mount_count,
        read_errors: m.read_errors,
        write_errors: m.write_errors,
    }
}

pub fn media_set(s: &MediaSet) -> pb::MediaSet {
    pb::MediaSet {
        name: s.name.clone(),
        media_type: s.media_type.clone().unwrap_or_default(),
        append_secs: s.append_secs,
        protect_secs: s.protect_secs,
    }
}

pub fn alert(a: &crate::server::alerts::Alert) -> pb::Alert {
    pb::Alert {
        id: a.id,
        at: a.at,
        severity: a.severity.into(),
        device: a.device.clone(),
        message: a.message.clone(),
        job: a.job,
    }
}
