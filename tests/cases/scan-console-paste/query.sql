SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT count(*) AS findings, sum(ts IS NULL) AS without_ts FROM findings;
SELECT rule_id, json_extract(fields, '$.member_sn') AS member_sn FROM findings WHERE rule_id IN ('ha.member-failed', 'ha.member-down') ORDER BY rule_id;
SELECT count(*) AS with_host FROM findings WHERE host IS NOT NULL OR program IS NOT NULL;
SELECT rule_id, summary FROM incidents WHERE rule_id = 'auth.login-failed' ORDER BY id;
