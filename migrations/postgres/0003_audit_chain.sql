-- Hash chain over the audit journal. Each event stores
-- hash = SHA-256(domain ‖ previous hash ‖ seq ‖ at ‖ fields); audit_head
-- holds the last seq and hash, and its row lock serialises appenders.
-- Events written before this migration (chain_start and below) are outside
-- the chain. Keep in step with ../sqlite.
ALTER TABLE audit_events ADD COLUMN hash BYTEA;

CREATE TABLE audit_head (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seq          BIGINT NOT NULL,
    hash         BYTEA NOT NULL,
    chain_start  BIGINT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, chain_start)
SELECT 1, COALESCE(MAX(seq), 0), decode(repeat('00', 32), 'hex'), COALESCE(MAX(seq), 0) FROM audit_events;
