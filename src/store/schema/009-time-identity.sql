-- Schema version 9: stored times compare right against SQL's own, and one event read at two
-- time precisions is one finding. Documented in docs/SCHEMA.md.
--
-- Times: "2026-11-28T09:14:03.000000Z" becomes "2026-11-28 09:14:03", and
-- "2026-11-28T09:14:03.123456Z" "2026-11-28 09:14:03.123456": SQLite's own form, which its
-- datetime() writes and a hand-typed '2026-11-28 20:00' follows. With the 'T', text comparison
-- put every time of that day before '2026-11-28 20:00'; with a fixed ".000000Z" tail, a time
-- at exactly '2026-11-28 20:00:00' compared greater than it, so <= and BETWEEN left it out.
-- Every stored time is rewritten (findings, marks, incidents, scans, sources); all are UTC.
--
-- Identity: a syslog file keeps whole seconds of what the journal keeps to the microsecond, so
-- the same event read from both was two findings. The event hash now covers the whole second
-- (src/event_id.c), and the identity indexes are keyed by ts_unix, the whole second as an
-- integer, instead of the full time text. A whole-second time hashes as before; rows with a
-- fraction are hashed again by hsmlog_event_hash(ts, raw), which db.c registers for this
-- script, and their occurrences numbered again within the second. Where that makes a row the
-- same event as another (read once from each precision), the later row is dropped and the
-- incidents are marked for a rebuild.

ALTER TABLE finding_rows ADD COLUMN ts_unix INTEGER;
ALTER TABLE marks ADD COLUMN ts_unix INTEGER;
DROP INDEX findings_identity;
DROP INDEX marks_identity;

-- SET expressions read the row as it was, so ts below is the old text.
UPDATE finding_rows SET
    ts = CASE WHEN substr(ts, 21, 6) = '000000' THEN substr(ts, 1, 10) || ' ' || substr(ts, 12, 8)
        ELSE substr(ts, 1, 10) || ' ' || substr(ts, 12, 15) END,
    ts_unix = CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER),
    event_hash = CASE WHEN substr(ts, 21, 6) = '000000' THEN event_hash
                      ELSE hsmlog_event_hash(ts, raw) END
WHERE ts IS NOT NULL;
UPDATE marks SET
    ts = CASE WHEN substr(ts, 21, 6) = '000000' THEN substr(ts, 1, 10) || ' ' || substr(ts, 12, 8)
        ELSE substr(ts, 1, 10) || ' ' || substr(ts, 12, 15) END,
    ts_unix = CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER)
WHERE ts IS NOT NULL;

-- A mark keeps no raw line: one with a fraction keeps its hash, and is matched against a new
-- mark of the same line only at the same time. Marks are lines' positions for the rebuild,
-- so a second copy of one changes no incident.

-- Occurrences of the rehashed rows, numbered again per rule, hash and second in time order:
-- each was a distinct event (its own microsecond, or a later occurrence of it).
CREATE TEMP TABLE v9_renumber AS
SELECT id, row_number() OVER (PARTITION BY ts_unix, rule_id, event_hash
                              ORDER BY ts, occurrence, id) AS occurrence
FROM finding_rows WHERE length(ts) > 19;
UPDATE finding_rows SET occurrence = n.occurrence
FROM temp.v9_renumber AS n WHERE finding_rows.id = n.id;

-- The same event at both precisions: keep the first row stored.
CREATE TEMP TABLE v9_duplicates AS
SELECT id, rule_id, host FROM (
    SELECT id, rule_id, host,
           row_number() OVER (PARTITION BY ts_unix, rule_id, event_hash, occurrence
                              ORDER BY id) AS k
    FROM finding_rows WHERE ts_unix IS NOT NULL)
WHERE k > 1;
INSERT OR IGNORE INTO incidents_dirty(rule_id, host)
SELECT DISTINCT rule_id, coalesce(host, '') FROM temp.v9_duplicates;
INSERT OR IGNORE INTO incidents_dirty(rule_id, host)
SELECT '*', '' WHERE EXISTS (SELECT 1 FROM temp.v9_duplicates);
DELETE FROM finding_links WHERE finding_id IN (SELECT id FROM temp.v9_duplicates);
DELETE FROM finding_rows WHERE id IN (SELECT id FROM temp.v9_duplicates);
DROP TABLE temp.v9_renumber;
DROP TABLE temp.v9_duplicates;

CREATE UNIQUE INDEX findings_identity ON finding_rows(ts_unix, rule_id, event_hash, occurrence);
CREATE UNIQUE INDEX marks_identity ON marks(ts_unix, rule_id, kind, event_hash, occurrence);

UPDATE incidents SET
    first_ts = CASE WHEN substr(first_ts, 21, 6) = '000000' THEN substr(first_ts, 1, 10) || ' ' || substr(first_ts, 12, 8)
        ELSE substr(first_ts, 1, 10) || ' ' || substr(first_ts, 12, 15) END,
    last_ts = CASE WHEN substr(last_ts, 21, 6) = '000000' THEN substr(last_ts, 1, 10) || ' ' || substr(last_ts, 12, 8)
        ELSE substr(last_ts, 1, 10) || ' ' || substr(last_ts, 12, 15) END;
UPDATE scans SET
    started_at = CASE WHEN substr(started_at, 21, 6) = '000000' THEN substr(started_at, 1, 10) || ' ' || substr(started_at, 12, 8)
        ELSE substr(started_at, 1, 10) || ' ' || substr(started_at, 12, 15) END,
    finished_at = CASE WHEN substr(finished_at, 21, 6) = '000000' THEN substr(finished_at, 1, 10) || ' ' || substr(finished_at, 12, 8)
        ELSE substr(finished_at, 1, 10) || ' ' || substr(finished_at, 12, 15) END,
    last_ts = CASE WHEN substr(last_ts, 21, 6) = '000000' THEN substr(last_ts, 1, 10) || ' ' || substr(last_ts, 12, 8)
        ELSE substr(last_ts, 1, 10) || ' ' || substr(last_ts, 12, 15) END;
UPDATE sources SET mtime = CASE WHEN substr(mtime, 21, 6) = '000000' THEN substr(mtime, 1, 10) || ' ' || substr(mtime, 12, 8)
        ELSE substr(mtime, 1, 10) || ' ' || substr(mtime, 12, 15) END
WHERE mtime IS NOT NULL;

-- As in v8, with ts_unix at the end.
DROP VIEW findings;
CREATE VIEW findings AS
SELECT r.id, r.source_id, r.line, r.ts, r.host, r.program, r.pid, r.rule_id, r.severity,
       CASE WHEN r.message_at IS NULL THEN r.message ELSE substr(r.raw, r.message_at + 1) END
           AS message,
       r.fields, r.raw, r.event_hash, r.occurrence, r.group_key, l.incident_id, r.ts_unix
FROM finding_rows AS r LEFT JOIN finding_links AS l ON l.finding_id = r.id;
