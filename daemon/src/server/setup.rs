//! What start-up writes into the catalog before jobs run: the registry's
//! devices (an operator's "down" survives a restart), the configured
//! pools, media sets and barcode rules. Each step leaves what already
//! exists alone, so it runs on every start.

use super::DaemonError;
use super::config::Config;
use crate::db::{self, DbError, unix_now};
use crate::devices::Registry;
use crate::media::BarcodeRule;
use crate::scheduler::Scheduler;
use crate::scheduler::device::Health;

/// Registers every registry device with the scheduler.
pub fn register_devices(s: &mut Scheduler, reg: &Registry) -> Result<(), DaemonError> {
    let now = unix_now();
    for info in reg.devices() {
        let mut dev = info.sched_device();
        let before = db::devices::get_device(s.db().conn(), &dev.id).ok();
        if before.is_some_and(|b| b.health == Health::Down) {
            dev.health = Health::Down;
            reg.set_down(&dev.id, true)?;
        }
        s.add_device(&dev, now)?;
    }
    Ok(())
}

/// Creates the configured pools, media sets and barcode rules that do not
/// exist yet.
pub fn apply_config(s: &mut Scheduler, cfg: &Config) -> Result<(), DaemonError> {
    s.db_mut().write(|c| {
        let rules = db::media::list_rules(c)?;
        for r in &cfg.barcode_rule {
            if rules.iter().any(|x| x.prefix == r.prefix) {
                continue;
            }
            db::media::insert_rule(
                c,
                &BarcodeRule {
                    prefix: r.prefix.clone(),
                    media_type: r.media_type.clone(),
                    media_set: r.media_set.clone(),
                    cleaning: r.cleaning,
                },
            )?;
        }
        for ms in &cfg.media_set {
            match db::media::get_media_set(c, &ms.name) {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => crate::media::manager::create_set(
                    c,
                    &ms.name,
                    ms.media_type.as_deref(),
                    ms.append_secs,
                    ms.protect_secs,
                )?,
                Err(e) => return Err(DaemonError::from(e)),
            }
        }
        Ok(())
    })?;
    let pools = db::devices::list_pools(s.db().conn())?;
    for p in &cfg.pool {
        if !pools.iter().any(|(n, _)| *n == p.name) {
            let members: Vec<&str> = p.members.iter().map(String::as_str).collect();
            s.create_pool(&p.name, &members)?;
        }
    }
    Ok(())
}
