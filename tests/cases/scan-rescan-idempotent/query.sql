SELECT count(*) AS findings, count(DISTINCT source_id) AS from_sources FROM findings;
SELECT id, scan_id, path, kind, lines, findings, status FROM sources ORDER BY id;
SELECT id, lines, findings, status FROM scans ORDER BY id;
