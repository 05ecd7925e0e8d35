SELECT id, parent_id, path, kind, status, error LIKE 'unexpected end of gzip data%' AS truncated
FROM sources ORDER BY id;
SELECT s.path, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id
WHERE s.path = 'logs.tgz!var/log/messages' GROUP BY 1;
SELECT status FROM scans;
