/* Rules: failure signatures loaded from the rules/ folder's .rules files (format in
 * rules/README.md), compiled with PCRE2 + JIT, and matched against parsed records.
 *
 * Loading never stops at the first problem: every error is collected in a struct
 * rule_errors (file, line, column, the offending text) so `rules check` can show them all and
 * `scan` can refuse to run with a complete list.
 *
 * Order of use: ruleset_load() for the pack, then ruleset_load_site() for each site
 * directory (its stanzas may override loaded rules key by key), then ruleset_link() (after
 * which nothing more can be loaded), then ruleset_prepare(). */
#ifndef HSMLOG_RULE_H
#define HSMLOG_RULE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "err.h"
#include "rec.h"
#include "strv.h"

struct lit_index;
struct rule_draft; /* rule_file.c: a stanza's values as written, kept for overrides */

enum severity {
    SEV_INFO,
    SEV_NOTICE,
    SEV_WARNING,
    SEV_ERROR,
    SEV_CRITICAL,
    SEV__COUNT
};

/* Returns "info" .. "critical". */
const char *severity_name(enum severity s);

/* Parses a severity name (also "warn", "err", "crit"); returns 0 or -1 when unknown. */
int severity_parse(const char *s, size_t n, enum severity *ret);

/* One embedded example line. */
struct rule_test {
    char *line;        /* owned: the log line */
    const char *file;  /* borrowed from ruleset.files: the file the line is in */
    unsigned src_line; /* line in that file, for messages */
    bool must_match;   /* true for `test`, false for `test-no` */
};

/* What a rule is for. Reset and expect patterns ride along as internal rules so that the one
 * matcher (and its prefilter) serves them too; their matches are marks, not findings. */
enum rule_role {
    RULE_ROLE_FINDING, /* a regex rule: its matches are findings */
    RULE_ROLE_DERIVED, /* no regex: raised by an escalation or a missed expectation */
    RULE_ROLE_RESET,   /* internal: the `reset` pattern of rules[owner] */
    RULE_ROLE_EXPECT,  /* internal: the `expect` pattern of rules[owner] */
};

/* `escalate = N RULE [where FIELD = A|B]`: raise RULE when N findings share a key. */
struct rule_escalation {
    unsigned count;
    char *target;        /* owned: rule id */
    size_t target_idx;   /* set by ruleset_link() */
    char *where_field;   /* owned, or NULL */
    char **where_values; /* owned: alternatives, compared case-insensitively */
    size_t n_where_values;
};

/* `caused-by = RULE within DURATION [same FIELD, ...] [where FIELD = A|B]`. */
struct rule_cause {
    char *rule_id; /* owned */
    int64_t within_us;
    char **same; /* owned: fields that must be equal in cause and effect ("host") */
    size_t n_same;
    char *where_field;   /* owned or NULL: a group-by field of the effect rule whose value */
    char **where_values; /* owned: must be one of these (case-insensitive) for the link */
    size_t n_where_values;
};

/* `severity-when = SEVERITY where FIELD = A|B`: findings whose FIELD (a group-by field, so
 * that an incident's key tells it too) is one of the values have this severity instead of the
 * rule's. */
struct rule_severity_when {
    enum severity severity;
    char *field;   /* owned: a name of the rule's group-by */
    char **values; /* owned: alternatives, compared case-insensitively */
    size_t n_values;
};

/* `normalize = VALUE where FIELD = A|B`: a finding or reset line whose FIELD is one of the
 * values takes VALUE instead, so that two spellings of one thing (lunash's "HSM Admin", the
 * console's "hsm") key one group, and a reset line can name what it resets. */
struct rule_normalize {
    char *value;   /* owned */
    char *field;   /* owned: a named capture of the rule or its reset pattern */
    char **values; /* owned: alternatives, compared case-insensitively */
    size_t n_values;
};

/* A multi-line test: the lines since the previous `test-incidents`, and what they must give:
 * "auth.near-zeroize 1, auth.login-failed 1 closed". */
struct rule_seq_test {
    char **lines; /* owned */
    size_t n_lines;
    char *want;       /* owned: the test-incidents value */
    const char *file; /* borrowed from ruleset.files: the file of the test-incidents line */
    unsigned src_line;
};

