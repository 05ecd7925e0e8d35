SELECT count(*) AS findings, max(occurrence) AS max_occurrence FROM findings;
SELECT path, lines, findings FROM sources WHERE kind LIKE '%text' ORDER BY id;
