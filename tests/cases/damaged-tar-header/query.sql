SELECT id, parent_id, path, kind, lines, findings, status, error FROM sources ORDER BY id;
SELECT s.path, f.rule_id, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id
WHERE s.path LIKE '%c-client.log' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT status FROM scans;
