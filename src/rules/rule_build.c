/* Turns a complete draft into a rule: each key's value checked and converted, the stanza
 * checked whole (a stanza with any error is dropped, so a half-read rule never runs), its
 * patterns compiled with PCRE2, and its reset and expect patterns added as internal rules. */
#include "rule_load.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    free(r->definition);
    rule_draft_free(r->draft);
    rule_spec_release(&r->inc);
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

/* What a stanza's keys give before they become a rule, kept apart from the rule so that a
 * stanza with any error leaves it empty. */
struct parts {
    enum severity sev;
    bool enabled;
    enum rule_hosts hosts;
    pcre2_code *re;       /* owned, or NULL */
    pcre2_code **exclude; /* owned: n_exclude slots, or NULL when there are none */
    size_t n_exclude;
    struct rule_incident_spec spec;           /* owned contents */
    struct rule_severity_when *severity_when; /* owned: n_severity_when slots */
    size_t n_severity_when;
    struct rule_normalize *normalize; /* owned: n_normalize slots */
    size_t n_normalize;
};

/* Frees what p holds. */
static void parts_release(struct parts *p)
{
    severity_when_free(p->severity_when, p->n_severity_when);
    normalize_free(p->normalize, p->n_normalize);
    pcre2_code_free(p->re);
    for (size_t i = 0; p->exclude && i < p->n_exclude; i++)
        pcre2_code_free(p->exclude[i]);
    free(p->exclude);
    rule_spec_release(&p->spec);
}

/* Reports the stanza-wide problems of d: a required key missing, a duplicate id (dup, the
 * earlier rule, or NULL), and warns of values that look commented. */
static void check_stanza(struct loader *ld, struct rule_draft *d, const struct rule *dup)
{
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
}

/* Reads d's severity and enabled into p, marking d broken at a bad one. */
static void parse_severity_enabled(struct loader *ld, struct rule_draft *d, struct parts *p)
{
    if (d->n_values[KEY_SEVERITY]) {
        const struct value *v = &d->values[KEY_SEVERITY][0];
        if (severity_parse(buf_cstr(&v->text), v->text.len, &p->sev) < 0) {
            value_error(ld, v,
                        "unknown severity '%s' (use info, notice, warning, error or critical)",
                        buf_cstr(&v->text));
            d->broken = true;
        }
    }
    if (d->n_values[KEY_ENABLED] && parse_yes_no(value_cstr(d, KEY_ENABLED, 0), &p->enabled) < 0) {
        value_error(ld, &d->values[KEY_ENABLED][0], "bad enabled '%s' (use yes or no)",
                    value_cstr(d, KEY_ENABLED, 0));
        d->broken = true;
    }
}

/* Compiles d's regex and excludes into p and its reset pattern into x, marking d broken at a
 * bad one. */
static void compile_patterns(struct loader *ld, struct rule_draft *d, struct parts *p,
                             struct built *x)
{
    p->n_exclude = d->n_values[KEY_EXCLUDE];
    p->exclude = p->n_exclude ? calloc(p->n_exclude, sizeof(*p->exclude)) : NULL;
    if (p->n_exclude && !p->exclude)
        ld->nomem = true;
    if (d->n_values[KEY_REGEX] && !(p->re = compile_value(ld, &d->values[KEY_REGEX][0], "regex")))
        d->broken = true;
    for (size_t i = 0; p->exclude && i < p->n_exclude; i++)
        if (!(p->exclude[i] = compile_value(ld, &d->values[KEY_EXCLUDE][i], "exclude")))
            d->broken = true;
    if (d->n_values[KEY_RESET] &&
        !(x->reset = compile_value(ld, &d->values[KEY_RESET][0], "reset")))
        d->broken = true;
}

