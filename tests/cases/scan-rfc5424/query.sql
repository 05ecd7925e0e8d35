SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT count(*) AS findings, sum(ts IS NULL) AS without_ts FROM findings;
SELECT rule_id, host, program, pid, ts, json_extract(fields, '$.alarm') AS alarm FROM findings WHERE rule_id IN ('hsm.alarm', 'hsm.tamper', 'hsm.out-of-service') ORDER BY rule_id;
