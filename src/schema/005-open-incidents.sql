-- Schema version 5: an index of the open incidents. Documented in docs/SCHEMA.md.
--
-- Every update judges the open incidents against the log clock (src/incident.c,
-- rejudge_open): a group closes once the clock is past its gap, an expectation fires once it
-- is past its window. With --follow that happens at every pause of the input; the partial
-- index holds the few open incidents, not the history.
CREATE INDEX incidents_open ON incidents(rule_id) WHERE state = 'open';
