-- Schema version 7: a finding's incident is kept in a narrow table of its own, and findings
-- becomes a view with the same columns. Documented in docs/SCHEMA.md.
--
-- Up to v6 the link was findings.incident_id, written by the incident update after the
-- findings were stored: an UPDATE that rewrote every wide finding row it linked (the raw line,
-- the message, the fields), so a first scan wrote each finding twice and its commit copied the
-- whole table again through the WAL. On 775k findings (1 GiB) that was 5 s of UPDATE and 3 s
-- of commit. Writing (finding_id, incident_id) pairs instead touches a few bytes per finding.
--
-- The column cannot be dropped (it is a foreign key): the table is copied, ids, rows and
-- column order kept, as in v3.

CREATE TABLE finding_rows (
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
    group_key   TEXT NOT NULL DEFAULT '[]' -- JSON array, as incidents.key
);

-- A finding in no incident (below a threshold) has no row. Deleting either side drops the link.
CREATE TABLE finding_links (
    finding_id  INTEGER PRIMARY KEY REFERENCES finding_rows(id) ON DELETE CASCADE,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE
);

INSERT INTO finding_rows
SELECT id, source_id, line, ts, host, program, pid, rule_id, severity, message, fields, raw,
       event_hash, occurrence, group_key
FROM findings ORDER BY id;

-- A link to an incident that no longer exists is left out, as v3 did (the next rebuild of its
-- rule and host links it again).
INSERT INTO finding_links
SELECT f.id, f.incident_id FROM findings f
WHERE f.incident_id IN (SELECT id FROM incidents) ORDER BY f.id;

DROP TABLE findings;

-- Indexes keep their v6 names; all are built here, so nothing stays deferred.
CREATE UNIQUE INDEX findings_identity ON finding_rows(ts, rule_id, event_hash, occurrence);
CREATE UNIQUE INDEX findings_identity_untimed ON finding_rows(rule_id, event_hash, occurrence)
    WHERE ts IS NULL;
CREATE INDEX findings_rule_ts ON finding_rows(rule_id, ts);
CREATE INDEX findings_host_ts ON finding_rows(host, ts);
CREATE INDEX findings_source ON finding_rows(source_id);
CREATE INDEX findings_rule_host ON finding_rows(rule_id, host, ts, group_key);
CREATE INDEX findings_incident ON finding_links(incident_id);
DELETE FROM deferred_indexes;

-- What users query, with the v6 columns in their order. SQLite flattens it into the query, so
-- the indexes above serve a WHERE on the view; a WHERE on incident_id goes through
-- findings_incident.
CREATE VIEW findings AS
SELECT r.id, r.source_id, r.line, r.ts, r.host, r.program, r.pid, r.rule_id, r.severity,
       r.message, r.fields, r.raw, r.event_hash, r.occurrence, r.group_key, l.incident_id
FROM finding_rows AS r LEFT JOIN finding_links AS l ON l.finding_id = r.id;
