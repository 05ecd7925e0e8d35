SELECT id, parent_id, path, kind, size > 0 AS has_size, mtime, lines, findings, status FROM sources ORDER BY id;
SELECT rule_id, count(*) AS n FROM findings GROUP BY rule_id ORDER BY rule_id;
