SELECT path, kind, status, error, substr(mtime, 1, 4) AS year FROM sources ORDER BY id;
SELECT s.path, f.host, substr(f.ts, 1, 4) AS year FROM findings f JOIN sources s ON s.id = f.source_id WHERE f.rule_id = 'ntls.handshake-failed' ORDER BY f.id;
