/* Rule-file reader: INI-like stanzas (rules/README.md), one pass over the text, every problem
 * collected with file:line:col. A stanza with any error is dropped as a whole, so a half-read
 * rule never runs. The key table drives parsing; adding a key is one row and one case. */
#include "rule.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "utf8.h"

#define RULE_FILE_MAX (4u << 20) /* a rule file larger than this is surely not one */

enum rule_key {
    KEY_SEVERITY,
    KEY_PROGRAM,
    KEY_REGEX,
    KEY_EXCLUDE,
    KEY_SUMMARY,
    KEY_REMEDY,
    KEY_REFS,
    KEY_TEST,
    KEY_TEST_NO,
    KEY_GROUP_BY,
    KEY_GAP,
    KEY_THRESHOLD,
    KEY_RESET,
    KEY_ESCALATE,
    KEY_AFTER,
    KEY_EXPECT,
    KEY_CAUSED_BY,
    KEY_LIMIT,
    KEY_INCIDENT,
    KEY_TEST_LOG,
    KEY_TEST_INCIDENTS,
    KEY_CARRY,
    KEY_HOSTS,
    KEY_RESET_BY,
    KEY_SEVERITY_WHEN,
    KEY__COUNT
};

static const struct key_info {
    const char *name;
    bool required;   /* a stanza without it is an error */
    bool repeatable; /* may appear more than once */
    bool continues;  /* indented lines after it continue its value */
} key_table[KEY__COUNT] = {
    [KEY_SEVERITY] = { "severity", true, false, false },
    [KEY_PROGRAM] = { "program", false, false, true },
    [KEY_REGEX] = { "regex", false, false, false }, /* required unless derived (below) */
    [KEY_EXCLUDE] = { "exclude", false, false, false },
    [KEY_SUMMARY] = { "summary", true, false, true },
    [KEY_REMEDY] = { "remedy", true, false, true },
    [KEY_REFS] = { "refs", false, true, true },
    [KEY_TEST] = { "test", false, true, false },
    [KEY_TEST_NO] = { "test-no", false, true, false },
    [KEY_GROUP_BY] = { "group-by", false, false, false },
    [KEY_GAP] = { "gap", false, false, false },
    [KEY_THRESHOLD] = { "threshold", false, false, false },
    [KEY_RESET] = { "reset", false, false, false },
    [KEY_ESCALATE] = { "escalate", false, true, false },
    [KEY_AFTER] = { "after", false, false, false },
    [KEY_EXPECT] = { "expect", false, false, false },
    [KEY_CAUSED_BY] = { "caused-by", false, true, false },
    [KEY_LIMIT] = { "limit", false, false, false },
    [KEY_INCIDENT] = { "incident", false, false, true },
    [KEY_TEST_LOG] = { "test-log", false, true, false },
    [KEY_TEST_INCIDENTS] = { "test-incidents", false, true, false },
    [KEY_CARRY] = { "carry", false, false, false },
    [KEY_HOSTS] = { "hosts", false, false, false },
    [KEY_RESET_BY] = { "reset-by", false, false, false },
    [KEY_SEVERITY_WHEN] = { "severity-when", false, true, false },
};

/* Default `gap`: findings of one key further apart than this are separate incidents. */
#define DEFAULT_GAP_US (10 * 60 * INT64_C(1000000))

/* A value as written, with where it stood (for error columns). */
struct value {
    struct buf text; /* the value, continuation lines joined with one space */
    unsigned line;   /* line of the key */
    unsigned col;    /* 1-based column where the value starts */
    const char *src; /* borrowed: start of the key's line in the file text */
    size_t src_len;  /* length of that line */
};

/* A stanza being read. Invariant: for a non-repeatable key, n_values[k] <= 1. */
struct draft {
    char *id;                         /* owned */
    unsigned line;                    /* line of the [id] header */
    bool broken;                      /* an error was reported for this stanza */
    struct value *values[KEY__COUNT]; /* owned arrays of n_values[k] values */
    size_t n_values[KEY__COUNT];
};

