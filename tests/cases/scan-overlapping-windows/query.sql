SELECT count(*) AS findings FROM findings;
SELECT path, lines, findings FROM sources ORDER BY id;