/* How findings of a rule become incidents (rules/README.md, "Incidents"). */
struct rule_incident_spec {
    char **group_by; /* owned: key fields; {"host"} when not given */
    size_t n_group_by;
    int64_t gap_us;                      /* findings further apart start a new incident */
    unsigned threshold;                  /* 0 or 1: every finding counts */
    int64_t threshold_us;                /* the window of the threshold */
    size_t reset_idx;                    /* index of the RULE_ROLE_RESET rule, or SIZE_MAX */
    struct rule_escalation *escalations; /* owned */
    size_t n_escalations;
    char **after; /* owned: a derived rule's trigger rule ids (`after`, with expect), as written */
    size_t n_after;
    size_t *after_idx; /* owned: set by ruleset_link(), parallel to after; SIZE_MAX for a name
                          that is not a rule with a regex (a load error), and for every
                          trigger of a disabled rule. The findings of all of them are the
                          triggers; the first one's rebuild builds the incidents */
    size_t expect_idx; /* index of the RULE_ROLE_EXPECT rule, or SIZE_MAX */
    int64_t expect_us; /* the expectation's window */
    struct rule_cause *causes; /* owned */
    size_t n_causes;
    char **carry; /* owned: Luna fields taken from the latest earlier line of the same host,
                     program and pid when the line lacks them ("client_ip") */
    size_t n_carry;
    char **reset_by; /* owned: `reset-by` rule ids: their findings on a host reset this rule's
                        groups on that host, as a reset line does */
    size_t n_reset_by;
    size_t *reset_by_idx; /* owned: set by ruleset_link(), parallel to reset_by; SIZE_MAX for a
                             name that is not a rule with a regex (a load error) */
    size_t *resets;       /* owned: set by ruleset_link(): the rules whose reset-by names this
                             one, whose groups a new finding of this rule must rebuild */
    size_t n_resets;
    unsigned limit; /* the count at which the bad thing happens, for {left}; 0 none */
    char *template; /* owned: `incident` summary template, or NULL */
    struct rule_seq_test *seq_tests; /* owned */
    size_t n_seq_tests;
};

/* Which hosts a rule's findings may come from (`hosts`). */
enum rule_hosts {
    RULE_HOSTS_ANY,       /* every host */
    RULE_HOSTS_APPLIANCE, /* Luna appliances only (src/appliance.h) */
};

#define RULE_DIGEST_LEN        16 /* hex digits of a rule's digest */
#define RULE_PACK_DIGEST_LEN   8  /* hex digits of the pack's digest in its version */
#define RULE_PACK_DECLARED_MAX 32 /* longest version a pack's VERSION file may declare */
/* Longest pack version, "DECLARED+DIGEST" (or "unversioned+DIGEST"). */
#define RULE_PACK_VERSION_MAX (RULE_PACK_DECLARED_MAX + 1 + RULE_PACK_DIGEST_LEN)

/* One compiled rule. Invariants after a successful load: id, summary and remedy are set;
 * regex_src and re are set unless role is RULE_ROLE_DERIVED; literal is NULL or a byte string
 * every match must contain; exclude[i] is the compiled exclude_src[i]. A site override
 * rebuilds the rule in place (same index) from its merged keys, so it is always a rule the
 * loader validated whole. A disabled rule stays in the set (it is listed and stored) but
 * matches nothing. */
struct rule {
    enum rule_role role;
    size_t owner; /* for RESET and EXPECT: index of the rule the pattern belongs to */
    struct rule_incident_spec inc;
    char *id; /* owned: "ntls.unknown-ca" */
    enum severity severity;
    char *summary;   /* owned */
    char *remedy;    /* owned */
    char *refs;      /* owned: references joined with "\n", or NULL */
    char **programs; /* owned: lowercase program names, or NULL for "any program" */
    size_t n_programs;
    bool program_none;     /* `program` lists "(none)": lines without a program pass too (with
                              no names, only they do) */
    enum rule_hosts hosts; /* `hosts` */
    struct rule_severity_when *severity_when; /* owned: first match wins */
    size_t n_severity_when;
    struct rule_normalize *normalize; /* owned: first match wins */
    size_t n_normalize;
    char *regex_src;      /* owned: the pattern as written */
    pcre2_code *re;       /* owned: compiled pattern, JIT-compiled when JIT is available */
    char **exclude_src;   /* owned: n_exclude exclude patterns as written, in file order */
    pcre2_code **exclude; /* owned: the compiled exclude patterns, same order */
    size_t n_exclude;
    char *literal; /* owned: the longest literal every match contains, or NULL */
    size_t literal_len;
    bool literal_icase; /* compare the literal ASCII-case-insensitively */
    uint16_t *lit_ids;  /* owned: prefilter literals (ruleset.lits); a match contains at
                           least one of them. NULL: no prefilter, the regex always runs */
    size_t n_lit_ids;
    uint64_t program_mask;   /* bit i: programs[] holds ruleset.programs[i] */
    struct rule_test *tests; /* owned: embedded examples in file order */
    size_t n_tests;
    const char *file;         /* borrowed from ruleset.files: file of the first [id] */
    unsigned line;            /* line of that [id] header */
    bool disabled;            /* `enabled = no`; internal rules take their owner's at
                                 ruleset_link() */
    char *overrides;          /* owned: NULL, or the site stanzas that changed it,
                                 "FILE:LINE (key, ...)" joined with "; " in load order */
    struct rule_draft *draft; /* owned: the keys as written, merged with the overrides so
                                 far; NULL for internal rules and after ruleset_link() */
    char *definition;         /* owned: set by ruleset_link() for a public rule, else NULL:
                                 the stanza of its effective keys (rule_version.c) */
    /* The hex digest of definition; "" until it is set. */
    char digest[RULE_DIGEST_LEN + 1];
};

