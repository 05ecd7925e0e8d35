/* Rule-file reader: INI-like stanzas (rules/README.md), one pass over the text, every problem
 * collected with file:line:col. A stanza with any error is dropped as a whole, so a half-read
 * rule never runs. The key table drives parsing; adding a key is one row and one case. */
#include "rule.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "rule_load.h"
#include "utf8.h"

/* Default `gap`: findings of one key further apart than this are separate incidents. */
#define DEFAULT_GAP_US (10 * 60 * INT64_C(1000000))

static void severity_when_free(struct rule_severity_when *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].field);
        rule_strs_free(v[i].values, v[i].n_values);
    }
    free(v);
}

static void normalize_free(struct rule_normalize *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].value);
        free(v[i].field);
        rule_strs_free(v[i].values, v[i].n_values);
    }
    free(v);
}

void rule_release(struct rule *r)
{
    free(r->id);
    free(r->summary);
    free(r->remedy);
    free(r->refs);
    for (size_t i = 0; i < r->n_programs; i++)
        free(r->programs[i]);
    free(r->programs);
    severity_when_free(r->severity_when, r->n_severity_when);
    normalize_free(r->normalize, r->n_normalize);
    free(r->regex_src);
    pcre2_code_free(r->re);
    for (size_t i = 0; i < r->n_exclude; i++) {
        free(r->exclude_src[i]);
        pcre2_code_free(r->exclude[i]);
    }
    free(r->exclude_src);
    free(r->exclude);
    free(r->literal);
    for (size_t i = 0; i < r->n_tests; i++)
        free(r->tests[i].line);
    free(r->tests);
    free(r->overrides);
    rule_draft_free(r->draft);
    rule_spec_release(&r->inc);
}

void ruleset_init(struct ruleset *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void ruleset_free_texts(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n_texts; i++)
        free(rs->texts[i]);
    free(rs->texts);
    rs->texts = NULL;
    rs->n_texts = 0;
}

void ruleset_release(struct ruleset *rs)
{
    ruleset_release_prefilter(rs); /* before the rules: it clears their literal ids */
    for (size_t i = 0; i < rs->n; i++)
        rule_release(&rs->rules[i]);
    free(rs->rules);
    pcre2_match_context_free(rs->mctx);
    for (size_t i = 0; i < rs->n_files; i++)
        free(rs->files[i]);
    free(rs->files);
    ruleset_free_texts(rs);
    ruleset_init(rs);
}

/* Returns the ruleset's copy of the file name, adding it when new; NULL when out of memory. */
static const char *intern_file(struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_files; i++)
        if (strcmp(rs->files[i], name) == 0)
            return rs->files[i];
    char **v = realloc(rs->files, (rs->n_files + 1) * sizeof(*v));
    if (!v)
        return NULL;
    rs->files = v;
    if (!(v[rs->n_files] = strdup(name)))
        return NULL;
    return v[rs->n_files++];
}

const struct rule *ruleset_find(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].id, id) == 0)
            return &rs->rules[i];
    return NULL;
}

char *rule_origin(const struct rule *r)
{
    char *s;
    if (asprintf(&s, "%s:%u%s%s", r->file, r->line, r->overrides ? "; " : "",
                 r->overrides ? r->overrides : "") < 0)
        return NULL;
    return s;
}

/* Compiles v as a PCRE2 pattern; reports a bad one with the column PCRE2 points at. */
static pcre2_code *compile_value(struct loader *ld, const struct value *v, const char *key)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)buf_cstr(&v->text), v->text.len, 0, &errcode, &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        loader_error_in(ld, v->file, v->line, (int)(v->col + erroff), v->src, v->src_len,
                        "bad %s: %s", key, (const char *)msg);
        return NULL;
    }
    /* JIT may be unavailable on this platform; the interpreter then does the same job. */
    if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0)
        ld->rs->jit = true;
    return re;
}

static char *dup_value(const struct rule_draft *d, enum rule_key k)
{
    return d->n_values[k] ? strdup(buf_cstr(&d->values[k][0].text)) : NULL;
}

