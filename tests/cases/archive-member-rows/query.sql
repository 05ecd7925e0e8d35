SELECT path, kind, status, error FROM sources ORDER BY path;
SELECT s.path, f.host FROM findings f JOIN sources s ON s.id = f.source_id WHERE f.rule_id = 'ntls.handshake-failed' ORDER BY s.path;
