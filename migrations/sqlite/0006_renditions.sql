-- Safe intake: each version accepted since then has a sanitised rendition
-- (a PDF rebuilt from pixels) and a first-page thumbnail, both encrypted
-- objects of the dossier like the original. Versions stored before safe
-- intake have none (NULL): they are served as originals only.
ALTER TABLE piece_versions ADD COLUMN pages BIGINT;
ALTER TABLE piece_versions ADD COLUMN rendition_object_id TEXT REFERENCES objects (id);
ALTER TABLE piece_versions ADD COLUMN rendition_size BIGINT;
ALTER TABLE piece_versions ADD COLUMN thumbnail_object_id TEXT REFERENCES objects (id);
ALTER TABLE piece_versions ADD COLUMN thumbnail_size BIGINT;
