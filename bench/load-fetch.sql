-- pgbench baseline of bench/load.py: the reads `GET /api/v1/dossiers/{nu}`
-- makes, in the order it makes them, as PostgreSQL's statement log showed
-- them for one fetch (log_min_duration_statement = 0), each its own
-- prepared statement as sqlx sends them (the caller's and the registering
-- organisation's lookups rewritten as the vault's joins since); a random
-- sampled dossier and one
-- of its département's agents per transaction. Not here: the policy
-- decision, unwrapping the key and opening the sealed metadata, and the
-- daily trace's commit when the agent had not read the dossier today.
\set i random(1, :n_nus)
SELECT nu, token_hash FROM load.nus WHERE i = :i \gset
SELECT a.id AS agent, a.name AS agent_name, a.disabled_at, a.scanner, o.id AS org, o.siren, o.name, o.kind,
  o.registering, o.guichet_code, t.code AS territory_code FROM organisations o
  LEFT JOIN organisation_territories t ON t.organisation_id = o.id
  JOIN agents a ON a.organisation_id = o.id WHERE a.token_hash = :token_hash ORDER BY territory_code \aset
SELECT id AS dossier, registered_by, (SELECT string_agg(commune, ',' ORDER BY commune) FROM dossier_communes c
  WHERE c.dossier_id = dossiers.id) AS communes, g.* FROM dossiers LEFT JOIN (SELECT id AS grant_id,
  dossier_id AS grant_dossier_id, organisation_id AS grant_organisation_id, purpose AS grant_purpose,
  expires_at AS grant_expires_at, created_by_agent AS grant_created_by_agent, created_at AS grant_created_at,
  revoked_at AS grant_revoked_at, note AS grant_note FROM grants WHERE organisation_id = :org) g
  ON g.grant_dossier_id = dossiers.id WHERE numero_unique = :nu ORDER BY g.grant_created_at DESC, g.grant_id \gset
SELECT id, dossier_id, kind, member, member_sealed, valid_until, created_at FROM pieces
  WHERE dossier_id = :dossier ORDER BY created_at, id;
SELECT kek_version, wrapped FROM dossier_keys WHERE dossier_id = :dossier;
SELECT id, version_id, mark, sealed_reason, marked_by_org, created_at FROM version_marks
  WHERE dossier_id = :dossier ORDER BY created_at, id;
SELECT id, piece_id, dossier_id, number, object_id, fingerprint, size_bytes, media_type, sealed_meta,
  uploaded_by_agent, uploaded_by_org, created_at, pages, rendition_object_id, rendition_size,
  thumbnail_object_id, thumbnail_size FROM piece_versions WHERE dossier_id = :dossier ORDER BY created_at;
SELECT kind FROM dossier_expected_kinds WHERE dossier_id = :dossier ORDER BY kind;
SELECT o.id, o.siren, o.name, o.kind, o.registering, o.guichet_code, t.code AS territory_code
  FROM organisations o LEFT JOIN organisation_territories t ON t.organisation_id = o.id
  WHERE o.id = :registered_by ORDER BY territory_code;
SELECT sealed_id, sealed FROM dossier_contacts WHERE dossier_id = :dossier;
SELECT dossier_id FROM daily_traces WHERE dossier_id IN (:dossier) AND agent_id = :agent
  AND action = 'dossier.read' AND day = :since;
