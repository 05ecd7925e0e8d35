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
