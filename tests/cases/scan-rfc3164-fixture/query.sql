SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id
