//! Property: whatever the devices' health and load, the cartridges and
//! the jobs, after dispatching no queued job is left waiting while some
//! member of its pool could run it, and every waiting job says why.

use proptest::prelude::*;
use reeld::db::{self, Db};
use reeld::media::{Location, manager};
use reeld::scheduler::Scheduler;
use reeld::scheduler::device::{Device, DeviceKind, Health};
use reeld::scheduler::job::{JobKind, JobSpec, JobState, MediaNeed, Target};
use reeld::scheduler::lease::{self, Resource};
use rusqlite::Connection;

#[derive(Debug, Clone)]
struct Dev {
    health: Health,
    max_jobs: u32,
    busy: u32,
}

#[derive(Debug, Clone)]
struct JobGen {
    pool: usize,
    need: u8,
    cart: usize,
    priority: i32,
    excluded: Option<usize>,
}

#[derive(Debug, Clone)]
struct World {
    /// Tape pools: two, drives in library lib0 and lib1.
    tape: Vec<Vec<Dev>>,
    disks: Vec<Dev>,
    /// Cartridges per library: (held by someone else, scratch).
    carts: Vec<Vec<(bool, bool)>>,
    jobs: Vec<JobGen>,
}

fn health() -> impl Strategy<Value = Health> {
    prop_oneof![
        3 => Just(Health::Online),
        1 => Just(Health::Offline),
        1 => Just(Health::Down),
        1 => Just(Health::Failed),
    ]
}

fn dev(max: u32) -> impl Strategy<Value = Dev> {
    (health(), 1..=max).prop_flat_map(|(health, max_jobs)| {
        (0..=max_jobs).prop_map(move |busy| Dev {
            health,
            max_jobs,
            busy,
        })
    })
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(prop::collection::vec(dev(1), 0..4), 2),
        prop::collection::vec(dev(3), 0..4),
        prop::collection::vec(prop::collection::vec(any::<(bool, bool)>(), 0..4), 2),
        prop::collection::vec(
            (
                0..3usize,
                0..3u8,
                0..8usize,
                0..3i32,
                prop::option::of(0..4usize),
            )
                .prop_map(|(pool, need, cart, priority, excluded)| JobGen {
                    pool,
                    need,
                    cart,
                    priority,
                    excluded,
                }),
            0..12,
        ),
    )
        .prop_map(|(tape, disks, carts, jobs)| World {
            tape,
            disks,
            carts,
            jobs,
        })
}

const POOLS: [&str; 3] = ["tape0", "tape1", "disks"];

