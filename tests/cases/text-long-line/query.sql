SELECT lines, truncated_lines, status FROM sources;
SELECT line, rule_id, length(raw) AS raw_bytes FROM findings WHERE line = 301;
SELECT count(*) AS findings, sum(line > 301) AS after_it, max(line) AS last_line FROM findings;