static int split_programs(struct rule *r, const char *list)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct strv name = strv_trim(strv_make(p, n));
        if (strv_eq(name, "(none)")) {
            r->program_none = true; /* lines without a program: a pasted console session */
        } else if (name.n) {
            char **v = realloc(r->programs, (r->n_programs + 1) * sizeof(*v));
            if (!v)
                return HL_ENOMEM;
            r->programs = v;
            char *lower = strndup(name.p, name.n);
            if (!lower)
                return HL_ENOMEM;
            for (char *c = lower; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            r->programs[r->n_programs++] = lower;
        }
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

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
    free(sp->after);
    for (size_t i = 0; i < sp->n_causes; i++) {
        free(sp->causes[i].rule_id);
        rule_strs_free(sp->causes[i].same, sp->causes[i].n_same);
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

/* Splits `HEAD where FIELD = A|B` (key names the key, want its form, for errors). */
static bool parse_where(struct loader *ld, const struct value *v, const char *key, const char *want,
                        struct strv *ret_head, char **ret_field, char ***ret_values, size_t *ret_n)
{
    const char *s = buf_cstr(&v->text);
    const char *where = strstr(s, " where ");
    const char *eq = where ? strchr(where, '=') : NULL;
    *ret_head = strv_trim(strv_make(s, where ? (size_t)(where - s) : strlen(s)));
    struct strv field = eq ? strv_trim(strv_make(where + 7, (size_t)(eq - where - 7))) : STRV_NULL;
    if (!eq || !field.n || !ret_head->n) {
        value_error(ld, v, "bad %s '%s' (want: %s)", key, s, want);
        return false;
    }
    if (!(*ret_field = strndup(field.p, field.n)) ||
        rule_split_list(strv_from_cstr(eq + 1), '|', ret_values, ret_n) < 0) {
        ld->nomem = true;
        return false;
    }
    if (!*ret_n) {
        value_error(ld, v, "bad %s '%s' (no value after '=')", key, s);
        return false;
    }
    return true;
}

/* `severity-when = SEVERITY where FIELD = A|B` */
static bool parse_severity_when(struct loader *ld, const struct value *v,
                                struct rule_severity_when *sw)
{
    static const char want[] = "SEVERITY where FIELD = A|B";
    struct strv sev;
    if (!parse_where(ld, v, "severity-when", want, &sev, &sw->field, &sw->values, &sw->n_values))
        return false;
    if (severity_parse(sev.p, sev.n, &sw->severity) < 0) {
        value_error(ld, v, "bad severity-when '%s' (want: %s)", buf_cstr(&v->text), want);
        return false;
    }
    return true;
}

/* `normalize = VALUE where FIELD = A|B` */
static bool parse_normalize(struct loader *ld, const struct value *v, struct rule_normalize *nz)
{
    struct strv value;
    if (!parse_where(ld, v, "normalize", "VALUE where FIELD = A|B", &value, &nz->field, &nz->values,
                     &nz->n_values))
        return false;
    if (!(nz->value = strndup(value.p, value.n))) {
        ld->nomem = true;
        return false;
    }
    return true;
}

/* `caused-by = RULE within DURATION [same FIELD, ...]` */
static bool parse_cause(struct loader *ld, const struct value *v, struct rule_cause *c)
{
    struct strv head, tail;
    if (!rule_split_within(strv_make(v->text.data, v->text.len), &head, &c->within_us, &tail) ||
        head.n == 0) {
        value_error(ld, v, "bad caused-by '%s' (want: RULE within DURATION [same FIELD, ...])",
                    buf_cstr(&v->text));
        return false;
    }
    if (!(c->rule_id = strndup(head.p, head.n)) ||
        rule_split_list(tail, ',', &c->same, &c->n_same) < 0) {
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

bool rule_spec_parse(struct loader *ld, const struct rule_draft *d, struct rule_incident_spec *sp)
{
    bool ok = true;
    sp->gap_us = DEFAULT_GAP_US;
    sp->reset_idx = sp->expect_idx = SIZE_MAX;
    if (d->n_values[KEY_GROUP_BY]) {
        if (rule_split_list(strv_make(d->values[KEY_GROUP_BY][0].text.data,
                                      d->values[KEY_GROUP_BY][0].text.len),
                            ',', &sp->group_by, &sp->n_group_by) < 0)
            ld->nomem = true;
    } else if (!(sp->group_by = calloc(1, sizeof(char *))) || !(sp->group_by[0] = strdup("host"))) {
        ld->nomem = true;
    } else {
        sp->n_group_by = 1;
    }
    if (d->n_values[KEY_CARRY]) {
        if (rule_split_list(
                    strv_make(d->values[KEY_CARRY][0].text.data, d->values[KEY_CARRY][0].text.len),
                    ',', &sp->carry, &sp->n_carry) < 0)
            ld->nomem = true;
        for (size_t i = 0; i < sp->n_carry; i++) {
            if (strcmp(sp->carry[i], "client_ip") != 0 &&
                strcmp(sp->carry[i], "client_port") != 0) {
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
    }
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
    if (d->n_values[KEY_AFTER] && !(sp->after = strdup(value_cstr(d, KEY_AFTER, 0))))
        ld->nomem = true;
    if (d->n_values[KEY_RESET_BY] && rule_split_list(strv_make(d->values[KEY_RESET_BY][0].text.data,
                                                               d->values[KEY_RESET_BY][0].text.len),
                                                     ',', &sp->reset_by, &sp->n_reset_by) < 0)
        ld->nomem = true;
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
    return parse_seq_tests(ld, d, sp) && ok;
}

/* Adds an empty rule slot at the end of the set (not yet counted in n); NULL when out of
 * memory. */
static struct rule *append_rule(struct loader *ld)
{
    if (ld->rs->n == ld->rs->cap) {
        size_t cap = ld->rs->cap ? ld->rs->cap * 2 : 32;
        struct rule *v = realloc(ld->rs->rules, cap * sizeof(*v));
        if (!v) {
            ld->nomem = true;
            return NULL;
        }
        ld->rs->rules = v;
        ld->rs->cap = cap;
    }
    struct rule *r = &ld->rs->rules[ld->rs->n];
    memset(r, 0, sizeof(*r));
    r->inc.reset_idx = r->inc.expect_idx = SIZE_MAX;
    return r;
}

/* Adds the internal rule for the reset or expect pattern of rules[owner]; takes re. */
static bool add_pattern_rule(struct loader *ld, size_t owner, enum rule_role role,
                             const char *suffix, pcre2_code *re, const char *src)
{
    struct rule *r = append_rule(ld);
    if (!r) {
        pcre2_code_free(re);
        return false;
    }
    const struct rule *o = &ld->rs->rules[owner];
    r->role = role;
    r->owner = owner;
    r->re = re;
    r->severity = SEV_INFO;
    r->file = o->file;
    r->line = o->line;
    bool ok = asprintf(&r->id, "%s#%s", o->id, suffix) >= 0;
    if (!ok)
        r->id = NULL;
    ok = ok && (r->summary = strdup(suffix)) && (r->remedy = strdup("")) &&
         (r->regex_src = strdup(src));
    /* A reset line comes from the same programs as the rule's findings. */
    for (size_t i = 0; ok && role == RULE_ROLE_RESET && i < o->n_programs; i++) {
        char **nv = realloc(r->programs, (r->n_programs + 1) * sizeof(*nv));
        ok = nv && (r->programs = nv, nv[r->n_programs] = strdup(o->programs[i])) &&
             ++r->n_programs;
    }
    if (ok)
        r->literal = rule_required_literal(r->regex_src, &r->literal_len, &r->literal_icase);
    if (!ok) {
        rule_release(r);
        ld->nomem = true;
        return false;
    }
    ld->rs->n++;
    return true;
}

static size_t id_hash(const char *id)
{
    size_t h = 1469598103934665603u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return h;
}

/* Returns the loaded rule with this id, or NULL; sets ld->nomem when the set cannot grow. */
static const struct rule *loader_find(struct loader *ld, const char *id)
{
    struct ruleset *rs = ld->rs;
    if (rs->n * 2 >= ld->ids_cap) { /* keep the set at most half full: rebuild */
        size_t cap = ld->ids_cap ? ld->ids_cap : 64;
        while (rs->n * 2 >= cap)
            cap *= 2;
        size_t *v = calloc(cap, sizeof(*v));
        if (!v) {
            ld->nomem = true;
            return ruleset_find(rs, id);
        }
        free(ld->ids);
        ld->ids = v;
        ld->ids_cap = cap;
        ld->hashed = 0;
    }
    for (; ld->hashed < rs->n; ld->hashed++) {
        size_t i = id_hash(rs->rules[ld->hashed].id) & (ld->ids_cap - 1);
        while (ld->ids[i])
            i = (i + 1) & (ld->ids_cap - 1);
        ld->ids[i] = ld->hashed + 1;
    }
    for (size_t i = id_hash(id) & (ld->ids_cap - 1); ld->ids[i]; i = (i + 1) & (ld->ids_cap - 1))
        if (strcmp(rs->rules[ld->ids[i] - 1].id, id) == 0)
            return &rs->rules[ld->ids[i] - 1];
    return NULL;
}

/* `enabled`: yes or no, and the spellings systemd's unit files also take. */
static int parse_yes_no(const char *s, bool *ret)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *ret = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *ret = false, 0;
    }
    return -1;
}

void built_release(struct built *x)
{
    pcre2_code_free(x->reset);
    free(x->reset_src);
    pcre2_code_free(x->expect);
    free(x->expect_src);
    memset(x, 0, sizeof(*x));
}

/* A value written like "no   # silence it" carries its "comment" (only whole lines are
 * comments): an exclude that can never match, an enabled that is no word. Says so. */
static void warn_trailing_comment(struct loader *ld, const char *key, const struct value *v)
{
    const char *s = buf_cstr(&v->text);
    const char *h = strstr(s, "  #");
    if (!h)
        h = strstr(s, "\t#");
    if (h)
        loader_warning_in(ld, v->file, v->line,
                          "%s value '%s' has '#' after spaces: it is part of the value, not a "
                          "comment (a comment is a whole line starting with # or ;)",
                          key, s);
}

bool loader_build_rule(struct loader *ld, struct rule_draft *d, const struct rule *dup,
                       struct rule *r, struct built *x)
{
    memset(r, 0, sizeof(*r));
    memset(x, 0, sizeof(*x));
    r->inc.reset_idx = r->inc.expect_idx = SIZE_MAX;
    for (int k = 0; k < KEY__COUNT; k++) {
        if (rule_key_table[k].required && d->n_values[k] == 0) {
            stanza_error(ld, d, "rule '%s' has no '%s'", d->id, rule_key_table[k].name);
            d->broken = true;
        }
        if (!rule_key_table[k].continues && k != KEY_TEST && k != KEY_TEST_NO && k != KEY_TEST_LOG)
            for (size_t i = 0; i < d->n_values[k]; i++)
                warn_trailing_comment(ld, rule_key_table[k].name, &d->values[k][i]);
    }
    if (dup) {
        stanza_error(ld, d, "duplicate rule id '%s' (first defined at %s:%u)", d->id, dup->file,
                     dup->line);
        d->broken = true;
    }
    enum severity sev = SEV_INFO;
    if (d->n_values[KEY_SEVERITY]) {
        const struct value *v = &d->values[KEY_SEVERITY][0];
        if (severity_parse(buf_cstr(&v->text), v->text.len, &sev) < 0) {
            value_error(ld, v,
                        "unknown severity '%s' (use info, notice, warning, error or critical)",
                        buf_cstr(&v->text));
            d->broken = true;
        }
    }
    bool enabled = true;
    if (d->n_values[KEY_ENABLED] && parse_yes_no(value_cstr(d, KEY_ENABLED, 0), &enabled) < 0) {
        value_error(ld, &d->values[KEY_ENABLED][0], "bad enabled '%s' (use yes or no)",
                    value_cstr(d, KEY_ENABLED, 0));
        d->broken = true;
    }
    pcre2_code *re = NULL, *reset = NULL, *expect = NULL;
    size_t n_exclude = d->n_values[KEY_EXCLUDE];
    pcre2_code **exclude = n_exclude ? calloc(n_exclude, sizeof(*exclude)) : NULL;
    if (n_exclude && !exclude)
        ld->nomem = true;
    if (d->n_values[KEY_REGEX] && !(re = compile_value(ld, &d->values[KEY_REGEX][0], "regex")))
        d->broken = true;
    for (size_t i = 0; exclude && i < n_exclude; i++)
        if (!(exclude[i] = compile_value(ld, &d->values[KEY_EXCLUDE][i], "exclude")))
            d->broken = true;
    if (d->n_values[KEY_RESET] && !(reset = compile_value(ld, &d->values[KEY_RESET][0], "reset")))
        d->broken = true;
    struct rule_incident_spec spec = { 0 };
    if (!rule_spec_parse(ld, d, &spec))
        d->broken = true;
    enum rule_hosts hosts = RULE_HOSTS_ANY;
    if (d->n_values[KEY_HOSTS]) {
        const struct value *v = &d->values[KEY_HOSTS][0];
        if (strcmp(buf_cstr(&v->text), "appliance") == 0) {
            hosts = RULE_HOSTS_APPLIANCE;
        } else if (strcmp(buf_cstr(&v->text), "any") != 0) {
            value_error(ld, v, "unknown hosts '%s' (use appliance or any)", buf_cstr(&v->text));
            d->broken = true;
        }
    }
    size_t n_severity_when = d->n_values[KEY_SEVERITY_WHEN];
    struct rule_severity_when *severity_when =
            n_severity_when ? calloc(n_severity_when, sizeof(*severity_when)) : NULL;
    if (n_severity_when && !severity_when)
        ld->nomem = true;
    for (size_t i = 0; severity_when && i < n_severity_when; i++)
        if (!parse_severity_when(ld, &d->values[KEY_SEVERITY_WHEN][i], &severity_when[i]))
            d->broken = true;
    size_t n_normalize = d->n_values[KEY_NORMALIZE];
    struct rule_normalize *normalize = n_normalize ? calloc(n_normalize, sizeof(*normalize)) : NULL;
    if (n_normalize && !normalize)
        ld->nomem = true;
    for (size_t i = 0; normalize && i < n_normalize; i++)
        if (!parse_normalize(ld, &d->values[KEY_NORMALIZE][i], &normalize[i]))
            d->broken = true;
    /* expect = PATTERN within DURATION: the pattern is what precedes the last " within ". */
    char *expect_src = NULL;
    if (d->n_values[KEY_EXPECT]) {
        struct value *v = &d->values[KEY_EXPECT][0];
        struct strv head, tail;
        if (!rule_split_within(strv_make(v->text.data, v->text.len), &head, &spec.expect_us,
                               &tail) ||
            tail.n || head.n == 0) {
            value_error(ld, v, "bad expect '%s' (want: PATTERN within DURATION)",
                        buf_cstr(&v->text));
            d->broken = true;
        } else if (!(expect_src = strndup(head.p, head.n))) {
            ld->nomem = true;
        } else {
            /* Compile only the pattern part, keeping columns right for errors. */
            struct value pat = *v;
            buf_init(&pat.text, 0);
            if (buf_add(&pat.text, head.p, head.n) < 0)
                ld->nomem = true;
            else if (!(expect = compile_value(ld, &pat, "expect")))
                d->broken = true;
            buf_release(&pat.text);
        }
    }
    if (d->broken || ld->nomem) {
        severity_when_free(severity_when, n_severity_when);
        normalize_free(normalize, n_normalize);
        pcre2_code_free(re);
        for (size_t i = 0; exclude && i < n_exclude; i++)
            pcre2_code_free(exclude[i]);
        free(exclude);
        pcre2_code_free(reset);
        pcre2_code_free(expect);
        free(expect_src);
        rule_spec_release(&spec);
        return false;
    }
    r->role = re ? RULE_ROLE_FINDING : RULE_ROLE_DERIVED;
    r->inc = spec;
    r->severity = sev;
    r->disabled = !enabled;
    r->file = d->file;
    r->line = d->line;
    r->re = re;
    r->exclude = exclude;
    r->id = strdup(d->id);
    r->summary = dup_value(d, KEY_SUMMARY);
    r->remedy = dup_value(d, KEY_REMEDY);
    r->regex_src = dup_value(d, KEY_REGEX);
    r->exclude_src = n_exclude ? calloc(n_exclude, sizeof(*r->exclude_src)) : NULL;
    bool ok = r->id && r->summary && r->remedy && (!re || r->regex_src) &&
              (!n_exclude || r->exclude_src);
    if (r->exclude_src) {
        r->n_exclude = n_exclude; /* rule_release() frees each pattern and its text */
    } else {
        for (size_t i = 0; i < n_exclude; i++)
            pcre2_code_free(exclude[i]);
        free(exclude);
        r->exclude = NULL;
    }
    for (size_t i = 0; ok && i < n_exclude; i++)
        ok = (r->exclude_src[i] = strdup(value_cstr(d, KEY_EXCLUDE, i))) != NULL;
    if (ok && d->n_values[KEY_PROGRAM])
        ok = split_programs(r, buf_cstr(&d->values[KEY_PROGRAM][0].text)) == 0;
    r->hosts = hosts;
    r->severity_when = severity_when;
    r->n_severity_when = n_severity_when;
    r->normalize = normalize;
    r->n_normalize = n_normalize;
    struct buf refs;
    buf_init(&refs, 0);
    for (size_t i = 0; ok && i < d->n_values[KEY_REFS]; i++)
        ok = (i == 0 || buf_addc(&refs, '\n') == 0) &&
             buf_add(&refs, d->values[KEY_REFS][i].text.data, d->values[KEY_REFS][i].text.len) == 0;
    r->refs = refs.len ? buf_detach(&refs) : NULL;
    buf_release(&refs);
    size_t n_tests = d->n_values[KEY_TEST] + d->n_values[KEY_TEST_NO];
    r->tests = ok && n_tests ? calloc(n_tests, sizeof(*r->tests)) : NULL;
    ok = ok && (!n_tests || r->tests);
    /* Keep reading order across both keys (and across files, for overrides), so `rules test`
     * reports in that order. */
    size_t ia = 0, ib = 0;
    while (ok && r->tests && r->n_tests < n_tests) {
        const struct value *a = ia < d->n_values[KEY_TEST] ? &d->values[KEY_TEST][ia] : NULL;
        const struct value *b = ib < d->n_values[KEY_TEST_NO] ? &d->values[KEY_TEST_NO][ib] : NULL;
        bool take_a = a && (!b || a->order < b->order);
        const struct value *v = take_a ? a : b;
        struct rule_test *t = &r->tests[r->n_tests];
        t->line = strdup(buf_cstr(&v->text));
        t->file = v->file;
        t->src_line = v->line;
        t->must_match = take_a;
        ok = t->line != NULL;
        if (ok)
            r->n_tests++;
        if (take_a)
            ia++;
        else
            ib++;
    }
    if (ok && r->regex_src)
        r->literal = rule_required_literal(r->regex_src, &r->literal_len, &r->literal_icase);
    x->reset = reset;
    x->expect = expect;
    x->expect_src = expect_src;
    if (ok && reset)
        ok = (x->reset_src = strdup(value_cstr(d, KEY_RESET, 0))) != NULL;
    if (!ok) {
        rule_release(r);
        built_release(x);
        memset(r, 0, sizeof(*r));
        ld->nomem = true;
        return false;
    }
    return true;
}

void loader_add_patterns(struct loader *ld, size_t idx, struct built *x)
{
    if (x->reset && add_pattern_rule(ld, idx, RULE_ROLE_RESET, "reset", x->reset, x->reset_src))
        ld->rs->rules[idx].inc.reset_idx = ld->rs->n - 1;
    x->reset = NULL;
    if (x->expect &&
        add_pattern_rule(ld, idx, RULE_ROLE_EXPECT, "expect", x->expect, x->expect_src))
        ld->rs->rules[idx].inc.expect_idx = ld->rs->n - 1;
    x->expect = NULL;
    built_release(x);
}

void loader_install_new(struct loader *ld, struct rule_draft *d, struct rule *r, struct built *x)
{
    struct rule *slot = append_rule(ld);
    if (!slot) {
        rule_release(r);
        built_release(x);
        return;
    }
    *slot = *r;
    size_t idx = ld->rs->n++;
    slot->draft = rule_draft_keep(ld, d);
    loader_add_patterns(ld, idx, x);
}

/* Turns a complete draft into a rule, an override of a loaded rule, or errors. */
static void finish_stanza(struct loader *ld, struct rule_draft *d)
{
    struct rule r;
    struct built x;
    if (!d->id)
        goto out;
    const struct rule *other = loader_find(ld, d->id);
    if (other && ld->site) {
        loader_override(ld, d, (size_t)(other - ld->rs->rules));
        goto out;
    }
    if (ld->site && !loader_new_site_rule(ld, d))
        goto out;
    if (loader_build_rule(ld, d, other, &r, &x))
        loader_install_new(ld, d, &r, &x);
out:
    rule_draft_release(d);
}

static int find_key(struct strv name)
{
    for (int k = 0; k < KEY__COUNT; k++)
        if (strv_eq(name, rule_key_table[k].name))
            return k;
    return -1;
}

/* Returns the offset of the first byte of s that is not part of well-formed UTF-8 or is NUL,
 * or s.n when there is none. */
static size_t first_bad_byte(struct strv s)
{
    size_t i = 0;
    while (i < s.n) {
        size_t k = utf8_seq_len((const unsigned char *)s.p + i, s.n - i);
        if (k == 0 || s.p[i] == '\0')
            return i;
        i += k;
    }
    return s.n;
}

/* Loads text (taken: the ruleset keeps it, for the drafts that point into it, until
 * ruleset_link()), named name in messages; site: stanzas of loaded ids are overrides. */
static int load_text(struct ruleset *rs, const char *name, char *text, size_t len,
                     struct rule_errors *errs, bool site)
{
    struct loader ld = { .rs = rs, .errs = errs, .site = site };
    char **texts = realloc(rs->texts, (rs->n_texts + 1) * sizeof(*texts));
    if (!texts) {
        free(text);
        return HL_ENOMEM;
    }
    rs->texts = texts;
    rs->texts[rs->n_texts++] = text;
    ld.load_no = rs->n_texts;
    if (!(ld.file = intern_file(rs, name)))
        return HL_ENOMEM;
    struct rule_draft d = { 0 };
    struct value *last = NULL; /* value an indented line would continue */
    int last_key = -1;
    unsigned line_no = 0;
    const char *p = text, *end = text + len;
    while (p < end && !ld.nomem) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        struct strv raw = strv_make(p, (size_t)(eol - p));
        if (raw.n && raw.p[raw.n - 1] == '\r')
            raw.n--;
        p = nl ? nl + 1 : end;
        line_no++;
        struct strv t = strv_trim(raw);
        if (t.n == 0 || t.p[0] == '#' || t.p[0] == ';') {
            if (t.n == 0)
                last = NULL; /* a blank line ends a continuation */
            continue;
        }
        /* Ids, summaries and patterns end up in JSON, the database and the terminal, and a NUL
         * would cut them short: a rule line must be UTF-8 text (comments may be anything). */
        size_t bad = first_bad_byte(raw);
        if (bad < raw.n) {
            add_error(&ld, line_no, (int)bad + 1, NULL, 0,
                      "invalid UTF-8 (byte 0x%02x); rule files are UTF-8 text",
                      (unsigned char)raw.p[bad]);
            d.broken = true;
            last = NULL;
            continue;
        }
        if (raw.p[0] == ' ' || raw.p[0] == '\t') {
            if (last && last_key >= 0 && rule_key_table[last_key].continues) {
                if (buf_addc(&last->text, ' ') < 0 || buf_add(&last->text, t.p, t.n) < 0)
                    ld.nomem = true;
                continue;
            }
            if (last) {
                add_error(&ld, line_no, (int)(t.p - raw.p) + 1, raw.p, raw.n,
                          "'%s' is one line; an indented line cannot continue it",
                          rule_key_table[last_key].name);
                d.broken = true;
                continue;
            }
        }
        if (t.p[0] == '[') {
            finish_stanza(&ld, &d);
            last = NULL;
            d.file = ld.file;
            d.line = line_no;
            d.hdr = raw.p;
            d.hdr_len = raw.n;
            d.id_col = (unsigned)(t.p - raw.p) + 2;
            if (t.p[t.n - 1] != ']') {
                add_error(&ld, line_no, (int)t.n + (int)(t.p - raw.p), raw.p, raw.n,
                          "expected ']' to close the rule id");
                d.broken = true;
                d.id = strdup("?");
                continue;
            }
            d.id = strndup(t.p + 1, t.n - 2);
            if (d.id && !rule_id_valid(d.id)) {
                add_error(&ld, line_no, (int)(t.p - raw.p) + 2, raw.p, raw.n,
                          "bad rule id '%s' (lowercase area.name: letters, digits, '.', '-', '_')",
                          d.id);
                d.broken = true;
            }
            continue;
        }
        const char *eq = memchr(t.p, '=', t.n);
        if (!eq) {
            add_error(&ld, line_no, (int)(t.p - raw.p) + 1, raw.p, raw.n,
                      "expected 'key = value' or '[rule.id]'");
            d.broken = true;
            last = NULL;
            continue;
        }
        struct strv key = strv_trim(strv_make(t.p, (size_t)(eq - t.p)));
        struct strv val = strv_trim(strv_make(eq + 1, (size_t)(t.p + t.n - eq - 1)));
        int k = find_key(key);
        last = NULL;
        if (k < 0) {
            add_error(&ld, line_no, (int)(key.p - raw.p) + 1, raw.p, raw.n, "unknown key '%.*s'",
                      (int)key.n, key.p);
            d.broken = true;
            continue;
        }
        if (!d.id) {
            add_error(&ld, line_no, (int)(key.p - raw.p) + 1, raw.p, raw.n,
                      "'%.*s' outside a rule: start one with '[rule.id]'", (int)key.n, key.p);
            continue;
        }
        if (!rule_key_table[k].repeatable && d.n_values[k]) {
            add_error(&ld, line_no, (int)(key.p - raw.p) + 1, raw.p, raw.n,
                      "duplicate key '%s' in rule '%s' (first at line %u)", rule_key_table[k].name,
                      d.id, d.values[k][0].line);
            d.broken = true;
            continue;
        }
        struct value *v = rule_draft_add_value(&ld, &d, (enum rule_key)k);
        if (!v)
            break;
        v->file = ld.file;
        v->order = ld.load_no << 32 | line_no;
        v->line = line_no;
        v->col = (unsigned)(val.p - raw.p) + 1;
        v->src = raw.p;
        v->src_len = raw.n;
        /* In a site file an empty value clears the key it overrides: finish_stanza() knows. */
        if (val.n == 0 && !ld.site) {
            add_error(&ld, line_no, (int)v->col, raw.p, raw.n, "empty value for '%s'",
                      rule_key_table[k].name);
            d.broken = true;
        }
        if (buf_add(&v->text, val.p, val.n) < 0)
            ld.nomem = true;
        last = v;
        last_key = k;
    }
    finish_stanza(&ld, &d);
    rule_draft_release(&d);
    free(ld.ids);
    return ld.nomem ? HL_ENOMEM : ld.added;
}

static int load_text_copy(struct ruleset *rs, const char *name, const char *text, size_t len,
                          struct rule_errors *errs, bool site)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return HL_ENOMEM;
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    return load_text(rs, name, copy, len, errs, site);
}

int ruleset_load_text(struct ruleset *rs, const char *name, const char *text, size_t len,
                      struct rule_errors *errs)
{
    return load_text_copy(rs, name, text, len, errs, false);
}

int ruleset_load_site_text(struct ruleset *rs, const char *name, const char *text, size_t len,
                           struct rule_errors *errs)
{
    return load_text_copy(rs, name, text, len, errs, true);
}

static int load_file(struct ruleset *rs, const char *path, struct rule_errors *errs, bool site)
{
    struct loader ld = { .rs = rs, .errs = errs, .file = path };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        add_error(&ld, 0, 0, NULL, 0, "cannot open rule file: %s", strerror(errno));
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    struct buf text;
    buf_init(&text, RULE_FILE_MAX);
    char chunk[16384];
    ssize_t n;
    int r = 0;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && r == 0)
        r = buf_add(&text, chunk, (size_t)n);
    int saved = errno;
    close(fd);
    if (n < 0 || r < 0) {
        if (r == HL_ENOMEM)
            ld.nomem = true;
        else
            add_error(&ld, 0, 0, NULL, 0, "cannot read rule file: %s",
                      r == HL_ELIMIT ? "larger than 4 MiB" : strerror(saved));
    } else {
        size_t len = text.len;
        char *owned = len ? buf_detach(&text) : strdup("");
        r = owned ? load_text(rs, path, owned, len, errs, site) : HL_ENOMEM;
    }
    buf_release(&text);
    if (ld.nomem)
        return HL_ENOMEM;
    return r < 0 ? r : r + ld.added;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the *.rules files of the directory path in name order (the C locale's byte order, so
 * "10-site.rules" comes before "20-team.rules" whatever the user's locale). For the pack a
 * directory without any is an error; a site directory may well be empty. */
static int load_dir(struct ruleset *rs, const char *path, struct rule_errors *errs, bool site)
{
    DIR *dir = opendir(path);
    struct loader ld = { .rs = rs, .errs = errs, .file = path };
    if (!dir) {
        add_error(&ld, 0, 0, NULL, 0, "cannot open rule directory: %s", strerror(errno));
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    char **names = NULL;
    size_t n = 0;
    int total = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 6 || strcmp(de->d_name + len - 6, ".rules") != 0 || de->d_name[0] == '.')
            continue;
        char **v = realloc(names, (n + 1) * sizeof(*v));
        if (!v) {
            total = HL_ENOMEM;
            break;
        }
        names = v;
        if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0) {
            total = HL_ENOMEM;
            break;
        }
        n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (total >= 0) {
            int r = load_file(rs, names[i], errs, site);
            total = r < 0 ? r : total + r;
        }
        free(names[i]);
    }
    free(names);
    if (total == 0 && n == 0 && !site) {
        add_error(&ld, 0, 0, NULL, 0, "no *.rules files in this directory");
        total = ld.nomem ? HL_ENOMEM : ld.added;
    }
    return total;
}

int ruleset_load(struct ruleset *rs, const char *path, struct rule_errors *errs)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(rs, path, errs, false);
    return load_file(rs, path, errs, false);
}

int ruleset_load_site(struct ruleset *rs, const char *path, struct rule_errors *errs)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return 0; /* no site rules: the usual case */
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        struct loader ld = { .rs = rs, .errs = errs, .file = path };
        add_error(&ld, 0, 0, NULL, 0,
                  "not a directory (site rules are *.rules files in a rules.d directory)");
        return ld.nomem ? HL_ENOMEM : ld.added;
    }
    return load_dir(rs, path, errs, true);
}
