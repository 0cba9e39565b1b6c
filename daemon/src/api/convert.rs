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

/// A device registry alert. Its ids are the registry's; job alerts
/// (below) are numbered apart, from 1 << 32, so the two never collide.
pub fn device_alert(a: &crate::devices::Alert) -> pb::Alert {
    pb::Alert {
        id: a.id,
        at: i64::try_from(a.raised).unwrap_or(i64::MAX),
        severity: a.severity.name().into(),
        device: a.device.clone(),
        message: a.message.clone(),
        job: 0,
        source: match a.key {
            crate::devices::AlertKey::TapeAlert(_) => "tape_alert",
            crate::devices::AlertKey::Offline => "offline",
        }
        .into(),
        category: a.category.as_str().into(),
    }
}

/// An alert of the catalog: raised by a job (a device failed under it,
/// nobody could run it) or, without a job, by the operator (a device
/// taken down).
pub fn job_alert(a: &crate::jobs::store::JobAlert) -> pb::Alert {
    let (severity, source) = match a.job {
        Some(_) => ("critical", "job"),
        None => ("information", "operator"),
    };
    pb::Alert {
        id: JOB_ALERT_IDS + u64::try_from(a.id).unwrap_or(0),
        at: a.at,
        severity: severity.into(),
        device: a.device.clone().unwrap_or_default(),
        message: a.message.clone(),
        job: a.job.unwrap_or(0),
        source: source.into(),
        category: String::new(),
    }
}

/// First id of job alerts in the API.
pub const JOB_ALERT_IDS: u64 = 1 << 32;
