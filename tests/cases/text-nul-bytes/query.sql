SELECT count(*) AS findings, sum(line > 300) AS after_the_nul_run FROM findings;
SELECT line, rule_id, ts, hex(substr(message, -3)) AS message_tail, typeof(raw) AS raw_type,
       hex(substr(raw, -4)) AS raw_tail
FROM findings WHERE line >= 640 ORDER BY line;
SELECT lines, truncated_lines, status FROM sources;
