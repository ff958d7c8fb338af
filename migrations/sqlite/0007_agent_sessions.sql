-- Agents signed in to the web pages get a session of their own (8 hours,
-- token stored only as SHA-256), so the browser's cookie never holds the
-- agent's long-lived access token and signing out ends it. Keep in step
-- with the other database's set.
CREATE TABLE agent_sessions (
    token_hash  BLOB PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES agents (id),
    expires_at  BIGINT NOT NULL,     -- Unix milliseconds
    created_at  BIGINT NOT NULL
);
