SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT count(*) AS findings, sum(ts IS NULL) AS without_ts FROM findings;
SELECT host, program, pid, json_extract(fields, '$.role') AS role, ts FROM findings WHERE rule_id = 'auth.login-failed' ORDER BY ts;
SELECT kind, lines, findings, status FROM sources;
