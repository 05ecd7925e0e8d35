SELECT (SELECT count(*) FROM findings WHERE rule_id = 'ntls.rejected-connection') AS findings,
       (SELECT count(*) FROM incidents WHERE rule_id = 'ntls.rejected-connection') AS incidents,
       (SELECT count(*) > 0 FROM findings WHERE rule_id = 'ntls.unknown-ca') AS others
