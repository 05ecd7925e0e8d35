SELECT host, rule_id, occurrence FROM findings WHERE rule_id = 'ntls.unknown-ca' ORDER BY id;
