//! Dispatch: hands the most urgent runnable job a device (and cartridge).
//!
//! One call runs in one IMMEDIATE transaction:
//! 1. counts every pool's members by health and busy (held lease units at
//!    the member's limit), in SQLite, and stores each pool's waiting reason
//!    when no member is free;
//! 2. walks the queued jobs of every pool that has a free member (plus the
//!    device-pinned jobs) in global priority order, pool queues merged, a
//!    page at a time, so that busy pools cost nothing and a job that cannot
//!    run (its cartridge is busy, no scratch in its library) never blocks
//!    the ones behind it;
//! 3. for a job, loads its pool's members (once per call) and tries the
//!    free, healthy ones least loaded first
//!    (held units, then jobs run so far, then id), skipping members the job
//!    failed on unless it failed on all of them, and resolves its cartridge
//!    in that member's library;
//! 4. takes the leases (device unit, cartridge, home slot), marks the job
//!    running and returns the assignment; or records the waiting reason and
//!    moves on.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;

use super::SchedError;
use super::device::{Device, DeviceKind, Health};
use super::job::{Job, JobKind, MediaNeed, Target};
use super::lease::{self, LeaseError, Resource};
use crate::db;
use crate::media::Location;

/// A job handed to a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    pub job: i64,
    pub kind: JobKind,
    pub device: String,
    /// Lease unit of the device (0 for tape drives).
    pub unit: u32,
    pub cartridge: Option<String>,
    /// The cartridge's home slot, kept for its return.
    pub slot: Option<Resource>,
    /// Attempt number (1 = first run).
    pub attempt: u32,
}

/// A pool member as the dispatcher sees it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub dev: Device,
    pub load: u32,
    pub jobs_run: i64,
}

impl Member {
    pub fn free(&self) -> bool {
        self.dev.health == Health::Online && self.load < self.dev.max_jobs
    }
}

/// The pool-wide waiting reason, or None when some member is free.
/// `members`: (health, busy) of each member.
pub fn pool_reason(pool: &str, kind: DeviceKind, members: &[(Health, bool)]) -> Option<String> {
    let n = members.len();
    let noun = kind.plural();
    if n == 0 {
        return Some(format!("waiting: pool {pool} has no {noun}"));
    }
    let busy = members
        .iter()
        .filter(|(h, b)| *h == Health::Online && *b)
        .count();
    let free = members
        .iter()
        .filter(|(h, b)| *h == Health::Online && !*b)
        .count();
    if free > 0 {
        return None;
    }
    if busy == n {
        return Some(if n == 1 {
            format!("waiting: the only {} of pool {pool} busy", kind.singular())
        } else {
            format!("waiting: all {n} {noun} of pool {pool} busy")
        });
    }
    let mut parts = Vec::new();
    if busy > 0 {
        parts.push(format!("{busy} busy"));
    }
    for h in [Health::Down, Health::Failed, Health::Offline] {
        let k = members.iter().filter(|(mh, _)| *mh == h).count();
        if k > 0 {
            parts.push(format!("{k} {}", h.as_str()));
        }
    }
    let what = if busy > 0 { "free" } else { "usable" };
    Some(format!(
        "waiting: no {what} {} in pool {pool} ({})",
        kind.singular(),
        parts.join(", ")
    ))
}

/// A pool as the start of a dispatch sees it: kind, stored waiting
/// reason and the (health, busy) of each member.
struct PoolState {
    kind: DeviceKind,
    stored: Option<String>,
    members: Vec<(Health, bool)>,
}

