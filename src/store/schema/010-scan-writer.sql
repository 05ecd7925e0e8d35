-- Schema version 10: who writes a scans row, so that a later writer can tell the row of a scan
-- whose process died (SIGKILL, OOM killer, crash, power cut) from one still running, and mark
-- it 'dead' with its sources rows left 'reading' (db.c, mark_dead_scans). Documented in
-- docs/SCHEMA.md. Rows of older versions have NULLs here and are never judged.
ALTER TABLE scans ADD COLUMN pid INTEGER;       -- the writing process
ALTER TABLE scans ADD COLUMN pid_start INTEGER; -- its start time: clock ticks after boot,
                                                -- field 22 of /proc/PID/stat
ALTER TABLE scans ADD COLUMN boot_id TEXT;      -- /proc/sys/kernel/random/boot_id of the machine
ALTER TABLE scans ADD COLUMN hostname TEXT;     -- gethostname() of the machine