/// Builds the world; returns the scheduler and the ids of the jobs under test.
fn build(w: &World) -> (Scheduler, Vec<i64>) {
    let (mut s, _) = Scheduler::start(Db::open_in_memory().unwrap(), 0).unwrap();
    s.db_mut()
        .write(|c| manager::create_set(c, "set", None, 1_000_000, 1_000_000))
        .unwrap();
    let mut devs: Vec<(String, Dev)> = Vec::new();
    for (p, pool) in w.tape.iter().enumerate() {
        let mut ids = Vec::new();
        for (i, d) in pool.iter().enumerate() {
            let id = format!("lib{p}/drive{i}");
            let mut dv = Device::tape_drive(&id, &format!("lib{p}"), 8);
            dv.health = d.health;
            s.add_device(&dv, 0).unwrap();
            ids.push(id.clone());
            devs.push((id, d.clone()));
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        s.create_pool(POOLS[p], &refs).unwrap_or_else(|_| {
            // An empty pool has no kind to infer; declare it directly.
            s.db_mut()
                .write(|c| db::devices::insert_pool(c, POOLS[p], DeviceKind::TapeDrive))
                .unwrap()
        });
    }
    let mut ids = Vec::new();
    for (i, d) in w.disks.iter().enumerate() {
        let id = format!("disk{i}");
        let mut dv = Device::store(&id, DeviceKind::DiskStorage, d.max_jobs);
        dv.health = d.health;
        s.add_device(&dv, 0).unwrap();
        ids.push(id.clone());
        devs.push((id, d.clone()));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    if refs.is_empty() {
        s.db_mut()
            .write(|c| db::devices::insert_pool(c, "disks", DeviceKind::DiskStorage))
            .unwrap();
    } else {
        s.create_pool("disks", &refs).unwrap();
    }
    // Blockers: running jobs holding device units and cartridges.
    let blocker = |s: &mut Scheduler, res: &Resource, unit: u32| {
        let spec = JobSpec::new(
            JobKind::Verify,
            Target::Pool("disks".into()),
            MediaNeed::None,
        );
        let id = s.submit(&spec, 0).unwrap();
        let epoch = s.epoch();
        let c = s.db().conn();
        c.execute("UPDATE jobs SET state = 'running' WHERE id = ?1", [id])
            .unwrap();
        lease::acquire(c, res, unit, id, epoch, 0, 1_000_000).unwrap();
    };
    for (id, d) in &devs {
        for unit in 0..d.busy {
            blocker(&mut s, &Resource::device(id), unit);
        }
    }
    for (lib, carts) in w.carts.iter().enumerate() {
        for (i, (held, scratch)) in carts.iter().enumerate() {
            let bc = format!("L{lib}C{i:03}L8");
            let loc = Location::Slot {
                library: format!("lib{lib}"),
                element: 100 + i as u32,
            };
            s.db_mut()
                .write(|c| manager::import_barcode(c, &bc, &loc, 0).map(|_| ()))
                .unwrap();
            if !scratch {
                db::media::set_state(s.db().conn(), &bc, reeld::media::MediaState::Full).unwrap();
            }
            if *held {
                blocker(&mut s, &Resource::cartridge(&bc), 0);
            }
        }
    }
    let mut jobs = Vec::new();
    for j in &w.jobs {
        let pool = POOLS[j.pool];
        let media = match j.need {
            0 => MediaNeed::None,
            1 => MediaNeed::Writable {
                media_set: "set".into(),
            },
            _ => MediaNeed::Specific {
                barcode: format!("L{}C{:03}L8", j.cart % 2, j.cart / 2),
            },
        };
        let spec =
            JobSpec::new(JobKind::Backup, Target::Pool(pool.into()), media).priority(j.priority);
        let id = s.submit(&spec, 0).unwrap();
        if let Some(x) = j.excluded {
            let members = db::devices::pool_members(s.db().conn(), pool).unwrap();
            if let Some(m) = members.get(x % members.len().max(1)) {
                let c = s.db().conn();
                c.execute("UPDATE jobs SET attempts = 1 WHERE id = ?1", [id])
                    .unwrap();
                db::jobs::exclude(c, id, &m.id).unwrap();
            }
        }
        jobs.push(id);
    }
    (s, jobs)
}

fn count(c: &Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    c.query_row(sql, p, |r| r.get(0)).unwrap()
}

/// Oracle: could device `d` run job `id` right now? Written against the
/// tables directly, independent of the dispatcher's code.
fn could_run(c: &Connection, id: i64, d: &Device, all_excluded: bool) -> bool {
    let load = count(
        c,
        "SELECT COUNT(*) FROM leases WHERE resource_kind = 'device' AND resource = ?1",
        [&d.id],
    );
    let excluded = count(
        c,
        "SELECT COUNT(*) FROM job_exclusions WHERE job_id = ?1 AND device = ?2",
        (id, &d.id),
    ) > 0;
    if d.health != Health::Online || load >= i64::from(d.max_jobs) || (excluded && !all_excluded) {
        return false;
    }
    if d.kind != DeviceKind::TapeDrive {
        return true;
    }
    let (need, barcode): (String, Option<String>) = c
        .query_row(
            "SELECT media_need, media_barcode FROM jobs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let lib = d.library.clone().unwrap();
    let free = "NOT EXISTS (SELECT 1 FROM leases l WHERE l.resource_kind = 'cartridge' AND l.resource = m.barcode)";
    match need.as_str() {
        "none" => true,
        "writable" => {
            count(
                c,
                &format!(
                    "SELECT COUNT(*) FROM media m WHERE m.library = ?1 AND {free}
                     AND (m.state = 'scratch' OR (m.state = 'allocated'
                          AND m.set_uuid = (SELECT current_uuid FROM media_sets WHERE name = 'set')))"
                ),
                [&lib],
            ) > 0
        }
        _ => {
            count(
                c,
                &format!("SELECT COUNT(*) FROM media m WHERE m.barcode = ?1 AND m.library = ?2 AND {free}"),
                (barcode.unwrap(), &lib),
            ) > 0
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_job_waits_while_a_member_could_run_it(w in world()) {
        let (mut s, jobs) = build(&w);
        let assigned = s.dispatch_all(1).unwrap();
        let c = s.db().conn();
        // Exclusivity held throughout.
        let dup = count(c, "SELECT COUNT(*) FROM (SELECT resource FROM leases WHERE resource_kind = 'cartridge' GROUP BY resource HAVING COUNT(*) > 1)", []);
        prop_assert_eq!(dup, 0);
        for a in &assigned {
            prop_assert!(jobs.contains(&a.job), "only jobs under test are queued");
        }
        for &id in &jobs {
            let job = s.job(id).unwrap();
            if job.state != JobState::Queued {
                prop_assert_eq!(job.state, JobState::Running);
                continue;
            }
            let reason = job.waiting.clone().unwrap_or_default();
            prop_assert!(reason.starts_with("waiting: "), "job {} has no reason: {:?}", id, reason);
            let Target::Pool(pool) = &job.target else { unreachable!() };
            let members = db::devices::pool_members(c, pool).unwrap();
            let all_excluded = members.iter().all(|m| {
                count(c, "SELECT COUNT(*) FROM job_exclusions WHERE job_id = ?1 AND device = ?2", (id, &m.id)) > 0
            });
            for m in &members {
                prop_assert!(
                    !could_run(c, id, m, all_excluded),
                    "job {} waits ({}) although {} could run it", id, reason, m.id
                );
            }
        }
    }
}
