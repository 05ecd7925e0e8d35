/* The incident keys of a stanza (group-by, gap, threshold, escalate, caused-by, after, limit,
 * the multi-line tests) read into a struct rule_incident_spec, and the value forms they share
 * with rule_build.c: comma lists, durations, "X within DURATION same FIELD, ...". */
#include "rule_load.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Default `gap`: findings of one key further apart than this are separate incidents. */
#define DEFAULT_GAP_US (10 * 60 * INT64_C(1000000))

void rule_strs_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int rule_split_list(struct strv list, char sep, char ***v, size_t *n)
{
    while (list.n) {
        const char *cut = memchr(list.p, sep, list.n);
        size_t len = cut ? (size_t)(cut - list.p) : list.n;
        struct strv item = strv_trim(strv_make(list.p, len));
        if (item.n) {
            char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
            if (!nv)
                return HL_ENOMEM;
            *v = nv;
            if (!(nv[*n] = strndup(item.p, item.n)))
                return HL_ENOMEM;
            (*n)++;
        }
        list = cut ? strv_make(cut + 1, list.n - len - 1) : strv_make(NULL, 0);
    }
    return 0;
}

int rule_duration_parse(const char *s, int64_t *ret_us)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0 || errno)
        return -1;
    while (*end == ' ')
        end++;
    static const struct {
        const char *unit;
        int64_t us;
    } units[] = { { "ms", 1000 },
                  { "s", 1000000 },
                  { "m", 60 * INT64_C(1000000) },
                  { "h", 3600 * INT64_C(1000000) },
                  { "d", 86400 * INT64_C(1000000) } };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v > RULE_DURATION_MAX_US / units[i].us)
                return -1;
            *ret_us = v * units[i].us;
            return 0;
        }
    }
    return -1;
}

bool rule_split_within(struct strv s, struct strv *head, int64_t *us, struct strv *tail)
{
    static const char kw[] = " within ";
    const char *at = NULL;
    for (const char *p = s.p; p + sizeof(kw) - 1 <= s.p + s.n; p++)
        if (memcmp(p, kw, sizeof(kw) - 1) == 0)
            at = p;
    if (!at)
        return false;
    *head = strv_trim(strv_make(s.p, (size_t)(at - s.p)));
    struct strv rest = strv_make(at + sizeof(kw) - 1, (size_t)(s.p + s.n - at) - (sizeof(kw) - 1));
    *tail = strv_make(NULL, 0);
    const char *same = NULL;
    for (const char *p = rest.p; p + 6 <= rest.p + rest.n && !same; p++)
        if (memcmp(p, " same ", 6) == 0)
            same = p;
    if (same) {
        *tail = strv_trim(strv_make(same + 6, (size_t)(rest.p + rest.n - same - 6)));
        rest.n = (size_t)(same - rest.p);
    }
    char dur[32];
    rest = strv_trim(rest);
    if (rest.n == 0 || rest.n >= sizeof(dur))
        return false;
    memcpy(dur, rest.p, rest.n);
    dur[rest.n] = '\0';
    return rule_duration_parse(dur, us) == 0;
}

void rule_spec_release(struct rule_incident_spec *sp)
{
    rule_strs_free(sp->group_by, sp->n_group_by);
    rule_strs_free(sp->carry, sp->n_carry);
    for (size_t i = 0; i < sp->n_escalations; i++) {
        free(sp->escalations[i].target);
        free(sp->escalations[i].where_field);
        rule_strs_free(sp->escalations[i].where_values, sp->escalations[i].n_where_values);
    }
    free(sp->escalations);
    rule_strs_free(sp->after, sp->n_after);
    free(sp->after_idx);
    for (size_t i = 0; i < sp->n_causes; i++) {
        free(sp->causes[i].rule_id);
        rule_strs_free(sp->causes[i].same, sp->causes[i].n_same);
        free(sp->causes[i].where_field);
        rule_strs_free(sp->causes[i].where_values, sp->causes[i].n_where_values);
    }
    free(sp->causes);
    rule_strs_free(sp->reset_by, sp->n_reset_by);
    free(sp->reset_by_idx);
    free(sp->resets);
    free(sp->template);
    for (size_t i = 0; i < sp->n_seq_tests; i++) {
        rule_strs_free(sp->seq_tests[i].lines, sp->seq_tests[i].n_lines);
        free(sp->seq_tests[i].want);
    }
    free(sp->seq_tests);
    memset(sp, 0, sizeof(*sp));
}

