/* Links the loaded rules: resolves the references between them (escalate, after, caused-by,
 * reset-by), checks the fields those name against group-by, and settles what disabled rules
 * mean for the rules that name them. Runs once, after the last load; then has the pack's
 * version made (rule_version.c) and frees the drafts. */
#include "rule_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t find_public(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rule_is_public(&rs->rules[i]) && strcmp(rs->rules[i].id, id) == 0)
            return i;
    return SIZE_MAX;
}

static bool in_group_by(const struct rule *r, const char *field)
{
    for (size_t i = 0; i < r->inc.n_group_by; i++)
        if (strcmp(r->inc.group_by[i], field) == 0)
            return true;
    return false;
}

/* The value of key k that made r's i-th reference, while r has its draft: link messages then
 * point at the line that holds it (an override's, perhaps), with a caret. */
static const struct value *draft_value(const struct rule *r, enum rule_key k, size_t i)
{
    return r->draft && i < r->draft->n_values[k] ? &r->draft->values[k][i] : NULL;
}

#define link_error(ld, r, v, ...)              \
    ((v) ? value_error((ld), (v), __VA_ARGS__) \
         : loader_error_in((ld), (r)->file, (r)->line, 0, NULL, 0, __VA_ARGS__))

#define link_warning(ld, r, v, ...) \
    loader_warning_in((ld), (v) ? (v)->file : (r)->file, (v) ? (v)->line : (r)->line, __VA_ARGS__)

/* An escalation to a disabled rule raises nothing, so it is dropped from the rule in use. */
static void drop_escalation(struct rule_incident_spec *sp, size_t k)
{
    struct rule_escalation *e = &sp->escalations[k];
    free(e->target);
    free(e->where_field);
    rule_strs_free(e->where_values, e->n_where_values);
    memmove(e, e + 1, (sp->n_escalations - k - 1) * sizeof(*e));
    sp->n_escalations--;
}

/* Resolves rule i's reset-by names and adds i to the `resets` of each rule named. */
static int link_reset_by(struct ruleset *rs, size_t i, struct loader *ld)
{
    struct rule *r = &rs->rules[i];
    const struct value *v = draft_value(r, KEY_RESET_BY, 0);
    free(r->inc.reset_by_idx);
    r->inc.reset_by_idx = NULL;
    if (!r->inc.n_reset_by)
        return 0;
    if (!(r->inc.reset_by_idx = calloc(r->inc.n_reset_by, sizeof(*r->inc.reset_by_idx))))
        return HL_ENOMEM;
    for (size_t k = 0; k < r->inc.n_reset_by; k++) {
        size_t c = find_public(rs, r->inc.reset_by[k]);
        r->inc.reset_by_idx[k] = SIZE_MAX;
        if (c == SIZE_MAX || rs->rules[c].role != RULE_ROLE_FINDING) {
            link_error(ld, r, v, "rule '%s': reset-by names '%s', which is not a rule with a regex",
                       r->id, r->inc.reset_by[k]);
            continue;
        }
        struct rule *by = &rs->rules[c];
        if (!r->disabled && by->disabled)
            link_warning(ld, r, v,
                         "rule '%s' is reset by '%s', which is disabled: no new finding of it "
                         "resets it",
                         r->id, by->id);
        size_t *nv = realloc(by->inc.resets, (by->inc.n_resets + 1) * sizeof(*nv));
        if (!nv)
            return HL_ENOMEM;
        by->inc.resets = nv;
        by->inc.resets[by->inc.n_resets++] = i;
        r->inc.reset_by_idx[k] = c;
    }
    return 0;
}

/* What raises a derived rule, by index: raised[i] has RAISED when any escalate or after
 * raises rules[i], and RAISED_ENABLED when an enabled rule does. */
enum {
    RAISED = 1,
    RAISED_ENABLED = 2
};

