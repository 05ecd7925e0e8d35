/* Cause links (see incident_build.h): each incident of a rule with `caused-by` gets the
 * incident of the latest finding of a cause rule in its window with the same values. Effects
 * are walked in time order while each cause rule's findings stream past in time order, from
 * where something moved in this update. */
#include "incident_build.h"
#include "incident_mark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "parse_time.h"

/* The earliest log time from which the causes of r's incidents may have changed in this
 * update: where its own incidents or findings' links moved, or those of a rule it is caused
 * by (a cause finding at t is the cause of effects up to its window after t). 1 and the time
 * in *ret_us, 0 when nothing moved, or an error. */
int causes_moved_since(struct builder *b, struct stmt *st, const struct rule *r, int64_t *ret_us)
{
    int found = 0;
    for (size_t c = 0; c <= r->inc.n_causes; c++) {
        stmt_bind_text(st, 1, c == 0 ? r->id : r->inc.causes[c - 1].rule_id);
        int rc = stmt_step(st);
        int64_t us;
        bool zoned;
        if (rc == STMT_ROW &&
            parse_time_iso(strv_from_cstr(stmt_text(st, 0)), 0, &us, &zoned) > 0 &&
            (!found || us < *ret_us)) {
            *ret_us = us;
            found = 1;
        }
        stmt_reset(st);
        if (rc != STMT_ROW && rc != STMT_DONE)
            return fail(b, "cannot read what the rebuild changed");
    }
    return found;
}

/* The SQL expression of a finding's "same" values, joined by U+001F: `host`, or a field of
 * `fields` bound as parameter first_param + k. */
static void same_expr(struct buf *sql, const struct rule_cause *c, int first_param)
{
    if (c->n_same == 0)
        HL_IGNORE(buf_adds(sql, "''"));
    for (size_t k = 0; k < c->n_same; k++) {
        char part[128];
        if (strcmp(c->same[k], "host") == 0)
            snprintf(part, sizeof(part), "%scoalesce(host, '')", k ? " || char(31) || " : "");
        else
            snprintf(part, sizeof(part), "%scoalesce(json_extract(fields, '$.' || ?%d), '')",
                     k ? " || char(31) || " : "", first_param + (int)k);
        HL_IGNORE(buf_adds(sql, part));
    }
}

static struct stmt *prepare_same(struct builder *b, const struct rule_cause *c, const char *head,
                                 const char *tail, int first_param)
{
    struct buf sql;
    buf_init(&sql, 0);
    HL_IGNORE(buf_adds(&sql, head));
    same_expr(&sql, c, first_param);
    HL_IGNORE(buf_adds(&sql, tail));
    struct stmt *st = NULL;
    if (prepare(b, &st, buf_cstr(&sql)) < 0)
        st = NULL;
    buf_release(&sql);
    for (size_t k = 0; st && k < c->n_same; k++)
        if (strcmp(c->same[k], "host") != 0)
            stmt_bind_text(st, first_param + (int)k, c->same[k]);
    return st;
}

/* A finding of a cause rule, loaded once per (rule, cause) so that each effect is a binary
 * search and a short walk back instead of a query. */
struct cause_row {
    int64_t ts_us;
    int64_t incident;
    char *same; /* owned */
};

/* The findings of one `caused-by` rule, streamed in time order alongside the effects (also
 * in time order): only the rows inside the current effect's window are held, so memory
 * follows the window, not the number of findings. Invariant: rows[head..n) are in ts order
 * and none is older than the window of the effect looked up last. */
