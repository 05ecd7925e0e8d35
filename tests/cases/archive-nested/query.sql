SELECT s.id, s.parent_id, s.path, s.kind, s.lines, s.findings, s.status FROM sources s ORDER BY s.id;
SELECT s.path, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id GROUP BY 1 ORDER BY 1;
