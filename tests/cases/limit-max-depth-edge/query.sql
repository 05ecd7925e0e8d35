SELECT path, kind, lines, status FROM sources;
