SELECT lines, truncated_lines, status FROM sources;
SELECT line, rule_id, length(raw) AS raw_bytes FROM findings ORDER BY line;
