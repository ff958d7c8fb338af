-- Rows the vault deletes (a purge one year after radiation, a merge) are
-- checked against every foreign key that points at them. Without an index
-- on the referencing column, each deleted row scans the whole referencing
-- table: on the national dataset (2.7 M piece versions at a tenth of the
-- scale), one purge batch of objects ran for minutes per statement, two
-- sequential scans of piece_versions per object, and the day's lifecycle
-- run never finished. Every such key is indexed now (vault/tests/it/
-- migrations.rs checks it for both engines).
CREATE INDEX piece_versions_by_rendition ON piece_versions (rendition_object_id) WHERE rendition_object_id IS NOT NULL;
CREATE INDEX piece_versions_by_thumbnail ON piece_versions (thumbnail_object_id) WHERE thumbnail_object_id IS NOT NULL;
CREATE INDEX upload_keys_by_version ON upload_keys (version_id);
CREATE INDEX version_marks_by_version ON version_marks (version_id);
CREATE INDEX applicant_sessions_by_applicant ON applicant_sessions (applicant_id);
CREATE INDEX scrub_findings_by_dossier ON scrub_findings (dossier_id);