/* One problem found while loading rules. */
struct rule_error {
    char *where;  /* owned: "rules/ntls.rules:14:23" */
    char *msg;    /* owned: "bad regex: missing closing parenthesis" */
    char *text;   /* owned: the offending line, or NULL */
    int col;      /* 1-based column of the caret under text, 0 for none */
    bool warning; /* a consequence worth knowing (a reference to a disabled rule), not an
                     error: the rules still load, and the counts returned leave it out */
};

struct rule_errors {
    struct rule_error *v; /* owned */
    size_t n;
};

/* Frees every error. */
void rule_errors_release(struct rule_errors *e);

/* A literal of the prefilter. */
struct rule_literal {
    char *text; /* owned */
    size_t len;
    bool icase; /* ASCII case-insensitive */
};

#define RULE_MAX_LITERALS 256 /* prefilter literals tracked per line; more go unfiltered */
#define RULE_MAX_PROGRAMS 64  /* distinct program names with a bit in program_mask */

/* All loaded rules. Invariant: ids are unique. Loading and ruleset_prepare() write it; after
 * that it is only read (struct matcher, rule_match.h, holds a thread's match scratch), so
 * threads may share it. */
struct ruleset {
    struct rule *rules; /* owned: n rules in load order */
    size_t n;
    size_t cap;
    struct lit_index *index;   /* owned: the prefilter's tables (rule_match.c) */
    struct rule_literal *lits; /* distinct prefilter literals of all rules, inside index */
    size_t n_lits;
    char **programs; /* owned: distinct lowercase program names of all rules */
    size_t n_programs;
    pcre2_match_context *mctx; /* owned: match, depth, heap limits */
    bool jit;                  /* PCRE2 JIT is in use */
    char **files;              /* owned: every rule file name loaded, in load order; the file
                                  fields of rules and tests point here */
    size_t n_files;
    char **texts; /* owned: each loaded file's text, which the drafts point into; freed by
                     ruleset_link() with the drafts */
    size_t n_texts;
    char *declared; /* owned: the version the first pack directory with a VERSION file
                       declares ("2026.12.0"), or NULL */
    char *version;  /* owned: set by ruleset_link(): the declared version (or "unversioned"),
                       '+' and the digest of every public rule's definition, by id
                       ("2026.12.0+3f2a9c1d"); NULL before */
};

/* Sets up an empty ruleset. */
void ruleset_init(struct ruleset *rs);

/* Frees every rule and the prefilter. */
void ruleset_release(struct ruleset *rs);

/* Loads path: a rule file, or a directory whose *.rules files are read in name order; the
 * first directory loaded with a VERSION file (one line: letters, digits, '.', '-', '_', at
 * most RULE_PACK_DECLARED_MAX) sets rs->declared. Problems are appended to errs and loading
 * goes on; returns the number of errors added (0 means everything loaded) or HL_ENOMEM. Rules
 * with errors are not added. */
HL_NODISCARD int ruleset_load(struct ruleset *rs, const char *path, struct rule_errors *errs);

/* Loads rule text held in memory, named name in messages. Same contract as ruleset_load(). */
HL_NODISCARD int ruleset_load_text(struct ruleset *rs, const char *name, const char *text,
                                   size_t len, struct rule_errors *errs);

/* Loads a site rule directory (/etc/hsmlog/rules.d, ~/.config/hsmlog/rules.d): its *.rules
 * files in name order, after the pack. A stanza whose id is loaded overrides that rule: a
 * value replaces a single key and is appended to a repeatable one, an empty value clears the
 * key, and the merged rule is validated whole (an override that breaks it is dropped, the
 * rule stays as it was). A stanza with a new id is a new rule, validated like the pack's; one
 * with a new id that lacks severity, summary or remedy is reported as an override of an
 * unknown rule. A missing directory, or one without *.rules files, loads nothing. Returns the
 * number of errors added, or HL_ENOMEM. */