struct cause_table {
    const struct rule_cause *cause;
    /* Where each "same" value of an effect incident made by the rule's own findings is in the
     * incident itself: -1 its host, else the part of its key (all findings of an incident
     * share its key), so that no finding is read; derived is false when one is neither. */
    int same_at[INCIDENT_KEY_MAX_PARTS];
    bool derived;
    int where_at;           /* the part of the key the cause's `where` reads; -2 without one */
    struct stmt *load;      /* owned: the cause rule's findings, ORDER BY ts */
    struct stmt *effect;    /* owned: the same values of an effect incident's first finding */
    struct cause_row *rows; /* owned */
    size_t head, n, cap;
    bool loaded;           /* load is done */
    struct cause_row next; /* read ahead: the first row later than the last effect, when
                              next.same is set */
};

static void cause_table_release(struct cause_table *t)
{
    for (size_t i = t->head; i < t->n; i++)
        free(t->rows[i].same);
    free(t->rows);
    free(t->next.same);
    stmt_finalize(t->load);
    stmt_finalize(t->effect);
}

/* Where the "same" value name of rule's own incidents is (struct cause_table, same_at): -1
 * the incident's host, g >= 0 part g of its key, -2 neither. A key's program and source are
 * the header's and the input's, while "same" compares the fields of those names. */
static int same_place(const struct rule *rule, const char *name)
{
    if (strcmp(name, "host") == 0)
        return -1;
    if (strcmp(name, "program") == 0 || strcmp(name, "source") == 0)
        return -2;
    for (size_t g = 0; g < rule->inc.n_group_by && g < INCIDENT_KEY_MAX_PARTS; g++)
        if (strcmp(rule->inc.group_by[g], name) == 0)
            return (int)g;
    return -2;
}

/* Opens the cause table of effect rule for effects from from_us on (INT64_MIN: all). */
static int cause_table_open(struct builder *b, struct cause_table *t, const struct rule *rule,
                            int64_t from_us)
{
    t->where_at = t->cause->where_field ? same_place(rule, t->cause->where_field) : -2;
    t->derived = t->cause->n_same <= INCIDENT_KEY_MAX_PARTS;
    for (size_t k = 0; k < t->cause->n_same && t->derived; k++)
        t->derived = (t->same_at[k] = same_place(rule, t->cause->same[k])) != -2;
    /* A `where` on a field of the cause's findings (not of the effect's key) keeps only those
     * findings: lower() both sides, as the values compare case-insensitively. */
    bool cause_where = t->cause->where_field && t->where_at < 0;
    t->load = prepare_same(b, t->cause, "SELECT ts, incident_id, ",
                           cause_where ? " FROM finding_rows JOIN finding_links ON finding_id = id"
                                         " WHERE rule_id = ?1 AND ts >= :since AND"
                                         " lower(json_extract(fields, '$.' || :wf)) IN"
                                         " (SELECT lower(value) FROM json_each(:wv)) ORDER BY ts"
                                       : " FROM finding_rows JOIN finding_links ON finding_id = id"
                                         " WHERE rule_id = ?1 AND ts >= :since ORDER BY ts",
                           2);
    t->effect = prepare_same(b, t->cause, "SELECT ",
                             " FROM finding_rows JOIN finding_links ON finding_id = id"
                             " WHERE incident_id = ?1 ORDER BY ts LIMIT 1",
                             2);
    if (!t->load || !t->effect)
        return fail(b, "cannot prepare cause lookups");
    stmt_bind_text(t->load, 1, t->cause->rule_id);
    if (cause_where) {
        struct buf vals;
        buf_init(&vals, 0);
        if (json_put_strings(&vals, (const char *const *)t->cause->where_values,
                             t->cause->n_where_values) < 0) {
            buf_release(&vals);
            return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
        }
        stmt_bind_text(t->load, stmt_param(t->load, ":wf"), t->cause->where_field);
        stmt_bind_text_copy(t->load, stmt_param(t->load, ":wv"), buf_cstr(&vals));
        buf_release(&vals);
    }
    char since[PARSE_TIME_ISO_LEN] = "";
    if (from_us != INT64_MIN)
        parse_time_format(from_us - t->cause->within_us, since);
    stmt_bind_text_copy(t->load, stmt_param(t->load, ":since"), since);
    return 0;
}