/* Resolves r's escalation targets, marks them in raised, and drops those to disabled rules. */
static void link_escalations(struct ruleset *rs, struct rule *r, unsigned char *raised,
                             struct loader *ld)
{
    /* Indexes of the draft's values, which drop_escalation() does not shift. */
    for (size_t k = 0, at = 0; k < r->inc.n_escalations; at++) {
        struct rule_escalation *e = &r->inc.escalations[k];
        const struct value *v = draft_value(r, KEY_ESCALATE, at);
        e->target_idx = find_public(rs, e->target);
        if (e->target_idx == SIZE_MAX)
            link_error(ld, r, v, "rule '%s': escalate names unknown rule '%s'", r->id, e->target);
        else
            raised[e->target_idx] |= r->disabled ? RAISED : RAISED | RAISED_ENABLED;
        if (e->where_field && !in_group_by(r, e->where_field))
            link_error(ld, r, v, "rule '%s': escalate condition field '%s' is not in its group-by",
                       r->id, e->where_field);
        if (!r->disabled && e->target_idx != SIZE_MAX && rs->rules[e->target_idx].disabled) {
            link_warning(ld, r, v,
                         "rule '%s' escalates to '%s', which is disabled: the escalation is "
                         "dropped",
                         r->id, e->target);
            drop_escalation(&r->inc, k);
            continue;
        }
        k++;
    }
}

/* Resolves the `after` triggers of rules[i], when it has any, and marks i raised. */
static int link_after(struct ruleset *rs, size_t i, unsigned char *raised, struct loader *ld)
{
    struct rule *r = &rs->rules[i];
    free(r->inc.after_idx);
    r->inc.after_idx = NULL;
    if (!r->inc.n_after)
        return 0;
    if (!(r->inc.after_idx = calloc(r->inc.n_after, sizeof(*r->inc.after_idx))))
        return HL_ENOMEM;
    const struct value *v = draft_value(r, KEY_AFTER, 0);
    size_t n_disabled = 0;
    for (size_t k = 0; k < r->inc.n_after; k++) {
        size_t t = find_public(rs, r->inc.after[k]);
        r->inc.after_idx[k] = t;
        if (t == SIZE_MAX || rs->rules[t].role != RULE_ROLE_FINDING) {
            link_error(ld, r, v, "rule '%s': after names '%s', which is not a rule with a regex",
                       r->id, r->inc.after[k]);
            r->inc.after_idx[k] = SIZE_MAX;
        } else if (rs->rules[t].disabled) {
            n_disabled++;
        }
    }
    for (size_t k = 0; !r->disabled && k < r->inc.n_after; k++) {
        size_t t = r->inc.after_idx[k];
        if (t != SIZE_MAX && rs->rules[t].disabled)
            link_warning(ld, r, v, "rule '%s' follows '%s', which is disabled: %s", r->id,
                         r->inc.after[k],
                         n_disabled == r->inc.n_after ? "it cannot fire"
                                                      : "no new finding of it raises it");
    }
    raised[i] |= RAISED | RAISED_ENABLED;
    /* No expectation of a disabled rule is ever built (rule_after_first() gives none). */
    for (size_t k = 0; r->disabled && k < r->inc.n_after; k++)
        r->inc.after_idx[k] = SIZE_MAX;
    return 0;
}

/* Checks that r's caused-by names are rules, and warns of disabled ones. */
static void link_causes(const struct ruleset *rs, const struct rule *r, struct loader *ld)
{
    for (size_t k = 0; k < r->inc.n_causes; k++) {
        const struct value *v = draft_value(r, KEY_CAUSED_BY, k);
        size_t c = find_public(rs, r->inc.causes[k].rule_id);
        if (c == SIZE_MAX)
            link_error(ld, r, v, "rule '%s': caused-by names unknown rule '%s'", r->id,
                       r->inc.causes[k].rule_id);
        else if (r->inc.causes[k].where_field && !in_group_by(r, r->inc.causes[k].where_field) &&
                 !in_group_by(&rs->rules[c], r->inc.causes[k].where_field))
            link_error(ld, r, v,
                       "rule '%s': caused-by where field '%s' is in the group-by of neither it "
                       "nor '%s'",
                       r->id, r->inc.causes[k].where_field, r->inc.causes[k].rule_id);
        else if (!r->disabled && rs->rules[c].disabled)
            link_warning(ld, r, v,
                         "rule '%s' is caused by '%s', which is disabled: no new incident of "
                         "it will be linked as a cause",
                         r->id, r->inc.causes[k].rule_id);
    }
}

/* Whether {name} in rule i's incident text has a value: a fixed name, or a group-by field of
 * a rule whose findings make its incidents (itself, a rule escalating to it, its trigger). */
