-- Schema version 13: which hosts are Luna appliances, kept across scans, so that a rule with
-- `hosts = appliance` gives the same findings and incidents whatever order its lines are read
-- in and however they are split into scans. Documented in docs/SCHEMA.md.
--
-- A stock Linux line of such a rule ("System is rebooting.") is an appliance's only when its
-- host is one, which a line of an appliance program (NTLS, lunash, ...) tells, in this scan or
-- another, before or after it. So the finding is stored either way; while its host is not
-- known, it waits in appliance_waits and is in neither the findings view nor an incident.
-- The writer that learns the host ends the wait of its findings and marks their incidents
-- for a rebuild.

CREATE TABLE appliance_hosts (
    host      TEXT PRIMARY KEY COLLATE NOCASE, -- as the first line that told it wrote it
    source_id INTEGER REFERENCES sources(id),  -- where that line was read
    line      INTEGER                          -- its line number there
) WITHOUT ROWID;

-- Keyed by the finding's id, which every index of finding_rows holds: the view and the
-- incident rebuild look a finding up here without reading its row.
CREATE TABLE appliance_waits (
    finding_id INTEGER PRIMARY KEY REFERENCES finding_rows(id),
    host       TEXT NOT NULL COLLATE NOCASE    -- the finding's host
);
CREATE INDEX appliance_waits_host ON appliance_waits(host);

-- Hosts of earlier scans, as far as their stored findings tell: a finding of an appliance
-- program, or an hsm.reboot (the pack's rule with `hosts = appliance`), which a schema-12 scan
-- stored only for a host it had judged an appliance. Other appliance lines left no row; a
-- later scan that reads one adds its host.
INSERT OR IGNORE INTO appliance_hosts(host, source_id, line)
SELECT host, source_id, line FROM finding_rows
WHERE host IS NOT NULL AND host <> ''
  AND (lower(program) IN ('ntls', 'lunash', 'sysstatd', 'certmonitord', 'oamp')
       OR rule_id = 'hsm.reboot')
ORDER BY id;

-- As in v9, without the findings that wait for their host.
DROP VIEW findings;
CREATE VIEW findings AS
SELECT r.id, r.source_id, r.line, r.ts, r.host, r.program, r.pid, r.rule_id, r.severity,
       CASE WHEN r.message_at IS NULL THEN r.message ELSE substr(r.raw, r.message_at + 1) END
           AS message,
       r.fields, r.raw, r.event_hash, r.occurrence, r.group_key, l.incident_id, r.ts_unix
FROM finding_rows AS r LEFT JOIN finding_links AS l ON l.finding_id = r.id
WHERE NOT EXISTS (SELECT 1 FROM appliance_waits AS w WHERE w.finding_id = r.id);
