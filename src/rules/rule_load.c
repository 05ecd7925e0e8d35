/* What the loader's parts share (rule_load.h): the key table, drafts (a stanza's values as
 * written, with where each stood, kept with their rule for site overrides) and the one list of
 * problems every part reports into. */
#include "rule_load.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct key_info rule_key_table[KEY__COUNT] = {
    [KEY_SEVERITY] = { "severity", true, false, false },
    [KEY_PROGRAM] = { "program", false, false, true },
    [KEY_REGEX] = { "regex", false, false, false }, /* required unless derived (below) */
    [KEY_EXCLUDE] = { "exclude", false, true, false },
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
    [KEY_ENABLED] = { "enabled", false, false, false },
    [KEY_NORMALIZE] = { "normalize", false, true, false },
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

static void add_problem(struct loader *ld, bool warning, const char *file, unsigned line, int col,
                        const char *text, size_t text_len, const char *fmt, va_list ap)
        HL_PRINTF(8, 0);

static void add_problem(struct loader *ld, bool warning, const char *file, unsigned line, int col,
                        const char *text, size_t text_len, const char *fmt, va_list ap)
{
    struct rule_error e = { .col = col, .warning = warning };
    char where[600], msg[600];
    if (col > 0)
        snprintf(where, sizeof(where), "%s:%u:%d", file, line, col);
    else if (line > 0)
        snprintf(where, sizeof(where), "%s:%u", file, line);
    else
        snprintf(where, sizeof(where), "%s", file);
    vsnprintf(msg, sizeof(msg), fmt, ap);
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
    if (!warning)
        ld->added++;
}

void loader_error_in(struct loader *ld, const char *file, unsigned line, int col, const char *text,
                     size_t text_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_problem(ld, false, file, line, col, text, text_len, fmt, ap);
    va_end(ap);
}

void loader_warning_in(struct loader *ld, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_problem(ld, true, file, line, 0, NULL, 0, fmt, ap);
    va_end(ap);
}

void rule_draft_clear_key(struct rule_draft *d, enum rule_key k)
{
    for (size_t i = 0; i < d->n_values[k]; i++)
        buf_release(&d->values[k][i].text);
    free(d->values[k]);
    d->values[k] = NULL;
    d->n_values[k] = 0;
}

void rule_draft_release(struct rule_draft *d)
{
    free(d->id);
    for (int k = 0; k < KEY__COUNT; k++)
        rule_draft_clear_key(d, (enum rule_key)k);
    memset(d, 0, sizeof(*d));
}

void rule_draft_free(struct rule_draft *d)
{
    if (d)
        rule_draft_release(d);
    free(d);
}

bool rule_id_valid(const char *id)
{
    if (!isalnum((unsigned char)id[0]) || !strchr(id, '.'))
        return false;
    for (const char *p = id; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '-' ||
              *p == '_'))
            return false;
    return id[strlen(id) - 1] != '.';
}

struct rule_draft *rule_draft_keep(struct loader *ld, struct rule_draft *d)
{
    struct rule_draft *kept = malloc(sizeof(*kept));
    if (!kept) {
        ld->nomem = true;
        rule_draft_release(d);
        return NULL;
    }
    *kept = *d;
    memset(d, 0, sizeof(*d));
    return kept;
}

struct value *rule_draft_add_value(struct loader *ld, struct rule_draft *d, enum rule_key k)
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

bool rule_draft_append_copy(struct loader *ld, struct rule_draft *d, enum rule_key k,
                            const struct value *v)
{
    struct value *nv = rule_draft_add_value(ld, d, k);
    if (!nv)
        return false;
    struct buf text = nv->text;
    *nv = *v;
    nv->text = text;
    if (v->text.len && buf_add(&nv->text, v->text.data, v->text.len) < 0) {
        ld->nomem = true;
        return false;
    }
    return true;
}

bool rule_draft_copy(struct loader *ld, struct rule_draft *c, const struct rule_draft *d)
{
    *c = *d;
    memset(c->values, 0, sizeof(c->values));
    memset(c->n_values, 0, sizeof(c->n_values));
    c->broken = false;
    if (!(c->id = strdup(d->id))) {
        ld->nomem = true;
        return false;
    }
    for (int k = 0; k < KEY__COUNT; k++)
        for (size_t i = 0; i < d->n_values[k]; i++)
            if (!rule_draft_append_copy(ld, c, (enum rule_key)k, &d->values[k][i]))
                return false;
    return true;
}
