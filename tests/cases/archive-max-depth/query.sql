SELECT id, parent_id, path, kind, lines, findings, status, error LIKE '%(--max-depth)%' AS depth_limit FROM sources ORDER BY id;
SELECT status FROM scans;
