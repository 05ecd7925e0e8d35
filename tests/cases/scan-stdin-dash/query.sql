SELECT path, kind, size, mtime, lines, findings, status FROM sources;
SELECT rule_id, count(*) AS n FROM findings GROUP BY rule_id ORDER BY rule_id;
