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
