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
    [KEY_REGEX] = { "regex", true, false, false },
    [KEY_EXCLUDE] = { "exclude", false, false, false },
    [KEY_SUMMARY] = { "summary", true, false, true },
    [KEY_REMEDY] = { "remedy", true, false, true },
    [KEY_REFS] = { "refs", false, true, true },
    [KEY_TEST] = { "test", false, true, false },
    [KEY_TEST_NO] = { "test-no", false, true, false },
};

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

static void rule_release(struct rule *r)
{
    free(r->id);
    free(r->summary);
    free(r->remedy);
    free(r->refs);
    for (size_t i = 0; i < r->n_programs; i++)
        free(r->programs[i]);
    free(r->programs);
    free(r->regex_src);
    pcre2_code_free(r->re);
    free(r->exclude_src);
    pcre2_code_free(r->exclude);
    free(r->literal);
    for (size_t i = 0; i < r->n_tests; i++)
        free(r->tests[i].line);
    free(r->tests);
    free(r->file);
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
        if (name.n) {
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

/* Turns a complete draft into a rule, or reports why it cannot be one. A draft already broken
 * by a line error is still checked in full, so every problem of the stanza is reported. */
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
    if (ruleset_find(ld->rs, d->id)) {
        const struct rule *other = ruleset_find(ld->rs, d->id);
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
    pcre2_code *re = NULL, *exclude = NULL;
    if (d->n_values[KEY_REGEX] && !(re = compile_value(ld, &d->values[KEY_REGEX][0], "regex")))
        d->broken = true;
    if (d->n_values[KEY_EXCLUDE] &&
        !(exclude = compile_value(ld, &d->values[KEY_EXCLUDE][0], "exclude")))
        d->broken = true;
    if (d->broken) {
        pcre2_code_free(re);
        pcre2_code_free(exclude);
        goto out;
    }

    if (ld->rs->n == ld->rs->cap) {
        size_t cap = ld->rs->cap ? ld->rs->cap * 2 : 32;
        struct rule *v = realloc(ld->rs->rules, cap * sizeof(*v));
        if (!v) {
            ld->nomem = true;
            pcre2_code_free(re);
            pcre2_code_free(exclude);
            goto out;
        }
        ld->rs->rules = v;
        ld->rs->cap = cap;
    }
    struct rule *r = &ld->rs->rules[ld->rs->n];
    memset(r, 0, sizeof(*r));
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
    bool ok = r->file && r->summary && r->remedy && r->regex_src && (!exclude || r->exclude_src);
    if (ok && d->n_values[KEY_PROGRAM])
        ok = split_programs(r, buf_cstr(&d->values[KEY_PROGRAM][0].text)) == 0;
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
    if (ok)
        r->literal = rule_required_literal(r->regex_src, &r->literal_len, &r->literal_icase);
    if (!ok) {
        rule_release(r);
        ld->nomem = true;
        goto out;
    }
    ld->rs->n++;
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
