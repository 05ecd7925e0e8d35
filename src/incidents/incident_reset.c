/* Resets of a group, for the walk of incident.c: whether a good line (a mark of the rule's
 * reset pattern) or a finding of a rule it names in reset-by comes between two findings. A
 * reset applies to the findings it is known to follow: by log time when both have one, by
 * line when neither has one and both come from the same input (rules/README.md, `reset`). */
#include "incident_build.h"
#include "incident_mark.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "parse_time.h"

/* Several resets between two findings do what the first does, so the walk asks once per
 * finding, through marks_rule_host and findings_rule_host, instead of reading every reset: a
 * busy client logs a good login every few seconds, for years. A mark without a time never
 * falls in a range of times. */
int reset_between(struct builder *b, const struct rule *rule, const char *host, const char *key,
                  int64_t from_us, int64_t to_us)
{
    const struct rule_incident_spec *sp = &rule->inc;
    if (sp->reset_idx == SIZE_MAX && sp->n_reset_by == 0)
        return 0;
    char from[PARSE_TIME_ISO_LEN] = "", to[PARSE_TIME_ISO_LEN] = "~"; /* "~" sorts last */
    if (from_us != INT64_MIN)
        parse_time_format(from_us, from);
    if (to_us != INT64_MAX)
        parse_time_format(to_us, to);
    int rc = STMT_DONE, found = 0;
    struct stmt *st = b->st_resets;
    if (sp->reset_idx != SIZE_MAX) {
        stmt_bind_text(st, 1, rule->id);
        bind_host(st, 2, host);
        stmt_bind_text(st, 3, key);
        stmt_bind_text(st, 4, from);
        stmt_bind_text(st, 5, to);
        while (!found && (rc = stmt_step(st)) == STMT_ROW) {
            const char *k = stmt_text(st, 0);
            found = incident_key_reset_applies(k ? k : "[]", key);
        }
        stmt_reset(st);
    }
    for (size_t i = 0; !found && (rc == STMT_DONE || rc == STMT_ROW) && i < sp->n_reset_by; i++) {
        if (!sp->reset_by_idx || sp->reset_by_idx[i] == SIZE_MAX)
            continue;
        st = b->st_reset_by;
        stmt_bind_text(st, 1, b->rs->rules[sp->reset_by_idx[i]].id);
        bind_host(st, 2, host);
        stmt_bind_text(st, 3, from);
        stmt_bind_text(st, 4, to);
        rc = stmt_step(st);
        found = rc == STMT_ROW;
        stmt_reset(st);
    }
    return found || rc == STMT_DONE ? found : fail(b, "cannot read the resets of a group");
}

/* ---- resets without a time -------------------------------------------------------------- */

/* A console paste has no times, only its order: the resets without a time are read once per
 * group, in (source, line) order, beside its untimed findings walked in the same order, so
 * that the walk reads each reset once however many findings there are. */
int untimed_resets_open(struct builder *b, struct untimed_resets *c, const struct rule *rule,
                        const char *host, const char *key)
{
    const struct rule_incident_spec *sp = &rule->inc;
    *c = (struct untimed_resets){ .key = key };
    if (sp->reset_idx == SIZE_MAX && sp->n_reset_by == 0)
        return 0;
    struct buf ids; /* the reset-by rules */
    buf_init(&ids, 0);
    if (rule_ids_json(b, sp->reset_by_idx, sp->reset_by_idx ? sp->n_reset_by : 0, &ids) < 0) {
        buf_release(&ids);
        return HL_ENOMEM;
    }
    c->st = b->st_resets_untimed;
    /* A rule whose reset an override removed has no reset marks, whatever an older scan
     * stored: NULL matches no rule_id. */
    if (sp->reset_idx != SIZE_MAX)
        stmt_bind_text(c->st, 1, rule->id);
    else
        stmt_bind_null(c->st, 1);
    bind_host(c->st, 2, host);
    stmt_bind_text(c->st, 3, key);
    stmt_bind_text_copy(c->st, 4, buf_cstr(&ids));
    buf_release(&ids);
    return 0;
}

/* 1 with the next reset that applies to the group in c->src and c->line, 0 at the end, or an
 * error. */
static int untimed_peek(struct builder *b, struct untimed_resets *c)
{
    while (!c->ready && c->st) {
        int rc = stmt_step(c->st);
        if (rc != STMT_ROW) {
            stmt_reset(c->st);
            c->st = NULL;
            return rc == STMT_DONE ? 0 : fail(b, "cannot read the resets of a group");
        }
        const char *k = stmt_text(c->st, 2); /* NULL for a reset-by finding: every group */
        if (k && !incident_key_reset_applies(k, c->key))
            continue;
        c->src = stmt_int(c->st, 0);
        c->line = stmt_int(c->st, 1);
        c->ready = true;
    }
    return c->ready;
}

/* Calls must come in walk order: (src, line) never decreases. */
int untimed_reset_after(struct builder *b, struct untimed_resets *c, int64_t src, int64_t line,
                        int64_t next_src, int64_t next_line)
{
    int r;
    /* Resets up to the finding were before it, or before an earlier one: done with. */
    while ((r = untimed_peek(b, c)) > 0 && (c->src < src || (c->src == src && c->line <= line)))
        c->ready = false;
    if (r <= 0)
        return r;
    /* Another input's reset is not known to come after the finding (nor before the next). */
    return c->src == src && (c->src < next_src || (c->src == next_src && c->line < next_line));
}

void untimed_resets_close(struct untimed_resets *c)
{
    if (c->st)
        stmt_reset(c->st);
    *c = (struct untimed_resets){ 0 };
}

int rule_ids_json(struct builder *b, const size_t *idx, size_t n, struct buf *out)
{
    const char **ids = n ? calloc(n, sizeof(*ids)) : NULL;
    if (n && !ids)
        return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = idx[i] < b->rs->n ? b->rs->rules[idx[i]].id : NULL;
    int r = json_put_strings(out, ids, n);
    free(ids);
    return r == 0 ? 0 : hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
}
