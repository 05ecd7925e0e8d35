SELECT rule_id, count(*) AS n FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT count(*) AS findings, count(DISTINCT host) AS hosts, sum(ts IS NULL) AS without_ts FROM findings;
SELECT host, min(line) AS first_line, max(line) AS last_line, count(*) AS n FROM findings GROUP BY host ORDER BY first_line;
SELECT path, lines, findings, status FROM sources;