/* Reads d's hosts into p, marking d broken at an unknown one. */
static void parse_hosts(struct loader *ld, struct rule_draft *d, struct parts *p)
{
    if (!d->n_values[KEY_HOSTS])
        return;
    const struct value *v = &d->values[KEY_HOSTS][0];
    if (strcmp(buf_cstr(&v->text), "appliance") == 0) {
        p->hosts = RULE_HOSTS_APPLIANCE;
    } else if (strcmp(buf_cstr(&v->text), "any") != 0) {
        value_error(ld, v, "unknown hosts '%s' (use appliance or any)", buf_cstr(&v->text));
        d->broken = true;
    }
}

/* Reads d's severity-when and normalize values into p, marking d broken at a bad one. */
static void parse_conditions(struct loader *ld, struct rule_draft *d, struct parts *p)
{
    p->n_severity_when = d->n_values[KEY_SEVERITY_WHEN];
    if (p->n_severity_when &&
        !(p->severity_when = calloc(p->n_severity_when, sizeof(*p->severity_when))))
        ld->nomem = true;
    for (size_t i = 0; p->severity_when && i < p->n_severity_when; i++)
        if (!parse_severity_when(ld, &d->values[KEY_SEVERITY_WHEN][i], &p->severity_when[i]))
            d->broken = true;
    p->n_normalize = d->n_values[KEY_NORMALIZE];
    if (p->n_normalize && !(p->normalize = calloc(p->n_normalize, sizeof(*p->normalize))))
        ld->nomem = true;
    for (size_t i = 0; p->normalize && i < p->n_normalize; i++)
        if (!parse_normalize(ld, &d->values[KEY_NORMALIZE][i], &p->normalize[i]))
            d->broken = true;
}

/* Reads `expect = PATTERN within DURATION` of d: the window into p, the compiled pattern and
 * its text into x. Marks d broken when it is bad. */
static void parse_expect(struct loader *ld, struct rule_draft *d, struct parts *p, struct built *x)
{
    if (!d->n_values[KEY_EXPECT])
        return;
    /* The pattern is what precedes the last " within ". */
    struct value *v = &d->values[KEY_EXPECT][0];
    struct strv head, tail;
    if (!rule_split_within(strv_make(v->text.data, v->text.len), &head, &p->spec.expect_us,
                           &tail) ||
        tail.n || head.n == 0) {
        value_error(ld, v, "bad expect '%s' (want: PATTERN within DURATION)", buf_cstr(&v->text));
        d->broken = true;
    } else if (!(x->expect_src = strndup(head.p, head.n))) {
        ld->nomem = true;
    } else {
        /* Compile only the pattern part, keeping columns right for errors. */
        struct value pat = *v;
        buf_init(&pat.text, 0);
        if (buf_add(&pat.text, head.p, head.n) < 0)
            ld->nomem = true;
        else if (!(x->expect = compile_value(ld, &pat, "expect")))
            d->broken = true;
        buf_release(&pat.text);
    }
}

/* Moves p's excludes into r with copies of their texts from d; false when out of memory (r
 * then holds what it got, for rule_release()). */
static bool take_excludes(const struct rule_draft *d, struct parts *p, struct rule *r)
{
    bool ok = true;
    size_t n = p->n_exclude;
    r->exclude_src = n ? calloc(n, sizeof(*r->exclude_src)) : NULL;
    if (!r->exclude_src) {
        for (size_t i = 0; i < n; i++)
            pcre2_code_free(p->exclude[i]);
        free(p->exclude);
        return !n;
    }
    r->exclude = p->exclude;
    r->n_exclude = n; /* rule_release() frees each pattern and its text */
    for (size_t i = 0; ok && i < n; i++)
        ok = (r->exclude_src[i] = strdup(value_cstr(d, KEY_EXCLUDE, i))) != NULL;
    return ok;
}

/* Joins d's refs values with "\n" into r->refs (NULL when there are none); false when out of
 * memory. */
static bool join_refs(const struct rule_draft *d, struct rule *r)
{
    struct buf refs;
    bool ok = true;
    buf_init(&refs, 0);
    for (size_t i = 0; ok && i < d->n_values[KEY_REFS]; i++)
        ok = (i == 0 || buf_addc(&refs, '\n') == 0) &&
             buf_add(&refs, d->values[KEY_REFS][i].text.data, d->values[KEY_REFS][i].text.len) == 0;
    r->refs = refs.len ? buf_detach(&refs) : NULL;
    buf_release(&refs);
    return ok;
}

