-- The once-a-day traces (an agent listing a dossier in a worklist, or
-- reading its metadata) ask, for the dossiers of one request, which the
-- agent already has today's event for. Asked of the journal, that read the
-- agent's whole day on every page (PostgreSQL walked the agent's index
-- range and filtered it: page k read the events of the k - 1 pages before,
-- 47 s for a dense walk of 1,000 pages against 1.2 s for the listing).
-- Here each (day, agent, action, dossier) traced is one row, written in the
-- transaction of its event: a page looks up its own keys, whatever the day
-- and the history. The day leads the key so the rows of past days, which
-- nothing reads, are deleted as a range. Keep in step with the other
-- database's set.
CREATE TABLE daily_traces (
    day        BIGINT NOT NULL,  -- the UTC day's first millisecond
    agent_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    dossier_id TEXT NOT NULL,
    PRIMARY KEY (day, agent_id, action, dossier_id)
);
-- Its only reader was that lookup; every event paid for its upkeep.
DROP INDEX audit_by_agent_dossier;
