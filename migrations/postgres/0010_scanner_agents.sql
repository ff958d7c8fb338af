-- Agents that are a guichet's scanning workstation (scanner-ingest): only
-- they may file a piece with scan provenance (where, when and from which
-- raw images it was scanned), which no person's upload can then claim.
-- Keep in step with the other database's set.
ALTER TABLE agents ADD COLUMN scanner BIGINT NOT NULL DEFAULT 0 CHECK (scanner IN (0, 1));