/// Every pool's state in two queries. The members' health and load are
/// counted inside SQLite: a dispatch reads (health, busy, count) groups
/// instead of every member row, and loads the full members only of the
/// pools whose jobs it actually tries ([`pool_members`]).
fn pool_states(c: &Connection) -> Result<BTreeMap<String, PoolState>, SchedError> {
    let mut pools: BTreeMap<String, PoolState> = db::devices::list_pools_with_reason(c)?
        .into_iter()
        .map(|(n, kind, stored)| {
            let state = PoolState {
                kind,
                stored,
                members: Vec::new(),
            };
            (n, state)
        })
        .collect();
    let mut st = c.prepare_cached(
        "SELECT m.pool, d.health, COALESCE(l.n, 0) >= d.max_jobs AS busy, COUNT(*)
         FROM pool_members m JOIN devices d ON d.id = m.device
         LEFT JOIN (SELECT resource, COUNT(*) AS n FROM leases
                    WHERE resource_kind = 'device' GROUP BY resource) l ON l.resource = d.id
         GROUP BY m.pool, d.health, busy",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, u32>(3)?,
        ))
    })?;
    for row in rows {
        let (pool, health, busy, n) = row?;
        let health = db::parse_enum("device health", health, Health::parse)?;
        if let Some(p) = pools.get_mut(&pool) {
            p.members
                .extend(std::iter::repeat_n((health, busy), n as usize));
        }
    }
    Ok(pools)
}

/// The members of `pool` with their load (held lease units), by id.
fn pool_members(c: &Connection, pool: &str) -> Result<Vec<Member>, SchedError> {
    let mut st = c.prepare_cached(
        "SELECT d.id, d.kind, d.generation, d.library, d.health, d.max_jobs, d.jobs_run,
             (SELECT COUNT(*) FROM leases l
              WHERE l.resource_kind = 'device' AND l.resource = d.id)
         FROM pool_members m JOIN devices d ON d.id = m.device
         WHERE m.pool = ?1 ORDER BY m.device",
    )?;
    let rows = st.query_map([pool], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<u8>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, u32>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, u32>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, generation, library, health, max_jobs, jobs_run, load) = row?;
        out.push(Member {
            dev: Device {
                kind: db::parse_enum("device kind", kind, DeviceKind::parse)?,
                health: db::parse_enum("device health", health, Health::parse)?,
                id,
                generation,
                library,
                max_jobs,
            },
            load,
            jobs_run,
        });
    }
    Ok(out)
}

/// One pool's queue, read a page at a time.
struct Cursor {
    pool: Option<String>,
    page: std::collections::VecDeque<Job>,
    after: Option<(i32, i64)>,
    done: bool,
    /// Size of the next page: small first (the head usually runs), then
    /// growing while jobs keep waiting.
    next_page: u32,
}

impl Cursor {
    fn new(pool: Option<String>) -> Cursor {
        Cursor {
            pool,
            page: Default::default(),
            after: None,
            done: false,
            next_page: 2,
        }
    }

    fn head(&mut self, c: &Connection) -> Result<Option<&Job>, SchedError> {
        if self.page.is_empty() && !self.done {
            let n = self.next_page;
            self.next_page = (n * 4).min(256);
            let page = db::jobs::queued_page(c, self.pool.as_deref(), self.after, n)?;
            self.done = page.len() < n as usize;
            if let Some(last) = page.last() {
                self.after = Some((last.priority, last.id));
            }
            self.page.extend(page);
        }
        Ok(self.page.front())
    }
}

