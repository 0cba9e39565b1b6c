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
        // Media sets first: a barcode rule may name one.
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
        let rules = db::media::list_rules(c)?;
        for r in &cfg.barcode_rule {
            if rules.iter().any(|x| x.prefix == r.prefix) {
                continue;
            }
            if let Some(ms) = &r.media_set
                && db::media::get_media_set(c, ms).is_err()
            {
                return Err(DaemonError::Refused(format!(
                    "barcode rule {:?} names media set {ms:?}, which is not configured \
                     (add a [[media_set]] of that name)",
                    r.prefix
                )));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sched() -> Scheduler {
        let db = crate::db::Db::open_in_memory().unwrap();
        Scheduler::start(db, 1_000).unwrap().0
    }

    #[test]
    fn a_rule_may_name_a_media_set_of_the_same_file() {
        let cfg = Config::parse(
            "[[barcode_rule]]\nprefix = \"RL\"\nmedia_type = \"LTO-8\"\nmedia_set = \"weekly\"\n\
             [[media_set]]\nname = \"weekly\"\nmedia_type = \"LTO-8\"\nappend_secs = 60\nprotect_secs = 60\n",
            std::path::Path::new("reeld.toml"),
        )
        .unwrap();
        let mut s = sched();
        apply_config(&mut s, &cfg).unwrap();
        // Applying again changes nothing and does not fail.
        apply_config(&mut s, &cfg).unwrap();
        let rules = db::media::list_rules(s.db().conn()).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].media_set.as_deref(), Some("weekly"));
    }

    #[test]
    fn a_rule_naming_an_unknown_media_set_is_refused_clearly() {
        let cfg = Config::parse(
            "[[barcode_rule]]\nprefix = \"RL\"\nmedia_type = \"LTO-8\"\nmedia_set = \"nope\"\n",
            std::path::Path::new("reeld.toml"),
        )
        .unwrap();
        let e = apply_config(&mut sched(), &cfg).unwrap_err().to_string();
        assert!(e.contains("names media set \"nope\""), "{e}");
    }
}
