SELECT (SELECT count(*) FROM findings WHERE rule_id = 'ntls.rejected-connection') AS findings,
       (SELECT count(*) FROM incidents WHERE rule_id = 'ntls.rejected-connection') AS incidents,
       (SELECT count(*) > 0 FROM findings WHERE rule_id = 'ntls.unknown-ca') AS others,
       (SELECT enabled FROM rules WHERE id = 'ntls.rejected-connection') AS enabled,
       (SELECT substr(overrides, instr(overrides, 'quiet.rules')) FROM rules
         WHERE id = 'ntls.rejected-connection') AS overrides,
       (SELECT count(*) FROM rules WHERE overrides IS NOT NULL) AS tuned
