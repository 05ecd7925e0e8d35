SELECT count(*) AS findings FROM findings;
SELECT kind, lines, findings, status FROM sources;
SELECT lines, findings, status FROM scans;
