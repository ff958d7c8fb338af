-- Idempotency keys of uploads (header `Idempotency-Key`): a client that
-- retries an upload whose answer it lost (scanner-ingest's durable queue)
-- gets the version the first attempt filed, never a second one. Keep in
-- step with the other database's set.
CREATE TABLE upload_keys (
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    idem_key    TEXT NOT NULL,
    version_id  TEXT NOT NULL REFERENCES piece_versions (id),
    created_at  BIGINT NOT NULL,     -- Unix milliseconds
    PRIMARY KEY (dossier_id, idem_key)
);
