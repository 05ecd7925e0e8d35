-- Schema version 3: every findings index ordered by time within its prefix. Documented in
-- docs/SCHEMA.md.
--
-- Two version 2 indexes were keyed at random, so that every insert landed on a random page of
-- a large index, which dominated storing many findings:
-- * the identity, version 1's UNIQUE (rule_id, event_hash, occurrence). A timed event's hash
--   already includes its time, so (ts, rule_id, event_hash, occurrence) is the same identity,
--   and since logs arrive about in time order its inserts land on the last pages. Untimed
--   findings keep the old key in a partial index. The new index starts with ts, so it also
--   serves time ranges and replaces findings_ts;
-- * findings_rule_host (rule_id, host, group_key, ts), whose group_key is a client address for
--   per-connection incidents. It becomes (rule_id, host, ts, group_key); the incident rebuild
--   sorts a (rule, host) by key itself (src/incident.c).
-- A UNIQUE table constraint cannot be dropped: the table is copied (ids, rows and column order
-- kept) and renamed.

CREATE TABLE findings_v3 (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id),
    line        INTEGER NOT NULL,          -- 1-based line number in the source
    ts          TEXT,                      -- "2026-11-28T09:14:03.000000Z", NULL without one
    host        TEXT,
    program     TEXT,
    pid         INTEGER,
    rule_id     TEXT NOT NULL,             -- rules.id (kept even if the rule is later removed)
    severity    TEXT NOT NULL,
    message     TEXT NOT NULL,             -- text after the header, valid UTF-8
    fields      TEXT NOT NULL DEFAULT '{}', -- JSON object: named captures + Luna fields
    raw         TEXT NOT NULL,             -- the whole line as read
    event_hash  INTEGER NOT NULL,          -- identity of the event (see docs/SCHEMA.md)
    occurrence  INTEGER NOT NULL,          -- 1 for the first identical event in a source, 2 ...
    group_key   TEXT NOT NULL DEFAULT '[]', -- JSON array, as incidents.key
    incident_id INTEGER REFERENCES incidents(id) ON DELETE SET NULL
);

-- A link to an incident that no longer exists would fail the foreign key: copy it as NULL
-- (the next rebuild of its rule and host links it again).
INSERT INTO findings_v3
SELECT f.id, f.source_id, f.line, f.ts, f.host, f.program, f.pid, f.rule_id, f.severity,
       f.message, f.fields, f.raw, f.event_hash, f.occurrence, f.group_key,
       (SELECT i.id FROM incidents i WHERE i.id = f.incident_id)
FROM findings f ORDER BY f.id;

DROP TABLE findings;
ALTER TABLE findings_v3 RENAME TO findings;

CREATE UNIQUE INDEX findings_identity ON findings(ts, rule_id, event_hash, occurrence);
CREATE UNIQUE INDEX findings_identity_untimed ON findings(rule_id, event_hash, occurrence)
    WHERE ts IS NULL;
CREATE INDEX findings_rule_ts ON findings(rule_id, ts);
CREATE INDEX findings_host_ts ON findings(host, ts);
CREATE INDEX findings_source ON findings(source_id);
CREATE INDEX findings_rule_host ON findings(rule_id, host, ts, group_key);
CREATE INDEX findings_incident ON findings(incident_id);
