-- The worklist narrows its candidates in SQL to what the policy set's
-- permits can reach (territory, grants, own dossier): the département of
-- each wished commune is kept beside it so a département-level territory
-- is an indexed lookup. Overseas communes (97x) have a 3-character
-- département, all others 2 (2A/2B included).
ALTER TABLE dossier_communes ADD COLUMN departement TEXT NOT NULL DEFAULT '';
UPDATE dossier_communes
   SET departement = CASE WHEN substr(commune, 1, 2) = '97' THEN substr(commune, 1, 3) ELSE substr(commune, 1, 2) END;
CREATE INDEX dossier_communes_by_departement ON dossier_communes (departement);
CREATE INDEX grants_by_org ON grants (organisation_id);

-- Why an agent asked (a closed list, see vault/src/domain/purpose.rs): shown
-- to the applicant in the trace. Hashed into the chain only when present,
-- so events recorded before this column keep their hashes.
ALTER TABLE audit_events ADD COLUMN purpose TEXT;

-- Why a dossier was radiated (a closed list: attribution, renonciation,
-- non_renouvellement, irrecevabilite, autre); its purge date is one year
-- after radiated_on (décret 2017-917).
ALTER TABLE dossiers ADD COLUMN radiation_reason TEXT;
