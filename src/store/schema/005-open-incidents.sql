-- Schema version 5: what an update of the incidents needs when the input pauses (scan
-- --follow, a pipe going quiet) and the database is large. Documented in docs/SCHEMA.md.
--
-- Every update judges the open incidents against the log clock (src/incident.c,
-- rejudge_open): a group closes once the clock is past its gap, an expectation fires once it
-- is past its window. The partial index holds the few open incidents, not the history.
CREATE INDEX incidents_open ON incidents(rule_id) WHERE state = 'open';

-- After the first pause a scan marks the groups (keys) that got a finding, not their whole
-- rule and host: a live line rebuilds its group, not every group of an HSM since the
-- database began. key '' marks the whole pair, as every row of version 4 did.
CREATE TABLE incidents_dirty_v5 (
    rule_id TEXT NOT NULL,
    host    TEXT NOT NULL,
    key     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (rule_id, host, key)
) WITHOUT ROWID;
INSERT INTO incidents_dirty_v5(rule_id, host) SELECT rule_id, host FROM incidents_dirty;
DROP TABLE incidents_dirty;
ALTER TABLE incidents_dirty_v5 RENAME TO incidents_dirty;

-- A group's incidents are dropped by key.
DROP INDEX incidents_from;
CREATE INDEX incidents_from ON incidents(from_rule_id, host, key);

-- The effects whose cause was dropped by an update are linked again (apply_links).
CREATE INDEX incidents_cause ON incidents(cause_incident_id) WHERE cause_incident_id IS NOT NULL;