/* Reads the next cause row into t->next; false at the end (or on a read error). */
static bool cause_read(struct cause_table *t)
{
    while (!t->loaded) {
        if (stmt_step(t->load) != STMT_ROW) {
            t->loaded = true;
            break;
        }
        bool zoned;
        const char *same = stmt_text(t->load, 2);
        if (!parse_time_iso(strv_from_cstr(stmt_text(t->load, 0)), 0, &t->next.ts_us, &zoned))
            continue;
        t->next.incident = stmt_int(t->load, 1);
        t->next.same = strdup(same ? same : "");
        return t->next.same != NULL;
    }
    return false;
}

/* Moves the window to end at first_us: rows up to it read in, rows older than the window
 * dropped. Returns 0 or HL_ENOMEM. */
static int cause_advance(struct cause_table *t, int64_t first_us)
{
    for (;;) {
        if (!t->next.same && !cause_read(t))
            break;
        if (t->next.ts_us > first_us)
            break;
        if (t->n == t->cap) {
            if (t->head > t->n / 2) { /* reuse the dropped front first */
                memmove(t->rows, t->rows + t->head, (t->n - t->head) * sizeof(*t->rows));
                t->n -= t->head;
                t->head = 0;
            } else {
                size_t cap = t->cap ? t->cap * 2 : 256;
                struct cause_row *v = realloc(t->rows, cap * sizeof(*v));
                if (!v)
                    return HL_ENOMEM;
                t->rows = v;
                t->cap = cap;
            }
        }
        t->rows[t->n++] = t->next;
        t->next.same = NULL;
    }
    while (t->head < t->n && first_us - t->rows[t->head].ts_us > t->cause->within_us)
        free(t->rows[t->head++].same);
    return 0;
}

/* An effect incident as link_causes reads it. Its host and key come with it in link_causes'
 * list: read by id when a table first needed them, each would be a random page of incidents.
 * The list's sort, which they make larger, runs in a small cache, so that
 * a large scan does not end bigger than a small one (list_first_row). */
struct effect {
    int64_t id;
    bool own;         /* made by the rule's own findings (not an escalation or expectation) */
    struct stmt *row; /* borrowed: the list at the effect's row; host, key in columns 4, 5 */
    bool loaded;      /* host and parts are read */
    struct buf host;  /* '' for none */
    size_t n_parts;
    struct buf parts[INCIDENT_KEY_MAX_PARTS];
};

/* Reads e's host and the parts of its key; false when they cannot be read. */
static bool effect_load(struct effect *e)
{
    if (e->loaded)
        return true;
    const char *host = stmt_text(e->row, 4);
    const char *key = stmt_text(e->row, 5);
    buf_reset(&e->host);
    bool ok = buf_adds(&e->host, host ? host : "") == 0;
    e->n_parts = incident_key_parts(key ? key : "[]", e->parts);
    e->loaded = ok;
    return ok;
}

/* The effect's "same" values for t, joined by U+001F as same_expr() joins them; NULL when
 * they cannot be known (a derived incident, which has no findings, with values to compare)
 * or out of memory. */
static char *effect_same(struct cause_table *t, struct effect *e)
{
    if (t->derived && e->own) {
        if (!effect_load(e))
            return NULL;
        struct buf want;
        buf_init(&want, 0);
        int r = 0;
        for (size_t k = 0; r == 0 && k < t->cause->n_same; k++) {
            int at = t->same_at[k];
            if (k)
                r = buf_addc(&want, 0x1f);
            if (r == 0 && at < 0 && e->host.len)
                r = buf_add(&want, e->host.data, e->host.len);
            else if (r == 0 && at >= 0 && (size_t)at < e->n_parts && e->parts[at].len)
                r = buf_add(&want, e->parts[at].data, e->parts[at].len);
        }
        char *s = r == 0 ? strdup(buf_cstr(&want)) : NULL;
        buf_release(&want);
        return s;
    }
    stmt_bind_int(t->effect, 1, e->id);
    char *want = NULL;
    if (stmt_step(t->effect) == STMT_ROW)
        want = strdup(stmt_text(t->effect, 0));
    else if (t->cause->n_same == 0)
        want = strdup(""); /* a derived incident has no findings; nothing to compare */
    stmt_reset(t->effect);
    return want;
}

