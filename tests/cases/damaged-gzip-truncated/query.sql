SELECT path, kind, status, error LIKE 'unexpected end of gzip data%' AS truncated FROM sources;
SELECT count(*) < 61 AS fewer_than_whole, max(line) <= (SELECT lines FROM sources) AS within_read FROM findings;
SELECT status FROM scans;
