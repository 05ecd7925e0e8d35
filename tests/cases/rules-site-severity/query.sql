SELECT 'finding' AS what, rule_id, severity, count(*) > 0 AS found FROM findings
 WHERE rule_id IN ('ntls.ssl-error', 'ntls.unknown-ca') GROUP BY rule_id, severity
UNION ALL
SELECT 'rule', id, severity, NULL FROM rules WHERE id IN ('ntls.ssl-error', 'ntls.unknown-ca')
ORDER BY 1, 2
