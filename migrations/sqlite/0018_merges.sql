-- CCH R.441-2-8 (f): a number merged into another. The absorbed dossier is
-- radiated for `fusion`; its pieces moved, re-sealed, into the kept one;
-- its history stays under its own id and is shown in the kept dossier's
-- trace through this link. Keep in step with the other database's set.
CREATE TABLE dossier_merges (
    absorbed_id  TEXT PRIMARY KEY REFERENCES dossiers (id),
    kept_id      TEXT NOT NULL REFERENCES dossiers (id),
    merged_on    TEXT NOT NULL,       -- ISO date
    created_at   BIGINT NOT NULL
);
CREATE INDEX dossier_merges_by_kept ON dossier_merges (kept_id);
