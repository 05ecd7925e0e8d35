SELECT json_extract(fields, '$.ckr') AS ckr, count(*) AS n FROM findings
 WHERE rule_id = 'pkcs11.error' GROUP BY 1 ORDER BY 1
