-- The once-a-day traces (an agent listing a dossier in a worklist, or
-- reading its metadata) ask, for the dossiers of one request, which the
-- agent already has today's event for. Asked of the journal, that read the
-- agent's whole day on every page (PostgreSQL walked the agent's index
-- range and filtered it: page k read the events of the k - 1 pages before,
-- 47 s for a dense walk of 1,000 pages against 1.2 s for the listing).
-- Here each (dossier, agent, action, day) traced is one row, written in the
-- transaction of its event: a page looks up its own keys, whatever the day
-- and the history. The dossier leads the key: led by the day or the agent,
-- PostgreSQL again walked the agent's whole day whenever its statistics
-- said today had one row (a table analysed empty, or yesterday's figures),
-- 10 ms a page by the 200th; led by the page's dossiers, the index is the
-- only way in (0.3 ms with the same stale statistics). Past days' rows,
-- which nothing reads, are deleted once a day, most of the table then.
-- Keep in step with the other database's set.
CREATE TABLE daily_traces (
    day        BIGINT NOT NULL,  -- the UTC day's first millisecond
    agent_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    dossier_id TEXT NOT NULL,
    PRIMARY KEY (dossier_id, agent_id, action, day)
);
-- Its only reader was that lookup; every event paid for its upkeep.
DROP INDEX audit_by_agent_dossier;
