-- Hash chain over the audit journal. Each event stores
-- hash = SHA-256(domain ‖ previous hash ‖ seq ‖ at ‖ fields); audit_head
-- holds the last seq and hash, and its row lock serialises appenders.
-- Events written before this migration (chain_start and below) are outside
-- the chain. Keep in step with ../postgres.
ALTER TABLE audit_events ADD COLUMN hash BLOB;

CREATE TABLE audit_head (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seq          BIGINT NOT NULL,
    hash         BLOB NOT NULL,
    chain_start  BIGINT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, chain_start)
SELECT 1, COALESCE(MAX(seq), 0), zeroblob(32), COALESCE(MAX(seq), 0) FROM audit_events;
