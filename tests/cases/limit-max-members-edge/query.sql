SELECT path, status FROM sources ORDER BY id;
