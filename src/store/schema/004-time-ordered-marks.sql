-- Schema version 4: the identity of marks ordered by time, as version 3 did for findings.
-- Documented in docs/SCHEMA.md.
--
-- Version 2's UNIQUE (rule_id, kind, event_hash, occurrence) is keyed at random. A reset
-- pattern can match a routine line (every "C_Login returned CKR_OK" of a client), so a log
-- can hold millions of marks, and each insert landed on a random page of that index: 600,000
-- good logins took 9 s, 2 million 42 s. (ts, rule_id, kind, event_hash, occurrence) is the
-- same identity for a timed line (its hash includes its time) and takes inserts on its last
-- pages; untimed marks keep the old key in a partial index. A UNIQUE table constraint cannot
-- be dropped: the table is copied (ids, rows and column order kept) and renamed.

CREATE TABLE marks_v4 (
    id         INTEGER PRIMARY KEY,
    rule_id    TEXT NOT NULL,   -- the rule whose reset or expect pattern matched
    kind       TEXT NOT NULL,   -- reset, expect
    source_id  INTEGER NOT NULL REFERENCES sources(id),
    line       INTEGER NOT NULL,
    ts         TEXT,
    host       TEXT,
    group_key  TEXT NOT NULL,   -- JSON array; "" values match any (a reset without a role)
    event_hash INTEGER NOT NULL,
    occurrence INTEGER NOT NULL
);

INSERT INTO marks_v4 SELECT id, rule_id, kind, source_id, line, ts, host, group_key, event_hash,
                            occurrence
FROM marks ORDER BY id;

DROP TABLE marks;
ALTER TABLE marks_v4 RENAME TO marks;

CREATE UNIQUE INDEX marks_identity ON marks(ts, rule_id, kind, event_hash, occurrence);
CREATE UNIQUE INDEX marks_identity_untimed ON marks(rule_id, kind, event_hash, occurrence)
    WHERE ts IS NULL;
-- With group_key, the rebuild reads a key's resets from the index alone.
CREATE INDEX marks_rule_host ON marks(rule_id, kind, host, ts, group_key);