/* Whether effect e may have t's cause at all: a `where` on a field of the effect rule's key
 * holds only for effects whose key has one of its values (the rule's own incidents; an
 * escalation's or expectation's key is another rule's). */
static bool cause_applies(const struct cause_table *t, struct effect *e)
{
    if (!t->cause->where_field || t->where_at < 0) /* none, or on the cause's findings */
        return true;
    if (!e->own || !effect_load(e) || (size_t)t->where_at >= e->n_parts)
        return false;
    const char *v = buf_cstr(&e->parts[t->where_at]);
    for (size_t i = 0; i < t->cause->n_where_values; i++)
        if (strcasecmp(v, t->cause->where_values[i]) == 0)
            return true;
    return false;
}

/* The incident of the latest finding in t's window (cause_advance() to the start of effect e)
 * with the same values; 0 when there is none. */
static int64_t cause_lookup(struct cause_table *t, struct effect *e)
{
    if (t->head == t->n || !cause_applies(t, e))
        return 0;
    int64_t id = e->id;
    char *want = effect_same(t, e);
    int64_t cause = 0;
    for (size_t k = t->n; want && k-- > t->head && !cause;)
        if (t->rows[k].incident != id && strcmp(t->rows[k].same, want) == 0)
            cause = t->rows[k].incident;
    free(want);
    return cause;
}

/* The other rules whose findings can make incidents of rule (escalations to it, the trigger of
 * its expectation), the first cap of them in v; returns how many there are. */
static size_t from_rules(const struct ruleset *rs, const struct rule *rule, const struct rule **v,
                         size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->rules[i];
        bool makes = rule_follows(rule, i);
        for (size_t e = 0; e < r->inc.n_escalations && !makes; e++)
            makes = &rs->rules[r->inc.escalations[e].target_idx] == rule;
        if (makes && r != rule && n++ < cap)
            v[n - 1] = r;
    }
    return n;
}

/* Steps list to its first row with the cache lowered: the first step sorts every row, and the
 * sort holds up to the cache's size in memory. The updates that follow get the whole cache.
 * The step's result goes to *ret_rc; returns 0, or the hl_code of a cache size not set. */
static int list_first_row(struct builder *b, struct stmt *list, int *ret_rc)
{
    int own = 0;
    int r = db_cache_shrink(b->db, &own, b->err);
    if (r < 0)
        return r;
    *ret_rc = stmt_step(list);
    return db_cache_restore(b->db, own, b->err);
}

/* Links each incident of rule to its probable cause: the first `caused-by` (in file order)
 * that finds one wins. Effects are walked in time order while each cause rule's findings
 * stream past in time order, so an effect costs a short walk back through its window and
 * memory holds one window per cause. */
/* Prepares the list of rule's incidents from from_us on, oldest first, into *ret: through
 * incidents_from, by the rules that make them (the rule itself, a rule that escalates to it,
 * or the trigger of its expectation); by first_ts alone, SQLite would walk every incident of
 * the database for each rule with causes. */
