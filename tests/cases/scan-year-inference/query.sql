SELECT s.path, f.line, f.ts, f.message FROM findings f JOIN sources s ON s.id = f.source_id WHERE f.message NOT LIKE 'mark file of %' ORDER BY f.id;
