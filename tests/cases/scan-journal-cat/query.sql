SELECT rule_id, host, program, line FROM findings ORDER BY id;
