/* Matching records against a prepared ruleset. The ruleset is only read; a struct matcher
 * holds what one thread's matching writes (PCRE2 match data, the candidate set of a line,
 * the counts of matches given up at a limit), so each thread that matches owns one. */
#ifndef HSMLOG_RULE_MATCH_H
#define HSMLOG_RULE_MATCH_H

#include "rec.h"
#include "rule.h"

/* Told the first time a rule's match (or exclude) is abandoned at a PCRE2 limit (match steps,
 * depth, heap, JIT stack), with matcher_match()'s ctx and the PCRE2 error code. The line then
 * counts as not matched by that rule; later hits of the same rule are only counted. */
typedef void rule_limit_fn(void *ctx, const struct rule *rule, int pcre2_rc);

struct matcher {
    const struct ruleset *rs;            /* borrowed: prepared; outlives the matcher */
    pcre2_match_data *md;                /* owned: the latest match; room for the largest
                                            capture count of any rule */
    pcre2_match_data *md_exclude;        /* owned: for exclude patterns, so md keeps the
                                            captures */
    uint64_t *cand;                      /* owned: the rules worth trying on this line */
    unsigned long long *rule_limit_hits; /* owned: per rule of rs, in its order: matches
                                            abandoned at a PCRE2 limit */
    unsigned long long limit_hits;       /* all matches abandoned at a PCRE2 limit */
    rule_limit_fn *on_limit;             /* or NULL */
};

/* Sets up a matcher over rs, which ruleset_prepare() has prepared. Fails with HL_ENOMEM. */
HL_NODISCARD int matcher_init(struct matcher *m, const struct ruleset *rs, struct hl_err *err);

/* Frees the scratch; the ruleset is untouched. */
void matcher_release(struct matcher *m);

/* Called for each rule that matched; the match's captures are in the matcher until it
 * returns. Return 0 to go on, or a negative hl_code to stop matching and return it. */
typedef int rule_hit_fn(void *ctx, const struct rule *rule, const struct record *rec);

/* Runs every enabled rule against rec and calls hit for each match, in load order. Returns 0,
 * or the first negative value hit returned. */
HL_NODISCARD int matcher_match(struct matcher *m, const struct record *rec, rule_hit_fn *hit,
                               void *ctx);

/* Returns true when rule matches rec (for `rules test`): its regex matched, no exclude did,
 * and it is enabled; captures are then in m. */
bool matcher_matches(struct matcher *m, const struct rule *rule, const struct record *rec);

/* Returns how many matches of rule m abandoned at a PCRE2 limit. */
unsigned long long matcher_rule_limit_hits(const struct matcher *m, const struct rule *rule);

/* A named capture of the latest match. */
struct rule_capture {
    const char *name;  /* borrowed: from the compiled pattern, valid while the rule lives */
    struct strv value; /* borrowed: slice of the record's message */
};

/* Fills out[0..max) with the named groups of rule that took part in m's latest match of rule
 * against message; returns how many. */
size_t matcher_captures(const struct matcher *m, const struct rule *rule, struct strv message,
                        struct rule_capture *out, size_t max);

#endif
