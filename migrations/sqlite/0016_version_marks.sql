-- An agent marks a version of a piece inexploitable (unreadable), hors
-- périmètre (not what was asked) or obsolète (outdated), with a short
-- reason: the national system's practice, a piece is marked, never
-- deleted. The applicant sees the mark and is asked for a new piece. The
-- reason may name people: sealed under the dossier key (record id = id).
-- Keep in step with the other database's set.
CREATE TABLE version_marks (
    id               TEXT PRIMARY KEY,
    dossier_id       TEXT NOT NULL REFERENCES dossiers (id),
    version_id       TEXT NOT NULL REFERENCES piece_versions (id),
    mark             TEXT NOT NULL CHECK (mark IN ('inexploitable', 'hors_perimetre', 'obsolete')),
    sealed_reason    BLOB NOT NULL,
    marked_by_agent  TEXT,
    marked_by_org    TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX version_marks_by_dossier ON version_marks (dossier_id);
