SELECT count(*) AS findings,
       sum(instr(raw, char(13)) > 0 OR instr(message, char(13)) > 0 OR instr(fields, '\r') > 0) AS with_cr
FROM findings;
SELECT DISTINCT json_extract(fields, '$.rc') AS rc, json_extract(fields, '$.client_port') IS NOT NULL AS has_port
FROM findings WHERE rule_id = 'ntls.handshake-failed';
SELECT json_extract(fields, '$.expires') AS expires FROM findings WHERE rule_id = 'ntls.cert-expiring';
SELECT lines, truncated_lines, status FROM sources;
