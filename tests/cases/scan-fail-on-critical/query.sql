SELECT count(*) AS findings, max(severity = 'critical') AS any_critical FROM findings;
