SELECT rule_id, line, json_extract(fields, '$.n') AS n FROM findings ORDER BY line;
SELECT status, lines, findings FROM scans;