/* `escalate = N RULE [where FIELD = A|B]` */
static bool parse_escalation(struct loader *ld, const struct value *v, struct rule_escalation *e)
{
    const char *s = buf_cstr(&v->text);
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (end == s || n == 0 || n > 1000000 || *end != ' ') {
        value_error(ld, v, "bad escalate '%s' (want: COUNT RULE [where FIELD = A|B])", s);
        return false;
    }
    e->count = (unsigned)n;
    struct strv rest = strv_trim(strv_from_cstr(end));
    const char *where = strstr(rest.p, " where ");
    struct strv target = strv_trim(strv_make(rest.p, where ? (size_t)(where - rest.p) : rest.n));
    if (!(e->target = strndup(target.p, target.n))) {
        ld->nomem = true;
        return false;
    }
    if (!where)
        return true;
    struct strv cond = strv_trim(strv_from_cstr(where + 7));
    const char *eq = memchr(cond.p, '=', cond.n);
    if (!eq) {
        value_error(ld, v, "bad escalate '%s' (want: where FIELD = A|B)", s);
        return false;
    }
    struct strv field = strv_trim(strv_make(cond.p, (size_t)(eq - cond.p)));
    e->where_field = strndup(field.p, field.n);
    if (!e->where_field ||
        rule_split_list(strv_from_cstr(eq + 1), '|', &e->where_values, &e->n_where_values) < 0) {
        ld->nomem = true;
        return false;
    }
    return true;
}

/* `caused-by = RULE within DURATION [same FIELD, ...] [where FIELD = A|B]` */
static bool parse_cause(struct loader *ld, const struct value *v, struct rule_cause *c)
{
    static const char want[] = "RULE within DURATION [same FIELD, ...] [where FIELD = A|B]";
    struct strv all = strv_make(v->text.data, v->text.len), head, tail;
    const char *where = strstr(buf_cstr(&v->text), " where ");
    const char *eq = where ? strchr(where, '=') : NULL;
    if (where)
        all.n = (size_t)(where - all.p);
    if (!rule_split_within(all, &head, &c->within_us, &tail) || head.n == 0 || (where && !eq)) {
        value_error(ld, v, "bad caused-by '%s' (want: %s)", buf_cstr(&v->text), want);
        return false;
    }
    if (!(c->rule_id = strndup(head.p, head.n)) ||
        rule_split_list(tail, ',', &c->same, &c->n_same) < 0) {
        ld->nomem = true;
        return false;
    }
    if (!where)
        return true;
    struct strv field = strv_trim(strv_make(where + 7, (size_t)(eq - where - 7)));
    if (field.n == 0) {
        value_error(ld, v, "bad caused-by '%s' (want: %s)", buf_cstr(&v->text), want);
        return false;
    }
    if (!(c->where_field = strndup(field.p, field.n)) ||
        rule_split_list(strv_from_cstr(eq + 1), '|', &c->where_values, &c->n_where_values) < 0) {
        ld->nomem = true;
        return false;
    }
    return true;
}

/* Groups test-log lines into scenarios, each ended by a test-incidents line (file order). */
static bool parse_seq_tests(struct loader *ld, const struct rule_draft *d,
                            struct rule_incident_spec *sp)
{
    size_t il = 0, n_logs = d->n_values[KEY_TEST_LOG], n_wants = d->n_values[KEY_TEST_INCIDENTS];
    if (n_wants && !(sp->seq_tests = calloc(n_wants, sizeof(*sp->seq_tests)))) {
        ld->nomem = true;
        return false;
    }
    for (size_t iw = 0; iw < n_wants; iw++) {
        const struct value *want = &d->values[KEY_TEST_INCIDENTS][iw];
        struct rule_seq_test *t = &sp->seq_tests[sp->n_seq_tests++];
        t->src_line = want->line;
        t->file = want->file;
        if (!(t->want = strdup(buf_cstr(&want->text)))) {
            ld->nomem = true;
            return false;
        }
        for (; il < n_logs && d->values[KEY_TEST_LOG][il].order < want->order; il++) {
            char **nv = realloc(t->lines, (t->n_lines + 1) * sizeof(*nv));
            if (!nv || !(nv[t->n_lines] = strdup(value_cstr(d, KEY_TEST_LOG, il)))) {
                if (nv)
                    t->lines = nv;
                ld->nomem = true;
                return false;
            }
            t->lines = nv;
            t->n_lines++;
        }
        if (t->n_lines == 0) {
            value_error(ld, want, "'test-incidents' %s has no 'test-log' lines before it", "line");
            return false;
        }
    }
    if (il < n_logs) {
        value_error(ld, &d->values[KEY_TEST_LOG][il],
                    "'test-log' %s is not followed by a 'test-incidents' line", "line");
        return false;
    }
    return true;
}

