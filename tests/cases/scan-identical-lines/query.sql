SELECT line, rule_id, ts, occurrence FROM findings ORDER BY line;
SELECT scan_id, findings FROM sources ORDER BY id;
