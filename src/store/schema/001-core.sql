-- Schema version 1: sources, findings, rules, scans.
-- Documented in docs/SCHEMA.md; every change is a new numbered file, never an edit here.

CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,              -- ISO 8601 UTC, wall-clock time of the run
    finished_at TEXT,                       -- NULL while running or after a crash
    command     TEXT NOT NULL,              -- the command line, for history
    version     TEXT NOT NULL,              -- hsmlog version that wrote the rows
    lines       INTEGER NOT NULL DEFAULT 0,
    findings    INTEGER NOT NULL DEFAULT 0, -- findings new to the database
    status      TEXT NOT NULL DEFAULT 'running' -- running, ok, partial, interrupted
);

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    scan_id         INTEGER NOT NULL REFERENCES scans(id),
    parent_id       INTEGER REFERENCES sources(id), -- the archive a member came from
    path            TEXT NOT NULL,    -- "messages", "<stdin>", "bundle.tgz!var/log/messages.1.gz"
    kind            TEXT NOT NULL,    -- text, gzip, tar, zip, ... (what the content was)
    size            INTEGER,          -- size on disk or in the archive; NULL when unknown
    mtime           TEXT,             -- modification time, ISO 8601 UTC; NULL when unknown
    bytes           INTEGER NOT NULL DEFAULT 0, -- bytes read after decompression
    lines           INTEGER NOT NULL DEFAULT 0,
    truncated_lines INTEGER NOT NULL DEFAULT 0, -- lines cut to the maximum line length
    findings        INTEGER NOT NULL DEFAULT 0, -- findings this source added to the database
    status          TEXT NOT NULL,    -- reading, ok, partial, error, skipped
    error           TEXT              -- why status is not ok
);

CREATE TABLE rules (
    id       TEXT PRIMARY KEY,   -- "ntls.unknown-ca"
    severity TEXT NOT NULL,      -- info, notice, warning, error, critical
    summary  TEXT NOT NULL,
    remedy   TEXT NOT NULL,
    refs     TEXT,               -- references, one per line
    file     TEXT NOT NULL       -- rule file it was loaded from
);

CREATE TABLE findings (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES sources(id),
    line       INTEGER NOT NULL,          -- 1-based line number in the source
    ts         TEXT,                      -- "2026-11-28T09:14:03.000000Z", NULL without one
    host       TEXT,
    program    TEXT,
    pid        INTEGER,
    rule_id    TEXT NOT NULL,             -- rules.id (kept even if the rule is later removed)
    severity   TEXT NOT NULL,
    message    TEXT NOT NULL,             -- text after the header, valid UTF-8
    fields     TEXT NOT NULL DEFAULT '{}', -- JSON object: named captures + Luna fields
    raw        TEXT NOT NULL,             -- the whole line as read
    event_hash INTEGER NOT NULL,          -- identity of the event (see docs/SCHEMA.md)
    occurrence INTEGER NOT NULL,          -- 1 for the first identical event in a scan, 2 ...
    UNIQUE (rule_id, event_hash, occurrence)
);

CREATE INDEX findings_ts ON findings(ts);
CREATE INDEX findings_rule_ts ON findings(rule_id, ts);
CREATE INDEX findings_host_ts ON findings(host, ts);
CREATE INDEX findings_source ON findings(source_id);
