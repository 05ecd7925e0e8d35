/* Site overrides (ruleset_load_site) work on the stanza as written, not on the compiled rule:
 * each rule keeps its draft until ruleset_link(), an override merges its values into a copy,
 * and the copy is built again through the same checks as a fresh stanza. So an override can
 * never make a rule the loader would refuse, and every error keeps its own file:line:col. */
#include "rule_load.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Removes rules[i], an internal rule whose owner an override rebuilds, keeping every index
 * that points past it right. */
static void remove_rule(struct loader *ld, size_t i)
{
    struct ruleset *rs = ld->rs;
    rule_release(&rs->rules[i]);
    memmove(&rs->rules[i], &rs->rules[i + 1], (rs->n - i - 1) * sizeof(*rs->rules));
    rs->n--;
    for (size_t k = 0; k < rs->n; k++) {
        struct rule *r = &rs->rules[k];
        if (!rule_is_public(r) && r->owner > i)
            r->owner--;
        if (r->inc.reset_idx != SIZE_MAX && r->inc.reset_idx > i)
            r->inc.reset_idx--;
        if (r->inc.expect_idx != SIZE_MAX && r->inc.expect_idx > i)
            r->inc.expect_idx--;
    }
    /* The id set holds indexes: it is filled again at the next lookup. */
    if (ld->ids)
        memset(ld->ids, 0, ld->ids_cap * sizeof(*ld->ids));
    ld->hashed = 0;
}

/* Applies the override stanza o to m, the rule's merged draft so far: a value replaces a key
 * that is not repeatable and is appended to one that is; an empty value clears the key (as an
 * empty assignment does in a systemd drop-in), and the stanza's later values of it append.
 * `test-log` and `test-incidents` are one list of scenarios, cleared together. Returns false
 * after reporting a key that cannot be cleared, or when out of memory. */
static bool merge_override(struct loader *ld, struct rule_draft *m, const struct rule_draft *o)
{
    bool ok = true;
    for (int k = 0; k < KEY__COUNT; k++) {
        for (size_t i = 0; i < o->n_values[k]; i++) {
            const struct value *v = &o->values[k][i];
            if (v->text.len == 0 && (rule_key_table[k].required || k == KEY_REGEX)) {
                value_error(ld, v, "'%s' cannot be cleared%s", rule_key_table[k].name,
                            k == KEY_REGEX ? "; turn the rule off with 'enabled = no'"
                                           : ": every rule has one");
                ok = false;
                continue;
            }
            if (v->text.len == 0 && (k == KEY_TEST_LOG || k == KEY_TEST_INCIDENTS)) {
                rule_draft_clear_key(m, KEY_TEST_LOG);
                rule_draft_clear_key(m, KEY_TEST_INCIDENTS);
            } else if (v->text.len == 0 || !rule_key_table[k].repeatable) {
                rule_draft_clear_key(m, (enum rule_key)k);
            }
            if (v->text.len && !rule_draft_append_copy(ld, m, (enum rule_key)k, v))
                return false;
        }
    }
    return ok;
}

/* Returns "FILE:LINE (key, ...)" for the override stanza o, its keys in the order it first
 * names them, or NULL when out of memory. */
static char *describe_override(const struct rule_draft *o)
{
    int keys[KEY__COUNT];
    size_t n = 0;
    for (int k = 0; k < KEY__COUNT; k++) {
        if (!o->n_values[k])
            continue;
        size_t at = n++;
        while (at > 0 && o->values[keys[at - 1]][0].line > o->values[k][0].line) {
            keys[at] = keys[at - 1];
            at--;
        }
        keys[at] = k;
    }
    struct buf b;
    buf_init(&b, 0);
    int r = buf_printf(&b, "%s:%u", o->file, o->line);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = buf_printf(&b, "%s%s", i ? ", " : " (", rule_key_table[keys[i]].name);
    if (r == 0 && n)
        r = buf_addc(&b, ')');
    char *s = r == 0 ? buf_detach(&b) : NULL;
    buf_release(&b);
    return s;
}

