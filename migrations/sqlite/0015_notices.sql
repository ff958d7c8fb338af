-- A demand's year (CCH R.441-2-7, R.441-2-8): the applicant's contact
-- details, the notices the daily pass issues, and the pass's own runs.
-- Keep in step with the other database's set.

-- The contact details are personal data: sealed under the dossier key
-- (record id = `sealed_id`), erased at purge.
CREATE TABLE dossier_contacts (
    dossier_id   TEXT PRIMARY KEY REFERENCES dossiers (id),
    sealed_id    TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- The outbox: a notice is written in the transaction of the decision that
-- causes it, then delivered (e-mail by the sender, with retries; post by an
-- agent of the registering guichet who marks the letter sent). One notice
-- per dossier, kind, validity period and channel: a pass run twice, or on
-- two replicas, issues it once.
CREATE TABLE notices (
    id               TEXT PRIMARY KEY,
    dossier_id       TEXT NOT NULL REFERENCES dossiers (id),
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),   -- the registering guichet (its letter queue)
    kind             TEXT NOT NULL CHECK (kind IN ('renewal', 'radiation', 'warning')),
    period           TEXT NOT NULL,          -- ISO date: the valid_until the notice is about
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'post')),
    issued_on        TEXT NOT NULL,          -- ISO date: the pass's day
    sealed           BLOB NOT NULL,          -- recipient and text, under the dossier key (record id = id)
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,        -- Unix ms
    claimed_until    BIGINT,                 -- a sender holds it until then
    sent_at          BIGINT,                 -- delivered (e-mail) or posted (letter)
    gave_up_at       BIGINT,                 -- the server refused it for good: no more attempts
    last_error       TEXT,                   -- never personal data: the SMTP reply class
    created_at       BIGINT NOT NULL,
    UNIQUE (dossier_id, kind, period, channel)
);
CREATE INDEX notices_unsent ON notices (channel, sent_at, next_attempt_at);
CREATE INDEX notices_by_org ON notices (organisation_id, channel, sent_at);

-- One daily pass per day across replicas: the replica that holds the
-- day's lease runs it; a lease that ran out (a killed replica) is taken
-- over, and the pass resumes (each step is idempotent).
CREATE TABLE lifecycle_runs (
    day          TEXT PRIMARY KEY,          -- ISO date
    owner        TEXT NOT NULL,
    lease_until  BIGINT NOT NULL,
    finished_at  BIGINT
);

CREATE INDEX dossiers_by_validity ON dossiers (status, valid_until);