/* Copies d's test and test-no lines into r->tests; false when out of memory (r->n_tests
 * counts the lines copied). */
static bool copy_tests(const struct rule_draft *d, struct rule *r)
{
    size_t n_tests = d->n_values[KEY_TEST] + d->n_values[KEY_TEST_NO];
    if (!n_tests)
        return true;
    if (!(r->tests = calloc(n_tests, sizeof(*r->tests))))
        return false;
    /* Keep reading order across both keys (and across files, for overrides), so `rules test`
     * reports in that order. */
    size_t ia = 0, ib = 0;
    while (r->n_tests < n_tests) {
        const struct value *a = ia < d->n_values[KEY_TEST] ? &d->values[KEY_TEST][ia] : NULL;
        const struct value *b = ib < d->n_values[KEY_TEST_NO] ? &d->values[KEY_TEST_NO][ib] : NULL;
        bool take_a = a && (!b || a->order < b->order);
        const struct value *v = take_a ? a : b;
        struct rule_test *t = &r->tests[r->n_tests];
        t->line = strdup(buf_cstr(&v->text));
        t->file = v->file;
        t->src_line = v->line;
        t->must_match = take_a;
        if (!t->line)
            return false;
        r->n_tests++;
        if (take_a)
            ia++;
        else
            ib++;
    }
    return true;
}

/* Moves p into the empty rule r and copies d's texts into it; false when out of memory (r
 * then holds what it got, for rule_release()). */
static bool take_parts(const struct rule_draft *d, struct parts *p, struct rule *r)
{
    r->role = p->re ? RULE_ROLE_FINDING : RULE_ROLE_DERIVED;
    r->inc = p->spec;
    r->severity = p->sev;
    r->disabled = !p->enabled;
    r->file = d->file;
    r->line = d->line;
    r->re = p->re;
    r->hosts = p->hosts;
    r->severity_when = p->severity_when;
    r->n_severity_when = p->n_severity_when;
    r->normalize = p->normalize;
    r->n_normalize = p->n_normalize;
    r->id = strdup(d->id);
    r->summary = dup_value(d, KEY_SUMMARY);
    r->remedy = dup_value(d, KEY_REMEDY);
    r->regex_src = dup_value(d, KEY_REGEX);
    bool ok = r->id && r->summary && r->remedy && (!p->re || r->regex_src);
    ok = take_excludes(d, p, r) && ok;
    if (ok && d->n_values[KEY_PROGRAM])
        ok = split_programs(r, buf_cstr(&d->values[KEY_PROGRAM][0].text)) == 0;
    ok = ok && join_refs(d, r) && copy_tests(d, r);
    if (ok && r->regex_src)
        r->literal = rule_required_literal(r->regex_src, &r->literal_len, &r->literal_icase);
    return ok;
}

bool loader_build_rule(struct loader *ld, struct rule_draft *d, const struct rule *dup,
                       struct rule *r, struct built *x)
{
    struct parts p = { .sev = SEV_INFO, .enabled = true, .hosts = RULE_HOSTS_ANY };
    memset(r, 0, sizeof(*r));
    memset(x, 0, sizeof(*x));
    r->inc.reset_idx = r->inc.expect_idx = SIZE_MAX;
    /* Every check runs even when an earlier one failed, so the stanza's every problem is
     * reported, in the order of these calls. */
    check_stanza(ld, d, dup);
    parse_severity_enabled(ld, d, &p);
    compile_patterns(ld, d, &p, x);
    if (!rule_spec_parse(ld, d, &p.spec))
        d->broken = true;
    parse_hosts(ld, d, &p);
    parse_conditions(ld, d, &p);
    parse_expect(ld, d, &p, x);
    if (d->broken || ld->nomem) {
        parts_release(&p);
        built_release(x);
        return false;
    }
    bool ok = take_parts(d, &p, r);
    if (ok && x->reset)
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
