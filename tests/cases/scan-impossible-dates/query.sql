SELECT s.path, f.line, f.host, f.program, f.ts, f.message FROM findings f JOIN sources s ON s.id = f.source_id ORDER BY f.id;
