-- A grant's purpose is now one of the closed list of finalities
-- (`Purpose`), which the policy requires the grantee's request to carry;
-- what was typed before ("CAL du 12 décembre") moves to `note`, and such a
-- grant keeps the partners' usual finality, instruction. `grantee` names
-- the organisation in the journal's grant.create and grant.revoke events.
-- Keep in step with the other database's set.
ALTER TABLE grants ADD COLUMN note TEXT;
UPDATE grants SET note = purpose, purpose = 'instruction'
 WHERE purpose NOT IN ('instruction', 'attribution', 'dalo', 'accompagnement', 'controle');
ALTER TABLE audit_events ADD COLUMN grantee TEXT;
-- The worklist's daily trace looks up an agent's events of the day.
CREATE INDEX audit_by_agent ON audit_events (agent_id, action, at);