/// Dispatches the most urgent runnable job, if any.
pub(crate) fn dispatch_next(
    c: &Connection,
    epoch: i64,
    now: i64,
    ttl: i64,
) -> Result<Option<Assignment>, SchedError> {
    let pools = pool_states(c)?;
    let mut cursors = vec![Cursor::new(None)];
    for (name, p) in &pools {
        let reason = pool_reason(name, p.kind, &p.members);
        if reason != p.stored {
            db::devices::set_pool_reason(c, name, reason.as_deref())?;
        }
        if reason.is_none() {
            cursors.push(Cursor::new(Some(name.clone())));
        }
    }
    let mut memo = Memo::default();
    // Members of the pools tried so far in this call (nothing changes
    // until a job is placed, and the call returns then).
    let mut members_of: HashMap<String, Vec<Member>> = HashMap::new();
    loop {
        // The head with the highest priority, then the oldest id.
        let mut best: Option<(usize, i32, i64)> = None;
        for (i, cur) in cursors.iter_mut().enumerate() {
            if let Some(j) = cur.head(c)? {
                let better = best.is_none_or(|(_, p, id)| (j.priority, -j.id) > (p, -id));
                if better {
                    best = Some((i, j.priority, j.id));
                }
            }
        }
        let Some((i, _, _)) = best else {
            return Ok(None);
        };
        let Some(job) = cursors[i].page.pop_front() else {
            return Ok(None);
        };
        let pinned: Vec<Member>;
        let members: &[Member] = match &job.target {
            Target::Pool(p) => {
                if !members_of.contains_key(p) {
                    let m = if pools.contains_key(p) {
                        pool_members(c, p)?
                    } else {
                        Vec::new()
                    };
                    members_of.insert(p.clone(), m);
                }
                members_of.get(p).map_or(&[], Vec::as_slice)
            }
            Target::Device(d) => {
                pinned = match db::devices::get_device(c, d) {
                    Ok(dev) => vec![Member {
                        load: u32::try_from(
                            db::leases::of_resource(c, &Resource::device(&dev.id))?.len(),
                        )
                        .unwrap_or(u32::MAX),
                        dev,
                        jobs_run: 0,
                    }],
                    Err(db::DbError::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e.into()),
                };
                &pinned
            }
        };
        match try_place(c, &job, members, &mut memo, epoch, now, ttl)? {
            Ok(a) => return Ok(Some(a)),
            Err(reason) => db::jobs::set_reason(c, job.id, Some(&reason))?,
        }
    }
}

/// Negative media answers within one dispatch call (nothing changes until
/// a job is placed, and the call returns then).
#[derive(Default)]
struct Memo {
    no_media: HashMap<(String, String), String>,
}

