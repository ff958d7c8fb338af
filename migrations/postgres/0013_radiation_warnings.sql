-- A demand is radiated for (c) no answer to a letter, or (d) irrecevabilité,
-- only one month after the applicant was warned (CCH R.441-2-8). A warning
-- stays recorded; an answer from the applicant (sign-in, upload, renewal)
-- cancels a pending (c) warning. Keep in step with the other database's set.
CREATE TABLE radiation_warnings (
    id            TEXT PRIMARY KEY,
    dossier_id    TEXT NOT NULL REFERENCES dossiers (id),
    reason        TEXT NOT NULL CHECK (reason IN ('sans_reponse', 'irrecevabilite')),
    warned_on     TEXT NOT NULL,       -- ISO date
    cancelled_at  BIGINT,              -- Unix milliseconds
    created_at    BIGINT NOT NULL
);
CREATE INDEX radiation_warnings_by_dossier ON radiation_warnings (dossier_id);
