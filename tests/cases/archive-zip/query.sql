SELECT path, kind, size, mtime, lines, findings, status FROM sources WHERE parent_id IS NOT NULL ORDER BY id;
SELECT path, kind, status FROM sources WHERE parent_id IS NULL;
SELECT s.path, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id GROUP BY 1 ORDER BY 1;
