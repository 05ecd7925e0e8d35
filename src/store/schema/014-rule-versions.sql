-- Schema version 14: which version of the rule pack, and which definition of each rule, made
-- a finding. Documented in docs/SCHEMA.md; every change is a new numbered file, never an edit
-- here.
--
-- A pack's version is what its VERSION file declares, '+' and a digest of the definitions of
-- its rules with the site's overrides ("2026.12.0+3f2a9c1d"); a rule's digest is that of its
-- own definition (src/rules/rule_version.c). A finding is stored once, by the scan that first
-- read its line, so: findings.source_id -> sources.scan_id -> scans.rules_version ->
-- pack_rules -> rule_versions. Rows of older versions have NULL here: what made them is not
-- known.

ALTER TABLE scans ADD COLUMN rules_version TEXT; -- the pack version the scan loaded
ALTER TABLE rules ADD COLUMN pack_version TEXT;  -- the pack version it was last stored with
ALTER TABLE rules ADD COLUMN digest TEXT;        -- the digest of its definition then

-- Every definition of a rule any writer stored, once. A rowid table: its rows (the definition)
-- are large for WITHOUT ROWID.
CREATE TABLE rule_versions (
    rule_id       TEXT NOT NULL,
    digest        TEXT NOT NULL,     -- 16 hex digits: the digest of definition
    pack_version  TEXT NOT NULL,     -- the pack version it was first stored with
    severity      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    remedy        TEXT NOT NULL,
    refs          TEXT,              -- one per line
    enabled       INTEGER NOT NULL,  -- 0: `enabled = no`
    origin        TEXT,              -- as rules.origin, when first stored
    definition    TEXT NOT NULL,     -- the rule as a stanza of its effective keys, no tests
    first_scan_id INTEGER REFERENCES scans(id), -- the first scan that used it; NULL until one
                                                -- does (incidents --rebuild stores rules too)
    PRIMARY KEY (rule_id, digest)
);

-- Which definition of each rule a pack version holds.
CREATE TABLE pack_rules (
    pack_version TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    digest       TEXT NOT NULL,
    PRIMARY KEY (pack_version, rule_id),
    FOREIGN KEY (rule_id, digest) REFERENCES rule_versions(rule_id, digest)
) WITHOUT ROWID;