static bool template_name_known(const struct ruleset *rs, size_t i, const char *name)
{
    static const char *const fixed[] = { "count", "left", "limit",  "host",
                                         "first", "last", "trigger" };
    const struct rule *r = &rs->rules[i];
    for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
        if (strcmp(name, fixed[k]) == 0)
            return true;
    if (in_group_by(r, name))
        return true;
    for (size_t k = 0; r->inc.after_idx && k < r->inc.n_after; k++)
        if (r->inc.after_idx[k] != SIZE_MAX && in_group_by(&rs->rules[r->inc.after_idx[k]], name))
            return true;
    for (size_t j = 0; j < rs->n; j++)
        for (size_t e = 0; e < rs->rules[j].inc.n_escalations; e++)
            if (rs->rules[j].inc.escalations[e].target_idx == i && in_group_by(&rs->rules[j], name))
                return true;
    return false;
}

/* Reports each {name} of rule i's incident text (its `incident` template, else its summary)
 * that would be printed as it is, as incident.c's summarize() reads the text. */
static void check_template(const struct ruleset *rs, size_t i, struct loader *ld)
{
    const struct rule *r = &rs->rules[i];
    const char *tpl = r->inc.template ? r->inc.template : r->summary;
    for (const char *p = tpl ? strchr(tpl, '{') : NULL; p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (!close || close - p > 40)
            continue;
        char name[48];
        snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
        if (!template_name_known(rs, i, name))
            link_error(ld, r, draft_value(r, r->inc.template ? KEY_INCIDENT : KEY_SUMMARY, 0),
                       "rule '%s': {%s} in its %s is not a group-by field of the rules that make "
                       "its incidents, nor one of {count}, {host}, {first}, {last}, {left}, "
                       "{limit}, {trigger}: it would be printed as it is",
                       r->id, name, r->inc.template ? "incident text" : "summary");
    }
}

/* Reports each derived rule that nothing raises, and warns of those only disabled rules
 * raise. */
static void check_raised(const struct ruleset *rs, const unsigned char *raised, struct loader *ld)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->rules[i];
        if (r->role != RULE_ROLE_DERIVED)
            continue;
        if (!raised[i])
            loader_error_in(ld, r->file, r->line, 0, NULL, 0,
                            "rule '%s' has no 'regex', and no 'escalate' or 'after' raises it",
                            r->id);
        else if (!(raised[i] & RAISED_ENABLED) && !r->disabled)
            loader_warning_in(ld, r->file, r->line,
                              "rule '%s' is raised only by disabled rules: it cannot fire", r->id);
    }
}

int ruleset_link(struct ruleset *rs, struct rule_errors *errs)
{
    struct loader ld = { .rs = rs, .errs = errs };
    for (size_t i = 0; i < rs->n; i++) { /* built again below */
        free(rs->rules[i].inc.resets);
        rs->rules[i].inc.resets = NULL;
        rs->rules[i].inc.n_resets = 0;
    }
    unsigned char *raised = calloc(rs->n ? rs->n : 1, sizeof(*raised));
    if (!raised)
        return HL_ENOMEM;
    for (size_t i = 0; i < rs->n; i++) /* a reset or expect pattern is on when its rule is */
        if (!rule_is_public(&rs->rules[i]))
            rs->rules[i].disabled = rs->rules[rs->rules[i].owner].disabled;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->rules[i];
        if (!rule_is_public(r))
            continue;
        link_escalations(rs, r, raised, &ld);
        if (link_after(rs, i, raised, &ld) < 0)
            ld.nomem = true;
        link_causes(rs, r, &ld);
        for (size_t k = 0; k < r->n_severity_when; k++)
            if (!in_group_by(r, r->severity_when[k].field))
                link_error(&ld, r, draft_value(r, KEY_SEVERITY_WHEN, k),
                           "rule '%s': severity-when field '%s' is not in its group-by", r->id,
                           r->severity_when[k].field);
        if (link_reset_by(rs, i, &ld) < 0)
            ld.nomem = true;
    }
    for (size_t i = 0; i < rs->n; i++)
        if (rule_is_public(&rs->rules[i]))
            check_template(rs, i, &ld);
    check_raised(rs, raised, &ld);
    free(raised);
    if (ruleset_make_version(rs) < 0)
        ld.nomem = true;
    /* Nothing is loaded after this: the drafts and the texts they point into can go. */
    for (size_t i = 0; i < rs->n; i++) {
        rule_draft_free(rs->rules[i].draft);
        rs->rules[i].draft = NULL;
    }
    ruleset_free_texts(rs);
    return ld.nomem ? HL_ENOMEM : ld.added;
}
