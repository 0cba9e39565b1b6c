-- reeld catalog, version 1.
-- Portable subset (SQLite now, PostgreSQL later): TEXT / INTEGER / BIGINT
-- only, explicit foreign keys, CHECK lists instead of enum types, no
-- AUTOINCREMENT or SERIAL (numeric ids are assigned by reeld inside the
-- inserting transaction). Timestamps are BIGINT unix seconds (UTC).

CREATE TABLE daemon_epochs (
    epoch      BIGINT NOT NULL PRIMARY KEY,
    started_at BIGINT NOT NULL,
    pid        BIGINT NOT NULL
);

CREATE TABLE devices (
    id         TEXT NOT NULL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('tape_drive', 'changer', 'disk_storage', 'dedup_store')),
    generation INTEGER,
    library    TEXT,
    health     TEXT NOT NULL CHECK (health IN ('online', 'offline', 'down', 'failed')),
    max_jobs   INTEGER NOT NULL CHECK (max_jobs >= 1),
    jobs_run   BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pools (
    name           TEXT NOT NULL PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('tape_drive', 'disk_storage', 'dedup_store')),
    waiting_reason TEXT
);

CREATE TABLE pool_members (
    pool   TEXT NOT NULL REFERENCES pools (name) ON DELETE CASCADE,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (pool, device)
);
CREATE INDEX pool_members_device ON pool_members (device);

CREATE TABLE media_sets (
    name             TEXT NOT NULL PRIMARY KEY,
    media_type       TEXT,
    append_secs      BIGINT NOT NULL CHECK (append_secs >= 0),
    protect_secs     BIGINT NOT NULL CHECK (protect_secs >= 0),
    current_uuid     TEXT,
    current_started  BIGINT
);

CREATE TABLE barcode_rules (
    prefix     TEXT NOT NULL PRIMARY KEY,
    media_type TEXT NOT NULL,
    media_set  TEXT REFERENCES media_sets (name),
    cleaning   INTEGER NOT NULL DEFAULT 0 CHECK (cleaning IN (0, 1))
);

CREATE TABLE media (
    barcode          TEXT NOT NULL PRIMARY KEY,
    label_uuid       TEXT UNIQUE,
    media_type       TEXT NOT NULL,
    generation       INTEGER,
    library          TEXT,
    location_kind    TEXT NOT NULL CHECK (location_kind IN ('slot', 'drive', 'mail_slot', 'offline')),
    location_element INTEGER,
    location_drive   TEXT REFERENCES devices (id),
    state            TEXT NOT NULL CHECK (state IN ('scratch', 'allocated', 'full', 'retired', 'cleaning', 'foreign')),
    media_set        TEXT REFERENCES media_sets (name),
    set_uuid         TEXT,
    set_seq          INTEGER,
    allocated_at     BIGINT,
    first_write      BIGINT,
    last_write       BIGINT,
    protect_until    BIGINT,
    bytes_written    BIGINT NOT NULL DEFAULT 0,
    mount_count      BIGINT NOT NULL DEFAULT 0,
    read_errors      BIGINT NOT NULL DEFAULT 0,
    write_errors     BIGINT NOT NULL DEFAULT 0,
    imported_at      BIGINT NOT NULL,
    UNIQUE (set_uuid, set_seq)
);
CREATE INDEX media_by_library ON media (library, state);

CREATE TABLE jobs (
    id             BIGINT NOT NULL PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('backup', 'restore', 'duplicate', 'inventory', 'label', 'erase', 'clean', 'verify')),
    pool           TEXT REFERENCES pools (name),
    pinned_device  TEXT REFERENCES devices (id),
    priority       INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    paused_from    TEXT,
    waiting_reason TEXT,
    media_need     TEXT NOT NULL CHECK (media_need IN ('none', 'writable', 'specific', 'cleaning')),
    media_set      TEXT REFERENCES media_sets (name),
    media_barcode  TEXT,
    source_set     TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL CHECK (max_attempts >= 1),
    submitted_at   BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    device         TEXT,
    barcode        TEXT,
    bytes_done     BIGINT NOT NULL DEFAULT 0,
    bytes_total    BIGINT,
    rate_bps       BIGINT,
    error          TEXT,
    CHECK (pool IS NOT NULL OR pinned_device IS NOT NULL)
);
CREATE INDEX jobs_queue ON jobs (state, pool, priority DESC, id);

CREATE TABLE job_events (
    job_id  BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    device  TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE job_exclusions (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, device)
);

-- Ownership: one row per held resource unit. The primary key is what makes
-- "two jobs on one drive or cartridge" impossible; a drive or cartridge has
-- the single unit 0, a disk storage max_jobs units.
CREATE TABLE leases (
    resource_kind TEXT NOT NULL CHECK (resource_kind IN ('device', 'slot', 'cartridge')),
    resource      TEXT NOT NULL,
    unit          INTEGER NOT NULL CHECK (unit >= 0),
    job_id        BIGINT NOT NULL REFERENCES jobs (id),
    epoch         BIGINT NOT NULL REFERENCES daemon_epochs (epoch),
    acquired_at   BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (resource_kind, resource, unit),
    UNIQUE (resource_kind, resource, job_id)
);
CREATE INDEX leases_by_job ON leases (job_id);

CREATE TABLE backup_sets (
    uuid         TEXT NOT NULL PRIMARY KEY,
    job_id       BIGINT REFERENCES jobs (id),
    pool         TEXT,
    media_set    TEXT,
    state        TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'incomplete')),
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    bytes        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX backup_sets_by_job ON backup_sets (job_id);

CREATE TABLE set_pieces (
    set_uuid    TEXT NOT NULL REFERENCES backup_sets (uuid) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('tape', 'disk', 'dedup')),
    barcode     TEXT REFERENCES media (barcode),
    file_number BIGINT,
    first_block BIGINT,
    last_block  BIGINT,
    container   TEXT,
    dedup_index TEXT,
    bytes       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (set_uuid, seq)
);
