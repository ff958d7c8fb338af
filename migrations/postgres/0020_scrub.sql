-- The scrubber (jobs/scrub.rs) re-reads every stored object over a cycle
-- and records here what failed: one row per object, kept until the
-- operator has dealt with it (`dnu-vault check` lists them with their
-- dossier and piece). Keep in step with the other database's set.
CREATE TABLE scrub_findings (
    object_id   TEXT PRIMARY KEY,
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    piece_id    TEXT NOT NULL,
    version_id  TEXT NOT NULL,
    part        TEXT NOT NULL CHECK (part IN ('original', 'rendition', 'thumbnail')),
    problem     TEXT NOT NULL CHECK (problem IN ('missing', 'wrong_length', 'corrupt')),
    found_at    BIGINT NOT NULL
);

-- Where the cycle stands, shared by the replicas: the last dossier
-- scrubbed ('' when the cycle starts) and when the cycle began. A replica
-- claims the next dossier by moving the cursor from what it read (compare
-- and set), so two replicas never scrub the same one in a cycle.
CREATE TABLE scrub_progress (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    cursor            TEXT NOT NULL,
    cycle_started_at  BIGINT NOT NULL
);
INSERT INTO scrub_progress (id, cursor, cycle_started_at) VALUES (1, '', 0);
