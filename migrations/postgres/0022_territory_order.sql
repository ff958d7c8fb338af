-- The worklist walks a territory in numéro unique order: each wished commune
-- carries its dossier's number (it never changes), indexed after the commune
-- and after its département, so a page is a range scan of the territory's
-- own rows instead of a walk of every dossier before it. The plain indexes
-- on commune and département are prefixes of the new ones.
ALTER TABLE dossier_communes ADD COLUMN numero_unique TEXT;
UPDATE dossier_communes c SET numero_unique = d.numero_unique FROM dossiers d WHERE d.id = c.dossier_id;
ALTER TABLE dossier_communes ALTER COLUMN numero_unique SET NOT NULL;
CREATE INDEX dossier_communes_by_commune_nu ON dossier_communes (commune, numero_unique);
CREATE INDEX dossier_communes_by_departement_nu ON dossier_communes (departement, numero_unique);
DROP INDEX dossier_communes_by_commune;
DROP INDEX dossier_communes_by_departement;

-- The worklist's daily trace asks, for the dossiers of one page, which the
-- agent already listed today: looked up by agent, action and dossier, a
-- page reads its own few events, not every event of the agent's day (a walk
-- of 2,000 pages read the events of all the pages before, on each page).
DROP INDEX audit_by_agent;
CREATE INDEX audit_by_agent_dossier ON audit_events (agent_id, action, dossier_id, at);
