SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT count(*) AS findings, sum(ts IS NULL) AS without_ts FROM findings;
SELECT line, host, program, ts, json_extract(fields, '$.luna_ret') AS luna_ret, json_extract(fields, '$.ckr') AS ckr FROM findings ORDER BY line, rule_id;
