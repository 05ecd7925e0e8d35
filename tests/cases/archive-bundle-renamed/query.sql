SELECT rule_id, count(*) AS n FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT path, kind, status FROM sources ORDER BY id;