HL_NODISCARD int ruleset_load_site(struct ruleset *rs, const char *path, struct rule_errors *errs);

/* Loads site rule text held in memory, named name in messages. Same contract as
 * ruleset_load_site(). */
HL_NODISCARD int ruleset_load_site_text(struct ruleset *rs, const char *name, const char *text,
                                        size_t len, struct rule_errors *errs);

/* Builds the prefilter and the match limits; call once after the last load (and link). Fails
 * with HL_ENOMEM. */
HL_NODISCARD int ruleset_prepare(struct ruleset *rs, struct hl_err *err);

/* Frees what ruleset_prepare() built (literal table, prefilter, program list). */
void ruleset_release_prefilter(struct ruleset *rs);

/* Resolves the references between rules (escalate, after, caused-by) and checks them;
 * problems are appended to errs. A disabled rule raises nothing: an escalation to it is
 * dropped and, when it is derived, its expectation never fires; such references (and those
 * to a disabled trigger or cause) are added as warnings. Gives every public rule its
 * definition and digest, and the ruleset its version. Frees the drafts, so no load may
 * follow. Returns the number of errors added (warnings left out), or HL_ENOMEM. Call after
 * the last load, before ruleset_prepare(). */
int ruleset_link(struct ruleset *rs, struct rule_errors *errs);

/* The longest duration a rule or --since takes: 36500 days. Times stay within years 0 to
 * 9999, so a time plus or minus a duration never overflows int64_t. */
#define RULE_DURATION_MAX_US (36500 * INT64_C(86400000000))

/* Parses a duration "90s", "10m", "2h", "7d" (also "500ms") of at most RULE_DURATION_MAX_US;
 * returns 0 or -1. */
int rule_duration_parse(const char *s, int64_t *ret_us);

/* True for the rules users see (findings and derived rules), false for internal patterns. */
static inline bool rule_is_public(const struct rule *r)
{
    return r->role == RULE_ROLE_FINDING || r->role == RULE_ROLE_DERIVED;
}

/* The index of derived rule x's first `after` trigger, whose incidents' rebuild builds x's
 * (they carry its id as from_rule_id), or SIZE_MAX: none, or x is disabled. */
static inline size_t rule_after_first(const struct rule *x)
{
    return x->role == RULE_ROLE_DERIVED && x->inc.n_after && x->inc.after_idx ? x->inc.after_idx[0]
                                                                              : SIZE_MAX;
}

/* True when the rule at index i is one of derived rule x's `after` triggers. */
static inline bool rule_follows(const struct rule *x, size_t i)
{
    for (size_t k = 0; x->role == RULE_ROLE_DERIVED && x->inc.after_idx && k < x->inc.n_after; k++)
        if (x->inc.after_idx[k] == i)
            return true;
    return false;
}

/* Returns the severity of a finding or incident of rule: that of its first `severity-when`
 * whose field has one of its values, else the rule's. get is asked for each field a
 * severity-when names (a group-by field: host, program, source or a field of the finding) and
 * returns false when the finding has none. */
typedef bool rule_field_fn(void *ctx, const char *field, struct strv *ret_value);
enum severity rule_severity(const struct rule *rule, rule_field_fn *get, void *ctx);

/* Returns the value rule's `normalize` gives field when it holds value, else value itself. */
struct strv rule_normalized(const struct rule *rule, const char *field, struct strv value);

/* Returns the rule with this id, or NULL. */
const struct rule *ruleset_find(const struct ruleset *rs, const char *id);

/* Returns where the rule's keys came from, "rules/ntls.rules:27" then its overrides
 * ("; /etc/hsmlog/rules.d/site.rules:3 (severity, enabled)"), as `rules list` and the rules
 * table show it; NULL when out of memory. Caller frees. */
char *rule_origin(const struct rule *r);

/* Returns the literal every match of pattern must contain, or NULL when none can be proven
 * (alternation at the top, too short, unusual syntax). *ret_icase tells whether the pattern
 * is case-insensitive. Caller frees. Exposed for tests. */
char *rule_required_literal(const char *pattern, size_t *ret_len, bool *ret_icase);

/* Fills out[0..max) with literals such that every match of pattern contains at least one
 * (one per top-level alternative, looking through groups that span a whole alternative).
 * Returns how many, 0 when no such set can be proven, or HL_ENOMEM. Caller frees each text.
 * Exposed for tests. */
int rule_literal_set(const char *pattern, struct rule_literal *out, size_t max);

#endif
