SELECT path, kind, bytes, lines, findings, status FROM sources;
SELECT min(line) AS first_line, max(line) AS last_line, count(*) AS findings FROM findings;
SELECT line, rule_id FROM findings WHERE line BETWEEN 251 AND 400 ORDER BY line;
