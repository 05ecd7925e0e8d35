SELECT path, lines, findings, status, error FROM sources ORDER BY id;
SELECT count(*) AS findings FROM findings;
SELECT status FROM scans;
