-- Schema version 2: incidents, built from findings by the rules' group-by, threshold, reset,
-- escalation, expect and caused-by settings (rules/README.md). Documented in docs/SCHEMA.md.

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    rule_id           TEXT NOT NULL,    -- the rule the incident is about (rules.id)
    from_rule_id      TEXT NOT NULL,    -- the rule whose findings made it: rule_id itself, or
                                        -- the trigger of an escalation or expectation
    severity          TEXT NOT NULL,
    host              TEXT,
    key               TEXT NOT NULL,    -- JSON array of the group-by values: ["hsm-a1","HSM SO"]
    first_ts          TEXT,             -- ISO 8601 UTC log time of the first finding
    last_ts           TEXT,             -- ... and of the last
    count             INTEGER NOT NULL, -- findings in the incident (for an escalation: the count reached)
    state             TEXT NOT NULL,    -- open, closed, fired (an expected event that never came)
    cause_incident_id INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
    summary           TEXT NOT NULL,    -- one line, with counts, tries left, the cause
    scan_id           INTEGER REFERENCES scans(id) -- the scan that last rebuilt it
);

CREATE INDEX incidents_first_ts ON incidents(first_ts);
CREATE INDEX incidents_host_ts ON incidents(host, first_ts);
CREATE INDEX incidents_from ON incidents(from_rule_id, host);

ALTER TABLE findings ADD COLUMN group_key TEXT NOT NULL DEFAULT '[]'; -- JSON array, as incidents.key
ALTER TABLE findings ADD COLUMN incident_id INTEGER REFERENCES incidents(id) ON DELETE SET NULL;
-- Findings stored before version 2 were grouped by host, the default group-by.
UPDATE findings SET group_key = json_array(coalesce(host, ''));
CREATE INDEX findings_rule_host ON findings(rule_id, host, group_key, ts);
CREATE INDEX findings_incident ON findings(incident_id);

-- Lines that are not findings but that incidents depend on: a rule's `reset` line (a good
-- login) and the `expect` line of a derived rule (start-up after a reboot).
CREATE TABLE marks (
    id         INTEGER PRIMARY KEY,
    rule_id    TEXT NOT NULL,   -- the rule whose reset or expect pattern matched
    kind       TEXT NOT NULL,   -- reset, expect
    source_id  INTEGER NOT NULL REFERENCES sources(id),
    line       INTEGER NOT NULL,
    ts         TEXT,
    host       TEXT,
    group_key  TEXT NOT NULL,   -- JSON array; "" values match any (a reset without a role)
    event_hash INTEGER NOT NULL,
    occurrence INTEGER NOT NULL,
    UNIQUE (rule_id, kind, event_hash, occurrence)
);
CREATE INDEX marks_rule_host ON marks(rule_id, kind, host, ts);

-- (rule, host) pairs whose incidents must be rebuilt: filled as findings and marks arrive,
-- emptied by the rebuild. Persistent, so an interrupted scan is finished by the next one.
CREATE TABLE incidents_dirty (
    rule_id TEXT NOT NULL,
    host    TEXT NOT NULL,
    PRIMARY KEY (rule_id, host)
) WITHOUT ROWID;
INSERT OR IGNORE INTO incidents_dirty SELECT DISTINCT rule_id, coalesce(host, '') FROM findings;

-- The latest log time a scan saw: expectations are judged against log time, not wall-clock time.
ALTER TABLE scans ADD COLUMN last_ts TEXT;
