-- Explicit, time-limited, purpose-bound grants of an organisation on one
-- dossier, beyond what the territorial rules give; revocable; visible to
-- the applicant. Keep in step with ../postgres.
CREATE TABLE grants (
    id               TEXT PRIMARY KEY,
    dossier_id       TEXT NOT NULL REFERENCES dossiers (id),
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    purpose          TEXT NOT NULL,
    expires_at       BIGINT NOT NULL,   -- Unix seconds
    created_by_agent TEXT REFERENCES agents (id),
    created_at       BIGINT NOT NULL,   -- Unix milliseconds
    revoked_at       BIGINT
);
CREATE INDEX grants_by_dossier_org ON grants (dossier_id, organisation_id);
