SELECT id, parent_id, path, status IN ('partial', 'error') AS not_ok,
       error LIKE 'damaged member data%' AS damaged FROM sources WHERE path LIKE '%b-tail.txt';
SELECT path, kind, CASE WHEN parent_id IS NULL THEN NULL ELSE bytes END AS member_bytes, lines, findings, status FROM sources WHERE path NOT LIKE '%b-tail.txt' ORDER BY id;
SELECT status FROM scans;
