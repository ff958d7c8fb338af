-- pgbench baseline of bench/load.py: a bailleur's first worklist page as one
-- would write it by hand with the same indexes (the query of the national
-- benchmark's SQL-only baseline), without policy or journal; a random
-- département per transaction (dense), or its three largest communes (sparse).
\set i random(1, :n_deps)
SELECT dep FROM load.territories WHERE i = :i \gset
SELECT DISTINCT c.numero_unique AS numero_unique, d.id AS id, d.status, d.deposited_on, d.valid_until
  FROM dossier_communes c JOIN dossiers d ON d.id = c.dossier_id
  WHERE c.departement = :dep AND d.status = 'active' AND c.numero_unique > ''
  ORDER BY c.numero_unique LIMIT 50;
-- sparse
SELECT communes FROM load.territories WHERE i = :i \gset
SELECT DISTINCT c.numero_unique AS numero_unique, d.id AS id, d.status, d.deposited_on, d.valid_until
  FROM dossier_communes c JOIN dossiers d ON d.id = c.dossier_id
  WHERE c.commune = ANY(:communes) AND d.status = 'active' AND c.numero_unique > ''
  ORDER BY c.numero_unique LIMIT 50;
