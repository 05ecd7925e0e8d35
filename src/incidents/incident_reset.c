/* Resets of a group, for the walk of incident.c: whether a good line (a mark of the rule's
 * reset pattern) or a finding of a rule it names in reset-by comes between two findings, by
 * log time (rules/README.md, `reset`). */
#include "incident_build.h"
#include "incident_mark.h"

#include "parse_time.h"

/* Several resets between two findings do what the first does, so the walk asks once per
 * finding, through marks_rule_host and findings_rule_host, instead of reading every reset: a
 * busy client logs a good login every few seconds, for years. */
int reset_between(struct builder *b, const struct rule *rule, const char *host, const char *key,
                  int64_t from_us, int64_t to_us)
{
    const struct rule_incident_spec *sp = &rule->inc;
    if (sp->reset_idx == SIZE_MAX && sp->n_reset_by == 0)
        return 0;
    char from[PARSE_TIME_ISO_LEN] = "", to[PARSE_TIME_ISO_LEN] = "~"; /* "~" sorts last */
    if (from_us != INT64_MIN)
        parse_time_format(from_us, from);
    if (to_us != INT64_MAX)
        parse_time_format(to_us, to);
    int rc = STMT_DONE, found = 0;
    struct stmt *st = b->st_resets;
    if (sp->reset_idx != SIZE_MAX) {
        stmt_bind_text(st, 1, rule->id);
        bind_host(st, 2, host);
        stmt_bind_text(st, 3, key);
        stmt_bind_text(st, 4, from);
        stmt_bind_text(st, 5, to);
        while (!found && (rc = stmt_step(st)) == STMT_ROW) {
            const char *k = stmt_text(st, 0);
            found = incident_key_reset_applies(k ? k : "[]", key);
        }
        stmt_reset(st);
    }
    for (size_t i = 0; !found && (rc == STMT_DONE || rc == STMT_ROW) && i < sp->n_reset_by; i++) {
        if (!sp->reset_by_idx || sp->reset_by_idx[i] == SIZE_MAX)
            continue;
        st = b->st_reset_by;
        stmt_bind_text(st, 1, b->rs->rules[sp->reset_by_idx[i]].id);
        bind_host(st, 2, host);
        stmt_bind_text(st, 3, from);
        stmt_bind_text(st, 4, to);
        rc = stmt_step(st);
        found = rc == STMT_ROW;
        stmt_reset(st);
    }
    return found || rc == STMT_DONE ? found : fail(b, "cannot read the resets of a group");
}