static int prepare_effects(struct builder *b, const struct rule *rule, int64_t from_us,
                           struct stmt **ret)
{
    const struct rule *from[64];
    size_t n_from = from_rules(b->rs, rule, from, ARRAY_SIZE(from));
    struct buf sql;
    buf_init(&sql, 0);
    bool named = n_from <= ARRAY_SIZE(from); /* else read them all by rule_id */
    HL_IGNORE(buf_adds(&sql, "SELECT id, first_ts, coalesce(cause_incident_id, 0),"
                             " from_rule_id = ?1, host, key FROM incidents WHERE rule_id = ?1"));
    if (named) {
        HL_IGNORE(buf_adds(&sql, " AND from_rule_id IN (?1"));
        for (size_t i = 0; i < n_from; i++)
            HL_IGNORE(buf_adds(&sql, ", ?"));
        HL_IGNORE(buf_adds(&sql, ")"));
    }
    HL_IGNORE(buf_adds(&sql, " AND first_ts >= :since ORDER BY first_ts, id"));
    struct stmt *list = NULL;
    int r = prepare(b, &list, buf_cstr(&sql));
    buf_release(&sql);
    if (r < 0)
        return r;
    stmt_bind_text(list, 1, rule->id);
    for (size_t i = 0; named && i < n_from; i++)
        stmt_bind_text(list, (int)i + 2, from[i]->id);
    char since[PARSE_TIME_ISO_LEN] = "";
    if (from_us != INT64_MIN)
        parse_time_format(from_us, since);
    stmt_bind_text_copy(list, stmt_param(list, ":since"), since);
    *ret = list;
    return 0;
}

int link_causes(struct builder *b, const struct rule *rule, int64_t from_us)
{
    struct cause_table *tables = calloc(rule->inc.n_causes, sizeof(*tables));
    if (!tables)
        return hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
    int r = 0;
    for (size_t c = 0; r == 0 && c < rule->inc.n_causes; c++) {
        tables[c].cause = &rule->inc.causes[c];
        r = cause_table_open(b, &tables[c], rule, from_us);
    }
    struct stmt *list = NULL, *set = NULL;
    if (r == 0)
        r = prepare_effects(b, rule, from_us, &list);
    if (r == 0)
        r = prepare(b, &set, "UPDATE incidents SET cause_incident_id = ?2 WHERE id = ?1");
    struct effect e = { 0 };
    buf_init(&e.host, 0);
    for (size_t k = 0; k < INCIDENT_KEY_MAX_PARTS; k++)
        buf_init(&e.parts[k], 0);
    e.row = list;
    int rc = STMT_DONE;
    if (r == 0)
        r = list_first_row(b, list, &rc);
    for (; r == 0 && rc == STMT_ROW; rc = stmt_step(list)) {
        int64_t id = stmt_int(list, 0), first_us, cause = 0;
        bool zoned;
        if (!parse_time_iso(strv_from_cstr(stmt_text(list, 1)), 0, &first_us, &zoned))
            continue;
        e.id = id;
        e.own = (int)stmt_int(list, 3) != 0;
        e.loaded = false;
        for (size_t c = 0; c < rule->inc.n_causes && !cause && r == 0; c++) {
            if (cause_advance(&tables[c], first_us) < 0)
                r = hl_err_set(b->err, HL_ENOMEM, NULL, "out of memory");
            else
                cause = cause_lookup(&tables[c], &e);
        }
        if (r < 0)
            break;
        /* Most incidents keep their cause (or have none): no row is rewritten for nothing. */
        if (cause == stmt_int(list, 2))
            continue;
        stmt_bind_int(set, 1, id);
        if (cause)
            stmt_bind_int(set, 2, cause);
        else
            stmt_bind_null(set, 2);
        if (stmt_step(set) != STMT_DONE)
            r = fail(b, "cannot link an incident to its cause");
        stmt_reset(set);
    }
    if (r == 0 && rc != STMT_DONE)
        r = fail(b, "cannot read the incidents to link to their causes");
    buf_release(&e.host);
    for (size_t k = 0; k < INCIDENT_KEY_MAX_PARTS; k++)
        buf_release(&e.parts[k]);
    stmt_finalize(list);
    stmt_finalize(set);
    for (size_t c = 0; c < rule->inc.n_causes; c++)
        cause_table_release(&tables[c]);
    free(tables);
    return r;
}
