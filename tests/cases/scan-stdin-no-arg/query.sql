SELECT path, kind, size, mtime, lines, findings, status FROM sources;
SELECT count(*) AS findings FROM findings;
