SELECT path, kind, bytes, lines, findings, status FROM sources;
