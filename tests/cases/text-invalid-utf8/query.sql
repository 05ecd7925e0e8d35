SELECT line, rule_id, host, message, typeof(raw) AS raw_type, length(raw) AS raw_bytes,
       hex(substr(raw, length(raw) - 1)) AS raw_tail
FROM findings WHERE line = 301;
SELECT count(*) AS findings, sum(line > 301) AS after_it FROM findings;
SELECT lines, status FROM sources;
