SELECT id, parent_id, path, kind, status, error LIKE 'compression ratio above 250:1%' AS ratio_limit,
       bytes >= 16777216 AND bytes < 33554432 AS stopped_early FROM sources ORDER BY id;
SELECT s.path, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id GROUP BY 1 ORDER BY 1;
SELECT status FROM scans;