/* Splits the first value of key k of d at commas into *v (*n strings); 0 or HL_ENOMEM. */
static int split_first_value(const struct rule_draft *d, enum rule_key k, char ***v, size_t *n)
{
    const struct buf *text = &d->values[k][0].text;
    return rule_split_list(strv_make(text->data, text->len), ',', v, n);
}

/* Reads d's group-by into sp, {"host"} when it has none. */
static void parse_group_by(struct loader *ld, const struct rule_draft *d,
                           struct rule_incident_spec *sp)
{
    if (d->n_values[KEY_GROUP_BY]) {
        if (split_first_value(d, KEY_GROUP_BY, &sp->group_by, &sp->n_group_by) < 0)
            ld->nomem = true;
    } else if (!(sp->group_by = calloc(1, sizeof(char *))) || !(sp->group_by[0] = strdup("host"))) {
        ld->nomem = true;
    } else {
        sp->n_group_by = 1;
    }
}

/* Reads d's carry into sp; false when it names a field that is not carried or the rule has
 * no program to follow. */
static bool parse_carry(struct loader *ld, const struct rule_draft *d,
                        struct rule_incident_spec *sp)
{
    bool ok = true;
    if (!d->n_values[KEY_CARRY])
        return true;
    if (split_first_value(d, KEY_CARRY, &sp->carry, &sp->n_carry) < 0)
        ld->nomem = true;
    for (size_t i = 0; i < sp->n_carry; i++) {
        if (strcmp(sp->carry[i], "client_ip") != 0 && strcmp(sp->carry[i], "client_port") != 0) {
            value_error(ld, &d->values[KEY_CARRY][0],
                        "carry takes client_ip and client_port, not '%s'", sp->carry[i]);
            ok = false;
        }
    }
    if (!d->n_values[KEY_PROGRAM]) {
        value_error(ld, &d->values[KEY_CARRY][0], "carry needs a 'program' %s",
                    "(the lines whose context is followed)");
        ok = false;
    }
    return ok;
}

/* Reads d's gap and `threshold = COUNT within DURATION` into sp; false when either is bad. */
static bool parse_windows(struct loader *ld, const struct rule_draft *d,
                          struct rule_incident_spec *sp)
{
    bool ok = true;
    if (d->n_values[KEY_GAP] && rule_duration_parse(value_cstr(d, KEY_GAP, 0), &sp->gap_us) < 0) {
        value_error(ld, &d->values[KEY_GAP][0], "bad gap '%s' (a duration: 90s, 10m, 2h, 7d)",
                    value_cstr(d, KEY_GAP, 0));
        ok = false;
    }
    if (d->n_values[KEY_THRESHOLD]) {
        const struct value *v = &d->values[KEY_THRESHOLD][0];
        struct strv head, tail;
        char *end = NULL;
        bool good = rule_split_within(strv_make(v->text.data, v->text.len), &head,
                                      &sp->threshold_us, &tail) &&
                    tail.n == 0 && head.n;
        unsigned long n = good ? strtoul(head.p, &end, 10) : 0;
        if (!good || end != head.p + head.n || n == 0 || n > 1000000) {
            value_error(ld, v, "bad threshold '%s' (want: COUNT within DURATION)",
                        buf_cstr(&v->text));
            ok = false;
        }
        sp->threshold = (unsigned)n;
    }
    return ok;
}

/* Reads the names of other rules in d (escalate, caused-by, after, reset-by) into sp, for
 * ruleset_link() to resolve; false when an escalate or caused-by is bad. */
