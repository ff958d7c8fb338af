-- One year after its radiation a dossier is purged (décret 2017-917 art.
-- 4): its key shredded, its objects and personal metadata deleted. The row
-- stays as a tombstone (internal id, numéro unique, dates, radiation
-- reason) so that the number answers 410 Gone and statistics hold. Keep in
-- step with the other database's set.
ALTER TABLE dossiers ADD COLUMN purged_on TEXT;      -- ISO date
