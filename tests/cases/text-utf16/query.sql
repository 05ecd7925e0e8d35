SELECT s.path, f.line, f.rule_id, f.host, f.program, f.message FROM findings f JOIN sources s ON s.id = f.source_id ORDER BY f.id;
SELECT path, kind, status, lines FROM sources ORDER BY id;
