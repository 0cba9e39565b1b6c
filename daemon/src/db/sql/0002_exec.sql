-- reeld catalog, version 2: the executors' own tables.
-- Before this migration the executors created these tables on the fly, so
-- a catalog at version 1 may already hold them (with rows): IF NOT EXISTS
-- keeps both kinds of version-1 catalogs upgrading in place. Same portable
-- subset as 0001 (TEXT / BIGINT, explicit keys, no AUTOINCREMENT).

-- The whole-stream digest of each backup set, written when the set is
-- complete and checked by every restore and duplicate.
CREATE TABLE IF NOT EXISTS exec_set_digests (
    set_uuid  TEXT NOT NULL PRIMARY KEY REFERENCES backup_sets (uuid) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    digest    TEXT NOT NULL,
    bytes     BIGINT NOT NULL
);

-- Alerts jobs raise (a device failed under a job). Ids are assigned by
-- reeld inside the inserting transaction.
CREATE TABLE IF NOT EXISTS exec_alerts (
    id      BIGINT NOT NULL PRIMARY KEY,
    at      BIGINT NOT NULL,
    job_id  BIGINT,
    device  TEXT,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exec_alerts_by_job ON exec_alerts (job_id);
