//! Jobs: kinds, states and their transitions, what a job needs.

use uuid::Uuid;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A data stream in → a pool.
    Backup,
    /// A backup set → a stream out.
    Restore,
    /// A backup set → another pool (staging, rehydration).
    Duplicate,
    /// Library inventory.
    Inventory,
    Label,
    Erase,
    /// Clean a drive with a cleaning cartridge.
    Clean,
    Verify,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::Backup,
        JobKind::Restore,
        JobKind::Duplicate,
        JobKind::Inventory,
        JobKind::Label,
        JobKind::Erase,
        JobKind::Clean,
        JobKind::Verify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
            JobKind::Duplicate => "duplicate",
            JobKind::Inventory => "inventory",
            JobKind::Label => "label",
            JobKind::Erase => "erase",
            JobKind::Clean => "clean",
            JobKind::Verify => "verify",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the job writes a backup set (so a failed attempt leaves an
    /// incomplete one).
    pub fn writes_set(self) -> bool {
        matches!(self, JobKind::Backup | JobKind::Duplicate)
    }
}

/// Job states. A queued job may carry a waiting reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Paused,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }

    /// The job state machine:
    /// queued → running (dispatch) → completed | failed | queued (retry);
    /// queued/running ⇄ paused; any non-terminal → cancelled.
    pub fn can_become(self, to: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, to),
            (Queued, Running)
                | (Queued, Paused)
                | (Running, Completed)
                | (Running, Failed)
                | (Running, Queued)
                | (Running, Paused)
                | (Paused, Queued)
                | (Paused, Running)
                | (Paused, Failed)
                | (Queued | Running | Paused, Cancelled)
        )
    }
}

/// What a job needs besides a device of its pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaNeed {
    None,
    /// A cartridge of this media set to write to (appendable, else a
    /// recycled scratch one). Ignored on disk and dedup pools.
    Writable {
        media_set: String,
    },
    /// This cartridge (restore, verify, label, erase).
    Specific {
        barcode: String,
    },
    /// A cleaning cartridge in the drive's library.
    Cleaning,
}

impl MediaNeed {
    pub fn kind_str(&self) -> &'static str {
        match self {
            MediaNeed::None => "none",
            MediaNeed::Writable { .. } => "writable",
            MediaNeed::Specific { .. } => "specific",
            MediaNeed::Cleaning => "cleaning",
        }
    }
}

/// Where a job runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    /// Any member of the pool.
    Pool(String),
    /// This device only (inventory of a changer, cleaning of a drive).
    Device(String),
}

/// A job as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub kind: JobKind,
    pub target: Target,
    /// Higher runs first; equal priorities run in submission order.
    pub priority: i32,
    pub media: MediaNeed,
    /// The backup set a restore, duplicate or verify reads.
    pub source_set: Option<Uuid>,
    /// Attempts before the job fails (1 = no retry).
    pub max_attempts: u32,
    pub bytes_total: Option<u64>,
}

impl JobSpec {
    /// A job with default priority 50 and 3 attempts.
    pub fn new(kind: JobKind, target: Target, media: MediaNeed) -> JobSpec {
        JobSpec {
            kind,
            target,
            priority: 50,
            media,
            source_set: None,
            max_attempts: 3,
            bytes_total: None,
        }
    }

    pub fn priority(mut self, p: i32) -> JobSpec {
        self.priority = p;
        self
    }

    pub fn max_attempts(mut self, n: u32) -> JobSpec {
        self.max_attempts = n;
        self
    }
}

/// Progress of a running job.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    /// Bytes per second over the last report interval.
    pub rate_bps: Option<u64>,
    pub device: Option<String>,
    pub barcode: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub target: Target,
    pub priority: i32,
    pub state: JobState,
    /// Why a queued job does not run yet ("waiting: ...").
    pub waiting: Option<String>,
    pub media: MediaNeed,
    pub source_set: Option<Uuid>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub submitted_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub progress: Progress,
    pub error: Option<String>,
}

/// One entry of a job's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobEvent {
    pub seq: u32,
    pub at: i64,
    /// `submitted`, `started`, `progress`, `failed`, `retry`, `paused`,
    /// `resumed`, `cancelled`, `completed`, `interrupted`.
    pub kind: String,
    pub device: Option<String>,
    pub message: String,
}
