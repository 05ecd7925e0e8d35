-- Schema version 11: how many lines of a source wrote a time that does not exist. Documented in
-- docs/SCHEMA.md.
--
-- A header dated Feb 29 of a common year, Nov 31 or 25:00 keeps its host, program and message,
-- but the line is stored with ts NULL rather than moved to a real date. Without a count, such
-- lines look like lines that never had a time. Older rows read 0: they were not counted.

ALTER TABLE sources ADD COLUMN bad_time_lines INTEGER NOT NULL DEFAULT 0;
