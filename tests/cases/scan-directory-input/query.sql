SELECT path, status, error FROM sources ORDER BY id;
SELECT count(*) AS findings FROM findings;
