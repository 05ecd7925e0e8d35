-- Schema version 8: a finding's message is kept once. Documented in docs/SCHEMA.md.
--
-- On most lines the message is the end of the raw line, after the syslog header, and storing
-- it again made a fifth of every finding row: 85 MB of 775k findings (1 GiB of input) written
-- twice more (WAL and database) and read again by every index build. Such a finding now
-- stores message '' and message_at, the number of characters of raw before its message; the
-- findings view puts the text back. A message that is not raw's end (journal JSON, invalid
-- bytes made U+FFFD, a BLOB raw) is stored whole with message_at NULL, as are all older rows.
--
-- Adding a column changes no row: the upgrade is instant whatever the database's size.

ALTER TABLE finding_rows ADD COLUMN message_at INTEGER;

DROP VIEW findings;

-- As in v7, with message read from raw where it was kept there.
CREATE VIEW findings AS
SELECT r.id, r.source_id, r.line, r.ts, r.host, r.program, r.pid, r.rule_id, r.severity,
       CASE WHEN r.message_at IS NULL THEN r.message ELSE substr(r.raw, r.message_at + 1) END
           AS message,
       r.fields, r.raw, r.event_hash, r.occurrence, r.group_key, l.incident_id
FROM finding_rows AS r LEFT JOIN finding_links AS l ON l.finding_id = r.id;
