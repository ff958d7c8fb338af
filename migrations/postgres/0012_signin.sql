-- People sign in through OpenID Connect: agents with ProConnect,
-- applicants with FranceConnect. Keep in step with the other database's set.

-- An agent is invited by e-mail (stored in lower case) and bound to its
-- ProConnect subject at its first sign-in; later sign-ins find it by
-- subject alone. An invited person has no access token: its token_hash is
-- the hash of a random value nobody was shown (the column stays NOT NULL
-- UNIQUE, as machine clients need it).
ALTER TABLE agents ADD COLUMN email TEXT;
ALTER TABLE agents ADD COLUMN proconnect_sub TEXT;
CREATE UNIQUE INDEX agents_email ON agents (email);
CREATE UNIQUE INDEX agents_proconnect_sub ON agents (proconnect_sub);

-- SIRETs an organisation accepts besides those of its own SIREN (a CCAS
-- whose agents sign in under the commune's), space-separated.
ALTER TABLE organisations ADD COLUMN accepted_sirets TEXT;

-- How a page session was opened: its provider (NULL: a pasted token), the
-- level (acr) and methods (amr, space-separated) the policy context sees,
-- and the id_token, which is the logout's hint.
ALTER TABLE agent_sessions ADD COLUMN provider TEXT;
ALTER TABLE agent_sessions ADD COLUMN acr TEXT;
ALTER TABLE agent_sessions ADD COLUMN amr TEXT;
ALTER TABLE agent_sessions ADD COLUMN id_token TEXT;

-- An applicant's FranceConnect identity, linked once: only the SHA-256 of
-- the subject FranceConnect gives this vault (matching needs no more).
ALTER TABLE applicants ADD COLUMN franceconnect_sub_hash BYTEA;
ALTER TABLE applicants ADD COLUMN franceconnect_linked_at BIGINT;
CREATE UNIQUE INDEX applicants_franceconnect ON applicants (franceconnect_sub_hash);
ALTER TABLE applicant_sessions ADD COLUMN id_token TEXT;

-- Sign-ins in progress. The browser holds only a random handle (its
-- SHA-256 here); the state, nonce and PKCE verifier stay on this side and
-- are used once: the callback deletes the row it reads.
CREATE TABLE signin_attempts (
    handle_hash  BYTEA PRIMARY KEY,
    provider     TEXT NOT NULL CHECK (provider IN ('proconnect', 'franceconnect')),
    state        TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    verifier     TEXT,
    expires_at   BIGINT NOT NULL     -- Unix milliseconds
);

-- A FranceConnect identity not linked yet, waiting (ten minutes) for the
-- applicant to give the identifier and code of their attestation; the
-- browser holds only a random handle (its SHA-256 here).
CREATE TABLE franceconnect_pending (
    handle_hash  BYTEA PRIMARY KEY,
    sub_hash     BYTEA NOT NULL,
    id_token     TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
