-- The id of the request an audit event was recorded while serving (the
-- `X-Request-Id` it answered with), chained with the other fields, so an
-- answer can be matched to its event. NULL for jobs and the CLI. Keep in
-- step with the other database's set.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