/* Where the loader is, for messages. */
struct loader {
    struct ruleset *rs;
    struct rule_errors *errs;
    const char *file;
    int added;  /* errors added by this load */
    bool nomem; /* an allocation failed: give up */
    /* Hash set of rs->rules indexes + 1 (0 = empty) by id, for the duplicate check, so that a
     * file of tens of thousands of rules loads in linear time. Owned; holds rules [0, hashed). */
    size_t *ids;
    size_t ids_cap, hashed;
};

void rule_errors_release(struct rule_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].where);
        free(e->v[i].msg);
        free(e->v[i].text);
    }
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

static void add_error(struct loader *ld, unsigned line, int col, const char *text, size_t text_len,
                      const char *fmt, ...) HL_PRINTF(6, 7);

static void add_error(struct loader *ld, unsigned line, int col, const char *text, size_t text_len,
                      const char *fmt, ...)
{
    struct rule_error e = { .col = col };
    char where[600], msg[600];
    if (col > 0)
        snprintf(where, sizeof(where), "%s:%u:%d", ld->file, line, col);
    else if (line > 0)
        snprintf(where, sizeof(where), "%s:%u", ld->file, line);
    else
        snprintf(where, sizeof(where), "%s", ld->file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e.where = strdup(where);
    e.msg = strdup(msg);
    e.text = text ? strndup(text, text_len) : NULL;
    struct rule_error *v = realloc(ld->errs->v, (ld->errs->n + 1) * sizeof(*v));
    if (!e.where || !e.msg || (text && !e.text) || !v) {
        free(e.where);
        free(e.msg);
        free(e.text);
        if (v)
            ld->errs->v = v;
        ld->nomem = true;
        return;
    }
    ld->errs->v = v;
    ld->errs->v[ld->errs->n++] = e;
    ld->added++;
}

static void draft_release(struct draft *d)
{
    free(d->id);
    for (int k = 0; k < KEY__COUNT; k++) {
        for (size_t i = 0; i < d->n_values[k]; i++)
            buf_release(&d->values[k][i].text);
        free(d->values[k]);
    }
    memset(d, 0, sizeof(*d));
}

static void spec_release(struct rule_incident_spec *sp);
static void free_strs(char **v, size_t n);

static void rule_release(struct rule *r)
{
    free(r->id);
    free(r->summary);
    free(r->remedy);
    free(r->refs);
    for (size_t i = 0; i < r->n_programs; i++)
        free(r->programs[i]);
    free(r->programs);
    for (size_t i = 0; i < r->n_severity_when; i++) {
        free(r->severity_when[i].field);
        free_strs(r->severity_when[i].values, r->severity_when[i].n_values);
    }
    free(r->severity_when);
    free(r->regex_src);
    pcre2_code_free(r->re);
    free(r->exclude_src);
    pcre2_code_free(r->exclude);
    free(r->literal);
    for (size_t i = 0; i < r->n_tests; i++)
        free(r->tests[i].line);
    free(r->tests);
    free(r->file);
    spec_release(&r->inc);
}

void ruleset_init(struct ruleset *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void ruleset_release(struct ruleset *rs)
{
    ruleset_release_prefilter(rs); /* before the rules: it clears their literal ids */
    for (size_t i = 0; i < rs->n; i++)
        rule_release(&rs->rules[i]);
    free(rs->rules);
    pcre2_match_data_free(rs->md);
    pcre2_match_context_free(rs->mctx);
    ruleset_init(rs);
}

const struct rule *ruleset_find(const struct ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].id, id) == 0)
            return &rs->rules[i];
    return NULL;
}

static bool valid_id(const char *id)
{
    if (!isalnum((unsigned char)id[0]) || !strchr(id, '.'))
        return false;
    for (const char *p = id; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '-' ||
              *p == '_'))
            return false;
    return id[strlen(id) - 1] != '.';
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
        add_error(ld, v->line, (int)(v->col + erroff), v->src, v->src_len, "bad %s: %s", key,
                  (const char *)msg);
        return NULL;
    }
    /* JIT may be unavailable on this platform; the interpreter then does the same job. */
    if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0)
        ld->rs->jit = true;
    return re;
}

static char *dup_value(const struct draft *d, enum rule_key k)
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

