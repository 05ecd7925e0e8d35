SELECT line, rule_id, ts, host, program, pid, hex(substr(raw, 1, 3)) AS raw_starts FROM findings ORDER BY line, rule_id;
SELECT lines, status FROM sources;
