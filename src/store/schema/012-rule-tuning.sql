-- Schema version 12: the rules table says how the site tuned each rule (rules.d overrides).
-- Documented in docs/SCHEMA.md; every change is a new numbered file, never an edit here.
-- Rows written before keep enabled = 1 and NULL origin and overrides until the next scan
-- stores the rules again.

ALTER TABLE rules ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1; -- 0: `enabled = no`
ALTER TABLE rules ADD COLUMN origin TEXT;    -- "rules/ntls.rules:27; FILE:LINE (keys)", as
                                             -- `hsmlog rules list` shows it
ALTER TABLE rules ADD COLUMN overrides TEXT; -- NULL when no site file changed the rule, else
                                             -- its site stanzas: "FILE:LINE (key, ...)", "; "
