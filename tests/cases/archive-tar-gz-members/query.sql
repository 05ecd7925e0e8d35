SELECT id, parent_id, path, kind, size, mtime, bytes, lines, findings, status FROM sources ORDER BY id;
SELECT s.path, f.rule_id, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id
WHERE f.rule_id LIKE 'ntls.%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS findings FROM findings;
