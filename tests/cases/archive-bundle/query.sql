SELECT rule_id, severity, count(*) AS n, min(ts) AS first, max(ts) AS last
FROM findings GROUP BY rule_id ORDER BY rule_id;
SELECT id, parent_id, path, kind, size, mtime, bytes, lines, truncated_lines, findings, status, error
FROM sources ORDER BY id;
SELECT s.path, f.rule_id, count(*) AS n FROM findings f JOIN sources s ON s.id = f.source_id
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT DISTINCT host FROM findings ORDER BY 1;
SELECT json_extract(fields, '$.expires') AS expires FROM findings WHERE rule_id = 'ntls.cert-expiring';
SELECT json_extract(fields, '$.client_ip') AS client, count(*) AS n FROM findings
WHERE rule_id = 'ntls.handshake-failed' GROUP BY 1 ORDER BY 1;
SELECT status, lines, findings FROM scans;