/// Places `job` on one of `members`, or says why it waits.
#[allow(clippy::too_many_arguments)]
fn try_place(
    c: &Connection,
    job: &Job,
    members: &[Member],
    memo: &mut Memo,
    epoch: i64,
    now: i64,
    ttl: i64,
) -> Result<Result<Assignment, String>, SchedError> {
    let excluded = if job.attempts > 0 {
        db::jobs::exclusions(c, job.id)?
    } else {
        Vec::new()
    };
    // A job that failed on every member may try them again.
    let all_excluded = members.iter().all(|m| excluded.contains(&m.dev.id));
    let mut cands: Vec<&Member> = members
        .iter()
        .filter(|m| m.free() && (all_excluded || !excluded.contains(&m.dev.id)))
        .collect();
    cands.sort_by(|a, b| (a.load, a.jobs_run, &a.dev.id).cmp(&(b.load, b.jobs_run, &b.dev.id)));
    if cands.is_empty() {
        return Ok(Err(no_member_reason(c, job, members)?));
    }
    let mut reasons: Vec<String> = Vec::new();
    for m in cands {
        let cartridge = match media_for(c, job, &m.dev, memo, now)? {
            Ok(cart) => cart,
            Err(r) => {
                if !reasons.contains(&r) {
                    reasons.push(r);
                }
                continue;
            }
        };
        let dev_res = Resource::device(&m.dev.id);
        let unit = match lease::acquire_any(c, &dev_res, m.dev.max_jobs, job.id, epoch, now, ttl) {
            Ok(rec) => rec.unit,
            // Only possible when another writer slipped in outside a
            // transaction: try the next member.
            Err(LeaseError::Busy { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut slot = None;
        if let Some(bc) = &cartridge {
            lease::acquire(c, &Resource::cartridge(bc), 0, job.id, epoch, now, ttl)?;
            if let Some(media) = db::media::find_media(c, bc)?
                && let Location::Slot { library, element } = &media.location
            {
                let res = Resource::slot(library, *element);
                lease::acquire(c, &res, 0, job.id, epoch, now, ttl)?;
                slot = Some(res);
            }
        }
        db::jobs::set_running(c, job.id, &m.dev.id, cartridge.as_deref(), now)?;
        let attempt = job.attempts + 1;
        let msg = match &cartridge {
            Some(bc) => format!(
                "attempt {attempt} started on {} with cartridge {bc}",
                m.dev.id
            ),
            None => format!("attempt {attempt} started on {}", m.dev.id),
        };
        db::jobs::add_event(c, job.id, now, "started", Some(&m.dev.id), &msg)?;
        tracing::debug!(job = job.id, device = %m.dev.id, ?cartridge, "dispatched");
        return Ok(Ok(Assignment {
            job: job.id,
            kind: job.kind,
            device: m.dev.id.clone(),
            unit,
            cartridge,
            slot,
            attempt,
        }));
    }
    Ok(Err(reasons.join("; ")))
}

/// Why no member of a job is usable for it.
fn no_member_reason(c: &Connection, job: &Job, members: &[Member]) -> Result<String, SchedError> {
    Ok(match (&job.target, members.first()) {
        (Target::Device(d), None) => format!("waiting: device {d} is not registered"),
        (Target::Device(_), Some(m)) if m.dev.health != Health::Online => format!(
            "waiting: {} {} is {}",
            m.dev.kind.singular(),
            m.dev.id,
            m.dev.health.as_str()
        ),
        (Target::Device(_), Some(m)) => {
            let holder = db::leases::any_holder(c, &Resource::device(&m.dev.id))?;
            match holder {
                Some(h) => format!(
                    "waiting: {} {} busy (job {h})",
                    m.dev.kind.singular(),
                    m.dev.id
                ),
                None => format!("waiting: {} {} busy", m.dev.kind.singular(), m.dev.id),
            }
        }
        (Target::Pool(p), _) => {
            let kind = members.first().map_or("device", |m| m.dev.kind.singular());
            format!("waiting: no free {kind} of pool {p} that this job has not failed on")
        }
    })
}

/// The cartridge `job` needs on `dev`: `Ok(None)` when it needs none,
/// `Err(reason)` when none is available.
fn media_for(
    c: &Connection,
    job: &Job,
    dev: &Device,
    memo: &mut Memo,
    now: i64,
) -> Result<Result<Option<String>, String>, SchedError> {
    if dev.kind != DeviceKind::TapeDrive || job.media == MediaNeed::None {
        return Ok(Ok(None));
    }
    let Some(lib) = dev.library.as_deref() else {
        return Ok(Err(format!("waiting: drive {} is in no library", dev.id)));
    };
    let key = match &job.media {
        MediaNeed::Writable { media_set } => format!("w:{media_set}"),
        MediaNeed::Cleaning => "c".into(),
        MediaNeed::Specific { barcode } => format!("s:{barcode}"),
        MediaNeed::None => String::new(),
    };
    let memo_key = (lib.to_string(), key);
    if let Some(r) = memo.no_media.get(&memo_key) {
        return Ok(Err(r.clone()));
    }
    let found = match &job.media {
        MediaNeed::None => Ok(None),
        MediaNeed::Cleaning => match db::media::find_cleaning(c, lib)? {
            Some(bc) => Ok(Some(bc)),
            None => Err(format!("waiting: no cleaning cartridge in library {lib}")),
        },
        MediaNeed::Specific { barcode } => specific(c, barcode, lib)?,
        MediaNeed::Writable { media_set } => {
            crate::media::manager::writable_cartridge(c, media_set, lib, now)?.map(Some)
        }
    };
    if let Err(r) = &found {
        memo.no_media.insert(memo_key, r.clone());
    }
    Ok(found)
}

fn specific(
    c: &Connection,
    barcode: &str,
    lib: &str,
) -> Result<Result<Option<String>, String>, SchedError> {
    let Some(m) = db::media::find_media(c, barcode)? else {
        return Ok(Err(format!(
            "waiting: cartridge {barcode} is not in the catalog"
        )));
    };
    if m.location.library() != Some(lib) || matches!(m.location, Location::MailSlot { .. }) {
        return Ok(Err(format!(
            "waiting: cartridge {barcode} is not in library {lib}"
        )));
    }
    if let Some(h) = db::leases::any_holder(c, &Resource::cartridge(barcode))? {
        return Ok(Err(format!("waiting: cartridge {barcode} busy (job {h})")));
    }
    Ok(Ok(Some(barcode.to_string())))
}
