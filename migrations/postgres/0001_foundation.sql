-- DNU Vault foundation schema (PostgreSQL). Keep in step with ../sqlite.
-- Times are Unix milliseconds (BIGINT); dates are ISO 8601 'YYYY-MM-DD' text;
-- ids are UUID text. Nothing personal is stored in clear beyond what the
-- domain needs (communes, dates); file names and hashes are sealed.

CREATE TABLE organisations (
    id            TEXT PRIMARY KEY,
    siren         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('guichet', 'bailleur', 'reservataire', 'etat', 'gestionnaire')),
    registering   BIGINT NOT NULL CHECK (registering IN (0, 1)),  -- 0/1: the Any driver has no portable boolean
    guichet_code  TEXT UNIQUE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE organisation_territories (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    code            TEXT NOT NULL,
    PRIMARY KEY (organisation_id, code)
);

CREATE TABLE agents (
    id               TEXT PRIMARY KEY,
    organisation_id  TEXT NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    disabled_at      BIGINT,
    created_at       BIGINT NOT NULL
);

CREATE TABLE dossiers (
    id             TEXT PRIMARY KEY,
    numero_unique  TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('active', 'radiated')),
    registered_by  TEXT NOT NULL REFERENCES organisations (id),
    deposited_on   TEXT NOT NULL,
    valid_until    TEXT NOT NULL,
    radiated_on    TEXT,
    shredded_at    BIGINT,
    created_at     BIGINT NOT NULL
);

CREATE TABLE dossier_communes (
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    commune     TEXT NOT NULL,
    PRIMARY KEY (dossier_id, commune)
);
CREATE INDEX dossier_communes_by_commune ON dossier_communes (commune);

-- The dossier key, wrapped by one master key version. Deleting the row is
-- crypto-shredding: every object of the dossier becomes unreadable.
CREATE TABLE dossier_keys (
    dossier_id   TEXT PRIMARY KEY REFERENCES dossiers (id),
    kek_version  BIGINT NOT NULL,
    wrapped      BYTEA NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX dossier_keys_by_version ON dossier_keys (kek_version);

-- Last sequence number issued per territory and month (numéros uniques).
CREATE TABLE nu_sequences (
    prefix  TEXT PRIMARY KEY,
    last    BIGINT NOT NULL
);

-- Every object the store holds on purpose. An object in the store with no
-- row here is an orphan from an interrupted upload (collected by `gc`).
CREATE TABLE objects (
    id          TEXT PRIMARY KEY,
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    role        TEXT NOT NULL,
    stored_len  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX objects_by_dossier ON objects (dossier_id);

CREATE TABLE pieces (
    id           TEXT PRIMARY KEY,
    dossier_id   TEXT NOT NULL REFERENCES dossiers (id),
    kind         TEXT NOT NULL,
    member       TEXT,
    valid_until  TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX pieces_by_dossier ON pieces (dossier_id);

CREATE TABLE piece_versions (
    id                TEXT PRIMARY KEY,
    piece_id          TEXT NOT NULL REFERENCES pieces (id),
    dossier_id        TEXT NOT NULL REFERENCES dossiers (id),
    number            BIGINT NOT NULL,
    object_id         TEXT NOT NULL UNIQUE REFERENCES objects (id),
    fingerprint       BYTEA NOT NULL,
    size_bytes        BIGINT NOT NULL,
    media_type        TEXT NOT NULL,
    sealed_meta       BYTEA NOT NULL,
    uploaded_by_agent TEXT REFERENCES agents (id),
    uploaded_by_org   TEXT REFERENCES organisations (id),
    created_at        BIGINT NOT NULL,
    UNIQUE (piece_id, number),
    UNIQUE (dossier_id, fingerprint)
);

-- Audit journal (hash chain and checkpoints come with the policy work).
CREATE TABLE audit_events (
    seq              BIGSERIAL PRIMARY KEY,
    at               BIGINT NOT NULL,
    agent_id         TEXT,
    organisation_id  TEXT,
    action           TEXT NOT NULL,
    dossier_id       TEXT,
    piece_id         TEXT,
    version_id       TEXT,
    outcome          TEXT NOT NULL
);
CREATE INDEX audit_events_by_dossier ON audit_events (dossier_id, seq);
