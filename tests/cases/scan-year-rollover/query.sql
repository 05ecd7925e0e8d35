SELECT s.path, f.line, f.rule_id, f.ts FROM findings f JOIN sources s ON s.id = f.source_id ORDER BY f.id;