/* ---- incident settings ------------------------------------------------------------------ */

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Splits list at sep into trimmed, non-empty owned strings appended to *v. */
static int split_list(struct strv list, char sep, char ***v, size_t *n)
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

/* Finds the last " within " in s: the text before it goes to *head, the duration after it
 * (up to " same " when tail is wanted) to *us, and what follows " same " to *tail. */
static bool split_within(struct strv s, struct strv *head, int64_t *us, struct strv *tail)
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

static void spec_release(struct rule_incident_spec *sp)
{
    free_strs(sp->group_by, sp->n_group_by);
    free_strs(sp->carry, sp->n_carry);
    for (size_t i = 0; i < sp->n_escalations; i++) {
        free(sp->escalations[i].target);
        free(sp->escalations[i].where_field);
        free_strs(sp->escalations[i].where_values, sp->escalations[i].n_where_values);
    }
    free(sp->escalations);
    free(sp->after);
    for (size_t i = 0; i < sp->n_causes; i++) {
        free(sp->causes[i].rule_id);
        free_strs(sp->causes[i].same, sp->causes[i].n_same);
    }
    free(sp->causes);
    free_strs(sp->reset_by, sp->n_reset_by);
    free(sp->reset_by_idx);
    free(sp->resets);
    free(sp->template);
    for (size_t i = 0; i < sp->n_seq_tests; i++) {
        free_strs(sp->seq_tests[i].lines, sp->seq_tests[i].n_lines);
        free(sp->seq_tests[i].want);
    }
    free(sp->seq_tests);
    memset(sp, 0, sizeof(*sp));
}

/* Reports a problem with value v, the caret at the start of the value. */
#define value_error(ld, v, ...) \
    add_error((ld), (v)->line, (int)(v)->col, (v)->src, (v)->src_len, __VA_ARGS__)

static const char *value_cstr(const struct draft *d, enum rule_key k, size_t i)
{
    return buf_cstr(&d->values[k][i].text);
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
        split_list(strv_from_cstr(eq + 1), '|', &e->where_values, &e->n_where_values) < 0) {
        ld->nomem = true;
        return false;
    }
    return true;
}

/* `severity-when = SEVERITY where FIELD = A|B` */
static bool parse_severity_when(struct loader *ld, const struct value *v,
                                struct rule_severity_when *sw)
{
    const char *s = buf_cstr(&v->text);
    const char *where = strstr(s, " where ");
    const char *eq = where ? strchr(where, '=') : NULL;
    struct strv sev = strv_trim(strv_make(s, where ? (size_t)(where - s) : strlen(s)));
    struct strv field = eq ? strv_trim(strv_make(where + 7, (size_t)(eq - where - 7))) : STRV_NULL;
    if (!eq || !field.n || severity_parse(sev.p, sev.n, &sw->severity) < 0) {
        value_error(ld, v, "bad severity-when '%s' (want: SEVERITY where FIELD = A|B)", s);
        return false;
    }
    if (!(sw->field = strndup(field.p, field.n)) ||
        split_list(strv_from_cstr(eq + 1), '|', &sw->values, &sw->n_values) < 0) {
        ld->nomem = true;
        return false;
    }
    if (!sw->n_values) {
        value_error(ld, v, "bad severity-when '%s' (no value after '=')", s);
        return false;
    }
    return true;
}

/* `caused-by = RULE within DURATION [same FIELD, ...]` */
static bool parse_cause(struct loader *ld, const struct value *v, struct rule_cause *c)
{
    struct strv head, tail;
    if (!split_within(strv_make(v->text.data, v->text.len), &head, &c->within_us, &tail) ||
        head.n == 0) {
        value_error(ld, v, "bad caused-by '%s' (want: RULE within DURATION [same FIELD, ...])",
                    buf_cstr(&v->text));
        return false;
    }
    if (!(c->rule_id = strndup(head.p, head.n)) ||
        split_list(tail, ',', &c->same, &c->n_same) < 0) {
        ld->nomem = true;
        return false;
    }
    return true;
}

