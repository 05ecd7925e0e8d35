-- Schema 6: indexes a first scan builds once at its end instead of row by row.
--
-- A scan into an empty database (a support bundle, a year of rotated logs) adds every finding
-- at once. Keeping four secondary indexes of findings up to date at each insert costs more
-- than sorting them once afterwards (CREATE INDEX), so such a scan drops them and keeps their
-- SQL here. Any writer that finds rows here creates those indexes again and deletes the rows:
-- the scan's incident update (which reads through them), the end of the scan, and the next
-- writer to open the database after a scan was killed. Empty at rest.

CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,   -- index name, as in sqlite_master
    sql  TEXT NOT NULL       -- its CREATE INDEX statement, as sqlite_master held it
);
