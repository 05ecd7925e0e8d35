SELECT severity, count(*) AS n FROM findings GROUP BY severity ORDER BY severity;
SELECT status, findings FROM scans;
