SELECT path, kind, bytes, lines, status FROM sources ORDER BY id;