void loader_override(struct loader *ld, struct rule_draft *o, size_t base)
{
    struct ruleset *rs = ld->rs;
    struct rule_draft m = { 0 };
    struct rule r;
    struct built x;
    assert(rs->rules[base].draft); /* overrides come before ruleset_link() */
    if (!rule_draft_copy(ld, &m, rs->rules[base].draft))
        goto out;
    m.file = o->file;
    m.line = o->line;
    m.hdr = o->hdr;
    m.hdr_len = o->hdr_len;
    m.id_col = o->id_col;
    bool merged = merge_override(ld, &m, o);
    if (ld->nomem)
        goto out;
    m.broken = o->broken || !merged;
    if (!loader_build_rule(ld, &m, NULL, &r, &x))
        goto out;
    struct rule *old = &rs->rules[base];
    char *desc = describe_override(o), *joined = NULL;
    if (desc && old->overrides && asprintf(&joined, "%s; %s", old->overrides, desc) < 0)
        joined = NULL;
    else if (desc && !old->overrides)
        joined = desc, desc = NULL;
    free(desc);
    if (!joined) {
        ld->nomem = true;
        rule_release(&r);
        built_release(&x);
        goto out;
    }
    /* Its internal rules are made again from the merged keys; the later one goes first, so
     * the earlier index holds. Both come after base. */
    size_t ri = old->inc.reset_idx, ei = old->inc.expect_idx;
    size_t hi = ri == SIZE_MAX ? ei : ei == SIZE_MAX ? ri : ri > ei ? ri : ei;
    size_t lo = hi == ri ? ei : ri;
    if (hi != SIZE_MAX)
        remove_rule(ld, hi);
    if (lo != SIZE_MAX)
        remove_rule(ld, lo);
    old = &rs->rules[base];
    r.file = old->file;
    r.line = old->line;
    r.overrides = joined;
    rule_release(old);
    *old = r;
    old->draft = rule_draft_keep(ld, &m);
    loader_add_patterns(ld, base, &x);
out:
    rule_draft_release(&m);
}

/* Returns the public rule id closest to id within two edits, or NULL: the likely intent of
 * an override whose id is not loaded. */
static const char *nearest_id(const struct ruleset *rs, const char *id)
{
    size_t n = strlen(id);
    const char *best = NULL;
    size_t best_d = 3;
    if (n >= 64)
        return NULL;
    for (size_t r = 0; r < rs->n; r++) {
        const char *c = rs->rules[r].id;
        size_t m = strlen(c);
        if (!rule_is_public(&rs->rules[r]) || m >= 64 || (m > n ? m - n : n - m) >= best_d)
            continue;
        size_t row[64], prev;
        for (size_t j = 0; j <= m; j++)
            row[j] = j;
        for (size_t i = 1; i <= n; i++) {
            prev = row[0];
            row[0] = i;
            for (size_t j = 1; j <= m; j++) {
                size_t cur = row[j];
                size_t sub = prev + (id[i - 1] != c[j - 1]);
                size_t del = row[j] + 1, ins = row[j - 1] + 1;
                row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                prev = cur;
            }
        }
        if (row[m] < best_d) {
            best_d = row[m];
            best = c;
        }
    }
    return best;
}

bool loader_new_site_rule(struct loader *ld, struct rule_draft *d)
{
    if (d->broken && !rule_id_valid(d->id))
        return false; /* the header's error says it all */
    bool complete = true;
    for (int k = 0; k < KEY__COUNT; k++)
        complete &= !rule_key_table[k].required || d->n_values[k] > 0;
    if (!complete) {
        const char *near = nearest_id(ld->rs, d->id);
        loader_error_in(
                ld, d->file, d->line, (int)d->id_col, d->hdr, d->hdr_len,
                "no rule '%s' to override%s%s%s; a new rule needs 'severity', 'summary' and "
                "'remedy'",
                d->id, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return false;
    }
    /* Empty values clear keys of an override; a new rule has nothing to clear. */
    for (int k = 0; k < KEY__COUNT; k++)
        for (size_t i = 0; i < d->n_values[k]; i++)
            if (d->values[k][i].text.len == 0) {
                value_error(ld, &d->values[k][i], "empty value for '%s'", rule_key_table[k].name);
                d->broken = true;
            }
    return true;
}
