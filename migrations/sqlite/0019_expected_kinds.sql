-- The pieces an applicant's situation calls for, beyond the identity piece
-- every dossier needs (CCH R.441-2-3): declared by the applicant or their
-- guichet, one row per catalogue kind. A dossier is complete when each of
-- these, and the identity piece, is present and still counts. The kinds
-- are catalogue codes, as `pieces.kind` holds them. Keep in step with the
-- other database's set.
CREATE TABLE dossier_expected_kinds (
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    kind        TEXT NOT NULL,
    PRIMARY KEY (dossier_id, kind)
);
