-- Applicants sign in with the identifier and personal code of their
-- attestation (the code is stored only as an Argon2id hash), and get a
-- short-lived session token (stored only as SHA-256). Repeated failures
-- lock the identifier for a growing time. Keep in step with ../sqlite.
CREATE TABLE applicants (
    id            TEXT PRIMARY KEY,
    dossier_id    TEXT NOT NULL UNIQUE REFERENCES dossiers (id),
    identifier    TEXT NOT NULL UNIQUE,
    code_hash     TEXT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,              -- Unix milliseconds
    created_at    BIGINT NOT NULL
);

CREATE TABLE applicant_sessions (
    token_hash    BYTEA PRIMARY KEY,
    applicant_id  TEXT NOT NULL REFERENCES applicants (id),
    expires_at    BIGINT NOT NULL,     -- Unix milliseconds
    created_at    BIGINT NOT NULL
);