/* Groups test-log lines into scenarios, each ended by a test-incidents line (file order). */
static bool parse_seq_tests(struct loader *ld, const struct draft *d, struct rule_incident_spec *sp)
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
        if (!(t->want = strdup(buf_cstr(&want->text)))) {
            ld->nomem = true;
            return false;
        }
        for (; il < n_logs && d->values[KEY_TEST_LOG][il].line < want->line; il++) {
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

/* Reads the incident keys of d into sp; reports every problem. Returns false on any. */
static bool parse_incident_spec(struct loader *ld, const struct draft *d,
                                struct rule_incident_spec *sp)
{
    bool ok = true;
    sp->gap_us = DEFAULT_GAP_US;
    sp->reset_idx = sp->expect_idx = SIZE_MAX;
    if (d->n_values[KEY_GROUP_BY]) {
        if (split_list(strv_make(d->values[KEY_GROUP_BY][0].text.data,
                                 d->values[KEY_GROUP_BY][0].text.len),
                       ',', &sp->group_by, &sp->n_group_by) < 0)
            ld->nomem = true;
    } else if (!(sp->group_by = calloc(1, sizeof(char *))) || !(sp->group_by[0] = strdup("host"))) {
        ld->nomem = true;
    } else {
        sp->n_group_by = 1;
    }
    if (d->n_values[KEY_CARRY]) {
        if (split_list(
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
        bool good = split_within(strv_make(v->text.data, v->text.len), &head, &sp->threshold_us,
                                 &tail) &&
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
    if (d->n_values[KEY_RESET_BY] && split_list(strv_make(d->values[KEY_RESET_BY][0].text.data,
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
        add_error(ld, d->line, 0, NULL, 0,
                  "rule '%s' has 'after'/'expect' and a 'regex': a rule raised by a missing "
                  "event has no regex of its own",
                  d->id);
        ok = false;
    }
    if (!d->n_values[KEY_AFTER] != !d->n_values[KEY_EXPECT]) {
        add_error(ld, d->line, 0, NULL, 0, "rule '%s' needs both 'after' and 'expect'", d->id);
        ok = false;
    }
    if (derived &&
        (d->n_values[KEY_RESET] || d->n_values[KEY_THRESHOLD] || d->n_values[KEY_ESCALATE] ||
         d->n_values[KEY_EXCLUDE] || d->n_values[KEY_PROGRAM] || d->n_values[KEY_HOSTS] ||
         d->n_values[KEY_RESET_BY] || d->n_values[KEY_SEVERITY_WHEN])) {
        add_error(ld, d->line, 0, NULL, 0,
                  "rule '%s' has no 'regex', so 'program', 'hosts', 'exclude', 'reset', "
                  "'reset-by', 'threshold', 'escalate' and 'severity-when' have nothing to "
                  "work on",
                  d->id);
        ok = false;
    }
    return parse_seq_tests(ld, d, sp) && ok;
}

/* Adds an empty rule at the end of the set; NULL when out of memory. */
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

/* Adds the internal rule for the reset or expect pattern of rules[owner]. */
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
    r->line = o->line;
    bool ok = asprintf(&r->id, "%s#%s", o->id, suffix) >= 0;
    if (!ok)
        r->id = NULL;
    ok = ok && (r->summary = strdup(suffix)) && (r->remedy = strdup("")) &&
         (r->regex_src = strdup(src)) && (r->file = strdup(o->file));
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

/* Turns a complete draft into a rule, or reports why it cannot be one. A draft already broken
 * by a line error is still checked in full, so every problem of the stanza is reported. */
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

static void finish_stanza(struct loader *ld, struct draft *d)
{
    if (!d->id)
        goto out;
    for (int k = 0; k < KEY__COUNT; k++) {
        if (key_table[k].required && d->n_values[k] == 0) {
            add_error(ld, d->line, 0, NULL, 0, "rule '%s' has no '%s'", d->id, key_table[k].name);
            d->broken = true;
        }
    }
    const struct rule *other = loader_find(ld, d->id);
    if (other) {
        add_error(ld, d->line, 0, NULL, 0, "duplicate rule id '%s' (first defined at %s:%u)", d->id,
                  other->file, other->line);
        d->broken = true;
    }
    enum severity sev = SEV_INFO;
    if (d->n_values[KEY_SEVERITY]) {
        const struct value *v = &d->values[KEY_SEVERITY][0];
        if (severity_parse(buf_cstr(&v->text), v->text.len, &sev) < 0) {
            add_error(ld, v->line, (int)v->col, v->src, v->src_len,
                      "unknown severity '%s' (use info, notice, warning, error or critical)",
                      buf_cstr(&v->text));
            d->broken = true;
        }
    }
    pcre2_code *re = NULL, *exclude = NULL, *reset = NULL, *expect = NULL;
    if (d->n_values[KEY_REGEX] && !(re = compile_value(ld, &d->values[KEY_REGEX][0], "regex")))
        d->broken = true;
    if (d->n_values[KEY_EXCLUDE] &&
        !(exclude = compile_value(ld, &d->values[KEY_EXCLUDE][0], "exclude")))
        d->broken = true;
    if (d->n_values[KEY_RESET] && !(reset = compile_value(ld, &d->values[KEY_RESET][0], "reset")))
        d->broken = true;
    struct rule_incident_spec spec = { 0 };
    if (!parse_incident_spec(ld, d, &spec))
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
    /* expect = PATTERN within DURATION: the pattern is what precedes the last " within ". */
    char *expect_src = NULL;
    if (d->n_values[KEY_EXPECT]) {
        struct value *v = &d->values[KEY_EXPECT][0];
        struct strv head, tail;
        if (!split_within(strv_make(v->text.data, v->text.len), &head, &spec.expect_us, &tail) ||
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
    struct rule *r = d->broken || ld->nomem ? NULL : append_rule(ld);
    if (!r) {
        for (size_t i = 0; severity_when && i < n_severity_when; i++) {
            free(severity_when[i].field);
            free_strs(severity_when[i].values, severity_when[i].n_values);
        }
        free(severity_when);
        pcre2_code_free(re);
        pcre2_code_free(exclude);
        pcre2_code_free(reset);
        pcre2_code_free(expect);
        free(expect_src);
        spec_release(&spec);
        goto out;
    }
    r->role = re ? RULE_ROLE_FINDING : RULE_ROLE_DERIVED;
    r->inc = spec;
    r->id = d->id;
    d->id = NULL;
    r->severity = sev;
    r->line = d->line;
    r->re = re;
    r->exclude = exclude;
    r->file = strdup(ld->file);
    r->summary = dup_value(d, KEY_SUMMARY);
    r->remedy = dup_value(d, KEY_REMEDY);
    r->regex_src = dup_value(d, KEY_REGEX);
    r->exclude_src = dup_value(d, KEY_EXCLUDE);
    bool ok = r->file && r->summary && r->remedy && (!re || r->regex_src) &&
              (!exclude || r->exclude_src);
    if (ok && d->n_values[KEY_PROGRAM])
        ok = split_programs(r, buf_cstr(&d->values[KEY_PROGRAM][0].text)) == 0;
    r->hosts = hosts;
    r->severity_when = severity_when;
    r->n_severity_when = n_severity_when;
    severity_when = NULL;
    struct buf refs;
    buf_init(&refs, 0);
    for (size_t i = 0; ok && i < d->n_values[KEY_REFS]; i++)
        ok = (i == 0 || buf_addc(&refs, '\n') == 0) &&
             buf_add(&refs, d->values[KEY_REFS][i].text.data, d->values[KEY_REFS][i].text.len) == 0;
    r->refs = refs.len ? buf_detach(&refs) : NULL;
    buf_release(&refs);
    size_t n_tests = d->n_values[KEY_TEST] + d->n_values[KEY_TEST_NO];
    r->tests = n_tests ? calloc(n_tests, sizeof(*r->tests)) : NULL;
    ok = ok && (!n_tests || r->tests);
    /* Keep file order across both keys, so `rules test` reports in reading order. */
    size_t ia = 0, ib = 0;
    while (ok && r->tests && r->n_tests < n_tests) {
        const struct value *a = ia < d->n_values[KEY_TEST] ? &d->values[KEY_TEST][ia] : NULL;
        const struct value *b = ib < d->n_values[KEY_TEST_NO] ? &d->values[KEY_TEST_NO][ib] : NULL;
        bool take_a = a && (!b || a->line < b->line);
        const struct value *v = take_a ? a : b;
        struct rule_test *t = &r->tests[r->n_tests];
        t->line = strdup(buf_cstr(&v->text));
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
    if (!ok) {
        rule_release(r);
        pcre2_code_free(reset);
        pcre2_code_free(expect);
        free(expect_src);
        ld->nomem = true;
        goto out;
    }
    size_t idx = ld->rs->n++;
    if (reset &&
        add_pattern_rule(ld, idx, RULE_ROLE_RESET, "reset", reset, value_cstr(d, KEY_RESET, 0)))
        ld->rs->rules[idx].inc.reset_idx = ld->rs->n - 1;
    if (expect && add_pattern_rule(ld, idx, RULE_ROLE_EXPECT, "expect", expect, expect_src))
        ld->rs->rules[idx].inc.expect_idx = ld->rs->n - 1;
    free(expect_src);
out:
    draft_release(d);
}

static struct value *draft_add_value(struct loader *ld, struct draft *d, enum rule_key k)
{
    struct value *v = realloc(d->values[k], (d->n_values[k] + 1) * sizeof(*v));
    if (!v) {
        ld->nomem = true;
        return NULL;
    }
    d->values[k] = v;
    struct value *nv = &v[d->n_values[k]++];
    memset(nv, 0, sizeof(*nv));
    buf_init(&nv->text, RULE_FILE_MAX);
    return nv;
}

static int find_key(struct strv name)
{
    for (int k = 0; k < KEY__COUNT; k++)
        if (strv_eq(name, key_table[k].name))
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

int ruleset_load_text(struct ruleset *rs, const char *name, const char *text, size_t len,
                      struct rule_errors *errs)
{
    struct loader ld = { .rs = rs, .errs = errs, .file = name };
    struct draft d = { 0 };
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
            if (last && last_key >= 0 && key_table[last_key].continues) {
                if (buf_addc(&last->text, ' ') < 0 || buf_add(&last->text, t.p, t.n) < 0)
                    ld.nomem = true;
                continue;
            }
            if (last) {
                add_error(&ld, line_no, (int)(t.p - raw.p) + 1, raw.p, raw.n,
                          "'%s' is one line; an indented line cannot continue it",
                          key_table[last_key].name);
                d.broken = true;
                continue;
            }
        }
        if (t.p[0] == '[') {
            finish_stanza(&ld, &d);
            last = NULL;
            d.line = line_no;
            if (t.p[t.n - 1] != ']') {
                add_error(&ld, line_no, (int)t.n + (int)(t.p - raw.p), raw.p, raw.n,
                          "expected ']' to close the rule id");
                d.broken = true;
                d.id = strdup("?");
                continue;
            }
            d.id = strndup(t.p + 1, t.n - 2);
            if (d.id && !valid_id(d.id)) {
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
        if (!key_table[k].repeatable && d.n_values[k]) {
            add_error(&ld, line_no, (int)(key.p - raw.p) + 1, raw.p, raw.n,
                      "duplicate key '%s' in rule '%s' (first at line %u)", key_table[k].name, d.id,
                      d.values[k][0].line);
            d.broken = true;
            continue;
        }
        struct value *v = draft_add_value(&ld, &d, (enum rule_key)k);
        if (!v)
            break;
        v->line = line_no;
        v->col = (unsigned)(val.p - raw.p) + 1;
        v->src = raw.p;
        v->src_len = raw.n;
        if (val.n == 0) {
            add_error(&ld, line_no, (int)v->col, raw.p, raw.n, "empty value for '%s'",
                      key_table[k].name);
            d.broken = true;
        }
        if (buf_add(&v->text, val.p, val.n) < 0)
            ld.nomem = true;
        last = v;
        last_key = k;
    }
    /* Values point into text for messages; finish while it is still alive. */
    finish_stanza(&ld, &d);
    draft_release(&d);
    free(ld.ids);
    return ld.nomem ? HL_ENOMEM : ld.added;
}

static int load_file(struct ruleset *rs, const char *path, struct rule_errors *errs)
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
        r = ruleset_load_text(rs, path, buf_cstr(&text), text.len, errs);
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

int ruleset_load(struct ruleset *rs, const char *path, struct rule_errors *errs)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
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
        qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n; i++) {
            if (total >= 0) {
                int r = load_file(rs, names[i], errs);
                total = r < 0 ? r : total + r;
            }
            free(names[i]);
        }
        free(names);
        if (total == 0 && n == 0) {
            add_error(&ld, 0, 0, NULL, 0, "no *.rules files in this directory");
            total = ld.nomem ? HL_ENOMEM : ld.added;
        }
        return total;
    }
    return load_file(rs, path, errs);
}

/* ---- references between rules ---------------------------------------------------------- */

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

/* Resolves rule i's reset-by names and adds i to the `resets` of each rule named. */
static int link_reset_by(struct ruleset *rs, size_t i, struct loader *ld)
{
    struct rule *r = &rs->rules[i];
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
            add_error(ld, r->line, 0, NULL, 0,
                      "rule '%s': reset-by names '%s', which is not a rule with a regex", r->id,
                      r->inc.reset_by[k]);
            continue;
        }
        struct rule *by = &rs->rules[c];
        size_t *v = realloc(by->inc.resets, (by->inc.n_resets + 1) * sizeof(*v));
        if (!v)
            return HL_ENOMEM;
        by->inc.resets = v;
        by->inc.resets[by->inc.n_resets++] = i;
        r->inc.reset_by_idx[k] = c;
    }
    return 0;
}

int ruleset_link(struct ruleset *rs, struct rule_errors *errs)
{
    struct loader ld = { .rs = rs, .errs = errs };
    for (size_t i = 0; i < rs->n; i++) { /* built again below */
        free(rs->rules[i].inc.resets);
        rs->rules[i].inc.resets = NULL;
        rs->rules[i].inc.n_resets = 0;
    }
    bool *raised = calloc(rs->n ? rs->n : 1, sizeof(*raised));
    if (!raised)
        return HL_ENOMEM;
    for (size_t i = 0; i < rs->n; i++) {
        struct rule *r = &rs->rules[i];
        if (!rule_is_public(r))
            continue;
        ld.file = r->file;
        for (size_t k = 0; k < r->inc.n_escalations; k++) {
            struct rule_escalation *e = &r->inc.escalations[k];
            e->target_idx = find_public(rs, e->target);
            if (e->target_idx == SIZE_MAX)
                add_error(&ld, r->line, 0, NULL, 0, "rule '%s': escalate names unknown rule '%s'",
                          r->id, e->target);
            else
                raised[e->target_idx] = true;
            if (e->where_field && !in_group_by(r, e->where_field))
                add_error(&ld, r->line, 0, NULL, 0,
                          "rule '%s': escalate condition field '%s' is not in its group-by", r->id,
                          e->where_field);
        }
        if (r->inc.after) {
            r->inc.after_idx = find_public(rs, r->inc.after);
            if (r->inc.after_idx == SIZE_MAX ||
                rs->rules[r->inc.after_idx].role != RULE_ROLE_FINDING)
                add_error(&ld, r->line, 0, NULL, 0,
                          "rule '%s': after names '%s', which is not a rule with a regex", r->id,
                          r->inc.after);
            raised[i] = true;
        }
        for (size_t k = 0; k < r->inc.n_causes; k++)
            if (find_public(rs, r->inc.causes[k].rule_id) == SIZE_MAX)
                add_error(&ld, r->line, 0, NULL, 0, "rule '%s': caused-by names unknown rule '%s'",
                          r->id, r->inc.causes[k].rule_id);
        for (size_t k = 0; k < r->n_severity_when; k++)
            if (!in_group_by(r, r->severity_when[k].field))
                add_error(&ld, r->line, 0, NULL, 0,
                          "rule '%s': severity-when field '%s' is not in its group-by", r->id,
                          r->severity_when[k].field);
        if (link_reset_by(rs, i, &ld) < 0)
            ld.nomem = true;
    }
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->rules[i];
        ld.file = r->file;
        if (r->role == RULE_ROLE_DERIVED && !raised[i])
            add_error(&ld, r->line, 0, NULL, 0,
                      "rule '%s' has no 'regex', and no 'escalate' or 'after' raises it", r->id);
    }
    free(raised);
    return ld.nomem ? HL_ENOMEM : ld.added;
}