static bool parse_references(struct loader *ld, const struct rule_draft *d,
                             struct rule_incident_spec *sp)
{
    bool ok = true;
    if (d->n_values[KEY_ESCALATE] &&
        !(sp->escalations = calloc(d->n_values[KEY_ESCALATE], sizeof(*sp->escalations))))
        ld->nomem = true;
    for (size_t i = 0; sp->escalations && i < d->n_values[KEY_ESCALATE]; i++) {
        ok &= parse_escalation(ld, &d->values[KEY_ESCALATE][i], &sp->escalations[i]);
        sp->n_escalations++;
    }
    if (d->n_values[KEY_CAUSED_BY] &&
        !(sp->causes = calloc(d->n_values[KEY_CAUSED_BY], sizeof(*sp->causes))))
        ld->nomem = true;
    for (size_t i = 0; sp->causes && i < d->n_values[KEY_CAUSED_BY]; i++) {
        ok &= parse_cause(ld, &d->values[KEY_CAUSED_BY][i], &sp->causes[i]);
        sp->n_causes++;
    }
    if (d->n_values[KEY_AFTER] && split_first_value(d, KEY_AFTER, &sp->after, &sp->n_after) < 0)
        ld->nomem = true;
    if (d->n_values[KEY_RESET_BY] &&
        split_first_value(d, KEY_RESET_BY, &sp->reset_by, &sp->n_reset_by) < 0)
        ld->nomem = true;
    return ok;
}

/* Reads d's limit and incident template into sp; false when the limit is bad. */
static bool parse_limit_template(struct loader *ld, const struct rule_draft *d,
                                 struct rule_incident_spec *sp)
{
    bool ok = true;
    if (d->n_values[KEY_LIMIT]) {
        char *end;
        unsigned long n = strtoul(value_cstr(d, KEY_LIMIT, 0), &end, 10);
        if (*end || n == 0 || n > 1000000) {
            value_error(ld, &d->values[KEY_LIMIT][0], "bad limit '%s' (a count)",
                        value_cstr(d, KEY_LIMIT, 0));
            ok = false;
        }
        sp->limit = (unsigned)n;
    }
    if (d->n_values[KEY_INCIDENT] && !(sp->template = strdup(value_cstr(d, KEY_INCIDENT, 0))))
        ld->nomem = true;
    return ok;
}

/* Reports the keys of d that do not fit whether it has a regex (a derived rule has none and
 * is raised by after and expect, which go together); false when there are any. */
static bool check_derived(struct loader *ld, const struct rule_draft *d)
{
    bool ok = true;
    bool derived = d->n_values[KEY_REGEX] == 0;
    if (!derived && (d->n_values[KEY_AFTER] || d->n_values[KEY_EXPECT])) {
        stanza_error(ld, d,
                     "rule '%s' has 'after'/'expect' and a 'regex': a rule raised by a missing "
                     "event has no regex of its own",
                     d->id);
        ok = false;
    }
    if (!d->n_values[KEY_AFTER] != !d->n_values[KEY_EXPECT]) {
        stanza_error(ld, d, "rule '%s' needs both 'after' and 'expect'", d->id);
        ok = false;
    }
    if (derived &&
        (d->n_values[KEY_RESET] || d->n_values[KEY_THRESHOLD] || d->n_values[KEY_ESCALATE] ||
         d->n_values[KEY_EXCLUDE] || d->n_values[KEY_PROGRAM] || d->n_values[KEY_HOSTS] ||
         d->n_values[KEY_RESET_BY] || d->n_values[KEY_SEVERITY_WHEN] ||
         d->n_values[KEY_NORMALIZE])) {
        stanza_error(ld, d,
                     "rule '%s' has no 'regex', so 'program', 'hosts', 'exclude', 'reset', "
                     "'reset-by', 'threshold', 'escalate', 'severity-when' and 'normalize' have "
                     "nothing to work on",
                     d->id);
        ok = false;
    }
    return ok;
}

bool rule_spec_parse(struct loader *ld, const struct rule_draft *d, struct rule_incident_spec *sp)
{
    sp->gap_us = DEFAULT_GAP_US;
    sp->reset_idx = sp->expect_idx = SIZE_MAX;
    /* Every part is read even when an earlier one failed, so that all problems are reported,
     * in this order. */
    parse_group_by(ld, d, sp);
    bool ok = parse_carry(ld, d, sp);
    ok &= parse_windows(ld, d, sp);
    ok &= parse_references(ld, d, sp);
    ok &= parse_limit_template(ld, d, sp);
    ok &= check_derived(ld, d);
    return parse_seq_tests(ld, d, sp) && ok;
}
